//! Issue 23, item 6: Object Lock dates run on the S3 server's clock. The host's clock is
//! `--now`, moto's its own libfaketime clock. A server more than an hour off the host
//! (either way) fails the item before anything is stored or removed, its DiffDir state
//! file not written; a smaller difference moves every retain-until by it; clocks that
//! agree keep the dates as planned (`object_lock.rs` checks those to the second).

use std::fs;
use std::path::Path;
use std::process::Output;

use s3napback::store::ReadStore;
use s3napback::store::keys::parse_chunk_key;
use s3napback::store::lock::{LockMode, Retention};
use time::macros::datetime;

use crate::backup::harness::{Site, make_tree};
use crate::support::clock::DAY_1;
use crate::support::s3::{S3Server, moto};
use crate::support::s3admin::Admin;

/// A locked bucket on a fresh moto and a site backing up one Directory daily (slot 7 on
/// 2026-11-12, a FULL; rewritten 2026-11-26), COMPLIANCE with a grace of 3 days: its
/// objects are locked until 2026-12-01 00:00 UTC on clocks that agree.
fn scene() -> (S3Server, Site, String, String) {
    let server = moto();
    Admin::new(&server).create_locked_bucket();
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let name = src.display().to_string();
    let body = format!(
        "ObjectLockMode COMPLIANCE\nObjectLockGrace 3\nDiffs 6\nFulls 2\nDirectory {name}\n"
    );
    let conf = site.config(&server, 700, true, &body);
    (server, site, conf.display().to_string(), name)
}

/// Runs `-c conf` with the host at `host` while the server's clock is `server` (`frozen`:
/// standing still); returns the exit status and the log.
fn run_with_server_at(
    site: &Site,
    server: &S3Server,
    conf: &str,
    host: &str,
    at: &str,
    frozen: bool,
) -> (i32, String) {
    let mut cmd = site.command(&["-c", conf], host);
    // after `command`, which set the server to the host's time
    if frozen {
        server.freeze_clock(at);
    } else {
        server.set_clock(at);
    }
    let out: Output = cmd.output().expect("run s3napback");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Every version of a chunk in the bucket (staged ones with `staged`), with its lock.
fn chunk_locks(server: &S3Server, staged: bool) -> Vec<(String, Option<Retention>)> {
    let store = server.store();
    store
        .list_versions("")
        .unwrap()
        .into_iter()
        .filter(|v| !v.delete_marker && parse_chunk_key(&v.key).is_some())
        .filter(|v| staged || !v.key.starts_with(".s3napback/"))
        .map(|v| {
            let lock = store.retention_of(&v.key, &v.version_id).unwrap();
            (v.key, lock)
        })
        .collect()
}

/// The DiffDir state files (`*.diff`) of `site`.
fn state_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".diff"))
        .collect()
}

#[test]
fn a_server_clock_over_an_hour_off_the_hosts_fails_the_item_and_stores_nothing() {
    let (server, site, conf, name) = scene();
    for (server_at, apart) in [
        ("2026-11-12 04:00:02", "1 h 0 min 2 s"),
        ("2026-11-12 01:00:00", "2 h 0 min 0 s"),
    ] {
        let (status, log) = run_with_server_at(&site, &server, &conf, DAY_1, server_at, true);
        assert_eq!(status, 1, "{log}");
        assert!(
            log.contains(&format!(
                "ERROR Directory {name}: the S3 server's clock reads"
            )),
            "{log}"
        );
        assert!(
            log.contains(&format!("they are {apart} apart, more than one hour")),
            "{log}"
        );
        assert!(log.contains("nothing was stored or removed"), "{log}");
        assert_eq!(chunk_locks(&server, true), Vec::new(), "{log}");
        assert!(
            server.store().list("").unwrap().is_empty(),
            "nothing stored, nothing staged: {log}"
        );
        assert_eq!(state_files(&site.diff_dir()), Vec::<String>::new(), "{log}");
    }
    // the same run with the clocks agreeing stores, as planned
    let run = site.run(&["-c", &conf], DAY_1);
    assert_eq!(run.status, 0, "{}", run.log);
    let locks = chunk_locks(&server, false);
    assert!(!locks.is_empty());
    for (key, lock) in &locks {
        assert_eq!(
            *lock,
            Some(Retention {
                mode: LockMode::Compliance,
                until: datetime!(2026-12-01 00:00 UTC)
            }),
            "{key}"
        );
    }
    assert_eq!(state_files(&site.diff_dir()).len(), 1);
}

#[test]
fn retain_until_follows_the_servers_clock() {
    let (server, site, conf, _) = scene();
    // the server 20 minutes ahead of the host (within the hour)
    let (status, log) =
        run_with_server_at(&site, &server, &conf, DAY_1, "2026-11-12 03:20:00", true);
    assert_eq!(status, 0, "{log}");
    assert!(
        log.contains("the S3 server's clock is 20 min 0 s ahead of the host's"),
        "{log}"
    );
    let locks = chunk_locks(&server, false);
    assert!(!locks.is_empty());
    for (key, lock) in &locks {
        assert_eq!(
            *lock,
            Some(Retention {
                mode: LockMode::Compliance,
                until: datetime!(2026-12-01 00:20 UTC)
            }),
            "{key}"
        );
    }
}
