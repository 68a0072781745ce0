//! `restore ... ITEM PATH...`: only the named subtrees come back, each whole and as of the
//! last DIFF (files and directories the DIFF recorded as deleted are absent), and nothing
//! outside them. Backups made by the tool itself, a FULL and two DIFFs, encrypted.

use std::collections::BTreeMap;
use std::fs;
use std::time::Duration;

use super::harness::{Site, tree};
use crate::support::s3::moto;

#[test]
fn restore_with_paths_gives_exactly_those_subtrees_as_of_the_last_diff() {
    let server = moto();
    let _store = server.store();
    let site = Site::new();
    let src = site.path("src/tree");
    for (path, text) in [
        ("docs/keep.txt", "kept\n"),
        ("docs/changed.txt", "first\n"),
        ("docs/gone.txt", "deleted by the first DIFF\n"),
        ("docs/old/a.txt", "a directory deleted by the second DIFF\n"),
        ("docs/deep/er/z.txt", "deep\n"),
        ("mail/inbox", "not asked for\n"),
        ("music/x.ogg", "not asked for either\n"),
        ("top.txt", "outside\n"),
    ] {
        fs::create_dir_all(src.join(path).parent().unwrap()).unwrap();
        fs::write(src.join(path), text).unwrap();
    }
    let body = format!(
        "<Cycle daily>\n\tFrequency 1\n\tDiffs 6\n\tFulls 2\n\tDirectory {}\n</Cycle>\n",
        src.display()
    );
    let conf = site.config(&server, 1000, true, &body);
    let conf = conf.to_str().unwrap();
    let backup = |now: &str| {
        // tar's incremental dumps go by ctime, restore orders slots by their dates
        std::thread::sleep(Duration::from_millis(1100));
        let run = site.run(&["-c", conf], now);
        assert_eq!(run.status, 0, "{}", run.log);
    };
    backup("2026-11-12 03:00:00");
    fs::remove_file(src.join("docs/gone.txt")).unwrap();
    fs::write(src.join("docs/changed.txt"), "second\n").unwrap();
    fs::write(src.join("docs/new.txt"), "added\n").unwrap();
    fs::write(src.join("mail/inbox"), "changed too\n").unwrap();
    backup("2026-11-13 03:00:00");
    fs::remove_dir_all(src.join("docs/old")).unwrap();
    fs::write(src.join("docs/deep/er/z.txt"), "deeper\n").unwrap();
    backup("2026-11-14 03:00:00");
    let prefix = src.display().to_string();
    // a FULL and two DIFFs, so the restore applies a chain
    let run = site.run(&["list", "--json", "-c", conf], "2026-11-14 04:00:00");
    assert_eq!(
        run.log.matches(r#""type": "FULL""#).count(),
        1,
        "{}",
        run.log
    );
    assert_eq!(
        run.log.matches(r#""type": "DIFF""#).count(),
        2,
        "{}",
        run.log
    );

    let into = site.path("out");
    let rel = prefix.trim_start_matches('/');
    let run = site.run(
        &[
            "restore",
            "-c",
            conf,
            "--into",
            into.to_str().unwrap(),
            &prefix,
            &format!("{rel}/docs"),
            &format!("{rel}/music"),
        ],
        "2026-11-14 04:00:00",
    );
    assert_eq!(run.status, 0, "{}", run.log);

    // exactly the two subtrees as they are now, under the directories leading to them
    let got = tree(&into);
    let mut want: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut dir = String::new();
    for part in rel.split('/') {
        dir = if dir.is_empty() {
            part.to_owned()
        } else {
            format!("{dir}/{part}")
        };
        want.insert(dir.clone(), b"<dir>".to_vec());
    }
    for (path, bytes) in tree(&src) {
        if path.starts_with("docs") || path.starts_with("music") {
            want.insert(format!("{rel}/{path}"), bytes);
        }
    }
    assert_eq!(got, want);
    assert!(!got.contains_key(&format!("{rel}/docs/gone.txt")));
    assert!(!got.contains_key(&format!("{rel}/docs/old")));
    assert_eq!(got[&format!("{rel}/docs/changed.txt")], b"second\n");
}
