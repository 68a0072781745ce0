use super::*;
use std::os::unix::fs::symlink;
use tar::{Builder, EntryType, Header};

/// A GNU header with the name written as is (the builder refuses hostile names).
fn raw_header(name: &str, kind: EntryType, size: u64, link: &str) -> Header {
    let mut h = Header::new_gnu();
    let old = h.as_old_mut();
    old.name[..name.len()].copy_from_slice(name.as_bytes());
    old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o755);
    h.set_cksum();
    h
}

fn archive(members: &[(&str, EntryType, &str, &[u8])]) -> Vec<u8> {
    let mut b = Builder::new(Vec::new());
    for (name, kind, link, data) in members {
        if name.len() > 100 {
            let mut h = Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            b.append_data(&mut h, name, *data).unwrap();
        } else {
            let h = raw_header(name, *kind, data.len() as u64, link);
            b.append(&h, *data).unwrap();
        }
    }
    b.into_inner().unwrap()
}

fn run(data: &[u8], root: &Path, paths: &[&str]) -> Result<Vec<u8>, String> {
    let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
    let filter = Arc::new(PathFilter::new(&paths).unwrap());
    let mut guard = TarGuard::new(data, root, filter).unwrap();
    let mut out = Vec::new();
    match guard.read_to_end(&mut out) {
        Ok(_) => Ok(out),
        Err(e) => Err(e.into_inner().unwrap().to_string()),
    }
}

fn names(data: &[u8]) -> Vec<String> {
    tar::Archive::new(data)
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect()
}

#[test]
fn a_plain_archive_passes_unchanged() {
    let root = tempfile::tempdir().unwrap();
    let long = format!("srv/{}/file", "d".repeat(150));
    let data = archive(&[
        ("srv/", EntryType::Directory, "", b""),
        ("srv/a.txt", EntryType::Regular, "", b"hello"),
        ("srv/link", EntryType::Symlink, "/etc/passwd", b""),
        ("srv/hard", EntryType::Link, "srv/a.txt", b""),
        (&long, EntryType::Regular, "", b"deep"),
    ]);
    assert_eq!(run(&data, root.path(), &[]).unwrap(), data);
}

#[test]
fn members_through_a_symlink_of_the_same_stream_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let data = archive(&[
        ("t/x", EntryType::Symlink, "/tmp", b""),
        ("t/x/evil", EntryType::Regular, "", b"evil"),
    ]);
    let err = run(&data, root.path(), &[]).unwrap_err();
    assert!(
        err.contains("\"t/x/evil\"") && err.contains("goes through t/x"),
        "{err}"
    );
}

#[test]
fn members_through_a_symlink_on_disk_leading_outside_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("t")).unwrap();
    symlink(outside.path(), root.path().join("t/x")).unwrap();
    let data = archive(&[("t/x/evil", EntryType::Regular, "", b"evil")]);
    let err = run(&data, root.path(), &[]).unwrap_err();
    assert!(err.contains("outside"), "{err}");
    let data = archive(&[("t/h", EntryType::Link, "t/x/secret", b"")]);
    let err = run(&data, root.path(), &[]).unwrap_err();
    assert!(err.contains("link target t/x/secret"), "{err}");
    // a DIFF that makes t/x a directory again may write below it
    let data = archive(&[
        ("t/x/", EntryType::Directory, "", b""),
        ("t/x/inner", EntryType::Regular, "", b"in"),
    ]);
    assert_eq!(run(&data, root.path(), &[]).unwrap(), data);
}

#[test]
fn hostile_names_are_refused() {
    let root = tempfile::tempdir().unwrap();
    for (name, why) in [
        ("../escape", ".."),
        ("a/../../escape", ".."),
        ("/etc/evil", "absolute"),
        ("a/x/.", "`.`"),
    ] {
        let data = archive(&[(name, EntryType::Regular, "", b"x")]);
        let err = run(&data, root.path(), &[]).unwrap_err();
        assert!(err.contains(why), "{name}: {err}");
    }
    let data = archive(&[("h", EntryType::Link, "../../etc/passwd", b"")]);
    assert!(
        run(&data, root.path(), &[])
            .unwrap_err()
            .contains("link target")
    );
    let data = archive(&[("s", EntryType::Symlink, "/etc", b"data")]);
    assert!(
        run(&data, root.path(), &[])
            .unwrap_err()
            .contains("4 bytes of data")
    );
}

#[test]
fn damaged_headers_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let mut data = archive(&[("a", EntryType::Regular, "", b"x")]);
    data[0] = b'b';
    let err = run(&data, root.path(), &[]).unwrap_err();
    assert!(err.contains("checksum") && err.contains("byte 0"), "{err}");
}

#[test]
fn a_partial_restore_hands_on_only_the_paths() {
    let root = tempfile::tempdir().unwrap();
    let long = format!("home/foo/{}", "n".repeat(120));
    let data = archive(&[
        ("home/", EntryType::Directory, "", b""),
        ("home/foo/", EntryType::Directory, "", b""),
        (&long, EntryType::Regular, "", b"long"),
        ("home/bar/x", EntryType::Regular, "", b"bar"),
    ]);
    let out = run(&data, root.path(), &["home/foo"]).unwrap();
    assert_eq!(names(&out), ["home/foo/", long.as_str()]);
    // a hostile name is refused even where the PATHs leave it out
    let data = archive(&[("../outside", EntryType::Regular, "", b"")]);
    assert!(run(&data, root.path(), &["home/foo"]).is_err());
}

#[test]
fn the_record_padding_after_the_end_blocks_is_read_but_not_handed_on() {
    let root = tempfile::tempdir().unwrap();
    let data = archive(&[("srv/a.txt", EntryType::Regular, "", b"hello")]);
    let mut padded = data.clone();
    padded.resize(10240, 0);
    let mut input = io::Cursor::new(padded);
    let filter = Arc::new(PathFilter::new(&[]).unwrap());
    let mut guard = TarGuard::new(&mut input, root.path(), filter).unwrap();
    let mut out = Vec::new();
    guard.read_to_end(&mut out).unwrap();
    drop(guard);
    assert_eq!(out, data, "up to the end-of-archive blocks, no further");
    assert_eq!(input.position(), 10240, "the padding was read to the end");
}
