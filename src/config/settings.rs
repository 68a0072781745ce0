//! Validated settings: the parsed [`Document`] turned into what a run needs, with the
//! legacy defaults (LEGACY.md §3) and every check done before any work starts.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::limits;
use super::parse::{Block, Directive, Document, Entry, Origin};
use crate::store::lock::LockMode;
use crate::store::s3::PayloadSigning;

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
    /// Items configured in several scopes, and distinct items whose legacy names collide.
    pub collisions: super::collisions::Collisions,
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

/// Why a configuration cannot be used. Every message names the file (and line when known).
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The message names the file (and line when known): `FILE:LINE: what is wrong`.
    #[error("{0}")]
    Invalid(String),
}

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

/// `LockWait` when not set: an hour.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(60 * 60);

/// The longest `LockWait` accepted: a week.
const MAX_LOCK_WAIT: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// `N`, `Ns`, `Nm` or `Nh` (bare N: minutes), at most a week.
fn parse_lock_wait(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    let (digits, unit) = match value.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&value[..i], c.to_ascii_lowercase()),
        _ => (value, 'm'),
    };
    let seconds_per_unit = match unit {
        's' => 1,
        'm' => 60,
        'h' => 60 * 60,
        _ => return Err("the unit must be s, m or h (minutes when none)".into()),
    };
    let n: u64 = digits.trim().parse().map_err(|_| {
        "must be a whole number of minutes, or of seconds/hours with s/h".to_string()
    })?;
    match n.checked_mul(seconds_per_unit).map(Duration::from_secs) {
        Some(wait) if wait <= MAX_LOCK_WAIT => Ok(wait),
        _ => Err("must be at most a week (168h)".into()),
    }
}

fn is_one_of(name: &str, list: &[&str]) -> bool {
    list.iter().any(|k| k.eq_ignore_ascii_case(name))
}

/// The directives written directly in one scope (not in nested blocks), in file order.
struct ScopeView<'a> {
    directives: Vec<&'a Directive>,
}

/// Per-scope settings new in this tool (no legacy config has them): a block that does not
/// set one takes the value of the scope around it (a `<Cycle>` the top level's, an item
/// block its `<Cycle>`'s or the top level's). The legacy settings keep the legacy's
/// scoping: no inheritance.
const INHERITED_SETTINGS: &[&str] = &["Compressor", "GpgCompression"];

impl<'a> ScopeView<'a> {
    /// A block's view: its own directives, then the inherited settings of `outer`.
    fn within(entries: &'a [Entry], outer: &ScopeView<'a>) -> ScopeView<'a> {
        let mut view = ScopeView::new(entries);
        view.directives.extend(
            outer
                .directives
                .iter()
                .copied()
                .filter(|d| is_one_of(&d.name, INHERITED_SETTINGS)),
        );
        view
    }

    fn new(entries: &'a [Entry]) -> ScopeView<'a> {
        let directives = entries
            .iter()
            .filter_map(|e| match e {
                Entry::Directive(d) => Some(d),
                Entry::Block(_) => None,
            })
            .collect();
        ScopeView { directives }
    }

    /// The first occurrence of `name` (repeats combine; single-valued settings take the
    /// first value of the first occurrence).
    fn first(&self, name: &str) -> Option<&'a Directive> {
        self.directives.iter().copied().find(|d| d.is(name))
    }

    /// The first value of the first occurrence, with where it was written.
    fn first_value(&self, name: &str) -> Option<(&'a str, &'a Origin)> {
        self.first(name).map(|d| {
            (
                d.values.first().map(String::as_str).unwrap_or(""),
                &d.origin,
            )
        })
    }

    /// Every occurrence of `name`, in file order.
    fn all(&self, name: &str) -> Vec<&'a Directive> {
        self.directives
            .iter()
            .copied()
            .filter(|d| d.is(name))
            .collect()
    }
}

fn invalid(origin: &Origin, message: impl fmt::Display) -> SettingsError {
    SettingsError::Invalid(format!("{origin}: {message}"))
}

/// A whole integer (`Frequency 1`), else an error naming the line.
fn parse_int(name: &str, value: &str, origin: &Origin) -> Result<i64, SettingsError> {
    use std::num::IntErrorKind::{NegOverflow, PosOverflow};
    value.trim().parse::<i64>().map_err(|e| match e.kind() {
        PosOverflow | NegOverflow => invalid(
            origin,
            format!("{name} {value} is out of range (see Limits in doc/configuration.md)"),
        ),
        _ => invalid(
            origin,
            format!("{name} must be a whole number, not {value:?}"),
        ),
    })
}

