//! The end-of-run summary: INFO lines, `--json` parsed against its schema for a run with a
//! stored, a skipped and a failed item, and `NotifyCommand` receiving the same document.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use s3napback::commands::summary::{Outcome, RunSummary, SCHEMA_VERSION};

use super::{run, write_logconfig};
use crate::backup::harness::{Site, chunks, make_tree};
use crate::support::s3::moto;

/// A script that writes its stdin and `$S3NAPBACK_STATUS` into files of DIR, then exits
/// with `code` (saying `boom` on stderr when that is not 0).
fn notify_script(dir: &Path, code: i32) -> String {
    let script = dir.join("notify.sh");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\ncat > \"$1/stdin.json\"\nprintf '%s' \"$S3NAPBACK_STATUS\" > \"$1/status\"\n\
             [ {code} -eq 0 ] || echo boom >&2\nexit {code}\n"
        ),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    format!(
        "NotifyCommand \"'{}' '{}'\"\n",
        script.display(),
        dir.display()
    )
}

#[test]
fn json_summary_of_a_stored_a_skipped_and_a_failed_item_reaches_the_notify_command() {
    let server = moto();
    let store = server.store();
    let site = Site::new();
    let (good, missing, other) = (
        site.path("src/good"),
        site.path("src/missing"),
        site.path("src/other"),
    );
    make_tree(&good);
    make_tree(&other);
    let notified = site.path("notified dir");
    fs::create_dir(&notified).unwrap();
    // 2026-11-13 is day 316 of the year: daily items run (DIFF slot 8); a Frequency 2,
    // Phase 1 item does not.
    let body = format!(
        "{}<Cycle daily>\n\tDiffs 6\n\tFulls 2\n\tDirectory {}\n\tDirectory {}\n</Cycle>\n\
         <Cycle odd>\n\tFrequency 2\n\tPhase 1\n\tDirectory {}\n</Cycle>\n",
        notify_script(&notified, 0),
        missing.display(),
        good.display(),
        other.display()
    );
    let conf = site.config(&server, 1000, true, &body);
    let conf = conf.to_str().unwrap();
    write_logconfig(&site, "INFO, Screen", "");
    let out = run(&site, &["-c", conf, "--json"], "2026-11-13 03:00:00");
    assert_eq!(out.status, 1, "{}", out.stderr);

    // stdout is exactly one JSON document of the documented schema.
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    let summary: RunSummary = serde_json::from_str(&out.stdout).expect(&out.stdout);
    assert_eq!(summary.version, SCHEMA_VERSION);
    assert_eq!(summary.exit_status, 1);
    assert!(!summary.test_mode);
    let by_name = |p: &Path| {
        let name = p.display().to_string();
        summary
            .items
            .iter()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("{name} in {summary:#?}"))
            .clone()
    };
    let stored = by_name(&good);
    let good_prefix = format!("{}-8-DIFF", good.display());
    assert_eq!(stored.outcome, Outcome::Stored);
    assert_eq!(stored.prefix.as_deref(), Some(good_prefix.as_str()));
    assert_eq!(
        (stored.config.as_str(), stored.kind.as_str()),
        (conf, "Directory")
    );
    assert_eq!(stored.bucket, server.bucket);
    let in_bucket = chunks(&store, &good_prefix);
    assert_eq!(stored.chunks, in_bucket.len() as u64);
    assert_eq!(stored.bytes, in_bucket.iter().map(|(_, n)| n).sum::<u64>());
    assert!(stored.seconds > 0.0 && stored.error.is_none() && stored.reason.is_none());

    let failed = by_name(&missing);
    assert_eq!(failed.outcome, Outcome::Failed);
    assert_eq!((failed.bytes, failed.chunks), (0, 0));
    let error = failed.error.clone().unwrap();
    assert!(error.contains("`tar` (pipeline stage 0) failed"), "{error}");

    let skipped = by_name(&other);
    assert_eq!(skipped.outcome, Outcome::Skipped);
    assert_eq!(skipped.reason.as_deref(), Some("not a backup day"));
    assert_eq!(summary.items.len(), 3, "{summary:#?}");
    assert_eq!(
        summary.failures,
        vec![format!("Directory {}: {error}", missing.display())]
    );

    // One INFO line per item.
    for line in [
        format!(
            "Backup.S3napback INFO Summary: Directory {}: stored, {} bytes, {} chunks, ",
            good.display(),
            stored.bytes,
            stored.chunks
        ),
        format!(
            "Backup.S3napback INFO Summary: Directory {}: skipped, 0 bytes, 0 chunks, 0.0 s (not a backup day)",
            other.display()
        ),
        format!(
            "Backup.S3napback INFO Summary: Directory {}: failed, 0 bytes, 0 chunks, ",
            missing.display()
        ),
    ] {
        assert!(out.stderr.contains(&line), "{line}\n{}", out.stderr);
    }

    // NotifyCommand got the same document on stdin and the exit status in its environment.
    let stdin = fs::read_to_string(notified.join("stdin.json"))
        .unwrap_or_else(|e| panic!("{e}\n{}", out.stderr));
    assert_eq!(stdin, out.stdout.trim_end());
    assert_eq!(fs::read_to_string(notified.join("status")).unwrap(), "1");
}

#[test]
fn a_failing_notify_command_is_logged_and_leaves_the_exit_status() {
    let server = moto();
    let store = server.store();
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let notified = site.path("notified");
    fs::create_dir(&notified).unwrap();
    let body = format!(
        "{}Directory {}\n",
        notify_script(&notified, 3),
        src.display()
    );
    let conf = site.config(&server, 1000, false, &body);
    write_logconfig(&site, "INFO, Screen", "");
    let out = run(
        &site,
        &["-c", conf.to_str().unwrap()],
        "2026-11-13 03:00:00",
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Backup.S3napback ERROR NotifyCommand `")
            && out.stderr.contains("failed (exit status: 3): boom"),
        "{}",
        out.stderr
    );
    assert_eq!(fs::read_to_string(notified.join("status")).unwrap(), "0");
    assert!(
        out.stdout.is_empty(),
        "no --json, no document: {}",
        out.stdout
    );
    let prefixes = crate::backup::harness::prefixes(&store);
    assert_eq!(prefixes.len(), 1, "{prefixes:?}");
}
