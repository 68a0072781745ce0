//! `s3napback restore` and the renames of GNU incremental dumpdirs (issue 16): a DIFF
//! whose directory member carries `R`/`T` entries through a symlink an earlier slot left,
//! or with `..`, is refused naming the slot and the entry, and nothing outside `--into`
//! changes; a directory really renamed between a FULL and a DIFF (the tool's own backups,
//! real `tar -g`) restores exactly. Every run of the tool gives `--now`; the S3 server's
//! clock is set to the same times, so slots are ordered without waiting.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use crate::backup::harness::{Site, fetch, gunzip, prefixes, restored, stdout_of, tree};
use crate::restore::{encrypt, gzip, put_stream, snapshot};
use crate::support::s3::{S3Server, garage, moto};

/// `tar -cz -g SNAP -C DIR srv` (GNU format), a real incremental stream.
fn tar_incremental(dir: &Path, snap: &Path) -> Vec<u8> {
    stdout_of(
        Command::new("tar")
            .args(["-c", "-z", "-f", "-", "-g"])
            .arg(snap)
            .arg("-C")
            .arg(dir)
            .arg("srv"),
    )
}

/// A gzip'd tar stream of one GNU `D` member `name` whose data is `dumpdir`.
fn dumpdir_slot(name: &str, dumpdir: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_entry_type(tar::EntryType::new(b'D'));
    h.set_size(dumpdir.len() as u64);
    h.set_mode(0o755);
    h.set_cksum();
    let mut b = tar::Builder::new(Vec::new());
    b.append(&h, dumpdir).unwrap();
    gzip(&b.into_inner().unwrap())
}

#[test]
fn dumpdir_renames_through_a_symlink_or_with_dot_dot_are_refused() {
    let site = Site::new();
    let server = moto();
    server.set_clock("2026-11-12 03:00:00");
    let store = server.store();
    let conf = site.config(&server, 1000, true, "");
    let conf = conf.to_str().unwrap();
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret"), "the secret\n").unwrap();
    fs::create_dir(outside.path().join("sub")).unwrap();
    fs::write(outside.path().join("sub/file"), "below\n").unwrap();
    let before = snapshot(outside.path());

    // the FULL (real tar -g): srv/t/x -> OUTSIDE, srv/t/mine/ a directory of its own
    let src = site.path("src");
    fs::create_dir_all(src.join("srv/t/mine")).unwrap();
    fs::write(src.join("srv/t/keep.txt"), "kept\n").unwrap();
    symlink(outside.path(), src.join("srv/t/x")).unwrap();
    let full = tar_incremental(&src, &site.path("snap"));

    // the bucket is really hostile: the bare `tar -x -g /dev/null` moves OUTSIDE/secret in
    let attack: &[u8] = b"Dmine\0Ykeep.txt\0Nx\0Rsrv/t/x/secret\0Tsrv/t/loot\0\0";
    let bare = site.path("bare");
    fs::create_dir(&bare).unwrap();
    for data in [full.clone(), dumpdir_slot("srv/t/", attack)] {
        let argv: Vec<String> = ["tar", "-xz", "-g", "/dev/null", "-C"]
            .iter()
            .map(|s| s.to_string())
            .chain([bare.display().to_string()])
            .collect();
        crate::restore::run_with_input(&argv, &data);
    }
    assert_eq!(
        fs::read_to_string(bare.join("srv/t/loot")).unwrap(),
        "the secret\n"
    );
    fs::rename(bare.join("srv/t/loot"), outside.path().join("secret")).unwrap();
    assert_eq!(snapshot(outside.path()), before);

    let cases: [(&str, &[u8], &str, &str); 4] = [
        // moves OUTSIDE/secret into DIR
        (
            "/steal",
            attack,
            "Rsrv/t/x/secret",
            "it goes through srv/t/x, a symlink to",
        ),
        // plants a directory of DIR outside
        (
            "/plant",
            b"Dmine\0Ykeep.txt\0Nx\0Rsrv/t/mine\0Tsrv/t/x/planted\0\0",
            "Tsrv/t/x/planted",
            "it goes through srv/t/x, a symlink to",
        ),
        // reaches out directly
        (
            "/reach",
            b"Rsrv/t/mine\0T../planted\0R../x\0Tsrv/t/got\0\0",
            "T../planted",
            "its name contains `..`",
        ),
        // `..` inside a name
        (
            "/dotdot",
            b"Rsrv/t/../../../x\0Tsrv/t/got\0\0",
            "Rsrv/t/../../../x",
            "its name contains `..`",
        ),
    ];
    server.set_clock("2026-11-12 03:00:00");
    for (item, _, _, _) in &cases {
        put_stream(
            &store,
            &format!("{item}-1-FULL"),
            &encrypt(&site.gpg, &full),
        );
    }
    server.set_clock("2026-11-13 03:00:00");
    for (item, dumpdir, _, _) in &cases {
        let diff = dumpdir_slot("srv/t/", dumpdir);
        put_stream(
            &store,
            &format!("{item}-2-DIFF"),
            &encrypt(&site.gpg, &diff),
        );
    }
    for (item, _, entry, why) in cases {
        let into = site.path(&format!("out{item}"));
        let run = site.run(
            &[
                "restore",
                "-c",
                conf,
                "--into",
                into.to_str().unwrap(),
                item,
            ],
            "2026-11-14 03:00:00",
        );
        assert_eq!(run.status, 1, "{item}: {}", run.log);
        run.expect(&format!("restored s3napback-test:{item}-1-FULL"))
            .expect(&format!("failed in s3napback-test:{item}-2-DIFF"))
            .expect("refused tar member \"srv/t/\"")
            .expect(&format!("its dumpdir entry `{entry}`: {why}"))
            .expect("holds a partial restore");
        assert_eq!(snapshot(outside.path()), before, "{item}: {}", run.log);
        // the FULL was applied as it is, nothing of the DIFF
        assert!(
            fs::symlink_metadata(into.join("srv/t/x"))
                .unwrap()
                .is_symlink()
        );
        assert!(into.join("srv/t/mine").is_dir());
        assert!(!into.join("srv/t/loot").exists() && !into.join("srv/t/got").exists());
        assert!(!site.path("planted").exists() && !site.path("x").exists());
    }
}

