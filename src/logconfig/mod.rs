//! The log4perl configuration (`s3napback.logconfig`, LEGACY.md §11): parsed with nom and
//! turned into a log4rs configuration with a log4perl-compatible pattern layout.
//!
//! Flow: [`find`] the file, [`load`] it into a [`LogSpec`], then [`init`] installs the
//! global logger (or [`build`] only builds the log4rs configuration, for tests).
//!
//! Conventions shared with the rest of the tool:
//! * log targets use `::` as the hierarchy separator (`Backup::S3napback::Directory`);
//!   log4perl categories use dots (`Backup.S3napback.Directory`), and `%c` prints dots.
//! * the `log` crate has no FATAL level: an Error record carrying the key-value
//!   `fatal = true` (`log::error!(fatal = true; "...")`) is FATAL.
//! * records whose target is not under `Backup` (other crates) are kept only at WARN and
//!   above, whatever the root level.
#![allow(dead_code)]

mod build;
mod mail;
mod parse;
mod pattern;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::limits::{MAX_LOGCONFIG_BYTES, read_regular_file};

#[allow(unused_imports)] // used by main once it wires logging
pub use build::build;
#[allow(unused_imports)]
pub use pattern::Log4perlPattern;

/// Name of the log configuration file looked up beside the executable and in `/etc`.
pub const FILE_NAME: &str = "s3napback.logconfig";

/// System-wide location of the log configuration, tried after the executable's directory.
pub const SYSTEM_PATH: &str = "/etc/s3napback/s3napback.logconfig";

/// The pattern used when there is no log configuration at all (with output to stderr and
/// the root level INFO).
pub const DEFAULT_PATTERN: &str = "%d %c %p %m%n";

/// Errors from reading, parsing, building or installing a log configuration. Every
/// variant that comes from the file names the file and, where there is one, the line.
#[derive(Debug, thiserror::Error)]
pub enum LogConfigError {
    /// The file could not be read.
    #[error("cannot read log configuration {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line is not `key = value`, a comment or blank.
    #[error("{}:{line}: syntax error in log configuration: {msg}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// A setting has a value the tool cannot use (bad level, bad number, ...).
    #[error("{}:{line}: invalid log configuration: {msg}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// An appender could not be set up (typically: its log file cannot be opened).
    #[error("{}:{line}: cannot set up log appender {name}: {msg}", path.display())]
    Appender {
        /// The file.
        path: PathBuf,
        /// Line of the appender's definition.
        line: usize,
        /// The appender's name.
        name: String,
        /// What went wrong (e.g. `cannot open log file /var/log/x.log: Permission denied`).
        msg: String,
    },
    /// log4rs rejected the assembled configuration (a bug rather than a user error).
    #[error("log configuration rejected by log4rs: {0}")]
    Config(String),
    /// A global logger was already installed.
    #[error("cannot install the logger: {0}")]
    Init(String),
}

/// A log level as log4perl names it (`ALL` reads as `TRACE`). Ordered from the most
/// verbose to the most severe; `Off` disables everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// `TRACE` (or `ALL`).
    Trace,
    /// `DEBUG`.
    Debug,
    /// `INFO`.
    Info,
    /// `WARN`.
    Warn,
    /// `ERROR`.
    Error,
    /// `FATAL`: an Error record with the key-value `fatal = true`.
    Fatal,
    /// `OFF`.
    Off,
}

impl LogLevel {
    /// Parses a log4perl level name (`ALL TRACE DEBUG INFO WARN ERROR FATAL OFF`), in any case.
    pub fn from_log4perl(name: &str) -> Option<LogLevel> {
        Some(match name.trim().to_ascii_uppercase().as_str() {
            "ALL" | "TRACE" => LogLevel::Trace,
            "DEBUG" => LogLevel::Debug,
            "INFO" => LogLevel::Info,
            "WARN" => LogLevel::Warn,
            "ERROR" => LogLevel::Error,
            "FATAL" => LogLevel::Fatal,
            "OFF" => LogLevel::Off,
            _ => return None,
        })
    }

