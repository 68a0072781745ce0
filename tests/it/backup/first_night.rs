//! A full dump in a DIFF slot starts a chain (issue 24): a first night that falls on a
//! DIFF day, and the DIFF after a lost DiffDir snapshot file, restore at once and count as
//! restorable for `status`; a bucket of the legacy era (no stamps) whose FULL is gone
//! restores from its oldest DIFF with one WARN naming it. Schedule (`Diffs 1`, `Fulls 1`,
//! SimpleCycle): 2026-11-11 and -13 are FULL days (slot 0), -12 and -14 DIFF days (slot 1).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use s3napback::store::{ReadStore, Store};

use super::harness::{Site, js3tream_put, legacy_stream, make_tree, restored, tree};
use super::reused_slots::state_file;
use crate::support::s3::{S3Server, garage, moto};

type Tree = BTreeMap<String, Vec<u8>>;

struct Night {
    site: Site,
    server: S3Server,
    conf: String,
    name: String,
}

impl Night {
    fn new(server: S3Server) -> Night {
        let site = Site::new();
        let src = site.path("src/tree");
        make_tree(&src);
        let name = src.display().to_string();
        let body = format!("<Directory {name}>\n\tDiffs 1\n\tFulls 1\n</Directory>\n");
        let conf = site.config(&server, 1000, true, &body);
        Night {
            conf: conf.to_str().unwrap().to_owned(),
            site,
            server,
            name,
        }
    }

    /// The item's name as the server lists it.
    fn store_name(&self) -> String {
        let store = self.server.store();
        store.physical_key(&self.name)
    }

    fn src(&self) -> &Path {
        Path::new(&self.name)
    }

    fn backup(&self, date: &str) {
        let run = self
            .site
            .run(&["-c", &self.conf], &format!("{date} 03:00:00"));
        assert_eq!(run.status, 0, "{}", run.log);
    }

    /// Restores now (`now`); returns the tree and the log.
    fn restore(&self, now: &str) -> (Tree, String) {
        let out = self
            .site
            .path(&format!("out-{}", now.replace([' ', ':'], "_")));
        let run = self.site.run(
            &[
                "restore",
                "-c",
                &self.conf,
                "--into",
                out.to_str().unwrap(),
                &self.name,
            ],
            now,
        );
        assert_eq!(run.status, 0, "{}", run.log);
        (tree(&restored(&out, self.src())), run.log)
    }

    fn status(&self, now: &str) -> (i32, String) {
        let run = self.site.run(&["status", "-c", &self.conf], now);
        (run.status, run.log)
    }
}

fn a_first_night_on_a_diff_day_restores_at_once(server: S3Server) {
    let night = Night::new(server);
    night.backup("2026-11-12");
    let (restored, log) = night.restore("2026-11-12 06:00:00");
    assert_eq!(restored, tree(night.src()), "{log}");
    assert!(!log.contains("WARN"), "{log}");
    let (status, log) = night.status("2026-11-12 06:00:00");
    assert_eq!(status, 0, "{log}");
    // as the server lists it (Garage strips the leading `/`)
    let listed = night.name.trim_start_matches('/');
    assert!(
        log.contains(&format!("{listed}-1-DIFF at 2026-11-12")),
        "{log}"
    );
    assert!(log.contains(": OK: newest "), "{log}");
    assert!(log.contains("timeline: F"), "{log}");
}

#[test]
fn a_first_night_on_a_diff_day_restores_at_once_moto() {
    let server = moto();
    server.set_clock("2026-11-12 03:00:00");
    a_first_night_on_a_diff_day_restores_at_once(server);
}

#[test]
fn a_first_night_on_a_diff_day_restores_at_once_garage() {
    a_first_night_on_a_diff_day_restores_at_once(garage());
}

/// The FULL of the 11th is gone and so is the snapshot file (a rebuilt host): the DIFF
/// of the 12th is a full dump, and restores alone.
fn the_diff_after_a_lost_snapshot_file_restores_alone(server: S3Server) {
    let night = Night::new(server);
    night.backup("2026-11-11");
    fs::remove_file(state_file(&night.site, &night.name)).unwrap();
    let store = night.server.store();
    let full: Vec<String> = store
        .list(&format!("{}-0-FULL:", night.name))
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert!(!full.is_empty());
    store.delete(&full).unwrap();
    fs::write(night.src().join("new.txt"), "after the rebuild\n").unwrap();
    night.backup("2026-11-12");
    let (restored, log) = night.restore("2026-11-12 06:00:00");
    assert_eq!(restored, tree(night.src()), "{log}");
    let (status, log) = night.status("2026-11-12 06:00:00");
    assert_eq!(status, 0, "{log}");
}

#[test]
fn the_diff_after_a_lost_snapshot_file_restores_alone_moto() {
    let server = moto();
    server.set_clock("2026-11-11 03:00:00");
    the_diff_after_a_lost_snapshot_file_restores_alone(server);
}

#[test]
fn the_diff_after_a_lost_snapshot_file_restores_alone_garage() {
    the_diff_after_a_lost_snapshot_file_restores_alone(garage());
}

/// A legacy bucket (written by s3napback.pl, no stamps) whose FULL is gone: the oldest
/// DIFF was the item's first backup, so restoring from it is complete; one WARN names it.
fn a_legacy_bucket_without_its_full_restores_from_the_oldest_diff(server: S3Server) {
    let night = Night::new(server);
    let store = night.server.store();
    let snapshot = night.site.path("legacy.snar");
    // the legacy's first night was a DIFF day: tar with no snapshot file dumps everything
    night.server.set_clock("2026-11-12 03:00:00");
    let first = legacy_stream(&night.site, &night.name, &snapshot, false);
    js3tream_put(&store, &format!("{}-1-DIFF", night.name), &first, 1000);
    let (restored, log) = night.restore("2026-11-12 06:00:00");
    assert_eq!(restored, tree(night.src()), "{log}");
    // the slot as the server lists it (Garage strips the leading `/`)
    let warn = format!(
        "no FULL slot of {} on or before now: restoring from its oldest DIFF slot {}-1-DIFF, \
         complete only if it was a full dump (the item's first backup)",
        night.name,
        night.store_name()
    );
    assert_eq!(log.matches(&warn).count(), 1, "{log}");
    // status says which state is restorable, and why
    let (status, log) = night.status("2026-11-12 06:00:00");
    assert_eq!(status, 0, "{log}");
    assert!(
        log.contains(&format!(
            "(oldest DIFF {}-1-DIFF taken as a full dump + 0 DIFFs: complete only if it was the item's first backup)",
            night.store_name()
        )),
        "{log}"
    );
}

#[test]
fn a_legacy_bucket_without_its_full_restores_from_the_oldest_diff_moto() {
    a_legacy_bucket_without_its_full_restores_from_the_oldest_diff(moto());
}

#[test]
fn a_legacy_bucket_without_its_full_restores_from_the_oldest_diff_garage() {
    a_legacy_bucket_without_its_full_restores_from_the_oldest_diff(garage());
}