#[test]
fn a_directory_renamed_between_a_full_and_a_diff_restores_exactly() {
    let site = Site::new();
    let server = moto();
    server.set_clock("2026-11-12 03:00:00");
    let store = server.store();
    let src = site.path("src/tree");
    fs::create_dir_all(src.join("a/sub/deep")).unwrap();
    fs::write(src.join("a/sub/f.txt"), "f\n").unwrap();
    fs::write(src.join("a/sub/deep/g.txt"), "g\n").unwrap();
    fs::write(src.join("top.txt"), "top\n").unwrap();
    let name = src.display().to_string();
    let body = format!("<Cycle daily>\n\tDiffs 6\n\tFulls 2\n\tDirectory {name}\n</Cycle>\n");
    let conf = site.config(&server, 1000, true, &body);
    let conf = conf.to_str().unwrap();
    let backup = |now: &str| {
        server.set_clock(now);
        let run = site.run(&["-c", conf], now);
        assert_eq!(run.status, 0, "{}", run.log);
    };
    backup("2026-11-12 03:00:00");
    fs::rename(src.join("a/sub"), src.join("a/sub2")).unwrap();
    fs::write(src.join("a/sub2/deep/new.txt"), "new\n").unwrap();
    backup("2026-11-13 03:00:00");

    // the DIFF holds the rename as GNU tar writes it
    let slots = prefixes(&store);
    let diff = slots.iter().find(|p| p.ends_with("-DIFF")).expect("a DIFF");
    assert_eq!(slots.len(), 2, "{slots:?}");
    let stream = gunzip(&site.decrypt(&fetch(&store, diff)));
    let rel = name.trim_start_matches('/');
    let pair = format!("R{rel}/a/sub\0T{rel}/a/sub2\0");
    assert!(
        stream.windows(pair.len()).any(|w| w == pair.as_bytes()),
        "no {pair:?} in the DIFF"
    );

    let into = site.path("out");
    let run = site.run(
        &[
            "restore",
            "-c",
            conf,
            "--into",
            into.to_str().unwrap(),
            &name,
        ],
        "2026-11-14 03:00:00",
    );
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect(&format!("restored s3napback-test:{diff}"));
    assert_eq!(tree(&restored(&into, &src)), tree(&src));
    assert!(!restored(&into, &src).join("a/sub").exists());
}

