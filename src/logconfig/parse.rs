//! nom parser for log4perl configuration text: `key = value` lines, `#` comments, blank
//! lines, and lines continued with a trailing `\`; then the keys are interpreted into a
//! [`LogSpec`].

use std::collections::BTreeMap;
use std::path::Path;

use nom::IResult;
use nom::bytes::complete::take_till1;
use nom::character::complete::{char, space0};
use nom::combinator::{all_consuming, rest};
use nom::sequence::tuple;

use super::{AppenderSpec, LogConfigError, LogLevel, LogSpec, LoggerSpec, Setting};

/// One `key = value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub key: String,
    pub value: String,
    pub line: usize,
}

fn key(i: &str) -> IResult<&str, &str> {
    take_till1(|c: char| c == '=' || c.is_whitespace())(i)
}

/// `key = value` (the value may be empty and is trimmed).
fn entry(i: &str) -> IResult<&str, (&str, &str)> {
    let (i, (_, k, _, _, v)) = all_consuming(tuple((space0, key, space0, char('='), rest)))(i)?;
    Ok((i, (k, v.trim())))
}

fn is_skipped(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// Splits text into entries. A syntax error names the file and line.
pub(crate) fn parse_entries(text: &str, path: &Path) -> Result<Vec<Entry>, LogConfigError> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((idx, first)) = lines.next() {
        if is_skipped(first) {
            continue;
        }
        let mut logical = first.to_string();
        // Continuation: a trailing backslash joins the next line (as log4perl does).
        while logical.trim_end().ends_with('\\') {
            let cut = logical.trim_end().len() - 1;
            logical.truncate(cut);
            match lines.next() {
                Some((_, next)) => logical.push_str(next),
                None => break,
            }
        }
        match entry(&logical) {
            Ok((_, (k, v))) => out.push(Entry {
                key: k.to_string(),
                value: v.to_string(),
                line: idx + 1,
            }),
            Err(_) => {
                return Err(LogConfigError::Syntax {
                    path: path.to_path_buf(),
                    line: idx + 1,
                    msg: format!("expected `key = value`, found `{}`", logical.trim()),
                });
            }
        }
    }
    Ok(out)
}

/// `LEVEL, APPENDER, ...` (the level may be empty).
fn logger_value(e: &Entry, path: &Path) -> Result<LoggerSpec, LogConfigError> {
    let mut parts = e.value.split(',').map(str::trim);
    let level_text = parts.next().unwrap_or("");
    let level = if level_text.is_empty() {
        None
    } else {
        Some(
            LogLevel::from_log4perl(level_text).ok_or_else(|| LogConfigError::Invalid {
                path: path.to_path_buf(),
                line: e.line,
                msg: format!(
                    "`{level_text}` is not a log level (TRACE DEBUG INFO WARN ERROR FATAL OFF) in {}",
                    e.key
                ),
            })?,
        )
    };
    Ok(LoggerSpec {
        level,
        appenders: parts.filter(|p| !p.is_empty()).map(String::from).collect(),
        line: e.line,
    })
}