    /// Parses a Log::Dispatch level name (`debug info notice warning error critical alert
    /// emergency`, their short forms, or 0..7) as a minimum level. `notice` keeps WARN and
    /// above (there is no notice level here); `critical` and above keep only FATAL.
    pub fn from_dispatch(name: &str) -> Option<LogLevel> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "debug" | "0" => LogLevel::Debug,
            "info" | "1" => LogLevel::Info,
            "notice" | "2" | "warning" | "warn" | "3" => LogLevel::Warn,
            "error" | "err" | "4" => LogLevel::Error,
            "critical" | "crit" | "5" | "alert" | "6" | "emergency" | "emerg" | "7" => {
                LogLevel::Fatal
            }
            _ => return None,
        })
    }

    /// Either vocabulary: log4perl names first, then Log::Dispatch names.
    pub fn from_any(name: &str) -> Option<LogLevel> {
        LogLevel::from_log4perl(name).or_else(|| LogLevel::from_dispatch(name))
    }

    /// The log4rs/`log` level filter for a logger at this level. FATAL maps to Error (the
    /// `log` crate cannot tell FATAL apart at the logger stage).
    pub fn to_filter(self) -> log::LevelFilter {
        match self {
            LogLevel::Trace => log::LevelFilter::Trace,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Error | LogLevel::Fatal => log::LevelFilter::Error,
            LogLevel::Off => log::LevelFilter::Off,
        }
    }

    /// The level of a record: Error records with `fatal = true` are [`LogLevel::Fatal`].
    pub fn of_record(record: &log::Record) -> LogLevel {
        match record.level() {
            log::Level::Trace => LogLevel::Trace,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Info => LogLevel::Info,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Error if is_fatal(record) => LogLevel::Fatal,
            log::Level::Error => LogLevel::Error,
        }
    }

    /// The log4perl name as `%p` prints it.
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
            LogLevel::Fatal => "FATAL",
            LogLevel::Off => "OFF",
        }
    }
}

/// Whether a record carries the key-value `fatal = true` (or `fatal = "true"`).
fn is_fatal(record: &log::Record) -> bool {
    match record.key_values().get(log::kv::Key::from_str("fatal")) {
        Some(v) => v.to_bool().unwrap_or_else(|| v.to_string() == "true"),
        None => false,
    }
}

/// One setting as written in the file, with its line for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The value, trimmed.
    pub value: String,
    /// 1-based line number.
    pub line: usize,
}

/// A logger line: `log4perl.rootLogger = LEVEL, APPENDER...` or
/// `log4perl.logger.CATEGORY = LEVEL[, APPENDER...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggerSpec {
    /// The level; `None` when left empty (inherited from the parent category).
    pub level: Option<LogLevel>,
    /// Appender names, in order.
    pub appenders: Vec<String>,
    /// 1-based line number.
    pub line: usize,
}

/// An appender: `log4perl.appender.NAME = CLASS` plus its `log4perl.appender.NAME.*`
/// settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppenderSpec {
    /// The appender's name.
    pub name: String,
    /// Its class, e.g. `Log::Log4perl::Appender::Screen`.
    pub class: String,
    /// Line of the class line.
    pub line: usize,
    /// Settings keyed by the part after `NAME.`, e.g. `stderr`, `layout`,
    /// `layout.ConversionPattern`, `Threshold`.
    pub settings: BTreeMap<String, Setting>,
}

impl AppenderSpec {
    /// A setting by exact name, or failing that by case-insensitive name.
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.settings.get(key).or_else(|| {
            self.settings
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
    }
}

/// A parsed log4perl configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSpec {
    /// The file it came from (for messages).
    pub path: PathBuf,
    /// The root logger, if configured.
    pub root: Option<LoggerSpec>,
    /// Loggers by dotted log4perl category (`Backup.S3napback`).
    pub loggers: BTreeMap<String, LoggerSpec>,
    /// `log4perl.additivity.CATEGORY` values by dotted category.
    pub additivity: BTreeMap<String, Setting>,
    /// Defined appenders by name (settings for undefined names are dropped).
    pub appenders: BTreeMap<String, AppenderSpec>,
    /// Problems that do not stop the tool (unknown settings), as `file:line: message`.
    pub warnings: Vec<String>,
}

impl LogSpec {
    /// Parses log4perl configuration text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<LogSpec, LogConfigError> {
        parse::parse_spec(text, path)
    }
}

/// Finds the log configuration: the explicit `--logconfig FILE` (returned as is, even if
/// missing, so the caller can report it); else `s3napback.logconfig` beside the program as
/// it was called (a link named `s3napback.pl` where the legacy script was finds the legacy
/// file beside it, as the legacy looked beside the script itself); else beside the
/// executable; else `/etc/s3napback/s3napback.logconfig`; else `None`.
pub fn find(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let beside_exe = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(FILE_NAME)));
    invoked_dir()
        .map(|d| d.join(FILE_NAME))
        .into_iter()
        .chain(beside_exe)
        .chain(std::iter::once(PathBuf::from(SYSTEM_PATH)))
        .find(|p| p.is_file())
}

/// The directory of the program as called: that of `argv[0]`, or the `PATH` entry holding
/// it when it names no directory.
fn invoked_dir() -> Option<PathBuf> {
    let argv0 = PathBuf::from(std::env::args_os().next()?);
    if argv0.components().count() > 1 {
        return argv0.parent().map(Path::to_path_buf);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).find(|d| d.join(&argv0).is_file())
}

