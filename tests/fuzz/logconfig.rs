//! The log-config parser, the log4rs configuration built from it, and the pattern layout.

use std::path::Path;

use crate::text::{any_text, chars};
use proptest::prelude::*;
use s3napback::logconfig::{Log4perlPattern, LogSpec, build};

/// log4perl patterns: conversions with hostile widths, options and dangling `%`.
fn pattern() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        chars(&['a', 'z', ' ', ':', '-'], 4),
        (
            prop::option::of(Just("-")),
            prop::option::of(prop_oneof![
                0u64..20,
                Just(1000),
                Just(1001),
                Just(999_999_999)
            ]),
            prop::option::of(prop_oneof![0u64..20, Just(99_999_999_999_999_999)]),
            prop::sample::select(
                &[
                    'c', 'C', 'd', 'F', 'H', 'l', 'L', 'm', 'M', 'n', 'p', 'P', 'r', 'R', 'T', 'x',
                    'X', '%', 'Q', '{'
                ][..]
            ),
            prop::option::of(prop_oneof![
                Just("{2}".to_string()),
                Just("{99999999999999999999999}".to_string()),
                Just("{chomp}".to_string()),
                Just("{yyyy-MM-dd SSSSSSSSSSSS 'q''t' EEEE MMMM z Z}".to_string()),
                Just("{ISO8601}".to_string()),
                Just("{".to_string()),
                any_text(8).prop_map(|t| format!("{{{t}}}")),
            ]),
        )
            .prop_map(|(left, min, max, conv, opt)| {
                let mut s = String::from("%");
                s.push_str(left.unwrap_or(""));
                if let Some(m) = min {
                    s.push_str(&m.to_string());
                }
                if let Some(m) = max {
                    s.push('.');
                    s.push_str(&m.to_string());
                }
                s.push(conv);
                s.push_str(opt.as_deref().unwrap_or(""));
                s
            }),
        Just("%".to_string()),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|p| p.concat())
}

fn logconfig_line() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            prop::sample::select(&["TRACE", "DEBUG", "INFO", "WARN", "FATAL", "OFF", "LOUD"][..]),
            prop::sample::select(&["", ", A", ",B", ", A, B"][..]),
        )
            .prop_map(|(l, a)| format!("log4perl.rootLogger = {l}{a}")),
        prop::sample::select(&["Backup", "Backup.S3napback", "x"][..])
            .prop_map(|c| format!("log4perl.logger.{c} = DEBUG, A")),
        Just("log4perl.appender.A = Log::Log4perlAppender::Screen".to_string()),
        Just("log4perl.appender.A = Log::Log4perl::Appender::Screen".to_string()),
        Just("log4perl.appender.B = Log::Log4perl::Appender::Nothing".to_string()),
        Just("log4perl.appender.A.layout = Log::Log4perl::Layout::PatternLayout".to_string()),
        pattern().prop_map(|p| format!("log4perl.appender.A.layout.ConversionPattern = {p}")),
        (
            prop::sample::select(&["Threshold", "min_level", "stderr", "mode"][..]),
            any_text(6)
        )
            .prop_map(|(k, v)| format!("log4perl.appender.A.{k} = {v}")),
        Just("log4perl.additivity.Backup = 0".to_string()),
        Just("continued = \\".to_string()),
        any_text(30),
    ]
}

proptest! {
    #[test]
    fn logconfig_parse_and_build_never_panic(lines in prop::collection::vec(logconfig_line(), 0..12)) {
        let path = Path::new("fuzz.logconfig");
        let text = lines.join("\n");
        if let Ok(spec) = LogSpec::parse(&text, path)
            && let Err(e) = build(Some(&spec), false)
        {
            let e = e.to_string();
            prop_assert!(e.starts_with("fuzz.logconfig:") || e.contains("log4rs"), "{e}");
        }
    }

    #[test]
    fn pattern_compiles_and_renders_or_refuses(p in pattern(), message in any_text(40)) {
        match Log4perlPattern::new(&p) {
            Err(e) => prop_assert!(e.contains("larger than the limit"), "{e}"),
            Ok((layout, _)) => {
                let line = layout.render(
                    &log::Record::builder()
                        .args(format_args!("{message}"))
                        .level(log::Level::Warn)
                        .target("Backup::S3napback")
                        .build(),
                );
                // Widths are capped: a line is at most the pieces' own text plus 1000 each.
                prop_assert!(line.len() <= 64 * 1024, "{} bytes", line.len());
            }
        }
    }
}