/// Parses text into a [`LogSpec`].
pub(crate) fn parse_spec(text: &str, path: &Path) -> Result<LogSpec, LogConfigError> {
    let entries = parse_entries(text, path)?;
    let mut spec = LogSpec {
        path: path.to_path_buf(),
        root: None,
        loggers: BTreeMap::new(),
        additivity: BTreeMap::new(),
        appenders: BTreeMap::new(),
        warnings: Vec::new(),
    };
    // name -> (class, line); name -> settings. Settings may come before the class line.
    let mut classes: BTreeMap<String, Setting> = BTreeMap::new();
    let mut settings: BTreeMap<String, BTreeMap<String, Setting>> = BTreeMap::new();
    for e in &entries {
        // log4perl also accepts the log4j prefix.
        let key = match e.key.strip_prefix("log4j.") {
            Some(k) => format!("log4perl.{k}"),
            None => e.key.clone(),
        };
        let setting = Setting {
            value: e.value.clone(),
            line: e.line,
        };
        if key == "log4perl.rootLogger" || key == "log4perl.logger" {
            spec.root = Some(logger_value(e, path)?);
        } else if let Some(cat) = key
            .strip_prefix("log4perl.logger.")
            .or_else(|| key.strip_prefix("log4perl.category."))
        {
            spec.loggers.insert(cat.to_string(), logger_value(e, path)?);
        } else if let Some(cat) = key.strip_prefix("log4perl.additivity.") {
            spec.additivity.insert(cat.to_string(), setting);
        } else if let Some(rest) = key.strip_prefix("log4perl.appender.") {
            match rest.split_once('.') {
                None => {
                    classes.insert(rest.to_string(), setting);
                }
                Some((name, prop)) => {
                    settings
                        .entry(name.to_string())
                        .or_default()
                        .insert(prop.to_string(), setting);
                }
            }
        } else {
            spec.warnings.push(format!(
                "{}:{}: unsupported log configuration setting `{}` ignored",
                path.display(),
                e.line,
                e.key
            ));
        }
    }
    for (name, class) in classes {
        // Settings for names that were never defined are dropped silently, as log4perl does.
        let settings = settings.remove(&name).unwrap_or_default();
        spec.appenders.insert(
            name.clone(),
            AppenderSpec {
                name,
                class: class.value,
                line: class.line,
                settings,
            },
        );
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("test.logconfig")
    }

    #[test]
    fn entries_comments_blanks_and_continuations() {
        let text = "# comment\n\n   # indented comment\nlog4perl.a = 1\n  log4perl.b=two words  \n\
                    log4perl.c = first \\\n  second\nlog4perl.d =\n";
        let e = parse_entries(text, p()).unwrap();
        assert_eq!(e.len(), 4);
        assert_eq!(
            (e[0].key.as_str(), e[0].value.as_str(), e[0].line),
            ("log4perl.a", "1", 4)
        );
        assert_eq!(
            (e[1].key.as_str(), e[1].value.as_str(), e[1].line),
            ("log4perl.b", "two words", 5)
        );
        assert_eq!((e[2].value.as_str(), e[2].line), ("first   second", 6));
        assert_eq!((e[3].value.as_str(), e[3].line), ("", 8));
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let text = "log4perl.rootLogger = INFO, A\n\nthis is not a setting\n";
        let err = parse_entries(text, p()).unwrap_err();
        match &err {
            LogConfigError::Syntax { line, .. } => assert_eq!(*line, 3),
            other => panic!("{other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.starts_with("test.logconfig:3: syntax error"), "{msg}");
        assert!(msg.contains("this is not a setting"), "{msg}");
        // `= value` without a key is an error too
        let err = parse_entries("= x\n", p()).unwrap_err();
        assert!(err.to_string().starts_with("test.logconfig:1:"), "{err}");
    }

    #[test]
    fn interprets_loggers_additivity_and_appenders() {
        let text = "\
log4perl.appender.A.layout = Log::Log4perl::Layout::SimpleLayout
log4perl.rootLogger = DEBUG, A, B
log4perl.appender.A = Log::Log4perl::Appender::Screen
log4perl.appender.A.stderr = 0
log4perl.appender.Ghost.min_level = info
log4perl.logger.Backup.S3napback = info
log4perl.category.Backup.S3napback.MySQL = , A
log4perl.additivity.Backup.S3napback.MySQL = 0
log4j.logger.Other = WARN
log4perl.oneMessagePerAppender = 1
";
        let s = parse_spec(text, p()).unwrap();
        let root = s.root.as_ref().unwrap();
        assert_eq!(root.level, Some(LogLevel::Debug));
        assert_eq!(root.appenders, vec!["A", "B"]);
        assert_eq!(s.loggers["Backup.S3napback"].level, Some(LogLevel::Info));
        assert!(s.loggers["Backup.S3napback"].appenders.is_empty());
        let mysql = &s.loggers["Backup.S3napback.MySQL"];
        assert_eq!(
            (mysql.level, mysql.appenders.clone()),
            (None, vec!["A".to_string()])
        );
        assert_eq!(s.additivity["Backup.S3napback.MySQL"].value, "0");
        assert_eq!(s.loggers["Other"].level, Some(LogLevel::Warn));
        let a = &s.appenders["A"];
        assert_eq!(
            (a.class.as_str(), a.line),
            ("Log::Log4perl::Appender::Screen", 3)
        );
        assert_eq!(a.get("stderr").unwrap().value, "0");
        assert_eq!(a.get("layout").unwrap().line, 1);
        assert_eq!(s.appenders.len(), 1, "Ghost is not defined");
        assert_eq!(s.warnings.len(), 1);
        assert!(
            s.warnings[0].starts_with("test.logconfig:10:"),
            "{:?}",
            s.warnings
        );
    }

    #[test]
    fn bad_level_names_file_and_line() {
        let err = parse_spec("\nlog4perl.rootLogger = LOUD, A\n", p()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("test.logconfig:2:"), "{msg}");
        assert!(msg.contains("LOUD"), "{msg}");
    }
}
