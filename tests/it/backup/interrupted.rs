//! Runs killed half-way (SIGKILL, power loss): what they leave is never taken for a
//! complete backup. A partial slot or a staged stream is redone by the next run (not
//! "already done today"); a commit interrupted mid-copy is finished by the next run; restore
//! and status skip incomplete slots with a WARN naming them. Completeness is read from the
//! slot itself, so a changed ChunkSize keeps old slots usable.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use s3napback::journal::items::JournalItem;
use s3napback::store::commit::Commit;
use s3napback::store::keys::{chunk_key, commit_marker_key, staging_prefix};
use s3napback::store::s3::S3Store;
use s3napback::store::{ReadStore, Store};

use super::harness::{Site, bucket, make_tree, restored, tree};
use super::reused_slots::Days;

fn directory_days(chunk: u64) -> (Days, std::path::PathBuf, String) {
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let name = src.display().to_string();
    let body = format!("<Directory {name}>\n\tDiffs 1\n\tFulls 1\n</Directory>\n");
    (Days::new(site, chunk, &body), src, name)
}

/// The reserved keys of unfinished work (staging, markers): slots' stamps stay.
fn reserved_keys(days: &Days) -> Vec<String> {
    unfinished(&days.store)
}

fn unfinished(store: &S3Store) -> Vec<String> {
    store
        .list(".s3napback/")
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .filter(|k| !k.starts_with(".s3napback/stamp/"))
        .collect()
}

/// The journal of the Directory `name` (in the site's DiffDir).
fn journal_item(days: &Days, name: &str) -> JournalItem {
    JournalItem {
        label: format!("Directory {name}"),
        part: name.to_owned(),
        typed: true,
        path: s3napback::journal::journal_path(&days.site.diff_dir(), name),
        bound: None,
    }
}

/// What a run of this host killed after it began uploading to `staged` leaves in DiffDir:
/// the journal names the staging.
fn host_staged(days: &Days, name: &str, staged: &str) {
    let item = journal_item(days, name);
    s3napback::journal::update(&item.path, name, |j| {
        j.staging.insert(staged.to_owned());
    })
    .unwrap();
}

fn assert_restores(days: &Days, src: &Path, name: &str) -> String {
    assert_restores_as(days, src, src, name)
}

/// Restores `name` (backed up from `original`); compares with the tree at `expected`.
fn assert_restores_as(days: &Days, expected: &Path, original: &Path, name: &str) -> String {
    let out = days.site.path("restored");
    let _ = fs::remove_dir_all(&out);
    let run = days.restore_into(&out, name);
    assert_eq!(
        tree(&restored(&out, original)),
        tree(expected),
        "{}",
        run.log
    );
    run.log.clone()
}

#[test]
fn a_partial_slot_and_abandoned_staging_are_redone_and_skipped_with_a_warning() {
    let (days, src, name) = directory_days(1000);
    assert_eq!(days.backup("2026-11-11").status, 0);
    let day11 = days.site.path("day11");
    assert!(
        Command::new("cp")
            .arg("-a")
            .arg(&src)
            .arg(&day11)
            .status()
            .unwrap()
            .success()
    );

    // What a run killed on the 12th leaves: a staged stream of the DIFF slot, and (as a
    // js3tream-era run killed half-way would) two full-size chunks under its final name,
    // both stamped on the 12th.
    days.server.set_clock("2026-11-12 03:00:00");
    let slot = format!("{name}-1-DIFF");
    let staged = staging_prefix(&slot, "1790000000-4242");
    for i in 0..3 {
        let body = Bytes::from(vec![b's'; 1000]);
        days.store.put(&chunk_key(&staged, i), body).unwrap();
    }
    host_staged(&days, &name, &staged);
    // (the js3tream-era chunks are not this host's: the journal has no entry for them)
    for i in 0..2 {
        let body = Bytes::from(vec![b'p'; 1000]);
        days.store.put(&chunk_key(&slot, i), body).unwrap();
    }

    // Invisible or incomplete: list hides the staging, status and restore warn and use
    // the complete FULL.
    for format in [&[][..], &["--json"], &["--js3tream"]] {
        let list = days.command("list", format);
        assert_eq!(list.status, 0, "{}", list.log);
        assert!(list.log.contains(&name), "{}", list.log);
        assert!(!list.log.contains(".s3napback"), "{format:?}: {}", list.log);
    }
    let status = days.command_at("status", &[], "2026-11-12 04:00:00");
    status
        .expect(&format!(
            "{slot}: incomplete (no final short chunk after chunk 1"
        ))
        .expect("timeline: F!")
        .expect(&format!(
            "TAMPERED: {}: not written by this host",
            chunk_key(&slot, 0)
        ));
    assert_eq!(status.status, 1, "{}", status.log);
    let log = assert_restores_as(&days, &day11, &src, &name);
    assert!(
        log.contains(&format!("DIFF slot {slot} is incomplete")),
        "{log}"
    );

    // A rerun on the 12th: not "already done today", redone, staging gone.
    fs::write(src.join("a.txt"), "alpha on the 12th\n").unwrap();
    // The two foreign chunks are reported (exit 1); the staging is this host's.
    let run = days.backup("2026-11-12");
    assert_eq!(run.status, 1, "{}", run.log);
    for i in 0..2 {
        run.expect(&format!(
            "ERROR TAMPERED: {}: not written by this host",
            chunk_key(&slot, i)
        ));
    }
    assert!(!run.log.contains(".s3napback/staging"), "{}", run.log);
    assert!(!run.log.contains("-- already done today"), "{}", run.log);
    assert!(
        run.log
            .contains("Buckets already done today:\nBackup.S3napback INFO directory"),
        "the partial slot is not listed as done: {}",
        run.log
    );
    run.expect("deleted 3 objects a killed run had staged");
    assert!(reserved_keys(&days).is_empty());
    let log = assert_restores(&days, &src, &name);
    assert!(!log.contains("is incomplete"), "{log}");
    // And now it is done today (in the bucket, and its snapshot file was written at
    // that --now).
    days.backup("2026-11-12")
        .expect(&format!(
            "Backup.S3napback INFO {}:{slot}\n",
            days.server.bucket
        ))
        .expect("diff was already performed today");
}

