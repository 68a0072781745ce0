//! `status` on a locked bucket names what someone other than the tool did, each with its
//! own reason (issue 25): a chunk overwritten without a delete, a chunk deleted, a lock
//! shortened or removed (GOVERNANCE mode, bypassed as its holder may), a chunk the tool
//! did not store, a commit record deleted and one replaced by bytes the tool did not
//! write. Against moto's versioned, locked bucket; each finding is checked by key and
//! reason, and an untouched slot has none. Breaking the check of a reason in
//! `inspect::tamper` (e.g. the "not locked" arm) fails it.

use std::fs;

use s3napback::store::ReadStore;
use s3napback::store::keys::RECORD_NAMESPACE;

use crate::backup::harness::{Site, make_tree, noise};
use crate::support::s3::moto;
use crate::support::s3admin::Admin;

/// Chunk `i` of `slot`.
fn chunk(slot: &str, i: u64) -> String {
    format!("{slot}:{i:020}")
}

#[test]
fn each_kind_of_tampering_is_named_with_its_reason() {
    let server = moto();
    let admin = Admin::new(&server);
    admin.create_locked_bucket();
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    fs::write(src.join("noise.bin"), noise(4000, 1)).unwrap();
    let name = src.display().to_string();
    let body = format!(
        "ObjectLockMode GOVERNANCE\nObjectLockGrace 3\n<Cycle daily>\n\tDiffs 6\n\tFulls 2\n\tDirectory {name}\n</Cycle>\n"
    );
    let conf = site.config(&server, 700, true, &body);
    let conf = conf.to_str().unwrap();
    // slot 7 (FULL) on the 12th, DIFFs 8, 9 and 10 on the next days
    for (n, now) in [
        (7, "2026-11-12 03:00:00"),
        (8, "2026-11-13 03:00:00"),
        (9, "2026-11-14 03:00:00"),
        (10, "2026-11-15 03:00:00"),
    ] {
        server.set_clock(now);
        fs::write(src.join("a.txt"), format!("night {n}\n")).unwrap();
        let run = site.run(&["-c", conf], now);
        assert_eq!(run.status, 0, "{}", run.log);
    }
    let full = format!("{name}-7-FULL");
    let store = server.store();
    let current = |key: &str| {
        store
            .list_versions(key)
            .unwrap()
            .into_iter()
            .find(|v| v.key == key && v.is_latest)
            .unwrap_or_else(|| panic!("{key} has no current version"))
    };
    assert!(
        store.list(&chunk(&full, 3)).unwrap().len() == 1,
        "the FULL has at least 4 chunks"
    );
    let status = |now: &str| site.run(&["status", "-c", conf], now);
    let untouched = status("2026-11-15 12:00:00");
    assert_eq!(untouched.status, 0, "{}", untouched.log);
    assert!(!untouched.log.contains("TAMPERED"), "{}", untouched.log);

    server.set_clock("2026-11-15 12:00:00");
    admin.put(&chunk(&full, 0), b"overwritten\n");
    admin.delete(&chunk(&full, 1));
    let two = current(&chunk(&full, 2));
    admin.set_retention_bypassing(
        &two.key,
        &two.version_id,
        Some(("GOVERNANCE", "2026-11-20T00:00:00Z")),
    );
    let three = current(&chunk(&full, 3));
    admin.set_retention_bypassing(&three.key, &three.version_id, None);
    admin.put(&chunk(&full, 99), b"planted\n");
    let diff_8 = format!("{name}-8-DIFF");
    let diff_9 = format!("{name}-9-DIFF");
    let record = |slot: &str| {
        store
            .list(RECORD_NAMESPACE)
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .find(|k| k.ends_with(slot))
            .unwrap_or_else(|| panic!("no record of {slot}"))
    };
    let (record_8, record_9) = (record(&diff_8), record(&diff_9));
    admin.delete(&record_8);
    admin.put(&record_9, b"{ not a record }\n");

    let run = status("2026-11-15 13:00:00");
    assert_eq!(run.status, 1, "{}", run.log);
    for (key, why) in [
        (
            chunk(&full, 0),
            "overwritten: the current version ".to_string(),
        ),
        (
            chunk(&full, 1),
            "deleted (the current version is a delete marker or none)".to_string(),
        ),
        (chunk(&full, 2), "locked until 2026-11-20 ".to_string()),
        (chunk(&full, 3), "not locked".to_string()),
        (
            chunk(&full, 99),
            "a chunk s3napback did not store".to_string(),
        ),
        (
            record_8.clone(),
            "the commit record was deleted (the current version is a delete marker)".to_string(),
        ),
        (
            record_9.clone(),
            format!(
                "the current version {} of the commit record is not one s3napback wrote",
                current(&record_9).version_id
            ),
        ),
    ] {
        run.expect(&format!("TAMPERED: {key}: {why}"));
    }
    run.expect(" only, shorter than the ");
    // the newest DIFF was not touched: nothing is said of it
    let diff_10 = format!("{name}-10-DIFF");
    assert!(
        !run.log
            .lines()
            .any(|l| l.contains("TAMPERED") && l.contains(&diff_10)),
        "{}",
        run.log
    );
}
