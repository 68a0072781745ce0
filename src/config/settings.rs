//! Validated settings: the parsed [`Document`] turned into what a run needs, with the
//! legacy defaults (LEGACY.md §3) and every check done before any work starts.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::parse::{Block, Directive, Document, Entry, Origin};
use crate::store::lock::LockMode;
use crate::store::s3::PayloadSigning;

mod error;
mod globals;
mod view;

pub use error::SettingsError;
use error::invalid;
pub use globals::DEFAULT_LOCK_WAIT;
use globals::{
    keyfile_readable_by_others, notify_command, parse_lock_wait, parse_run_timeout, payload_signing,
};
use view::{
    INHERITED_SETTINGS, ScopeView, bool_setting, bool_setting_or, int_setting, is_one_of, optional,
    optional_int, parse_int,
};

/// The cycle arithmetic an item follows (LEGACY.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleType {
    /// Fixed slots, FULL every `Diffs + 1` backups.
    Simple,
    /// Tower-of-Hanoi rotation of full backups.
    Hanoi,
}

/// The program that compresses a stream before gpg (`Compressor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compressor {
    /// `gzip` (tar's own `-z` for trees): the legacy commands.
    #[default]
    Gzip,
    /// `pigz`: gzip on every core by the tool's own stage (`s3napback gzip`, in
    /// `process::gzip`); the same gzip format, restorable with `gzip -d`.
    Pigz,
}

/// Per-scope timing and content settings, with the legacy defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleSettings {
    /// `CycleType` (`SimpleCycle` or `HanoiCycle`).
    pub cycle_type: CycleType,
    /// Days between backups; at least 1.
    pub frequency: i64,
    /// Day offset within the frequency; at least 0.
    pub phase: i64,
    /// DIFF slots between FULL slots; at least 0.
    pub diffs: i64,
    /// Number of FULL cycles kept; at least 1.
    pub fulls: i64,
    /// Hanoi: number of discs; at least 1.
    pub discs: i64,
    /// Hanoi: keep the oldest disc forever (slot numbers keep growing).
    pub archive_oldest_disc: bool,
    /// Buffer the stream in `TempDir` before uploading.
    pub use_temp_file: bool,
    /// Every `Exclude` value of the scope, in file order.
    pub excludes: Vec<String>,
    /// `MySQLOptions`' first value, split as a shell would (no shell is run).
    pub mysql_options: Vec<String>,
    /// `Compressor gzip|pigz` (default gzip, the legacy commands).
    pub compressor: Compressor,
    /// `GpgCompression yes|no` (default yes); `no` adds `-z 0` to gpg, whose own zlib
    /// pass only costs time on a stream that is already gzip.
    pub gpg_compression: bool,
}

impl Default for CycleSettings {
    fn default() -> Self {
        CycleSettings {
            cycle_type: CycleType::Simple,
            frequency: 1,
            phase: 0,
            diffs: 6,
            fulls: 4,
            discs: 5,
            archive_oldest_disc: false,
            use_temp_file: false,
            excludes: Vec::new(),
            mysql_options: Vec::new(),
            compressor: Compressor::Gzip,
            gpg_compression: true,
        }
    }
}

/// The kinds of thing that can be backed up, in the legacy processing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemKind {
    /// `Directory PATH`: a tar of a directory tree (FULL/DIFF).
    Directory,
    /// `Subversion REPO`: an incremental `svnadmin dump`.
    Subversion,
    /// `SubversionDir DIR`: every repository in DIR, as Subversion items.
    SubversionDir,
    /// `MySQL DB` (`all`, `SOCKET:DB`): a `mysqldump`.
    MySql,
    /// `PostgreSQL DB` (`all`, `USER@DB`): a `pg_dump` / `pg_dumpall`.
    PostgreSql,
}

impl ItemKind {
    /// The directive / block name as the legacy log lines spell it (`Directory`, `MySQL`, ...).
    pub fn legacy_name(self) -> &'static str {
        match self {
            ItemKind::Directory => "Directory",
            ItemKind::Subversion => "Subversion",
            ItemKind::SubversionDir => "SubversionDir",
            ItemKind::MySql => "MySQL",
            ItemKind::PostgreSql => "PostgreSQL",
        }
    }

    /// Looks a directive or block name up case-insensitively.
    pub fn from_directive(name: &str) -> Option<ItemKind> {
        [
            ItemKind::Directory,
            ItemKind::Subversion,
            ItemKind::SubversionDir,
            ItemKind::MySql,
            ItemKind::PostgreSql,
        ]
        .into_iter()
        .find(|k| k.legacy_name().eq_ignore_ascii_case(name))
    }
}

