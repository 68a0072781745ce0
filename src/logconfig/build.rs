//! [`LogSpec`] → `log4rs::Config`.

use std::collections::{BTreeMap, BTreeSet};

use log::LevelFilter;
use log4rs::append::Append;
use log4rs::append::console::{ConsoleAppender, Target};
use log4rs::append::file::FileAppender;
use log4rs::append::rolling_file::RollingFileAppender;
use log4rs::append::rolling_file::policy::compound::CompoundPolicy;
use log4rs::append::rolling_file::policy::compound::roll::fixed_window::FixedWindowRoller;
use log4rs::append::rolling_file::policy::compound::trigger::size::SizeTrigger;
use log4rs::config::{Appender, Config, Logger, Root};
use log4rs::encode::Encode;
use log4rs::filter::{Filter, Response};

use super::pattern::Log4perlPattern;
use super::{AppenderSpec, DEFAULT_PATTERN, LogConfigError, LogLevel, LogSpec, Setting};

/// The log4rs logger that holds the tool's own categories (log target prefix).
const TOOL_ROOT: &str = "Backup";

/// Screen appenders: whether to write to stderr, and the encoder. Replaced in tests.
pub(crate) type ConsoleFactory<'a> = dyn FnMut(bool, Box<dyn Encode>) -> Box<dyn Append> + 'a;

pub(crate) fn real_console(stderr: bool, encoder: Box<dyn Encode>) -> Box<dyn Append> {
    let target = if stderr {
        Target::Stderr
    } else {
        Target::Stdout
    };
    Box::new(
        ConsoleAppender::builder()
            .target(target)
            .encoder(encoder)
            .build(),
    )
}

