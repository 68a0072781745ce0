//! `s3napback restore` from a hostile bucket: whatever the slots hold, nothing is written
//! outside `--into`, and unencrypted slots are refused when GpgRecipient is set. The
//! buckets are written by the tests themselves, with streams made by the real tar / gzip /
//! gpg; the restore runs the real gpg, gzip and tar.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Output};

use s3napback::store::{ReadStore, Store};

use crate::restore::{Setup, encrypt, put_stream, s3napback, setup, snapshot, stderr};
use crate::support::gpg::GpgHome;

/// `tar -cz ARGS` (GNU format, as the legacy wrote), run in `cwd`.
fn tar_gz(cwd: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("tar")
        .current_dir(cwd)
        .args(["-c", "-z", "-f", "-"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tar {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Extracts streams one after another with the bare `tar -xz -g /dev/null`, as restores
/// did before the guard.
fn bare_extract(streams: &[&[u8]], into: &Path) {
    fs::create_dir_all(into).unwrap();
    for data in streams {
        crate::restore::run_with_input(
            &[
                "tar".into(),
                "-xz".into(),
                "-g".into(),
                "/dev/null".into(),
                "-C".into(),
                into.display().to_string(),
            ],
            data,
        );
    }
}

/// `s3napback restore --into INTO ARGS...` (ARGS: options, the item, PATHs).
fn restore_into(setup: &Setup, gpg: &GpgHome, into: &Path, args: &[&str]) -> Output {
    let mut argv = vec!["restore", "--into", into.to_str().unwrap()];
    argv.extend_from_slice(args);
    s3napback(setup, gpg, &argv)
}

fn is_empty(dir: &Path) -> bool {
    fs::read_dir(dir).unwrap().next().is_none()
}

/// Moves the server's clock to the next of the days `pause` was called in this test (from
/// [`crate::support::clock::DAY_2`] on): slots are ordered by their modification time.
fn pause(setup: &Setup, day: &mut u32) {
    *day += 1;
    setup
        .server
        .set_clock(&format!("2026-11-{} 03:00:00", 12 + *day));
}

#[test]
fn a_symlink_from_the_full_does_not_let_a_diff_write_outside() {
    let gpg = GpgHome::new();
    let setup = setup("", true);
    let mut day = 0;
    let work = setup.dir.path();
    let outside = tempfile::tempdir().unwrap();
    // FULL: t/x -> OUTSIDE (absolute); DIFF: t/x/evil
    let a = work.join("a");
    fs::create_dir_all(a.join("t")).unwrap();
    fs::write(a.join("t/keep.txt"), "kept\n").unwrap();
    symlink(outside.path(), a.join("t/x")).unwrap();
    let full = tar_gz(&a, &["t"]);
    let b = work.join("b");
    fs::create_dir_all(b.join("t/x")).unwrap();
    fs::write(b.join("t/x/evil"), "evil\n").unwrap();
    let diff = tar_gz(&b, &["t/x/evil"]);

    // the bucket is really hostile: the bare tar pipeline writes OUTSIDE/evil
    bare_extract(&[&full, &diff], &work.join("bare"));
    assert!(outside.path().join("evil").exists());
    fs::remove_file(outside.path().join("evil")).unwrap();

    put_stream(&setup.store, "/hostile-1-FULL", &encrypt(&gpg, &full));
    pause(&setup, &mut day);
    put_stream(&setup.store, "/hostile-2-DIFF", &encrypt(&gpg, &diff));
    let into = work.join("out");
    let out = restore_into(&setup, &gpg, &into, &["/hostile"]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(is_empty(outside.path()), "{log}");
    assert!(
        log.contains("restored s3napback-test:/hostile-1-FULL")
            && log.contains("failed in s3napback-test:/hostile-2-DIFF")
            && log.contains("refused tar member \"t/x/evil\"")
            && log.contains("it goes through t/x, a symlink to")
            && log.contains(&format!("{} holds a partial restore", into.display())),
        "{log}"
    );
    // the FULL was applied as it is: the symlink is there, nothing was followed
    assert!(fs::symlink_metadata(into.join("t/x")).unwrap().is_symlink());
    assert_eq!(
        fs::read_to_string(into.join("t/keep.txt")).unwrap(),
        "kept\n"
    );

    // a PATH restore of the same chain is refused the same way
    let part = work.join("part");
    let out = restore_into(&setup, &gpg, &part, &["/hostile", "t/x"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(is_empty(outside.path()));

    // a DIFF that makes t/x a directory first: tar replaces the symlink, evil stays inside
    let redir = tar_gz(&b, &["--no-recursion", "t/x", "t/x/evil"]);
    pause(&setup, &mut day);
    put_stream(&setup.store, "/hostile-3-DIFF", &encrypt(&gpg, &redir));
    let refused: Vec<String> = setup
        .store
        .list("/hostile-2-DIFF:")
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    setup.store.delete(&refused).unwrap();
    let again = work.join("again");
    let out = restore_into(&setup, &gpg, &again, &["/hostile"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(is_empty(outside.path()));
    assert!(fs::symlink_metadata(again.join("t/x")).unwrap().is_dir());
    assert_eq!(
        fs::read_to_string(again.join("t/x/evil")).unwrap(),
        "evil\n"
    );
}

#[test]
fn a_diff_that_replaces_a_symlink_by_a_directory_restores_it() {
    let gpg = GpgHome::new();
    let setup = setup("", true);
    let mut day = 0;
    let work = setup.dir.path();
    let outside = tempfile::tempdir().unwrap();
    let src = work.join("src");
    let snap = work.join("snap");
    let snap_arg = snap.to_str().unwrap();
    fs::create_dir_all(src.join("t")).unwrap();
    fs::write(src.join("t/a.txt"), "a\n").unwrap();
    fs::create_dir_all(src.join("u")).unwrap();
    fs::write(src.join("u/other.txt"), "other\n").unwrap();
    symlink(outside.path(), src.join("t/x")).unwrap();
    let full = tar_gz(&src, &["-g", snap_arg, "t", "u"]);
    put_stream(&setup.store, "/legit-1-FULL", &encrypt(&gpg, &full));
    pause(&setup, &mut day);
    fs::remove_file(src.join("t/x")).unwrap();
    fs::create_dir(src.join("t/x")).unwrap();
    fs::write(src.join("t/x/inner.txt"), "inner\n").unwrap();
    let diff = tar_gz(&src, &["-g", snap_arg, "t", "u"]);
    put_stream(&setup.store, "/legit-2-DIFF", &encrypt(&gpg, &diff));

    let into = work.join("out");
    let out = restore_into(&setup, &gpg, &into, &["/legit"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(snapshot(&into), snapshot(&src));
    assert!(fs::symlink_metadata(into.join("t/x")).unwrap().is_dir());
    assert!(is_empty(outside.path()));

    // only t: the symlink of the FULL, then the directory of the DIFF
    let part = work.join("part");
    let out = restore_into(&setup, &gpg, &part, &["/legit", "t", "t/nothing"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(snapshot(&part.join("t")), snapshot(&src.join("t")));
    assert!(!part.join("u").exists());
    assert!(is_empty(outside.path()));
    assert!(
        stderr(&out).contains("PATH t/nothing is in none of the restored slots"),
        "{}",
        stderr(&out)
    );
}

/// A one-member archive with a name or link target tar's builder would refuse.
fn crafted(name: &str, kind: tar::EntryType, link: &str, data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    h.set_entry_type(kind);
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    let mut b = tar::Builder::new(Vec::new());
    b.append(&h, data).unwrap();
    crate::restore::gzip(&b.into_inner().unwrap())
}

#[test]
fn dot_dot_absolute_and_hard_link_members_stay_inside() {
    let gpg = GpgHome::new();
    let setup = setup("", false);
    let mut day = 0;
    let work = setup.dir.path();
    let restore = |item: &str| {
        let into = work.join("out").join(item.trim_start_matches('/'));
        let out = restore_into(&setup, &gpg, &into, &[item]);
        (out.status.code(), stderr(&out), into)
    };

    // `../escape.txt` (tar -P keeps it)
    let sub = work.join("h/sub");
    fs::create_dir_all(&sub).unwrap();
    fs::write(work.join("h/escape.txt"), "escape\n").unwrap();
    put_stream(
        &setup.store,
        "/dotdot-1-FULL",
        &tar_gz(&sub, &["-P", "../escape.txt"]),
    );
    let (code, log, into) = restore("/dotdot");
    assert_eq!(code, Some(1), "{log}");
    assert!(!into.join("../escape.txt").exists());
    assert!(
        log.contains("failed in s3napback-test:/dotdot-1-FULL")
            && log.contains("refused tar member \"../escape.txt\"")
            && log.contains("`..`"),
        "{log}"
    );

    // an absolute name: the file it names is not written again, nor copied inside
    let abs = work.join("abs/file.txt");
    fs::create_dir_all(abs.parent().unwrap()).unwrap();
    fs::write(&abs, "absolute\n").unwrap();
    put_stream(
        &setup.store,
        "/absolute-1-FULL",
        &tar_gz(work, &["-P", abs.to_str().unwrap()]),
    );
    fs::remove_file(&abs).unwrap();
    let (code, log, into) = restore("/absolute");
    assert_eq!(code, Some(1), "{log}");
    assert!(!abs.exists());
    assert!(is_empty(&into), "{log}");
    assert!(
        log.contains(&format!("refused tar member \"{}\"", abs.display()))
            && log.contains("absolute name"),
        "{log}"
    );

    // a hard link to a file OUTSIDE, through a symlink made by the FULL
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret"), "secret\n").unwrap();
    let a = work.join("a");
    fs::create_dir_all(a.join("t")).unwrap();
    symlink(outside.path(), a.join("t/x")).unwrap();
    put_stream(&setup.store, "/hardlink-1-FULL", &tar_gz(&a, &["t"]));
    pause(&setup, &mut day);
    put_stream(
        &setup.store,
        "/hardlink-2-DIFF",
        &crafted("t/h", tar::EntryType::Link, "t/x/secret", b""),
    );
    let (code, log, into) = restore("/hardlink");
    assert_eq!(code, Some(1), "{log}");
    assert!(!into.join("t/h").exists());
    assert!(
        log.contains("failed in s3napback-test:/hardlink-2-DIFF")
            && log.contains("refused tar member \"t/h\"")
            && log.contains("its link target t/x/secret"),
        "{log}"
    );
    let (code, log, _) = {
        // `..` in a hard link target
        put_stream(
            &setup.store,
            "/hardlink2-1-FULL",
            &crafted("h", tar::EntryType::Link, "../../etc/passwd", b""),
        );
        restore("/hardlink2")
    };
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("its link target: its name contains `..`"),
        "{log}"
    );
}

#[test]
fn unencrypted_slots_are_refused_when_gpg_recipient_is_set() {
    let gpg = GpgHome::new();
    let setup = setup("", true);
    let work = setup.dir.path();
    let src = work.join("src");
    fs::create_dir_all(src.join("t")).unwrap();
    fs::write(src.join("t/file.txt"), "plain\n").unwrap();
    put_stream(&setup.store, "/plain-1-FULL", &tar_gz(&src, &["t"]));

    let into = work.join("out");
    let out = restore_into(&setup, &gpg, &into, &["/plain"]);
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("failed in s3napback-test:/plain-1-FULL")
            && log.contains("not encrypted")
            && log.contains("--allow-unencrypted"),
        "{log}"
    );
    assert!(is_empty(&into));

    let out = restore_into(&setup, &gpg, &into, &["--allow-unencrypted", "/plain"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        fs::read_to_string(into.join("t/file.txt")).unwrap(),
        "plain\n"
    );

    let out = s3napback(&setup, &gpg, &["cat", "/plain-1-FULL"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("/plain-1-FULL") && stderr(&out).contains("not encrypted"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
    let out = s3napback(
        &setup,
        &gpg,
        &["cat", "--allow-unencrypted", "/plain-1-FULL"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(&out.stdout[..2], &[0x1f, 0x8b]);
}

#[test]
fn a_file_that_replaces_a_symlink_is_not_written_through_it() {
    let gpg = GpgHome::new();
    let setup = setup("", false);
    let mut day = 0;
    let work = setup.dir.path();
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("target"), "original\n").unwrap();
    let a = work.join("a");
    fs::create_dir_all(a.join("t")).unwrap();
    symlink(outside.path().join("target"), a.join("t/f")).unwrap();
    put_stream(&setup.store, "/over-1-FULL", &tar_gz(&a, &["t"]));
    pause(&setup, &mut day);
    let b = work.join("b");
    fs::create_dir_all(b.join("t")).unwrap();
    fs::write(b.join("t/f"), "new\n").unwrap();
    put_stream(&setup.store, "/over-2-DIFF", &tar_gz(&b, &["t/f"]));
    let into = work.join("out");
    let out = restore_into(&setup, &gpg, &into, &["/over"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        fs::read_to_string(outside.path().join("target")).unwrap(),
        "original\n"
    );
    assert!(fs::symlink_metadata(into.join("t/f")).unwrap().is_file());
    assert_eq!(fs::read_to_string(into.join("t/f")).unwrap(), "new\n");
}

#[test]
fn an_into_that_resolves_to_the_root_is_refused_unless_given_as_slash() {
    let gpg = GpgHome::new();
    let setup = setup("", true);
    let work = setup.dir.path();
    // the member is named by this test's own directory (without its leading `/`), so a
    // regression that restores into `/` writes into that directory, never elsewhere
    let member = work.join("landed").display().to_string();
    let member = member.trim_start_matches('/');
    let src = work.join("src");
    fs::create_dir_all(src.join(member)).unwrap();
    fs::write(src.join(member).join("file.txt"), "plain\n").unwrap();
    put_stream(&setup.store, "/plain-1-FULL", &tar_gz(&src, &[member]));
    symlink("/", work.join("root")).unwrap();
    let depth = work.components().count();
    let dotdot = work.join("../".repeat(depth));
    for into in [work.join("root"), work.join("root/."), dotdot] {
        assert_eq!(into.canonicalize().unwrap(), Path::new("/"), "{into:?}");
        let out = restore_into(&setup, &gpg, &into, &["--allow-unencrypted", "/plain"]);
        let log = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{into:?}: {log}");
        assert!(
            log.contains(&format!("--into {} is the root directory", into.display()))
                && log.contains("say --into / if you mean it"),
            "{log}"
        );
        assert!(!work.join("landed").exists(), "nothing was written into /");
    }
    // the same tree into a directory that is not the root is restored
    let into = work.join("out");
    let out = restore_into(&setup, &gpg, &into, &["--allow-unencrypted", "/plain"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        fs::read_to_string(into.join(member).join("file.txt")).unwrap(),
        "plain\n"
    );
}