/// Backs up `src` as a FULL after `before` made it and a DIFF after `moves` changed it
/// (the tool's own backups, real `tar -g`, on `server`), then restores it into a fresh
/// directory; returns the restore's run, where the source is, and where it was restored.
fn moved_between_two_nights(
    server: &S3Server,
    before: impl FnOnce(&Path),
    moves: impl FnOnce(&Path),
) -> (
    Site,
    crate::backup::harness::Run,
    std::path::PathBuf,
    std::path::PathBuf,
) {
    let site = Site::new();
    let src = site.path("src");
    fs::create_dir_all(&src).unwrap();
    before(&src);
    let name = src.display().to_string();
    let body = format!("<Cycle daily>\n\tDiffs 6\n\tFulls 2\n\tDirectory {name}\n</Cycle>\n");
    let conf = site.config(server, 1000, true, &body);
    let conf = conf.to_str().unwrap().to_string();
    let backup = |now: &str| {
        server.set_clock(now);
        let run = site.run(&["-c", &conf], now);
        assert_eq!(run.status, 0, "{}", run.log);
    };
    backup("2026-11-12 03:00:00");
    moves(&src);
    backup("2026-11-13 03:00:00");
    let into = site.path("out");
    server.set_clock("2026-11-13 06:00:00");
    // the source is away while it is restored (as on a lost host): a restore that wrote
    // to the names in the stream rather than into `--into` finds nothing there
    let aside = site.path("src-aside");
    fs::rename(&src, &aside).unwrap();
    let run = site.run(
        &[
            "restore",
            "-c",
            &conf,
            "--into",
            into.to_str().unwrap(),
            &name,
        ],
        "2026-11-13 06:00:00",
    );
    assert!(!src.exists(), "the restore made {}", src.display());
    fs::rename(&aside, &src).unwrap();
    (site, run, src, into)
}

fn mv(src: &Path, from: &str, to: &str) {
    fs::rename(src.join(from), src.join(to)).unwrap();
}

fn dirs_with_files(src: &Path, dirs: &[&str]) {
    for d in dirs {
        fs::create_dir_all(src.join(d)).unwrap();
        fs::write(src.join(d).join("file"), format!("{d}\n")).unwrap();
    }
}

/// Issue 22: `mv a m; mv c m/c2` (GNU tar: `Ra Tm Rc Tm/c2`, the second through the first).
fn a_directory_moved_into_a_moved_one_restores_exactly(server: &S3Server) {
    let (_site, run, src, into) = moved_between_two_nights(
        server,
        |src| {
            fs::create_dir_all(src.join("a/b")).unwrap();
            fs::create_dir_all(src.join("c")).unwrap();
            fs::write(src.join("a/b/f"), "1\n").unwrap();
            fs::write(src.join("c/g"), "2\n").unwrap();
        },
        |src| {
            mv(src, "a", "m");
            mv(src, "c", "m/c2");
        },
    );
    assert_eq!(run.status, 0, "{}", run.log);
    assert_eq!(tree(&restored(&into, &src)), tree(&src));
    assert!(!restored(&into, &src).join("a").exists());
}

#[test]
fn a_directory_moved_into_a_moved_one_restores_exactly_on_moto() {
    a_directory_moved_into_a_moved_one_restores_exactly(&moto());
}

#[test]
fn a_directory_moved_into_a_moved_one_restores_exactly_on_garage() {
    a_directory_moved_into_a_moved_one_restores_exactly(&garage());
}

/// Nested moves, a chain, a move into new directories and one out of a deleted
/// directory, in one night.
fn nested_moves_and_moves_across_deleted_directories_restore_exactly(server: &S3Server) {
    let (_site, run, src, into) = moved_between_two_nights(
        server,
        |src| {
            dirs_with_files(
                src,
                &[
                    "p1/a/b/c",
                    "p2/a/b/c",
                    "p2/d",
                    "p3/a/x/y",
                    "p4/x",
                    "p5/d",
                    "p5/d/e/f/g",
                ],
            )
        },
        |src| {
            mv(src, "p1/a", "p1/m");
            mv(src, "p1/m/b", "p1/m/b2");
            mv(src, "p2/a", "p2/m");
            mv(src, "p2/m/b/c", "p2/d/c2");
            mv(src, "p2/d", "p2/m/b/d2");
            mv(src, "p3/a", "p3/b");
            mv(src, "p3/b/x", "p3/c");
            fs::create_dir_all(src.join("p4/n/d")).unwrap();
            mv(src, "p4/x", "p4/n/d/x2");
            mv(src, "p5/d/e/f", "p5/top");
            fs::remove_dir_all(src.join("p5/d")).unwrap();
            fs::write(src.join("p5/top/g/new"), "new\n").unwrap();
        },
    );
    assert_eq!(run.status, 0, "{}", run.log);
    assert_eq!(tree(&restored(&into, &src)), tree(&src));
}