/// Result of building: the config, warnings for the caller, and informational notes.
pub(crate) struct Built {
    pub config: Config,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

/// Drops records below a minimum level (`Threshold` / `min_level`), FATAL-aware.
#[derive(Debug)]
struct MinLevel(LogLevel);

impl Filter for MinLevel {
    fn filter(&self, record: &log::Record) -> Response {
        if LogLevel::of_record(record) < self.0 {
            Response::Reject
        } else {
            Response::Neutral
        }
    }
}

/// Builds the log4rs configuration without installing it. `spec == None`: stderr, root
/// INFO, pattern `%d %c %p %m%n`. `debug`: every category at DEBUG. Returns the config and
/// warnings (unknown appender classes, appenders used but never defined, unsupported
/// settings, unknown pattern conversions), each naming file:line.
pub fn build(spec: Option<&LogSpec>, debug: bool) -> Result<(Config, Vec<String>), LogConfigError> {
    let built = build_with(spec, debug, &mut real_console)?;
    Ok((built.config, built.warnings))
}

fn config_error(e: impl std::fmt::Display) -> LogConfigError {
    LogConfigError::Config(e.to_string())
}

/// The stricter of the root level and WARN: for records from other crates.
fn foreign_level(root: LevelFilter) -> LevelFilter {
    root.min(LevelFilter::Warn)
}

pub(crate) fn build_with(
    spec: Option<&LogSpec>,
    debug: bool,
    console: &mut ConsoleFactory<'_>,
) -> Result<Built, LogConfigError> {
    super::pattern::mark_start();
    match spec {
        None => {
            let (enc, _) = Log4perlPattern::new(DEFAULT_PATTERN);
            let level = if debug {
                LevelFilter::Debug
            } else {
                LevelFilter::Info
            };
            let config = Config::builder()
                .appender(Appender::builder().build("stderr", console(true, Box::new(enc))))
                .logger(Logger::builder().build(TOOL_ROOT, level))
                .build(
                    Root::builder()
                        .appender("stderr")
                        .build(foreign_level(level)),
                )
                .map_err(config_error)?;
            Ok(Built {
                config,
                warnings: Vec::new(),
                notes: Vec::new(),
            })
        }
        Some(spec) => build_spec(spec, debug, console),
    }
}

fn invalid(spec: &LogSpec, s: &Setting, msg: String) -> LogConfigError {
    LogConfigError::Invalid {
        path: spec.path.clone(),
        line: s.line,
        msg,
    }
}

/// Parses `10_000_000`, `10000000`, `10k`, `10M`, `1G` (k = 1024).
fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim().replace('_', "");
    let (digits, mult) = match t.char_indices().last()? {
        (i, 'k' | 'K') => (&t[..i], 1024),
        (i, 'm' | 'M') => (&t[..i], 1024 * 1024),
        (i, 'g' | 'G') => (&t[..i], 1024 * 1024 * 1024),
        _ => (&t[..], 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

/// The encoder of an appender from its `layout` settings.
fn encoder_for(a: &AppenderSpec, spec: &LogSpec, warnings: &mut Vec<String>) -> Log4perlPattern {
    let here = |s: &Setting| format!("{}:{}", spec.path.display(), s.line);
    let pattern = match a.get("layout") {
        None => "%p - %m%n".to_string(),
        Some(l) => match l.value.as_str() {
            "Log::Log4perl::Layout::SimpleLayout" | "SimpleLayout" => "%p - %m%n".to_string(),
            c if c.starts_with("Log::Log4perl::Layout::PatternLayout") || c == "PatternLayout" => {
                match a.get("layout.ConversionPattern") {
                    Some(p) => p.value.clone(),
                    None => "%m%n".to_string(),
                }
            }
            other => {
                warnings.push(format!(
                    "{}: unknown layout {other} for appender {}; using SimpleLayout",
                    here(l),
                    a.name
                ));
                "%p - %m%n".to_string()
            }
        },
    };
    let (enc, problems) = Log4perlPattern::new(&pattern);
    let line = a.get("layout.ConversionPattern").map_or(a.line, |s| s.line);
    for p in problems {
        warnings.push(format!("{}:{line}: {p}", spec.path.display()));
    }
    enc
}

/// The stricter of `Threshold` and `min_level`, if either is set.
fn threshold_for(a: &AppenderSpec, spec: &LogSpec) -> Result<Option<LogLevel>, LogConfigError> {
    let mut min = None;
    for key in ["Threshold", "min_level"] {
        if let Some(s) = a.get(key) {
            let level = LogLevel::from_any(&s.value).ok_or_else(|| {
                invalid(
                    spec,
                    s,
                    format!("`{}` is not a log level for {}.{key}", s.value, a.name),
                )
            })?;
            min = Some(min.map_or(level, |m: LogLevel| m.max(level)));
        }
    }
    Ok(min)
}

/// `mode`: append (default) → true, write/clobber → false.
fn append_mode(a: &AppenderSpec, spec: &LogSpec) -> Result<bool, LogConfigError> {
    match a.get("mode") {
        None => Ok(true),
        Some(s) => match s.value.to_ascii_lowercase().as_str() {
            "append" | ">>" => Ok(true),
            "write" | "clobber" | ">" => Ok(false),
            other => Err(invalid(
                spec,
                s,
                format!(
                    "mode `{other}` for appender {} is not supported (append, write, clobber)",
                    a.name
                ),
            )),
        },
    }
}

fn filename<'a>(a: &'a AppenderSpec, spec: &LogSpec) -> Result<&'a str, LogConfigError> {
    match a.get("filename") {
        Some(s) if !s.value.is_empty() => Ok(&s.value),
        _ => Err(LogConfigError::Invalid {
            path: spec.path.clone(),
            line: a.line,
            msg: format!("appender {} ({}) needs a filename", a.name, a.class),
        }),
    }
}

fn open_error(
    a: &AppenderSpec,
    spec: &LogSpec,
    file: &str,
    e: impl std::fmt::Display,
) -> LogConfigError {
    LogConfigError::Appender {
        path: spec.path.clone(),
        line: a.line,
        name: a.name.clone(),
        msg: format!("cannot open log file {file}: {e}"),
    }
}

enum Made {
    Appender(Box<dyn Append>),
    Skipped,
}

fn make_appender(
    a: &AppenderSpec,
    spec: &LogSpec,
    console: &mut ConsoleFactory<'_>,
    warnings: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Result<Made, LogConfigError> {
    let class = a.class.as_str();
    match class {
        "Log::Log4perl::Appender::Screen" | "Log::Log4perl::Appender::ScreenColoredLevels" => {
            let stderr = match a.get("stderr") {
                None => true,
                Some(s) => !matches!(s.value.trim(), "0" | "" | "false"),
            };
            let enc = encoder_for(a, spec, warnings);
            Ok(Made::Appender(console(stderr, Box::new(enc))))
        }
        "Log::Log4perl::Appender::File" | "Log::Dispatch::File" => {
            let file = filename(a, spec)?;
            let append = append_mode(a, spec)?;
            let enc = encoder_for(a, spec, warnings);
            let app = FileAppender::builder()
                .append(append)
                .encoder(Box::new(enc))
                .build(file)
                .map_err(|e| open_error(a, spec, file, e))?;
            Ok(Made::Appender(Box::new(app)))
        }
        "Log::Dispatch::FileRotate" => {
            let file = filename(a, spec)?;
            let append = append_mode(a, spec)?;
            let max = match a.get("max") {
                None => 1,
                Some(s) => s
                    .value
                    .trim()
                    .replace('_', "")
                    .parse::<u32>()
                    .map_err(|_| {
                        invalid(
                            spec,
                            s,
                            format!("max `{}` for appender {} is not a number", s.value, a.name),
                        )
                    })?,
            };
            let size = match a.get("size") {
                None => 10 * 1024 * 1024,
                Some(s) => parse_size(&s.value).filter(|&n| n > 0).ok_or_else(|| {
                    invalid(
                        spec,
                        s,
                        format!(
                            "size `{}` for appender {} is not a byte count",
                            s.value, a.name
                        ),
                    )
                })?,
            };
            for key in ["DatePattern", "TZ"] {
                if let Some(s) = a.get(key) {
                    warnings.push(format!(
                        "{}:{}: {key} of appender {} is not supported; rotating by size only",
                        spec.path.display(),
                        s.line,
                        a.name
                    ));
                }
            }
            let roller = FixedWindowRoller::builder()
                .base(1)
                .build(&format!("{file}.{{}}"), max.max(1))
                .map_err(|e| open_error(a, spec, file, e))?;
            let policy = CompoundPolicy::new(Box::new(SizeTrigger::new(size)), Box::new(roller));
            let enc = encoder_for(a, spec, warnings);
            let app = RollingFileAppender::builder()
                .append(append)
                .encoder(Box::new(enc))
                .build(file, Box::new(policy))
                .map_err(|e| open_error(a, spec, file, e))?;
            Ok(Made::Appender(Box::new(app)))
        }
        "Log::Dispatch::Email::MailSender" => {
            let to = a.get("to").map_or("", |s| s.value.as_str());
            notes.push(format!(
                "{}:{}: e-mail appender {} (to {to}) is accepted but sends no mail yet",
                spec.path.display(),
                a.line,
                a.name
            ));
            Ok(Made::Skipped)
        }
        other => {
            warnings.push(format!(
                "{}:{}: unknown appender class {other} for appender {}; appender skipped",
                spec.path.display(),
                a.line,
                a.name
            ));
            Ok(Made::Skipped)
        }
    }
}

fn build_spec(
    spec: &LogSpec,
    debug: bool,
    console: &mut ConsoleFactory<'_>,
) -> Result<Built, LogConfigError> {
    let mut warnings = spec.warnings.clone();
    let mut notes = Vec::new();

    // Appenders actually used, in order of first use, with the line that uses them.
    let mut used: Vec<(&str, usize)> = Vec::new();
    let users = spec.root.iter().chain(spec.loggers.values());
    for l in users {
        for name in &l.appenders {
            if !used.iter().any(|(n, _)| n == name) {
                used.push((name, l.line));
            }
        }
    }
    let mut builder = Config::builder();
    let mut built: BTreeSet<String> = BTreeSet::new();
    for (name, line) in used {
        let Some(a) = spec.appenders.get(name) else {
            warnings.push(format!(
                "{}:{line}: appender {name} is used but never defined; ignored",
                spec.path.display()
            ));
            continue;
        };
        let threshold = threshold_for(a, spec)?;
        if let Made::Appender(app) = make_appender(a, spec, console, &mut warnings, &mut notes)? {
            let mut ab = Appender::builder();
            if let Some(t) = threshold {
                ab = ab.filter(Box::new(MinLevel(t)));
            }
            builder = builder.appender(ab.build(name, app));
            built.insert(name.to_string());
        }
    }
    let keep = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .filter(|n| built.contains(*n))
            .cloned()
            .collect()
    };

    // Levels: explicit ones (all DEBUG with -d), inherited along the dotted hierarchy.
    let root_level = if debug {
        LogLevel::Debug
    } else {
        spec.root
            .as_ref()
            .and_then(|r| r.level)
            .unwrap_or(LogLevel::Off)
    };
    let explicit: BTreeMap<&str, LogLevel> = spec
        .loggers
        .iter()
        .filter_map(|(c, l)| {
            l.level
                .map(|lv| (c.as_str(), if debug { LogLevel::Debug } else { lv }))
        })
        .collect();
    let effective = |cat: &str| -> LevelFilter {
        let mut c = cat;
        loop {
            if let Some(l) = explicit.get(c) {
                return l.to_filter();
            }
            match c.rfind('.') {
                Some(i) => c = &c[..i],
                None => break,
            }
        }
        if c == TOOL_ROOT {
            root_level.to_filter()
        } else {
            foreign_level(root_level.to_filter())
        }
    };

    let mut categories: BTreeSet<&str> = spec.loggers.keys().map(String::as_str).collect();
    categories.extend(spec.additivity.keys().map(String::as_str));
    categories.insert(TOOL_ROOT);
    for cat in categories {
        let additive = match spec.additivity.get(cat) {
            None => true,
            Some(s) => match s.value.trim().to_ascii_lowercase().as_str() {
                "1" | "true" => true,
                "0" | "false" | "" => false,
                other => {
                    return Err(invalid(
                        spec,
                        s,
                        format!("additivity `{other}` for {cat} is not 0 or 1"),
                    ));
                }
            },
        };
        let appenders = spec
            .loggers
            .get(cat)
            .map(|l| keep(&l.appenders))
            .unwrap_or_default();
        builder = builder.logger(
            Logger::builder()
                .appenders(appenders)
                .additive(additive)
                .build(cat.replace('.', "::"), effective(cat)),
        );
    }
    let root_appenders = spec
        .root
        .as_ref()
        .map(|r| keep(&r.appenders))
        .unwrap_or_default();
    let config = builder
        .build(
            Root::builder()
                .appenders(root_appenders)
                .build(foreign_level(root_level.to_filter())),
        )
        .map_err(config_error)?;
    Ok(Built {
        config,
        warnings,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use log::{Level, Log, Record};
    use log4rs::encode::writer::simple::SimpleWriter;
    use std::path::Path;
    use std::sync::{Arc, Mutex};

    /// (to stderr?, rendered line) for every record a Screen appender wrote.
    type Out = Arc<Mutex<Vec<(bool, String)>>>;

    #[derive(Debug)]
    struct Capture {
        stderr: bool,
        enc: Box<dyn Encode>,
        out: Out,
    }

    impl Append for Capture {
        fn append(&self, record: &Record) -> anyhow::Result<()> {
            let mut w = SimpleWriter(Vec::new());
            self.enc.encode(&mut w, record)?;
            let text = String::from_utf8(w.0)?;
            self.out.lock().unwrap().push((self.stderr, text));
            Ok(())
        }
        fn flush(&self) {}
    }

    struct Setup {
        logger: log4rs::Logger,
        out: Out,
        warnings: Vec<String>,
        notes: Vec<String>,
    }

    impl Setup {
        fn emit(&self, target: &str, level: Level, msg: &str) {
            self.logger.log(
                &Record::builder()
                    .target(target)
                    .level(level)
                    .args(format_args!("{msg}"))
                    .build(),
            );
        }
        fn fatal(&self, target: &str, msg: &str) {
            let kv = [("fatal", true)];
            self.logger.log(
                &Record::builder()
                    .target(target)
                    .level(Level::Error)
                    .key_values(&kv)
                    .args(format_args!("{msg}"))
                    .build(),
            );
        }
        fn take(&self) -> Vec<(bool, String)> {
            std::mem::take(&mut *self.out.lock().unwrap())
        }
        fn stdout(&self) -> String {
            self.take()
                .into_iter()
                .filter(|(e, _)| !e)
                .map(|(_, s)| s)
                .collect()
        }
    }

    fn try_setup(spec: Option<&LogSpec>, debug: bool) -> Result<Setup, LogConfigError> {
        let out: Out = Arc::default();
        let o = out.clone();
        let mut factory = move |stderr: bool, enc: Box<dyn Encode>| -> Box<dyn Append> {
            Box::new(Capture {
                stderr,
                enc,
                out: o.clone(),
            })
        };
        let built = build_with(spec, debug, &mut factory)?;
        Ok(Setup {
            logger: log4rs::Logger::new(built.config),
            out,
            warnings: built.warnings,
            notes: built.notes,
        })
    }

    fn spec(text: &str) -> LogSpec {
        LogSpec::parse(text, Path::new("t.logconfig")).unwrap()
    }

    fn setup(text: &str, debug: bool) -> Setup {
        try_setup(Some(&spec(text)), debug).unwrap()
    }

    const DIR: &str = "Backup::S3napback::Directory";

    /// The LOGCONF constant of golden.py.
    const GOLDEN: &str = "log4perl.rootLogger = DEBUG, Screen
log4perl.appender.Screen        = Log::Log4perl::Appender::Screen
log4perl.appender.Screen.stderr = 0
log4perl.appender.Screen.layout = Log::Log4perl::Layout::PatternLayout
log4perl.appender.Screen.layout.ConversionPattern = %c %p %m%n
log4perl.logger.Backup.S3napback = INFO
";

    #[test]
    fn golden_logconf_prints_exactly_on_stdout() {
        let s = setup(GOLDEN, false);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        s.emit(DIR, Level::Debug, "hidden");
        s.emit(DIR, Level::Info, "message");
        assert_eq!(
            s.take(),
            vec![(
                false,
                "Backup.S3napback.Directory INFO message\n".to_string()
            )]
        );
        s.emit("Backup::S3napback", Level::Warn, "TEST MODE ONLY");
        s.fatal("Backup::S3napback::MySQL", "dead");
        assert_eq!(
            s.stdout(),
            "Backup.S3napback WARN TEST MODE ONLY\nBackup.S3napback.MySQL FATAL dead\n"
        );
    }

    #[test]
    fn hierarchy_and_foreign_crates() {
        let s = setup(GOLDEN, false);
        // Backup.S3napback = INFO covers its children; the rest of Backup has root DEBUG.
        s.emit("Backup::S3napback::PostgreSQL", Level::Debug, "no");
        s.emit("Backup::Other", Level::Debug, "yes");
        // Other crates: WARN and above only, although root is DEBUG.
        s.emit("aws_smithy_runtime::client", Level::Info, "no");
        s.emit("aws_smithy_runtime::client", Level::Warn, "careful");
        assert_eq!(
            s.stdout(),
            "Backup.Other DEBUG yes\naws_smithy_runtime.client WARN careful\n"
        );
        // Root ERROR: other crates follow the stricter root level.
        let s = setup(&GOLDEN.replace("= DEBUG, Screen", "= ERROR, Screen"), false);
        s.emit("hyper", Level::Warn, "no");
        s.emit("Backup::X", Level::Warn, "no");
        s.emit("hyper", Level::Error, "e");
        assert_eq!(s.stdout(), "hyper ERROR e\n");
    }

    #[test]
    fn debug_flag_puts_every_category_at_debug() {
        let s = setup(GOLDEN, true);
        s.emit(DIR, Level::Debug, "shown");
        s.emit("Backup::S3napback", Level::Trace, "no");
        s.emit("hyper", Level::Info, "no");
        assert_eq!(s.stdout(), "Backup.S3napback.Directory DEBUG shown\n");
    }

    #[test]
    fn no_spec_means_stderr_info_with_date() {
        let s = try_setup(None, false).unwrap();
        s.emit(DIR, Level::Debug, "no");
        s.emit("hyper", Level::Info, "no");
        s.emit(DIR, Level::Info, "hello");
        let got = s.take();
        assert_eq!(got.len(), 1);
        assert!(got[0].0, "to stderr");
        let line = &got[0].1;
        // yyyy/MM/dd HH:mm:ss Backup.S3napback.Directory INFO hello
        assert_eq!(
            line.len(),
            19 + " Backup.S3napback.Directory INFO hello\n".len(),
            "{line}"
        );
        assert_eq!(&line[4..5], "/");
        assert!(
            line.ends_with(" Backup.S3napback.Directory INFO hello\n"),
            "{line}"
        );
        let s = try_setup(None, true).unwrap();
        s.emit(DIR, Level::Debug, "yes");
        assert_eq!(s.take().len(), 1);
    }

    #[test]
    fn screen_defaults_to_stderr() {
        let text = "log4perl.rootLogger = INFO, A, B
log4perl.appender.A = Log::Log4perl::Appender::Screen
log4perl.appender.A.layout = Log::Log4perl::Layout::SimpleLayout
log4perl.appender.B = Log::Log4perl::Appender::Screen
log4perl.appender.B.stderr = 1
";
        let s = setup(text, false);
        s.emit(DIR, Level::Info, "m");
        let got = s.take();
        assert_eq!(
            got,
            vec![
                (true, "INFO - m\n".to_string()),
                (true, "INFO - m\n".to_string())
            ]
        );
    }

    #[test]
    fn additivity() {
        let text = "log4perl.rootLogger = INFO, Root
log4perl.appender.Root = Log::Log4perl::Appender::Screen
log4perl.appender.Root.stderr = 0
log4perl.appender.Root.layout = PatternLayout
log4perl.appender.Root.layout.ConversionPattern = root %m%n
log4perl.appender.Db = Log::Log4perl::Appender::Screen
log4perl.appender.Db.layout = PatternLayout
log4perl.appender.Db.layout.ConversionPattern = db %m%n
log4perl.logger.Backup.S3napback.MySQL = DEBUG, Db
";
        let s = setup(text, false);
        s.emit("Backup::S3napback::MySQL", Level::Debug, "x");
        s.emit(DIR, Level::Info, "y");
        assert_eq!(
            s.take(),
            vec![
                (true, "db x\n".to_string()),
                (false, "root x\n".to_string()),
                (false, "root y\n".to_string())
            ]
        );
        let s = setup(
            &format!("{text}log4perl.additivity.Backup.S3napback.MySQL = 0\n"),
            false,
        );
        s.emit("Backup::S3napback::MySQL", Level::Debug, "x");
        assert_eq!(s.take(), vec![(true, "db x\n".to_string())]);
        // additivity for a category without a logger line: inherits the level, no output
        let s = setup(
            &format!("{text}log4perl.additivity.Backup.S3napback.Directory = 0\n"),
            false,
        );
        s.emit(DIR, Level::Info, "gone");
        assert_eq!(s.take(), vec![]);
        let bad = spec(&format!("{text}log4perl.additivity.Backup = maybe\n"));
        let err = try_setup(Some(&bad), false).err().unwrap().to_string();
        assert!(err.starts_with("t.logconfig:10:"), "{err}");
    }

    #[test]
    fn logger_without_level_inherits() {
        let text = "log4perl.rootLogger = WARN
log4perl.logger.Backup.S3napback = INFO
log4perl.logger.Backup.S3napback.Directory = , A
log4perl.appender.A = Log::Log4perl::Appender::Screen
log4perl.appender.A.stderr = 0
log4perl.appender.A.layout = SimpleLayout
";
        let s = setup(text, false);
        s.emit(DIR, Level::Debug, "no");
        s.emit(DIR, Level::Info, "yes");
        s.emit("Backup::S3napback", Level::Error, "no appender");
        assert_eq!(s.stdout(), "INFO - yes\n");
    }

    fn screen_with(extra: &str) -> String {
        format!(
            "log4perl.rootLogger = TRACE, A
log4perl.appender.A = Log::Log4perl::Appender::Screen
log4perl.appender.A.stderr = 0
log4perl.appender.A.layout = PatternLayout
log4perl.appender.A.layout.ConversionPattern = %p%n
{extra}"
        )
    }

    fn passed(s: &Setup) -> String {
        s.emit(DIR, Level::Trace, "");
        s.emit(DIR, Level::Debug, "");
        s.emit(DIR, Level::Info, "");
        s.emit(DIR, Level::Warn, "");
        s.emit(DIR, Level::Error, "");
        s.fatal(DIR, "");
        s.stdout().replace('\n', " ").trim().to_string()
    }

    #[test]
    fn thresholds() {
        let s = setup(&screen_with(""), false);
        assert_eq!(passed(&s), "TRACE DEBUG INFO WARN ERROR FATAL");
        let s = setup(
            &screen_with("log4perl.appender.A.Threshold = WARN\n"),
            false,
        );
        assert_eq!(passed(&s), "WARN ERROR FATAL");
        let s = setup(
            &screen_with("log4perl.appender.A.Threshold = FATAL\n"),
            false,
        );
        assert_eq!(passed(&s), "FATAL");
        let s = setup(
            &screen_with("log4perl.appender.A.min_level = info\n"),
            false,
        );
        assert_eq!(passed(&s), "INFO WARN ERROR FATAL");
        let s = setup(
            &screen_with("log4perl.appender.A.min_level = notice\n"),
            false,
        );
        assert_eq!(passed(&s), "WARN ERROR FATAL");
        let s = setup(
            &screen_with("log4perl.appender.A.min_level = critical\n"),
            false,
        );
        assert_eq!(passed(&s), "FATAL");
        // both: the stricter wins
        let s = setup(
            &screen_with(
                "log4perl.appender.A.min_level = debug\nlog4perl.appender.A.Threshold = ERROR\n",
            ),
            false,
        );
        assert_eq!(passed(&s), "ERROR FATAL");
        // -d does not override an appender's threshold
        let s = setup(&screen_with("log4perl.appender.A.Threshold = INFO\n"), true);
        assert_eq!(passed(&s), "INFO WARN ERROR FATAL");
        // a threshold for a misspelt appender name is ignored silently
        let s = setup(
            &screen_with("log4perl.appender.a.Threshold = ERROR\n"),
            false,
        );
        assert!(s.warnings.is_empty());
        assert_eq!(passed(&s), "TRACE DEBUG INFO WARN ERROR FATAL");
        let bad = spec(&screen_with("log4perl.appender.A.Threshold = LOUD\n"));
        let err = try_setup(Some(&bad), false).err().unwrap().to_string();
        assert!(
            err.starts_with("t.logconfig:6:") && err.contains("LOUD"),
            "{err}"
        );
    }

    #[test]
    fn unknown_class_and_undefined_appender_warn_with_file_and_line() {
        let text = format!(
            "{}log4perl.appender.X = Log::Log4perl::Appender::Socket\nlog4perl.rootLogger = INFO, A, X, Nope\n",
            screen_with("")
        );
        let s = setup(&text, false);
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
        assert!(
            s.warnings[0].starts_with(
                "t.logconfig:6: unknown appender class Log::Log4perl::Appender::Socket"
            ),
            "{:?}",
            s.warnings
        );
        assert!(
            s.warnings[1].starts_with("t.logconfig:7: appender Nope"),
            "{:?}",
            s.warnings
        );
        s.emit(DIR, Level::Info, "");
        assert_eq!(s.stdout(), "INFO\n", "the known appender still works");
    }

    #[test]
    fn unknown_conversion_warns_with_line() {
        let s = setup(&screen_with("").replace("%p%n", "%p %Q%n"), false);
        assert_eq!(s.warnings.len(), 1);
        assert!(
            s.warnings[0].starts_with("t.logconfig:5: unknown conversion `%Q`"),
            "{:?}",
            s.warnings
        );
    }

    #[test]
    fn mail_sender_is_accepted_with_a_note() {
        let text = format!(
            "{}log4perl.rootLogger = INFO, A, Email
log4perl.appender.Email = Log::Dispatch::Email::MailSender
log4perl.appender.Email.to = me@company.com
log4perl.appender.Email.from = me@company.com
log4perl.appender.Email.subject = s3napback log
log4perl.appender.Email.smtp = smtp.z.com
log4perl.appender.Email.min_level = info
log4perl.appender.Email.layout = Log::Log4perl::Layout::PatternLayout
log4perl.appender.Email.layout.ConversionPattern = %d %p %m%n
",
            screen_with("")
        );
        let s = setup(&text, false);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        assert_eq!(s.notes.len(), 1);
        assert!(s.notes[0].contains("me@company.com"), "{:?}", s.notes);
        s.emit(DIR, Level::Info, "");
        assert_eq!(s.stdout(), "INFO\n");
    }

    fn file_conf(class: &str, path: &Path, extra: &str) -> String {
        format!(
            "log4perl.rootLogger = INFO, F
log4perl.appender.F = {class}
log4perl.appender.F.filename = {}
log4perl.appender.F.layout = PatternLayout
log4perl.appender.F.layout.ConversionPattern = %c %p %m%n
{extra}",
            path.display()
        )
    }

    #[test]
    fn file_appender_modes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/s3napback.log");
        let class = "Log::Log4perl::Appender::File";
        for (mode, keeps) in [
            ("", true),
            ("log4perl.appender.F.mode = append\n", true),
            ("log4perl.appender.F.mode = write\n", false),
            ("log4perl.appender.F.mode = clobber\n", false),
        ] {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, "old\n").unwrap();
            let s = setup(&file_conf(class, &path, mode), false);
            s.emit(DIR, Level::Debug, "no");
            s.emit(DIR, Level::Info, "new");
            Log::flush(&s.logger);
            drop(s);
            let got = std::fs::read_to_string(&path).unwrap();
            let new = "Backup.S3napback.Directory INFO new\n";
            let want = if keeps {
                format!("old\n{new}")
            } else {
                new.to_string()
            };
            assert_eq!(got, want, "mode {mode:?}");
        }
        let bad = spec(&file_conf(
            class,
            &path,
            "log4perl.appender.F.mode = pipe\n",
        ));
        let err = try_setup(Some(&bad), false).err().unwrap().to_string();
        assert!(err.starts_with("t.logconfig:6:"), "{err}");
    }

    #[test]
    fn unwritable_log_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, "").unwrap();
        let path = blocker.join("s3napback.log");
        for class in ["Log::Log4perl::Appender::File", "Log::Dispatch::FileRotate"] {
            let sp = spec(&file_conf(class, &path, ""));
            let err = try_setup(Some(&sp), false).err().unwrap();
            assert!(
                matches!(err, LogConfigError::Appender { line: 2, .. }),
                "{err:?}"
            );
            let msg = err.to_string();
            assert!(
                msg.starts_with("t.logconfig:2: cannot set up log appender F"),
                "{msg}"
            );
            assert!(msg.contains(&path.display().to_string()), "{msg}");
        }
        let sp = spec(
            "log4perl.rootLogger = INFO, F\nlog4perl.appender.F = Log::Log4perl::Appender::File\n",
        );
        let err = try_setup(Some(&sp), false).err().unwrap().to_string();
        assert!(err.contains("needs a filename"), "{err}");
    }

    #[test]
    fn file_rotate_keeps_max_files_of_size_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rot.log");
        let extra = "log4perl.appender.F.max = 2\nlog4perl.appender.F.size = 1_00\nlog4perl.appender.F.mode = append\n";
        let s = setup(&file_conf("Log::Dispatch::FileRotate", &path, extra), false);
        for i in 0..40 {
            s.emit(DIR, Level::Info, &format!("line {i:02}"));
        }
        Log::flush(&s.logger);
        drop(s);
        let exists = |suffix: &str| dir.path().join(format!("rot.log{suffix}")).exists();
        assert!(exists("") && exists(".1") && exists(".2") && !exists(".3"));
        let current = std::fs::read_to_string(&path).unwrap();
        assert!(current.len() <= 100 + 40, "{}", current.len());
        assert!(current.ends_with("INFO line 39\n"), "{current}");
        let bad = spec(&file_conf(
            "Log::Dispatch::FileRotate",
            &path,
            "log4perl.appender.F.size = lots\n",
        ));
        let err = try_setup(Some(&bad), false).err().unwrap().to_string();
        assert!(
            err.starts_with("t.logconfig:6:") && err.contains("lots"),
            "{err}"
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10_000_000"), Some(10_000_000));
        assert_eq!(parse_size("10k"), Some(10 * 1024));
        assert_eq!(parse_size("2M"), Some(2 * 1024 * 1024));
        assert_eq!(parse_size("1G"), Some(1024 * 1024 * 1024));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size(""), None);
    }

    #[test]
    fn stock_file_builds() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("s3napback.log");
        let stock = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("s3napback.logconfig"),
        )
        .unwrap()
        .replace("/var/log/s3napback.log", &log.display().to_string());
        let s = setup(&stock, false);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        s.emit(DIR, Level::Debug, "no");
        s.emit(DIR, Level::Info, "Directory /etc -> b:etc");
        let got = s.take();
        assert_eq!(got.len(), 1);
        assert!(
            got[0].0 && got[0].1.ends_with(" INFO Directory /etc -> b:etc\n"),
            "{got:?}"
        );
        Log::flush(&s.logger);
        let file = std::fs::read_to_string(&log).unwrap();
        assert!(file.ends_with(" INFO Directory /etc -> b:etc\n"), "{file}");
        // the public build() works without installing anything
        let (_config, warnings) = build(Some(&spec(&stock)), false).unwrap();
        assert!(warnings.is_empty());
    }
}
