//! Directory items: FULL then DIFFs over several days, restored by the legacy manual
//! procedure; same-day reruns; the same flow on Garage, which strips the leading `/`.

use std::fs;
use std::path::Path;
use std::time::Duration;

use s3napback::store::s3::S3Store;

use super::harness::{
    Site, chunks, extract, fetch, make_tree, prefixes, restored, tar_members, tree,
};
use crate::support::clock::DAY_1;
use crate::support::s3::{S3Server, garage, moto};

const CHUNK: u64 = 1000;

fn cycle(src: &Path) -> String {
    format!(
        "<Cycle daily>\n\tFrequency 1\n\tDiffs 6\n\tFulls 2\n\tDirectory {}\n\tExclude {}/cache\n</Cycle>\n",
        src.display(),
        src.display()
    )
}

/// Every chunk but the last is ChunkSize, the last is shorter: a complete js3tream slot.
fn assert_complete(store: &S3Store, prefix: &str) {
    let c = chunks(store, prefix);
    assert!(!c.is_empty(), "{prefix}: no objects");
    for (pos, (index, size)) in c.iter().enumerate() {
        assert_eq!(*index, pos as u64, "{prefix}: indices {c:?}");
        if pos + 1 < c.len() {
            assert_eq!(*size, CHUNK, "{prefix}: chunk {index} {c:?}");
        } else {
            assert!(*size < CHUNK, "{prefix}: last chunk {c:?}");
        }
    }
}

/// The expected restore of `src`: everything but the excluded cache.
fn expected(src: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    tree(src)
        .into_iter()
        .filter(|(k, _)| !k.starts_with("cache"))
        .collect()
}