#[test]
fn a_commit_interrupted_mid_copy_is_finished_by_the_next_run() {
    let (days, src, name) = directory_days(1000);
    assert_eq!(days.backup("2026-11-11").status, 0);
    let slot = format!("{name}-0-FULL");
    let old = bucket(&days.store);
    let journal = journal_item(&days, &name);
    let old_journal = fs::read(&journal.path).unwrap();
    let old_chunks: Vec<(&String, &Vec<u8>)> = old
        .iter()
        .filter(|(k, _)| k.starts_with(&format!("{slot}:")))
        .collect();
    assert!(old_chunks.len() > 5, "{:?}", old.keys());

    // The FULL of the 13th is smaller. Take the stream a run stores...
    let data = fs::read(src.join("data.bin")).unwrap();
    fs::write(src.join("data.bin"), &data[..10_000]).unwrap();
    fs::write(src.join("new.txt"), "new on the 13th\n").unwrap();
    assert_eq!(days.backup("2026-11-13").status, 0);
    let new: Vec<(String, Vec<u8>)> = bucket(&days.store)
        .into_iter()
        .filter(|(k, _)| k.starts_with(&format!("{slot}:")))
        .collect();
    assert!(new.len() < old_chunks.len());
    // ...and put the bucket in the state a run killed during its copies leaves: the old
    // slot with its first 3 chunks replaced, the whole new stream staged, the marker.
    for (key, body) in &old_chunks {
        days.store.put(key, Bytes::from((*body).clone())).unwrap();
    }
    for (key, body) in &new[..3] {
        days.store.put(key, Bytes::from(body.clone())).unwrap();
    }
    let staged = staging_prefix(&slot, "1790000000-77");
    for (i, (_, body)) in new.iter().enumerate() {
        days.store
            .put(&chunk_key(&staged, i as u64), Bytes::from(body.clone()))
            .unwrap();
    }
    let marker = Commit {
        slot: slot.clone(),
        staging: staged.clone(),
        chunks: new.len() as u64,
        state: None,
        replaces: None,
        lock: None,
        stamp: None,
    };
    // in DiffDir: the journal as it was before the commit, naming the staging, and the
    // host's copy of the marker
    fs::write(&journal.path, &old_journal).unwrap();
    host_staged(&days, &name, &staged);
    s3napback::journal::writes::write_copy(&journal, &marker).unwrap();
    days.store
        .put(
            &commit_marker_key(&slot),
            Bytes::from(serde_json::to_vec(&marker).unwrap()),
        )
        .unwrap();

    // The slot's own keys are half old, half new; the marker names a complete staged
    // stream, which is the slot's newest backup until the commit is finished: readers
    // restore and verify it (with `Fulls 1` there is no older FULL to fall back on).
    let verify = days.command("verify", &["--deep"]);
    assert_eq!(verify.status, 0, "{}", verify.log);
    assert_restores(&days, &src, &name);
    let status = days.command("status", &[]);
    assert_eq!(status.status, 0, "{}", status.log);

    // The next run (a DIFF day) finishes the commit first.
    fs::write(src.join("a.txt"), "alpha on the 14th\n").unwrap();
    let run = days.backup("2026-11-14");
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect(&format!(
        "{slot}: finished replacing it with the {} chunks an interrupted run had stored",
        new.len()
    ));
    let after = bucket(&days.store);
    let slot_now: Vec<(String, Vec<u8>)> = after
        .iter()
        .filter(|(k, _)| k.starts_with(&format!("{slot}:")))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert!(slot_now == new, "the slot holds exactly the new stream");
    assert!(reserved_keys(&days).is_empty());
    assert_restores(&days, &src, &name);
    assert_eq!(days.command("verify", &[]).status, 0);
}

