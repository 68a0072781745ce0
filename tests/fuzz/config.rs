//! The config parser and validation, and the plan of whatever validates.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use s3napback::config::{Settings, parse_str};
use s3napback::plan::schedule::Day;
use s3napback::plan::{Facts, plan};

use crate::text::{any_text, number, word};

const DIRECTIVES: &[&str] = &[
    "DiffDir",
    "TempDir",
    "Bucket",
    "ChunkSize",
    "GpgRecipient",
    "S3Keyfile",
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
    "Directory",
    "Subversion",
    "SubversionDir",
    "MySQL",
    "PostgreSQL",
    "Unknown",
];

const BLOCKS: &[&str] = &["Cycle", "Directory", "MySQL", "Subversion", "Odd"];

/// Files `Include` may name: none of them must hang or exhaust memory.
fn include_target() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/dev/zero".to_string()),
        Just("/dev/null".to_string()),
        Just("/nonexistent/x.conf".to_string()),
        Just("/proc/self/status".to_string()),
        Just("fuzz-self.conf".to_string()),
        Just("/etc/*.conf-none".to_string()),
        Just("[".to_string()),
    ]
}

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (prop::sample::select(DIRECTIVES), prop::collection::vec(word(), 0..3))
            .prop_map(|(d, v)| format!("{d} {}", v.join(" "))),
        3 => (prop::sample::select(&DIRECTIVES[6..12]), number())
            .prop_map(|(d, n)| format!("{d} {n}")),
        1 => (prop::sample::select(BLOCKS), word()).prop_map(|(b, a)| format!("<{b} {a}>")),
        1 => prop::sample::select(BLOCKS).prop_map(|b| format!("</{b}>")),
        1 => include_target().prop_map(|t| format!("Include {t}")),
        1 => Just("# comment".to_string()),
        1 => Just("continued \\".to_string()),
        1 => any_text(40),
    ]
}

/// A config with the required globals (so validation reaches the schedule) plus hostile lines.
fn config_text() -> impl Strategy<Value = String> {
    (any::<bool>(), prop::collection::vec(line(), 0..24)).prop_map(|(head, lines)| {
        let mut text = String::new();
        if head {
            text.push_str("DiffDir /tmp\nBucket b\nChunkSize 1000\n");
        }
        for l in lines {
            text.push_str(&l);
            text.push('\n');
        }
        text
    })
}

fn any_day() -> impl Strategy<Value = Day> {
    (0i64..=365, -1_000_000i64..=2_932_896).prop_map(|(yday, epoch_days)| Day { yday, epoch_days })
}

fn config_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/fuzz.conf")
}

proptest! {
    #[test]
    fn config_parse_validate_plan_never_panics(
        text in config_text(),
        day in any_day(),
        force in any::<bool>(),
    ) {
        let path = config_path();
        match parse_str(&path, &text) {
            Err(e) => prop_assert!(e.to_string().contains(&path.display().to_string()), "{e}"),
            Ok(doc) => match Settings::from_document(&doc) {
                Err(e) => prop_assert!(e.to_string().contains(&path.display().to_string()), "{e}"),
                Ok(settings) => {
                    let facts = Facts { day: Some(day), force, ..Facts::default() };
                    let _ = plan(&settings, &facts);
                }
            },
        }
    }
}