/// One thing to back up.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Which directive or block named the item.
    pub kind: ItemKind,
    /// The name exactly as configured (`/etc`, `all`, `postgres@inventory`, `SOCK:DB`).
    pub name: String,
    /// `Some(block name lower-cased)` when the item is a block of its own
    /// (`<Directory /x>`): the legacy logs `directory => /x` before it.
    pub block: Option<String>,
    /// The settings of the scope the item reads (its own block, or the enclosing scope).
    pub cycle: CycleSettings,
    /// Where the item was written.
    pub origin: Origin,
}

/// A scope the legacy processes as a unit: the whole file first, then each `<Cycle>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    /// `None` for the top of the file, else the `<Cycle NAME>` argument.
    pub cycle_name: Option<String>,
    /// Items in file order (line items and block items interleaved as written).
    pub items: Vec<Item>,
}

/// A whole validated configuration file.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The file these settings came from.
    pub path: PathBuf,
    /// `DiffDir`: where the tar snapshot and svn revision files live; an existing directory.
    pub diff_dir: PathBuf,
    /// `TempDir`: where `UseTempFile` buffers a stream; `None` when not set.
    pub temp_dir: Option<PathBuf>,
    /// `Bucket`: the S3 bucket all slots go to.
    pub bucket: String,
    /// `None` (or a `GpgRecipient` with no value): no encryption.
    pub gpg_recipient: Option<String>,
    /// `GpgKeyring`: passed to gpg as `--keyring`.
    pub gpg_keyring: Option<String>,
    /// Java-properties file with `key=` and `secret=`; `None`: the standard AWS chain.
    pub s3_keyfile: Option<PathBuf>,
    /// Bytes per stored object; 1 ..= 5 GiB.
    pub chunk_size: u64,
    /// New directive `S3Endpoint URL` (else `AWS_ENDPOINT_URL`, else AWS).
    pub s3_endpoint: Option<String>,
    /// New directive `S3Region NAME`.
    pub s3_region: Option<String>,
    /// New directive `LockWait N[s|m|h]` (bare N: minutes): how long a run waits for
    /// another run on the same DiffDir to finish; default 60 minutes, 0 = do not wait.
    pub lock_wait: Duration,
    /// New directive `RunTimeout HOURS` (a positive number, fractions allowed): past it a
    /// run stops as SIGTERM stops it, and `status` reports a run still holding the DiffDir
    /// lock; `None`: no limit.
    pub run_timeout: Option<Duration>,
    /// New directive `S3Retries N`: retries of a failed S3 request (`None`: 6).
    pub s3_retries: Option<u32>,
    /// New directive `S3Timeout SECONDS`: the base of the S3 timeouts (`None`: 60).
    pub s3_timeout: Option<u64>,
    /// New directive `S3PayloadSigning auto|yes|no`: whether upload bodies are signed
    /// (default `auto`: over plain HTTP only).
    pub s3_payload_signing: PayloadSigning,
    /// New directive `NotifyCommand`: the argument vector run after every run (no shell).
    pub notify_command: Option<Vec<String>>,
    /// New directive `MetricsFile PATH`: Prometheus metrics written after every run.
    pub metrics_file: Option<PathBuf>,
    /// New directives `ObjectLockMode COMPLIANCE|GOVERNANCE` and `ObjectLockGrace DAYS`:
    /// lock what a run stores (`None`: off, the legacy behaviour).
    pub object_lock: Option<ObjectLock>,
    /// The top scope first, then each `<Cycle>` block in file order.
    pub scopes: Vec<Scope>,
    /// Non-fatal findings (unknown directives ...), each naming file:line.
    pub warnings: Vec<String>,
    /// Findings about how the host keeps its secrets (an S3Keyfile others can read),
    /// each naming file:line. Real runs and the read-only commands log them; test mode
    /// does not, so that its output stays the legacy's byte for byte.
    pub secret_warnings: Vec<String>,
}