/// Reads and parses a log configuration file. Errors name the file (and line).
pub fn load(path: &Path) -> Result<LogSpec, LogConfigError> {
    let text = read_regular_file(path, MAX_LOGCONFIG_BYTES).map_err(|msg| LogConfigError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(msg),
    })?;
    LogSpec::parse(&text, path)
}

/// Builds the log4rs configuration (see [`build`]) and installs it as the global logger.
/// `spec == None`: stderr, root INFO, pattern `%d %c %p %m%n`. `debug` (the `-d` flag):
/// every category at DEBUG. Returns warnings (unknown appender classes, unknown settings,
/// ...) for the caller to log once logging works; informational notes are logged here at
/// INFO. E-mail appenders keep their lines until [`send_mail`].
pub fn init(spec: Option<&LogSpec>, debug: bool) -> Result<Vec<String>, LogConfigError> {
    let built = build::build_with(spec, debug, &mut build::real_console)?;
    log4rs::init_config(built.config).map_err(|e| LogConfigError::Init(e.to_string()))?;
    mail::install(built.outboxes);
    for note in &built.notes {
        log::info!(target: "Backup::S3napback", "{note}");
    }
    Ok(built.warnings)
}

/// Sends the lines each e-mail appender kept as one mail (at the end of the run). Returns
/// one message per mail that could not be sent, for the caller to log at ERROR.
pub fn send_mail() -> Vec<String> {
    mail::send_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_in_both_vocabularies() {
        assert_eq!(LogLevel::from_log4perl("info"), Some(LogLevel::Info));
        assert_eq!(LogLevel::from_log4perl("ALL"), Some(LogLevel::Trace));
        assert_eq!(LogLevel::from_log4perl("notice"), None);
        assert_eq!(LogLevel::from_dispatch("notice"), Some(LogLevel::Warn));
        assert_eq!(LogLevel::from_dispatch("critical"), Some(LogLevel::Fatal));
        assert_eq!(LogLevel::from_dispatch("3"), Some(LogLevel::Warn));
        assert_eq!(LogLevel::from_any("FATAL"), Some(LogLevel::Fatal));
        assert_eq!(LogLevel::from_any("emergency"), Some(LogLevel::Fatal));
        assert_eq!(LogLevel::Fatal.to_filter(), log::LevelFilter::Error);
    }

    #[test]
    fn fatal_is_an_error_record_with_fatal_true() {
        let kv = [("fatal", true)];
        let rec = log::Record::builder()
            .level(log::Level::Error)
            .key_values(&kv)
            .build();
        assert_eq!(LogLevel::of_record(&rec), LogLevel::Fatal);
        let kv = [("fatal", false)];
        let rec = log::Record::builder()
            .level(log::Level::Error)
            .key_values(&kv)
            .build();
        assert_eq!(LogLevel::of_record(&rec), LogLevel::Error);
        let kv = [("fatal", "true")];
        let rec = log::Record::builder()
            .level(log::Level::Error)
            .key_values(&kv)
            .build();
        assert_eq!(LogLevel::of_record(&rec), LogLevel::Fatal);
        let rec = log::Record::builder().level(log::Level::Warn).build();
        assert_eq!(LogLevel::of_record(&rec), LogLevel::Warn);
    }

    #[test]
    fn find_prefers_the_explicit_file_even_if_missing() {
        let p = Path::new("/nonexistent/x.logconfig");
        assert_eq!(find(Some(p)), Some(p.to_path_buf()));
        // Without one, whatever is found must exist.
        if let Some(found) = find(None) {
            assert!(found.is_file());
        }
    }

    #[test]
    fn load_names_a_missing_file() {
        let err = load(Path::new("/nonexistent/x.logconfig")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/x.logconfig"),
            "{err}"
        );
    }

    #[test]
    fn stock_file_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(FILE_NAME);
        let spec = load(&path).unwrap();
        let root = spec.root.as_ref().unwrap();
        assert_eq!(root.appenders, vec!["Screen", "Logfile"]);
        assert_eq!(
            spec.appenders["Screen"].class,
            "Log::Log4perl::Appender::Screen"
        );
        assert_eq!(
            spec.appenders["Logfile"].class,
            "Log::Log4perl::Appender::File"
        );
        assert_eq!(
            spec.appenders["Logfile"].get("filename").unwrap().value,
            "/var/log/s3napback.log"
        );
        // The capital-F LogFile.min_level names no appender and is dropped silently.
        assert!(!spec.appenders.contains_key("LogFile"));
        assert!(spec.warnings.is_empty(), "{:?}", spec.warnings);
        assert!(spec.loggers.contains_key("Backup.S3napback"));
    }
}