#[test]
fn a_run_killed_mid_upload_is_redone_and_leaves_no_complete_looking_slot() {
    let (days, src, name) = directory_days(20_000);
    assert_eq!(days.backup("2026-11-11").status, 0);
    let before = bucket(&days.store);
    // 4 MB of incompressible data: 200 chunks, long enough to be caught mid-upload.
    let mut x: u64 = 7;
    let big: Vec<u8> = (0..4_000_000)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) as u8
        })
        .collect();
    fs::write(src.join("big.bin"), big).unwrap();
    let mut child = days
        .site
        .command(&["-c", days.conf.to_str().unwrap()], "2026-11-13 03:00:00")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while reserved_keys(&days).len() < 3 {
        assert!(Instant::now() < deadline, "no staged chunk appeared");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended too soon"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    // The kept FULL is untouched; only staged objects were added.
    let killed = bucket(&days.store);
    for (key, body) in &before {
        assert_eq!(killed.get(key), Some(body), "{key} changed");
    }
    assert!(
        killed
            .keys()
            .all(|k| before.contains_key(k) || k.starts_with(".s3napback/"))
    );
    let status = days.command_at("status", &[], "2026-11-13 01:00:00");
    assert_eq!(status.status, 0, "{}", status.log);
    assert!(!status.log.contains(".s3napback"), "{}", status.log);

    let run = days.backup("2026-11-13");
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect("objects a killed run had staged");
    assert!(reserved_keys(&days).is_empty());
    assert_restores(&days, &src, &name);
}

#[test]
fn slots_stay_usable_after_chunk_size_changes() {
    let (days, src, name) = directory_days(1000);
    // Nothing stored yet: verify says so and fails.
    let verify = days.command("verify", &[]);
    assert_eq!(verify.status, 1, "{}", verify.log);
    verify.expect(&format!(
        "Directory {name}: not restorable (no complete FULL)"
    ));

    assert_eq!(days.backup("2026-11-11").status, 0);
    // ChunkSize changes: the FULL written with 1000-byte chunks stays complete.
    let body = format!("<Directory {name}>\n\tDiffs 1\n\tFulls 1\n</Directory>\n");
    days.site.config(&days.server, 700, true, &body);
    let verify = days.command("verify", &["--deep"]);
    assert_eq!(verify.status, 0, "{}", verify.log);
    verify.expect("1 slots checked (deep), 0 with problems");
    let mut data = fs::read(src.join("data.bin")).unwrap();
    data.reverse();
    fs::write(src.join("data.bin"), data).unwrap();
    let run = days.backup("2026-11-12");
    assert_eq!(run.status, 0, "{}", run.log);
    let sizes: Vec<u64> = days
        .store
        .list(&format!("{name}-1-DIFF:"))
        .unwrap()
        .iter()
        .map(|o| o.size)
        .collect();
    assert!(sizes.len() > 1 && sizes[0] == 700, "{sizes:?}");
    let verify = days.command("verify", &[]);
    assert_eq!(verify.status, 0, "{}", verify.log);
    assert_restores(&days, &src, &name);
    // The done-today rule reads completeness from the slot too.
    days.backup("2026-11-12").expect("already done today");
}

