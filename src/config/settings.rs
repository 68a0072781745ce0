//! Validated settings: the parsed [`Document`] turned into what a run needs, with the
//! legacy defaults (LEGACY.md §3) and every check done before any work starts.

use std::path::PathBuf;

use super::parse::{Document, Origin};

/// The cycle arithmetic an item follows (LEGACY.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleType {
    /// Fixed slots, FULL every `Diffs + 1` backups.
    Simple,
    /// Tower-of-Hanoi rotation of full backups.
    Hanoi,
}

/// Per-scope timing and content settings, with the legacy defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleSettings {
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
        }
    }
}

/// The kinds of thing that can be backed up, in the legacy processing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemKind {
    Directory,
    Subversion,
    SubversionDir,
    MySql,
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
    pub diff_dir: PathBuf,
    pub temp_dir: Option<PathBuf>,
    pub bucket: String,
    /// `None` (or a `GpgRecipient` with no value): no encryption.
    pub gpg_recipient: Option<String>,
    pub gpg_keyring: Option<String>,
    /// Java-properties file with `key=` and `secret=`; `None`: the standard AWS chain.
    pub s3_keyfile: Option<PathBuf>,
    /// Bytes per stored object; 1 ..= 5 GiB.
    pub chunk_size: u64,
    /// New directive `S3Endpoint URL` (else `AWS_ENDPOINT_URL`, else AWS).
    pub s3_endpoint: Option<String>,
    /// New directive `S3Region NAME`.
    pub s3_region: Option<String>,
    /// The top scope first, then each `<Cycle>` block in file order.
    pub scopes: Vec<Scope>,
    /// Non-fatal findings (unknown directives ...), each naming file:line.
    pub warnings: Vec<String>,
}

/// Why a configuration cannot be used. Every message names the file (and line when known).
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{0}")]
    Invalid(String),
}

impl Settings {
    /// Validates a parsed document (LEGACY.md §3 plus the new checks of issue 2).
    pub fn from_document(_doc: &Document) -> Result<Settings, SettingsError> {
        todo!("settings validation")
    }
}