#[test]
fn nested_moves_and_moves_across_deleted_directories_restore_exactly_on_moto() {
    nested_moves_and_moves_across_deleted_directories_restore_exactly(&moto());
}

#[test]
fn nested_moves_and_moves_across_deleted_directories_restore_exactly_on_garage() {
    nested_moves_and_moves_across_deleted_directories_restore_exactly(&garage());
}

/// A swap (`mv a t; mv b a; mv t b`), two swaps in one directory, and a three-way
/// rotation (which GNU tar 1.34 writes twice, from two starts: bare tar rotates twice and
/// restores the wrong directories under each name; the guard drops the repeat, and
/// breaking that fails this test on `p/z`): GNU tar 1.34 writes a
/// rename cycle through a temporary directory (`X/abs/src Rsrc/b T R Rsrc/a Tsrc/b R
/// Tsrc/a`; the `X` name as given to `tar -c`, here absolute) that bare `tar -x -C DIR`
/// makes at that name, not in DIR (it fails, "Cannot create temporary directory", and
/// empties both directories, or moves them out of DIR and back). The guard hands tar the
/// name inside DIR, so the DIFF restores exactly, and nothing is left of the temporary
/// directory. Breaking `rebase_temp` (the `X` name passed on as it was) fails it with
/// tar's "Cannot create temporary directory".
///
/// And a directory moved out of a directory that was moved too (`mv n/a/b n/b; mv n/a
/// n/z`), which tar writes as `Rn/z/b Tn/b` before `Rn/a Tn/z` (the parent's new name
/// first): the guard hands tar the renames parents first. Breaking `arrange` (the order
/// left as tar wrote it) fails it with tar's "Cannot rename".
fn swaps_and_moves_out_of_moved_directories_restore_exactly(server: &S3Server) {
    let (_site, run, src, into) = moved_between_two_nights(
        server,
        |src| {
            dirs_with_files(
                src,
                &[
                    "a", "b", "p/x", "p/y", "p/z", "n/a/b", "m/a/b/c", "q/a", "q/b", "q/c", "q/d",
                ],
            )
        },
        |src| {
            for (one, other) in [("q/a", "q/b"), ("q/c", "q/d")] {
                mv(src, one, "q/t");
                mv(src, other, one);
                mv(src, "q/t", other);
            }
            mv(src, "n/a/b", "n/b");
            mv(src, "n/a", "n/z");
            mv(src, "m/a/b/c", "m/c2");
            mv(src, "m/a/b", "m/a/y");
            mv(src, "m/a", "m/z");
            mv(src, "a", "t");
            mv(src, "b", "a");
            mv(src, "t", "b");
            mv(src, "p/x", "p/t");
            mv(src, "p/y", "p/x");
            mv(src, "p/z", "p/y");
            mv(src, "p/t", "p/z");
            fs::write(src.join("a/after"), "after the swap\n").unwrap();
        },
    );
    assert_eq!(run.status, 0, "{}", run.log);
    let out = restored(&into, &src);
    assert_eq!(tree(&out), tree(&src));
    assert_eq!(fs::read_to_string(out.join("a/file")).unwrap(), "b\n");
    assert_eq!(fs::read_to_string(out.join("p/z/file")).unwrap(), "p/x\n");
    assert_eq!(fs::read_to_string(out.join("q/d/file")).unwrap(), "q/c\n");
    assert_eq!(fs::read_to_string(out.join("n/b/file")).unwrap(), "n/a/b\n");
    assert_eq!(
        fs::read_to_string(out.join("m/c2/file")).unwrap(),
        "m/a/b/c\n"
    );
    assert!(out.join("m/z/y").is_dir());
}

#[test]
fn swaps_and_moves_out_of_moved_directories_restore_exactly_on_moto() {
    swaps_and_moves_out_of_moved_directories_restore_exactly(&moto());
}

#[test]
fn swaps_and_moves_out_of_moved_directories_restore_exactly_on_garage() {
    swaps_and_moves_out_of_moved_directories_restore_exactly(&garage());
}