/// Garage strips the leading `/` of keys: staging, copies (whose source names the key as
/// the server spells it), surplus deletion, markers and the roll-forward still work.
#[test]
fn replacing_slots_and_finishing_commits_on_garage() {
    let server = crate::support::s3::garage();
    // A fresh connection for every look: the S3 client corrects its signing time by the
    // server's clock as it last saw it, and Garage refuses a request dated more than 24 h
    // before its own clock, which the runs move a day at a time.
    let store = || server.store();
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let name = src.display().to_string();
    let body = format!("<Directory {name}>\n\tDiffs 0\n\tFulls 1\n</Directory>\n");
    let conf = site.config(&server, 1000, true, &body);
    let conf = conf.to_str().unwrap();
    let run = |date: &str| site.run(&["-c", conf], &format!("{date} 03:00:00"));
    let restore_matches = |now: &str| {
        let out = site.path("restored");
        let _ = fs::remove_dir_all(&out);
        let r = site.run(
            &[
                "restore",
                "-c",
                conf,
                "--into",
                out.to_str().unwrap(),
                &name,
            ],
            now,
        );
        assert_eq!(r.status, 0, "{}", r.log);
        assert_eq!(tree(&restored(&out, &src)), tree(&src), "{}", r.log);
    };
    assert_eq!(run("2026-11-11").status, 0);
    let before = bucket(&store());

    // A failing source keeps the slot byte for byte, staging included.
    let moved = site.path("src/moved");
    fs::rename(&src, &moved).unwrap();
    let failed = run("2026-11-12");
    assert_eq!(failed.status, 1, "{}", failed.log);
    assert!(bucket(&store()) == before, "{}", failed.log);
    fs::rename(&moved, &src).unwrap();

    // A smaller stream replaces it: copies, surplus deleted, nothing reserved left.
    let data = fs::read(src.join("data.bin")).unwrap();
    fs::write(src.join("data.bin"), &data[..5_000]).unwrap();
    let ok = run("2026-11-12");
    assert_eq!(ok.status, 0, "{}", ok.log);
    let replaced = bucket(&store());
    assert!(replaced.len() < before.len(), "{:?}", replaced.keys());
    assert!(
        replaced
            .keys()
            .all(|k| !k.starts_with(".s3napback/") || k.starts_with(".s3napback/stamp/"))
    );
    restore_matches("2026-11-12 04:00:00");

    // An interrupted commit of the next stream (staged, marker, one chunk copied).
    let slot = format!("{name}-0-FULL");
    fs::write(src.join("new.txt"), "new on the 13th\n").unwrap();
    let journal = JournalItem {
        label: format!("Directory {name}"),
        part: name.clone(),
        typed: true,
        path: s3napback::journal::journal_path(&site.diff_dir(), &name),
        bound: None,
    };
    let old_journal = fs::read(&journal.path).unwrap();
    assert_eq!(run("2026-11-13").status, 0);
    // the slot's chunks (not its stamp)
    let newest: Vec<(String, Vec<u8>)> = bucket(&store())
        .into_iter()
        .filter(|(k, _)| !k.starts_with(".s3napback/"))
        .collect();
    for (key, body) in &replaced {
        store().put(key, Bytes::from(body.clone())).unwrap();
    }
    let staged = staging_prefix(&slot, "1790000000-5");
    for (i, (_, body)) in newest.iter().enumerate() {
        store()
            .put(&chunk_key(&staged, i as u64), Bytes::from(body.clone()))
            .unwrap();
    }
    store()
        .put(&newest[0].0, Bytes::from(newest[0].1.clone()))
        .unwrap();
    let marker = Commit {
        slot: slot.clone(),
        staging: staged.clone(),
        chunks: newest.len() as u64,
        state: None,
        replaces: None,
        lock: None,
        stamp: None,
    };
    // in DiffDir what this host's killed run leaves: the journal as before the commit,
    // naming the staging, and the host's copy of the marker
    fs::write(&journal.path, &old_journal).unwrap();
    s3napback::journal::update(&journal.path, &name, |j| {
        j.staging.insert(staged.clone());
    })
    .unwrap();
    s3napback::journal::writes::write_copy(&journal, &marker).unwrap();
    store()
        .put(
            &commit_marker_key(&slot),
            Bytes::from(serde_json::to_vec(&marker).unwrap()),
        )
        .unwrap();
    // while pending, the staged stream is the slot's newest backup
    let verify = site.run(&["verify", "-c", conf], "2026-11-13 04:00:00");
    assert_eq!(verify.status, 0, "{}", verify.log);
    restore_matches("2026-11-13 04:00:00");
    // Test mode changes nothing, not even a pending commit: every object, bytes included,
    // and every DiffDir file, contents and modification times, are as they were.
    let diff_dir = |site: &Site| {
        let files = tree(&site.diff_dir());
        let times: Vec<_> = files
            .keys()
            .map(|rel| {
                fs::symlink_metadata(site.diff_dir().join(rel))
                    .unwrap()
                    .modified()
                    .unwrap()
            })
            .collect();
        (files, times)
    };
    let (objects_before, diff_dir_before) = (bucket(&store()), diff_dir(&site));
    assert!(unfinished(&store()).len() > 1);
    let test_mode = site.run(&["-t", "-c", conf], "2026-11-14 03:00:00");
    assert_eq!(test_mode.status, 0, "{}", test_mode.log);
    assert!(
        bucket(&store()) == objects_before,
        "test mode changed the bucket: {}",
        test_mode.log
    );
    assert!(
        diff_dir(&site) == diff_dir_before,
        "test mode changed DiffDir: {}",
        test_mode.log
    );

    let next = run("2026-11-14");
    assert_eq!(next.status, 0, "{}", next.log);
    next.expect("finished replacing it with the");
    assert!(unfinished(&store()).is_empty());
    restore_matches("2026-11-14 04:00:00");
}