/// `ObjectLockMode` and `ObjectLockGrace`: every object a run stores under a slot key is
/// locked in `mode` until the slot's next scheduled rewrite plus `grace_days`
/// (`plan::retention`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectLock {
    pub mode: LockMode,
    /// Days the lock outlasts the slot's next rewrite (a late or failed run); default 7.
    pub grace_days: i64,
}

/// `ObjectLockGrace` when not set: a week.
pub const DEFAULT_LOCK_GRACE_DAYS: i64 = 7;

/// The largest `ChunkSize` accepted: 5 GiB, the largest single S3 PUT.
pub const MAX_CHUNK_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// Global settings, read from the top level only.
const GLOBALS: &[&str] = &[
    "DiffDir",
    "TempDir",
    "Bucket",
    "GpgRecipient",
    "GpgKeyring",
    "S3Keyfile",
    "ChunkSize",
    "S3Endpoint",
    "S3Region",
    "LockWait",
    "RunTimeout",
    "S3Retries",
    "S3Timeout",
    "S3PayloadSigning",
    "NotifyCommand",
    "ObjectLockMode",
    "ObjectLockGrace",
    "MetricsFile",
];

/// Per-scope settings (the whole file or one block).
const SCOPE_SETTINGS: &[&str] = &[
    "CycleType",
    "Frequency",
    "Phase",
    "Diffs",
    "Fulls",
    "Discs",
    "ArchiveOldestDisc",
    "UseTempFile",
    "Exclude",
    "MySQLOptions",
    "Compressor",
    "GpgCompression",
];

/// The settings of one scope, plus where `UseTempFile` was switched on (for the TempDir check).
fn scope_settings(view: &ScopeView<'_>) -> Result<(CycleSettings, Option<Origin>), SettingsError> {
    let cycle_type = match view.first_value("CycleType") {
        None => CycleType::Simple,
        Some((v, _)) if v.eq_ignore_ascii_case("SimpleCycle") => CycleType::Simple,
        Some((v, _)) if v.eq_ignore_ascii_case("HanoiCycle") => CycleType::Hanoi,
        Some((v, origin)) => {
            return Err(invalid(
                origin,
                format!("unknown CycleType {v:?} (expected SimpleCycle or HanoiCycle)"),
            ));
        }
    };
    let mysql_options = match view.first_value("MySQLOptions") {
        None => Vec::new(),
        Some((v, origin)) => shell_words::split(v)
            .map_err(|e| invalid(origin, format!("MySQLOptions {v:?}: {e}")))?,
    };
    let compressor = match view.first_value("Compressor") {
        None => Compressor::Gzip,
        Some((v, _)) if v.eq_ignore_ascii_case("gzip") => Compressor::Gzip,
        Some((v, _)) if v.eq_ignore_ascii_case("pigz") => Compressor::Pigz,
        Some((v, origin)) => {
            return Err(invalid(
                origin,
                format!("unknown Compressor {v:?} (expected gzip or pigz)"),
            ));
        }
    };
    let use_temp_file = bool_setting(view, "UseTempFile")?;
    let temp_origin = if use_temp_file {
        view.first("UseTempFile").map(|d| d.origin.clone())
    } else {
        None
    };
    let settings = CycleSettings {
        cycle_type,
        frequency: int_setting(view, "Frequency", 1)?,
        phase: int_setting(view, "Phase", 0)?,
        diffs: int_setting(view, "Diffs", 6)?,
        fulls: int_setting(view, "Fulls", 4)?,
        discs: int_setting(view, "Discs", 5)?,
        archive_oldest_disc: bool_setting(view, "ArchiveOldestDisc")?,
        use_temp_file,
        excludes: view
            .all("Exclude")
            .into_iter()
            .filter(|d| !d.bare)
            .flat_map(|d| d.values.iter().cloned())
            .collect(),
        mysql_options,
        compressor,
        gpg_compression: bool_setting_or(view, "GpgCompression", true)?,
    };
    Ok((settings, temp_origin))
}

/// Where a list of entries sits (for the warnings).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Place<'a> {
    /// The top of the file.
    Top,
    /// A top-level `<Cycle>` block.
    Cycle,
    /// An item block such as `<Directory /x>`.
    ItemBlock(&'a Block),
}

/// What the settings are loaded for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// A backup run (and test mode): everything it needs is required.
    Backup,
    /// A read-only command: the bucket and the connection suffice.
    ReadOnly,
}