/// A schedule setting with a default, within its range in [`limits::SCHEDULE`].
fn int_setting(view: &ScopeView<'_>, name: &str, default: i64) -> Result<i64, SettingsError> {
    let Some((value, origin)) = view.first_value(name) else {
        return Ok(default);
    };
    let n = parse_int(name, value, origin)?;
    let (_, min, max) = limits::SCHEDULE
        .iter()
        .copied()
        .find(|(limited, _, _)| limited.eq_ignore_ascii_case(name))
        .expect("every schedule setting has limits");
    if n < min {
        return Err(invalid(
            origin,
            format!("{name} must be at least {min}, not {n}"),
        ));
    }
    if n > max {
        return Err(invalid(
            origin,
            format!("{name} must be at most {max}, not {n} (see Limits in doc/configuration.md)"),
        ));
    }
    Ok(n)
}

/// A boolean setting, false when absent (after boolean fixing it must be `0` or `1`).
fn bool_setting(view: &ScopeView<'_>, name: &str) -> Result<bool, SettingsError> {
    bool_setting_or(view, name, false)
}

/// A boolean setting with its default.
fn bool_setting_or(view: &ScopeView<'_>, name: &str, default: bool) -> Result<bool, SettingsError> {
    match view.first_value(name) {
        None => Ok(default),
        Some(("1", _)) => Ok(true),
        Some(("0", _)) => Ok(false),
        Some((value, origin)) => Err(invalid(
            origin,
            format!("{name} must be yes/no, on/off, true/false or 1/0, not {value:?}"),
        )),
    }
}

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

/// A warning when the S3 key file can be read by its group or others (it holds the
/// secret).
fn keyfile_readable_by_others(path: &Path, origin: &Origin) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o044 != 0).then(|| {
        format!(
            "{origin}: S3Keyfile {} is readable by group or others (mode {mode:o}); \
             it holds the S3 secret: chmod 600 it",
            path.display()
        )
    })
}

/// An optional global: absent, bare (`TempDir` alone) or empty means `None`.
fn optional(view: &ScopeView<'_>, name: &str) -> Option<String> {
    let d = view.first(name)?;
    if d.bare {
        return None;
    }
    d.values.first().filter(|v| !v.is_empty()).cloned()
}

/// `S3PayloadSigning auto|yes|no` (yes/no spelled as any boolean), default `auto`.
fn payload_signing(top: &ScopeView<'_>) -> Result<PayloadSigning, SettingsError> {
    match top.first_value("S3PayloadSigning") {
        None => Ok(PayloadSigning::Auto),
        Some((v, _)) if v.eq_ignore_ascii_case("auto") => Ok(PayloadSigning::Auto),
        Some(("1", _)) => Ok(PayloadSigning::Always),
        Some(("0", _)) => Ok(PayloadSigning::Never),
        Some((value, origin)) => Err(invalid(
            origin,
            format!("S3PayloadSigning must be auto, yes or no, not {value:?}"),
        )),
    }
}

/// An optional whole-number global within `min..=max`, else an error naming the line.
fn optional_int(
    view: &ScopeView<'_>,
    name: &str,
    min: i64,
    max: i64,
) -> Result<Option<i64>, SettingsError> {
    let Some((value, origin)) = view.first_value(name) else {
        return Ok(None);
    };
    let n = parse_int(name, value, origin)?;
    if !(min..=max).contains(&n) {
        return Err(invalid(
            origin,
            format!("{name} must be between {min} and {max}, not {n}"),
        ));
    }
    Ok(Some(n))
}

/// `NotifyCommand "PROGRAM ARG..."` (one value, split as a shell would, no shell is run)
/// or `NotifyCommand PROGRAM ARG...` (several values, each one argument).
fn notify_command(top: &ScopeView<'_>) -> Result<Option<Vec<String>>, SettingsError> {
    let Some(d) = top.first("NotifyCommand") else {
        return Ok(None);
    };
    let argv = match d.values.as_slice() {
        [one] => shell_words::split(one)
            .map_err(|e| invalid(&d.origin, format!("NotifyCommand {one:?}: {e}")))?,
        many => many.to_vec(),
    };
    if d.bare || argv.first().is_none_or(String::is_empty) {
        return Err(invalid(&d.origin, "NotifyCommand needs a command"));
    }
    Ok(Some(argv))
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
        let (diff_dir, diff_origin) = required("DiffDir")?;
        let (chunk, chunk_origin) = required("ChunkSize")?;
        let bucket = bucket.to_string();
        let diff_dir = PathBuf::from(diff_dir);
        if !diff_dir.is_dir() {
            return Err(invalid(
                diff_origin,
                format!(
                    "DiffDir {} is not an existing directory",
                    diff_dir.display()
                ),
            ));
        }
        let chunk_size = parse_int("ChunkSize", chunk, chunk_origin)?;
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

        let collisions = super::collisions::find(&scopes);

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
            s3_retries,
            s3_timeout,
            s3_payload_signing,
            notify_command,
            object_lock,
            metrics_file,
            scopes,
            warnings: b.warnings,
            secret_warnings,
            collisions,
        })
    }
}

#[cfg(test)]
mod tests;
