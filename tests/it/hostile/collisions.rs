//! Names the legacy naming makes share a snapshot file or an object prefix. A config the
//! legacy ran still runs: test mode prints the legacy's lines (exit 0); in a real run the
//! same thing configured in several scopes is backed up in each (one WARN), while two
//! distinct things whose names collide fail each run with an ERROR naming both, their
//! lines and what they share (exit 1), and every other item of the file is stored.

use std::fs;

use super::{GLOBALS, Scratch};
use crate::backup::harness::{Site, make_tree, prefixes};
use crate::backup::reused_slots::Days;

/// Test mode runs such a config as the legacy did: exit 0, both items announced.
fn test_mode_runs(body: &str, announced: &[&str]) {
    let s = Scratch::new();
    let conf = s.write("x.conf", &format!("{GLOBALS}{body}"));
    let out = s.test_run(&conf, &[]);
    assert_eq!(out.code, 0, "{body}:\n{}", out.text);
    for want in announced {
        assert!(
            out.text.contains(&format!("{want} -> b:")),
            "{want:?} in:\n{}",
            out.text
        );
    }
    assert!(!out.text.contains("ERROR"), "{}", out.text);
}

#[test]
fn colliding_names_keep_the_legacy_test_mode() {
    test_mode_runs(
        "Directory /srv/a_b\n<Cycle w>\nDirectory /srv/a/b\n</Cycle>\n",
        &["Directory /srv/a_b", "Directory /srv/a/b"],
    );
    test_mode_runs(
        "MySQL a/b\n<MySQL a:b>\n</MySQL>\n",
        &["MySQL a/b", "MySQL a/b"],
    );
    test_mode_runs(
        "PostgreSQL db\nPostgreSQL postgres@db\n",
        &["PostgreSQL db"],
    );
    // the legacy README's pattern: one directory in two cycles
    test_mode_runs(
        "Directory /etc /home\n<Cycle weekly>\nFrequency 7\nDirectory /etc\n</Cycle>\n",
        &["Directory /etc", "Directory /home"],
    );
}

#[test]
fn distinct_directories_sharing_a_snapshot_file_fail_and_the_others_are_stored() {
    let site = Site::new();
    for d in ["srv/a_b", "srv/a/b", "srv/other"] {
        make_tree(&site.path(d));
    }
    let root = site.root.path().display().to_string();
    let body = format!(
        "Diffs 6\nFulls 2\nDirectory {root}/srv/a_b\nDirectory {root}/srv/other\n\
         <Cycle w>\nDiffs 6\nFulls 2\nDirectory {root}/srv/a/b\n</Cycle>\n"
    );
    let days = Days::new(site, 100_000, &body);
    let conf = days.conf.display().to_string();
    // 2026-11-12 (day of year 315, slot 7 of 14): a FULL day
    for day in ["2026-11-12", "2026-11-13"] {
        let run = days.backup(day);
        assert_eq!(run.status, 1, "{}", run.log);
        // the site's config has 9 lines before the body
        let message = format!(
            "Directory \"{root}/srv/a/b\" (at {conf}:17) and Directory \"{root}/srv/a_b\" \
             (at {conf}:12) share the snapshot file \"{}.diff\": neither is backed up until \
             one of them is renamed or removed",
            format!("{root}/srv/a_b").replace('/', "_")
        );
        for item in ["srv/a_b", "srv/a/b"] {
            let line =
                format!("Backup.S3napback.Directory ERROR Directory {root}/{item}: {message}\n");
            assert_eq!(run.log.matches(&line).count(), 1, "{line}\n{}", run.log);
        }
        let stored = prefixes(&days.store);
        assert!(
            stored
                .iter()
                .all(|p| p.starts_with(&format!("{root}/srv/other-"))),
            "{stored:?}"
        );
        assert!(!stored.is_empty());
    }
    // neither colliding item touched DiffDir; the other item's state file is there
    let states: Vec<String> = fs::read_dir(days.site.diff_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".diff"))
        .collect();
    assert_eq!(
        states,
        [format!(
            "{}.diff",
            format!("{root}/srv/other").replace('/', "_")
        )]
    );
}