/// The ChunkSize of a read-only config that does not set one: it only scales the
/// requests' timeouts (readers take each slot's chunk size from the bucket).
pub const READ_ONLY_CHUNK_SIZE: u64 = 100_000_000;

/// Builds the [`Settings`]: globals, then the scopes, collecting warnings.
struct Builder<'a> {
    file: &'a Path,
    warnings: Vec<String>,
    /// An item using `UseTempFile` (where it was switched on), for the TempDir check.
    temp_file_user: Option<Origin>,
}

impl Builder<'_> {
    fn warn(&mut self, origin: &Origin, message: impl fmt::Display) {
        self.warnings.push(format!("{origin}: {message}"));
    }

    fn missing(&self, name: &str) -> SettingsError {
        SettingsError::Invalid(format!(
            "{}: missing required setting {name}",
            self.file.display()
        ))
    }

    /// Warns, in file order, about everything that is accepted but ignored: unknown
    /// directives and blocks, globals below the top level, item lines inside item blocks,
    /// blocks nested where they mean nothing, extra block names, bare `Exclude`.
    fn lint(&mut self, entries: &[Entry], place: Place<'_>) {
        for entry in entries {
            match entry {
                Entry::Directive(d) => self.lint_directive(d, place),
                Entry::Block(b) => {
                    if let Place::ItemBlock(outer) = place {
                        self.warn(
                            &b.origin,
                            format!("<{}> inside <{}> block ignored", b.name, outer.name),
                        );
                    } else if ItemKind::from_directive(&b.name).is_some() {
                        self.lint_extra_names(b);
                        self.lint(&b.body, Place::ItemBlock(b));
                    } else if b.is("Cycle") {
                        if place == Place::Top {
                            self.lint_extra_names(b);
                            self.lint(&b.body, Place::Cycle);
                        } else {
                            self.warn(&b.origin, "<Cycle> inside a <Cycle> block ignored");
                        }
                    } else {
                        self.warn(&b.origin, format!("unknown block <{}> ignored", b.name));
                    }
                }
            }
        }
    }

    fn lint_extra_names(&mut self, b: &Block) {
        if b.args.len() > 1 {
            self.warn(
                &b.origin,
                format!(
                    "<{}> block has more than one name; only {:?} is used",
                    b.name, b.args[0]
                ),
            );
        }
    }

    fn lint_directive(&mut self, d: &Directive, place: Place<'_>) {
        if is_one_of(&d.name, SCOPE_SETTINGS) {
            if d.is("Exclude") && d.bare {
                self.warn(&d.origin, "Exclude with no value ignored");
            }
        } else if is_one_of(&d.name, GLOBALS) {
            if place != Place::Top {
                self.warn(
                    &d.origin,
                    format!("{} is a global setting; ignored inside a block", d.name),
                );
            }
        } else if ItemKind::from_directive(&d.name).is_some() {
            if let Place::ItemBlock(block) = place {
                self.warn(
                    &d.origin,
                    format!("{} inside <{}> block ignored", d.name, block.name),
                );
            }
        } else {
            self.warn(&d.origin, format!("unknown directive {} ignored", d.name));
        }
    }

    /// The items of one scope (`entries`) in file order: its item lines (with the scope's
    /// settings) and its item blocks (with their own). `<Cycle>` blocks at the top level
    /// are left to the caller.
    fn scope<'e>(
        &mut self,
        cycle_name: Option<String>,
        entries: &'e [Entry],
        outer: Option<&ScopeView<'e>>,
    ) -> Result<Scope, SettingsError> {
        let view = match outer {
            Some(outer) => ScopeView::within(entries, outer),
            None => ScopeView::new(entries),
        };
        let (settings, temp_origin) = scope_settings(&view)?;
        let mut items = Vec::new();
        for entry in entries {
            match entry {
                Entry::Directive(d) => {
                    let Some(kind) = ItemKind::from_directive(&d.name) else {
                        continue;
                    };
                    if d.bare || d.values.iter().any(String::is_empty) {
                        return Err(invalid(&d.origin, format!("{} needs a value", d.name)));
                    }
                    if settings.use_temp_file && self.temp_file_user.is_none() {
                        self.temp_file_user = temp_origin.clone();
                    }
                    for name in &d.values {
                        items.push(Item {
                            kind,
                            name: name.clone(),
                            block: None,
                            cycle: settings.clone(),
                            origin: d.origin.clone(),
                        });
                    }
                }
                Entry::Block(b) => {
                    if let Some(kind) = ItemKind::from_directive(&b.name) {
                        items.push(self.item_block(kind, b, &view)?);
                    }
                }
            }
        }
        Ok(Scope { cycle_name, items })
    }

    /// `<Directory /x> ... </Directory>`: one item with the block's own settings.
    fn item_block<'e>(
        &mut self,
        kind: ItemKind,
        b: &'e Block,
        outer: &ScopeView<'e>,
    ) -> Result<Item, SettingsError> {
        let Some(name) = b.args.first().filter(|n| !n.is_empty()) else {
            return Err(invalid(
                &b.origin,
                format!("<{}> block needs a name", b.name),
            ));
        };
        let view = ScopeView::within(&b.body, outer);
        let (cycle, temp_origin) = scope_settings(&view)?;
        if cycle.use_temp_file && self.temp_file_user.is_none() {
            self.temp_file_user = temp_origin;
        }
        Ok(Item {
            kind,
            name: name.clone(),
            block: Some(b.name.to_lowercase()),
            cycle,
            origin: b.origin.clone(),
        })
    }
}

