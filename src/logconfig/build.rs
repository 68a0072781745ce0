//! [`LogSpec`] → `log4rs::Config`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

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

use super::mail::{MailAppender, MailSettings, Outbox};
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
    /// The e-mail appenders' outboxes, to send at the end of the run.
    pub outboxes: Vec<Arc<Outbox>>,
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
            let (enc, _) =
                Log4perlPattern::new(DEFAULT_PATTERN).expect("the default pattern compiles");
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
                outboxes: Vec::new(),
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
fn encoder_for(
    a: &AppenderSpec,
    spec: &LogSpec,
    warnings: &mut Vec<String>,
) -> Result<Log4perlPattern, LogConfigError> {
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
    let line = a.get("layout.ConversionPattern").map_or(a.line, |s| s.line);
    let (enc, problems) =
        Log4perlPattern::new(&pattern).map_err(|msg| LogConfigError::Invalid {
            path: spec.path.clone(),
            line,
            msg,
        })?;
    for p in problems {
        warnings.push(format!("{}:{line}: {p}", spec.path.display()));
    }
    Ok(enc)
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
    /// An e-mail appender: its outbox is sent at the end of the run.
    Mail(MailAppender),
    Skipped,
}

fn make_appender(
    a: &AppenderSpec,
    spec: &LogSpec,
    console: &mut ConsoleFactory<'_>,
    warnings: &mut Vec<String>,
) -> Result<Made, LogConfigError> {
    let class = a.class.as_str();
    match class {
        "Log::Log4perl::Appender::Screen" | "Log::Log4perl::Appender::ScreenColoredLevels" => {
            let stderr = match a.get("stderr") {
                None => true,
                Some(s) => !matches!(s.value.trim(), "0" | "" | "false"),
            };
            let enc = encoder_for(a, spec, warnings)?;
            Ok(Made::Appender(console(stderr, Box::new(enc))))
        }
        "Log::Log4perl::Appender::File" | "Log::Dispatch::File" => {
            let file = filename(a, spec)?;
            let append = append_mode(a, spec)?;
            let enc = encoder_for(a, spec, warnings)?;
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
            let enc = encoder_for(a, spec, warnings)?;
            let app = RollingFileAppender::builder()
                .append(append)
                .encoder(Box::new(enc))
                .build(file, Box::new(policy))
                .map_err(|e| open_error(a, spec, file, e))?;
            Ok(Made::Appender(Box::new(app)))
        }
        "Log::Dispatch::Email::MailSender" => {
            let settings = MailSettings::from_spec(a, spec)?;
            let enc = encoder_for(a, spec, warnings)?;
            Ok(Made::Mail(MailAppender::new(
                &a.name,
                settings,
                Box::new(enc),
            )))
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
    let notes = Vec::new();
    let mut outboxes = Vec::new();

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
        let app: Box<dyn Append> = match make_appender(a, spec, console, &mut warnings)? {
            Made::Appender(app) => app,
            Made::Mail(mail) => {
                outboxes.push(mail.outbox());
                Box::new(mail)
            }
            Made::Skipped => continue,
        };
        let mut ab = Appender::builder();
        if let Some(t) = threshold {
            ab = ab.filter(Box::new(MinLevel(t)));
        }
        builder = builder.appender(ab.build(name, app));
        built.insert(name.to_string());
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
        outboxes,
    })
}

#[cfg(test)]
mod tests;