#[test]
fn full_then_diffs_restore_by_the_legacy_procedure() {
    let server = moto();
    let store = server.store();
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    fs::create_dir_all(src.join("cache")).unwrap();
    fs::write(src.join("cache/junk"), "excluded").unwrap();
    let conf = site.config(&server, CHUNK, true, &cycle(&src));
    let conf = conf.to_str().unwrap();
    let name = src.display().to_string();
    let snapshot = site
        .diff_dir()
        .join(format!("{}.diff", name.replace('/', "_")));

    // 2026-11-12 is yday 315: slot 315 % 14 = 7, a FULL.
    let full = format!("{name}-7-FULL");
    site.run(&["-c", conf], "2026-11-12 03:00:00")
        .expect(&format!("Directory {name} -> {}:{full}", server.bucket));
    assert_complete(&store, &full);
    assert!(
        snapshot.exists(),
        "the snapshot file is written after success"
    );
    let full_members = tar_members(&site.decrypt(&fetch(&store, &full)));
    assert!(full_members.iter().any(|m| m.ends_with("data.bin")));
    assert!(!full_members.iter().any(|m| m.contains("cache/junk")));

    // Day two: one file changed, one added, one deleted.
    std::thread::sleep(Duration::from_millis(1100));
    fs::write(src.join("a.txt"), "alpha, changed\n").unwrap();
    fs::write(src.join("new.txt"), "new\n").unwrap();
    fs::remove_file(src.join("sub/b.txt")).unwrap();
    let diff1 = format!("{name}-8-DIFF");
    let run = site.run(&["-c", conf], "2026-11-13 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    assert_complete(&store, &diff1);
    let members = tar_members(&site.decrypt(&fetch(&store, &diff1)));
    assert!(
        members.iter().any(|m| m.ends_with("new.txt")),
        "{members:?}"
    );
    assert!(members.iter().any(|m| m.ends_with("a.txt")), "{members:?}");
    assert!(
        !members.iter().any(|m| m.ends_with("data.bin")),
        "the DIFF holds only changes: {members:?}"
    );

    // Day three: a folder deleted, a binary changed.
    std::thread::sleep(Duration::from_millis(1100));
    fs::remove_dir_all(src.join("sub/with space")).unwrap();
    fs::write(src.join("data.bin"), vec![42u8; 3000]).unwrap();
    let diff2 = format!("{name}-9-DIFF");
    let run = site.run(&["-c", conf], "2026-11-14 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    assert_complete(&store, &diff2);

    // The legacy recovery: newest FULL, then the DIFFs by date: chunks, gpg -d, tar -xz.
    let out = site.path("out");
    for prefix in [&full, &diff1, &diff2] {
        extract(&site.decrypt(&fetch(&store, prefix)), &out);
    }
    assert_eq!(tree(&restored(&out, &src)), expected(&src));
}

/// Backup, rerun ("already performed today"), "already done today", a forced rerun that
/// leaves no stale objects, and the legacy restore, on the given server.
fn same_day_flow(server: &S3Server) {
    let store = server.store();
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let conf = site.config(server, CHUNK, true, &cycle(&src));
    let conf = conf.to_str().unwrap();
    let name = src.display().to_string();
    let snapshot = site
        .diff_dir()
        .join(format!("{}.diff", name.replace('/', "_")));

    let first = site.run(&["-c", conf], DAY_1);
    assert_eq!(first.status, 0, "{}: {}", server.kind, first.log);
    let found = prefixes(&store);
    assert_eq!(found.len(), 1, "{}: {found:?}", server.kind);
    let logical = found[0].clone();
    let prefix = if logical.starts_with('/') {
        logical.clone()
    } else {
        format!("/{logical}")
    };
    assert!(prefix.starts_with(&format!("{name}-")), "{prefix}");
    assert_complete(&store, &prefix);
    let before = chunks(&store, &prefix);

    site.run(&["-c", conf], DAY_1).expect(&format!(
        "Skipping {name}; diff was already performed today"
    ));
    fs::remove_file(&snapshot).unwrap();
    site.run(&["-c", conf], DAY_1)
        .expect("Buckets already done today:")
        .expect(&format!(
            "Skipping {}:{prefix} -- already done today",
            server.bucket
        ));

    // Forced rerun with less data: the slot is rewritten with fewer chunks, no stale tail.
    fs::remove_file(src.join("data.bin")).unwrap();
    let forced = site.run(&["-f", "-c", conf], DAY_1);
    assert_eq!(forced.status, 0, "{}", forced.log);
    forced.expect("FORCE MODE; DATA MAY BE OVERWRITTEN");
    assert_complete(&store, &prefix);
    assert!(chunks(&store, &prefix).len() < before.len());
    assert_eq!(prefixes(&store).len(), 1, "{:?}", prefixes(&store));

    let out = site.path("out");
    extract(&site.decrypt(&fetch(&store, &prefix)), &out);
    assert_eq!(tree(&restored(&out, &src)), expected(&src));

    // And with the restore command, which finds the slot however the server spells it.
    let out = site.path("out-restore");
    let run = site.run(
        &[
            "restore",
            "-c",
            conf,
            "--into",
            out.to_str().unwrap(),
            &name,
        ],
        DAY_1,
    );
    assert_eq!(run.status, 0, "{}: {}", server.kind, run.log);
    assert_eq!(tree(&restored(&out, &src)), expected(&src));
    let verify = site.run(&["verify", "--deep", "-c", conf], DAY_1);
    assert_eq!(verify.status, 0, "{}: {}", server.kind, verify.log);
}

#[test]
fn same_day_rules_and_forced_rerun_on_moto() {
    same_day_flow(&moto());
}

#[test]
fn same_day_rules_forced_rerun_and_restore_on_garage() {
    same_day_flow(&garage());
}

#[test]
fn test_mode_changes_nothing() {
    let server = moto();
    let store = server.store();
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let conf = site.config(&server, CHUNK, true, &cycle(&src));
    let name = src.display().to_string();
    let snapshot = site
        .diff_dir()
        .join(format!("{}.diff", name.replace('/', "_")));
    fs::write(&snapshot, "legacy snapshot").unwrap();
    // A FULL day: the legacy deleted the snapshot file even in test mode.
    let run = site.run(&["-t", "-c", conf.to_str().unwrap()], "2026-11-12 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect("TEST MODE ONLY, NO REAL ACTIONS WILL BE TAKEN")
        .expect(&format!("s3 delete {}:{name}-7-FULL", server.bucket));
    assert_eq!(fs::read_to_string(&snapshot).unwrap(), "legacy snapshot");
    assert!(prefixes(&store).is_empty());
}

#[test]
fn credentials_and_endpoint_from_the_environment() {
    // No S3Keyfile, S3Endpoint or S3Region: the standard AWS chain and AWS_ENDPOINT_URL.
    let server = moto();
    let store = server.store();
    let mut site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let conf = site.path("env.conf");
    fs::write(
        &conf,
        format!(
            "DiffDir {}\nBucket {}\nChunkSize {CHUNK}\n{}",
            site.diff_dir().display(),
            server.bucket,
            cycle(&src)
        ),
    )
    .unwrap();
    site.env = vec![
        ("AWS_ACCESS_KEY_ID".into(), server.key.clone()),
        ("AWS_SECRET_ACCESS_KEY".into(), server.secret.clone()),
        ("AWS_REGION".into(), server.region.clone()),
        ("AWS_ENDPOINT_URL".into(), server.endpoint.clone()),
    ];
    let run = site.run(&["-c", conf.to_str().unwrap()], "2026-11-12 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    assert_complete(&store, &format!("{}-7-FULL", src.display()));
}