/// `ObjectLockMode` and `ObjectLockGrace` (at most ten years); a grace without a mode
/// only warns.
fn object_lock(
    top: &ScopeView<'_>,
    b: &mut Builder<'_>,
) -> Result<Option<ObjectLock>, SettingsError> {
    let grace_days = optional_int(top, "ObjectLockGrace", 0, 3650)?;
    let Some((value, origin)) = top.first_value("ObjectLockMode") else {
        if let Some(d) = top.first("ObjectLockGrace") {
            b.warn(
                &d.origin,
                "ObjectLockGrace has no effect without ObjectLockMode",
            );
        }
        return Ok(None);
    };
    let mode = LockMode::parse(value.trim()).ok_or_else(|| {
        invalid(
            origin,
            format!("unknown ObjectLockMode {value:?} (expected COMPLIANCE or GOVERNANCE)"),
        )
    })?;
    Ok(Some(ObjectLock {
        mode,
        grace_days: grace_days.unwrap_or(DEFAULT_LOCK_GRACE_DAYS),
    }))
}

impl Settings {
    /// Validates a parsed document (LEGACY.md §3 plus the new checks of issue 2).
    ///
    /// Globals come from the top level only; every scope (the top level, each top-level
    /// `<Cycle>`, each item block) has its own settings with the legacy defaults and no
    /// inheritance. Unknown directives and blocks are warnings, not errors.
    pub fn from_document(doc: &Document) -> Result<Settings, SettingsError> {
        Settings::build(doc, Purpose::Backup)
    }

    /// Like [`Settings::from_document`], for the read-only commands (`list`, `status`,
    /// `verify`, `cat`, `restore`): `Bucket` and the connection are enough. `DiffDir` may be
    /// missing or gone (a lost host: it is then an empty path) and `ChunkSize` missing
    /// ([`READ_ONLY_CHUNK_SIZE`]); a config without items reads the bucket's items.
    pub fn for_reading(doc: &Document) -> Result<Settings, SettingsError> {
        Settings::build(doc, Purpose::ReadOnly)
    }

