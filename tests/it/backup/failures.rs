//! A failing stage fails only its item: no objects left for the slot, the old snapshot file
//! kept, an ERROR naming the stage, exit status 1, and the other items still done.

use std::fs;
use std::process::Command;

use super::harness::{Site, chunks, make_tree, prefixes};
use crate::support::clock::DAY_1;
use crate::support::gpg::{GpgHome, OTHER_RECIPIENT};
use crate::support::s3::moto;

#[test]
fn a_missing_directory_fails_alone_and_keeps_its_snapshot() {
    let server = moto();
    let store = server.store();
    let site = Site::new();
    let good = site.path("src/good");
    make_tree(&good);
    let missing = site.path("src/missing");
    let missing_snapshot = site.diff_dir().join(format!(
        "{}.diff",
        missing.display().to_string().replace('/', "_")
    ));
    fs::write(&missing_snapshot, "old snapshot").unwrap();
    let body = format!(
        "<Cycle daily>\n\tDiffs 6\n\tFulls 2\n\tDirectory {}\n\tDirectory {}\n</Cycle>\n",
        missing.display(),
        good.display()
    );
    let conf = site.config(&server, 1000, true, &body);
    // 2026-11-13: a DIFF day (slot 8).
    let run = site.run(&["-c", conf.to_str().unwrap()], "2026-11-13 03:00:00");
    assert_eq!(run.status, 1, "{}", run.log);
    run.expect("Backup.S3napback.Directory ERROR Backup of Directory")
        .expect(&format!("{}", missing.display()))
        .expect("`tar` (pipeline stage 0) failed with exit status 2");
    let missing_prefix = format!("{}-8-DIFF", missing.display());
    assert!(chunks(&store, &missing_prefix).is_empty());
    assert_eq!(
        fs::read_to_string(&missing_snapshot).unwrap(),
        "old snapshot"
    );
    let good_prefix = format!("{}-8-DIFF", good.display());
    assert!(!chunks(&store, &good_prefix).is_empty(), "{}", run.log);
    assert_eq!(prefixes(&store), vec![good_prefix]);
}

#[test]
fn gpg_refusing_its_key_fails_the_item_and_stores_nothing() {
    // The recipient's public key is present but not trusted: `gpg --batch -e` refuses it
    // (the legacy stored a zero-byte slot and called it done).
    let other = GpgHome::other();
    let refusing = GpgHome::empty();
    let exported = Command::new("gpg")
        .args(other.argv(&["--export", OTHER_RECIPIENT]).iter().skip(1))
        .output()
        .unwrap();
    assert!(exported.status.success());
    let key = refusing.path().join("other.pub");
    fs::write(&key, &exported.stdout).unwrap();
    let imported = Command::new("gpg")
        .args(
            refusing
                .argv(&["--import", key.to_str().unwrap()])
                .iter()
                .skip(1),
        )
        .output()
        .unwrap();
    assert!(imported.status.success(), "{imported:?}");

    let server = moto();
    let store = server.store();
    let site = Site::with_gpg(refusing);
    let src = site.path("src/tree");
    make_tree(&src);
    let snapshot = site.diff_dir().join(format!(
        "{}.diff",
        src.display().to_string().replace('/', "_")
    ));
    let body = format!(
        "GpgRecipient {OTHER_RECIPIENT}\n<Directory {}>\n\tDiffs 6\n\tFulls 2\n</Directory>\n",
        src.display()
    );
    let conf = site.config(&server, 1000, false, &body);
    let run = site.run(&["-c", conf.to_str().unwrap()], "2026-11-12 03:00:00");
    assert_eq!(run.status, 1, "{}", run.log);
    run.expect("`gpg` (pipeline stage 1) failed");
    assert!(prefixes(&store).is_empty(), "{:?}", prefixes(&store));
    assert!(!snapshot.exists(), "no snapshot file for a failed FULL");
}

#[test]
fn a_second_run_on_the_same_diffdir_does_nothing() {
    let server = moto();
    let store = server.store();
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let body = format!("LockWait 0\nDirectory {}\n", src.display());
    let conf = site.config(&server, 1000, true, &body);
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(site.diff_dir().join(".s3napback.lock"))
        .unwrap();
    lock.lock().unwrap();
    let run = site.run(&["-c", conf.to_str().unwrap()], DAY_1);
    assert_eq!(run.status, 1, "{}", run.log);
    run.expect("another s3napback run is using");
    assert!(prefixes(&store).is_empty());
    // Test mode needs no lock.
    assert_eq!(
        site.run(&["-t", "-c", conf.to_str().unwrap()], DAY_1)
            .status,
        0
    );
    drop(lock);
    assert_eq!(site.run(&["-c", conf.to_str().unwrap()], DAY_1).status, 0);
    assert_eq!(prefixes(&store).len(), 1);
}