    fn build(doc: &Document, purpose: Purpose) -> Result<Settings, SettingsError> {
        let mut b = Builder {
            file: &doc.path,
            warnings: doc.warnings.clone(),
            temp_file_user: None,
        };
        let top = ScopeView::new(&doc.entries);

        let required = |name: &str| -> Result<(&str, &Origin), SettingsError> {
            match top.first(name) {
                None => Err(b.missing(name)),
                Some(d) if d.bare || d.values[0].is_empty() => {
                    Err(invalid(&d.origin, format!("{} needs a value", d.name)))
                }
                Some(d) => Ok((d.values[0].as_str(), &d.origin)),
            }
        };
        let (bucket, _) = required("Bucket")?;
        let reading = purpose == Purpose::ReadOnly;
        let diff_dir = match top.first("DiffDir") {
            None if reading => PathBuf::new(),
            _ => PathBuf::from(required("DiffDir")?.0),
        };
        if !reading && !diff_dir.is_dir() {
            let (_, diff_origin) = required("DiffDir")?;
            return Err(invalid(
                diff_origin,
                format!(
                    "DiffDir {} is not an existing directory",
                    diff_dir.display()
                ),
            ));
        }
        let bucket = bucket.to_string();
        let chunk_size = match top.first("ChunkSize") {
            None if reading => READ_ONLY_CHUNK_SIZE as i64,
            _ => {
                let (chunk, chunk_origin) = required("ChunkSize")?;
                parse_int("ChunkSize", chunk, chunk_origin)?
            }
        };
        let chunk_origin = top
            .first("ChunkSize")
            .map_or_else(|| Origin::new(&doc.path, 0), |d| d.origin.clone());
        let chunk_origin = &chunk_origin;
        if chunk_size < 1 || chunk_size as u64 > MAX_CHUNK_SIZE {
            return Err(invalid(
                chunk_origin,
                format!(
                    "ChunkSize must be between 1 and {MAX_CHUNK_SIZE} bytes (5 GiB), not {chunk_size}"
                ),
            ));
        }

        let temp_dir = optional(&top, "TempDir").map(PathBuf::from);
        let gpg_recipient = optional(&top, "GpgRecipient");
        let gpg_keyring = optional(&top, "GpgKeyring");
        let s3_keyfile = optional(&top, "S3Keyfile").map(PathBuf::from);
        let mut secret_warnings = Vec::new();
        if let (Some(path), Some(d)) = (&s3_keyfile, top.first("S3Keyfile")) {
            secret_warnings.extend(keyfile_readable_by_others(path, &d.origin));
        }
        let s3_endpoint = optional(&top, "S3Endpoint");
        let s3_region = optional(&top, "S3Region");
        let lock_wait = match top.first_value("LockWait") {
            None => DEFAULT_LOCK_WAIT,
            Some((value, origin)) => parse_lock_wait(value)
                .map_err(|why| invalid(origin, format!("LockWait {value:?}: {why}")))?,
        };
        let run_timeout = match top.first_value("RunTimeout") {
            None => None,
            Some((value, origin)) => Some(
                parse_run_timeout(value)
                    .map_err(|why| invalid(origin, format!("RunTimeout {value:?}: {why}")))?,
            ),
        };
        let s3_retries = optional_int(&top, "S3Retries", 0, 100)?.map(|n| n as u32);
        let s3_timeout = optional_int(&top, "S3Timeout", 1, 86_400)?.map(|n| n as u64);
        let s3_payload_signing = payload_signing(&top)?;
        let notify_command = notify_command(&top)?;
        let object_lock = object_lock(&top, &mut b)?;
        let metrics_file = optional(&top, "MetricsFile").map(PathBuf::from);

        b.lint(&doc.entries, Place::Top);
        let mut scopes = vec![b.scope(None, &doc.entries, None)?];
        for entry in &doc.entries {
            if let Entry::Block(block) = entry
                && block.is("Cycle")
            {
                let name = block.args.first().cloned().unwrap_or_default();
                scopes.push(b.scope(Some(name), &block.body, Some(&top))?);
            }
        }

        if scopes[0].items.is_empty() {
            for d in &top.directives {
                if is_one_of(&d.name, SCOPE_SETTINGS) && !is_one_of(&d.name, INHERITED_SETTINGS) {
                    b.warn(
                        &d.origin,
                        format!(
                            "{} at the top level has no effect: there are no items at the top level, and blocks do not inherit it (as in s3napback.pl); set it in each block",
                            d.name
                        ),
                    );
                }
            }
        }

        if temp_dir.is_none()
            && let Some(origin) = &b.temp_file_user
        {
            return Err(invalid(
                origin,
                "UseTempFile is set but there is no TempDir",
            ));
        }

        Ok(Settings {
            path: doc.path.clone(),
            diff_dir,
            temp_dir,
            bucket,
            gpg_recipient,
            gpg_keyring,
            s3_keyfile,
            chunk_size: chunk_size as u64,
            s3_endpoint,
            s3_region,
            lock_wait,
            run_timeout,
            s3_retries,
            s3_timeout,
            s3_payload_signing,
            notify_command,
            object_lock,
            metrics_file,
            scopes,
            warnings: b.warnings,
            secret_warnings,
        })
    }
}

#[cfg(test)]
mod tests;
