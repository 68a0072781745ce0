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

/// A GNU `D` member (a directory of an incremental archive) with `dumpdir` as its data.
fn dumpdir_member(name: &str, dumpdir: &[u8]) -> (Header, Vec<u8>) {
    let h = raw_header(name, EntryType::new(b'D'), dumpdir.len() as u64, "");
    (h, dumpdir.to_vec())
}

/// One pax record, `LEN KEY=VALUE\n`.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body = [b" ", key.as_bytes(), b"=", value, b"\n"].concat();
    let mut len = body.len() + 1;
    while len != body.len() + len.to_string().len() {
        len = body.len() + len.to_string().len();
    }
    [len.to_string().as_bytes(), &body].concat()
}

fn incremental(members: &[(Header, Vec<u8>)]) -> Vec<u8> {
    let mut b = Builder::new(Vec::new());
    for (h, data) in members {
        b.append(h, &data[..]).unwrap();
    }
    b.into_inner().unwrap()
}

fn file(name: &str, data: &[u8]) -> (Header, Vec<u8>) {
    (
        raw_header(name, EntryType::Regular, data.len() as u64, ""),
        data.to_vec(),
    )
}

#[test]
fn dumpdirs_are_parsed_as_gnu_tar_reads_them() {
    use dumpdir::{Op, parse};
    assert_eq!(parse(b"\0").unwrap(), []);
    assert_eq!(parse(b"Ya\0Nb\0Dc\0\0").unwrap(), []);
    assert_eq!(
        parse(b"Dsub2\0Rsrc/a/sub\0Tsrc/a/sub2\0\0trailing").unwrap(),
        [Op::Rename {
            from: b"src/a/sub",
            to: b"src/a/sub2"
        }]
    );
    assert_eq!(
        parse(b"Xsrc\0Rsrc/b\0T\0R\0Tsrc/a\0\0").unwrap(),
        [
            Op::Temp(b"src"),
            Op::Rename {
                from: b"src/b",
                to: b""
            },
            Op::Rename {
                from: b"",
                to: b"src/a"
            }
        ]
    );
    for (bad, why) in [
        (&b""[..], "terminating"),
        (b"Ya\0", "terminating"),
        (b"Ya", "terminating"),
        (b"Ra\0\0", "no `T`"),
        (b"Ra\0Yb\0Tc\0\0", "followed by `Y`"),
        (b"Ta\0\0", "without an `R`"),
        (b"R\0Ta\0\0", "empty name"),
        (b"Qa\0\0", "unknown kind `Q`"),
    ] {
        let err = parse(bad).unwrap_err();
        assert!(err.contains(why), "{bad:?}: {err}");
    }
}

#[test]
fn a_real_rename_passes_unchanged() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("src/a/sub/deep")).unwrap();
    std::fs::write(root.path().join("src/a/sub/f"), "f").unwrap();
    let data = incremental(&[
        dumpdir_member("src/", b"Da\0Rsrc/a/sub\0Tsrc/a/sub2\0\0"),
        dumpdir_member("src/a/", b"Dsub2\0\0"),
        dumpdir_member("src/a/sub2/", b"Ddeep\0Nf\0\0"),
        dumpdir_member("src/a/sub2/deep/", b"Ynew\0\0"),
        file("src/a/sub2/deep/new", b"new"),
    ]);
    assert_eq!(run(&data, root.path(), &[]).unwrap(), data);
}

#[test]
fn dumpdir_renames_through_a_symlink_or_out_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("srv/t")).unwrap();
    std::fs::write(root.path().join("srv/t/file"), "").unwrap();
    symlink(outside.path(), root.path().join("srv/t/x")).unwrap();
    for (dumpdir, entry, why) in [
        (
            &b"Nx\0Rsrv/t/x/secret\0Tsrv/t/loot\0\0"[..],
            "Rsrv/t/x/secret",
            "goes through srv/t/x, a symlink to",
        ),
        (
            b"Rsrv/t/mine\0Tsrv/t/x/planted\0\0",
            "Tsrv/t/x/planted",
            "goes through srv/t/x, a symlink to",
        ),
        (b"R../x\0Tsrv/t/y\0\0", "R../x", "`..`"),
        (b"Rsrv/t/a\0Tsrv/../../y\0\0", "Tsrv/../../y", "`..`"),
        (b"R/etc\0Tsrv/t/etc\0\0", "R/etc", "absolute"),
        (
            b"Rsrv/t/file/a\0Tsrv/t/b\0\0",
            "Rsrv/t/file/a",
            "not a directory",
        ),
        (b"R.\0Tsrv/t/b\0\0", "R.", "restore directory itself"),
        (
            b"Xsrv/t/x\0Rsrv/t/file\0T\0\0",
            "Xsrv/t/x",
            "goes through srv/t/x, a symlink to",
        ),
        (b"X../up\0Rsrv/t/a\0T\0\0", "X../up", "`..`"),
    ] {
        let data = incremental(&[dumpdir_member("srv/t/", dumpdir)]);
        let err = run(&data, root.path(), &[]).unwrap_err();
        assert!(
            err.contains("refused tar member \"srv/t/\"")
                && err.contains(&format!("its dumpdir entry `{entry}`"))
                && err.contains(why),
            "{dumpdir:?}: {err}"
        );
        // left out by a partial restore, a hostile name is still refused
        if why == "`..`" || why == "absolute" {
            assert!(run(&data, root.path(), &["other"]).is_err());
        }
    }
    // the same in a pax GNU.dumpdir record of a POSIX archive
    let mut b = Builder::new(Vec::new());
    let pax = pax_record("GNU.dumpdir", b"Rsrv/t/x/secret\0Tsrv/t/loot\0\0");
    let x = raw_header("PaxHeaders/t", EntryType::XHeader, pax.len() as u64, "");
    b.append(&x, &pax[..]).unwrap();
    b.append(&raw_header("srv/t/", EntryType::Directory, 0, ""), &[][..])
        .unwrap();
    let err = run(&b.into_inner().unwrap(), root.path(), &[]).unwrap_err();
    assert!(err.contains("its dumpdir entry `Rsrv/t/x/secret`"), "{err}");
    // a rename cycle's `X` in a pax record is not rewritten, so it is refused
    let mut b = Builder::new(Vec::new());
    let pax = pax_record("GNU.dumpdir", b"X/srv\0Rsrv/t/a\0T\0R\0Tsrv/t/b\0\0");
    let x = raw_header("PaxHeaders/t", EntryType::XHeader, pax.len() as u64, "");
    b.append(&x, &pax[..]).unwrap();
    b.append(&raw_header("srv/t/", EntryType::Directory, 0, ""), &[][..])
        .unwrap();
    let err = run(&b.into_inner().unwrap(), root.path(), &[]).unwrap_err();
    assert!(
        err.contains("its dumpdir entry `X/srv`") && err.contains("does not rewrite"),
        "{err}"
    );
}

/// The dumpdir data of the `D` members of a guarded stream, in order.
fn dumpdirs_of(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for entry in tar::Archive::new(data).entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.header().entry_type() == EntryType::new(b'D') {
            let mut d = Vec::new();
            entry.read_to_end(&mut d).unwrap();
            out.push(d);
        }
    }
    out
}

#[test]
fn a_swap_is_handed_to_tar_with_its_temporary_directory_inside_the_restore_directory() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("abs/src/a")).unwrap();
    std::fs::create_dir_all(root.path().join("abs/src/b")).unwrap();
    // what `tar -c -g SNAP /abs/src` writes for `mv a t; mv b a; mv t b`
    let swap: &[u8] =
        b"Da\0Db\0X/abs/src\0Rabs/src/b\0T\0Rabs/src/a\0Tabs/src/b\0R\0Tabs/src/a\0\0";
    let data = incremental(&[
        dumpdir_member("abs/src/", swap),
        dumpdir_member("abs/src/a/", b"Nfb\0\0"),
        file("abs/src/a/new", b"new"),
    ]);
    let out = run(&data, root.path(), &[]).unwrap();
    // every header still checks (tar::Archive verifies checksums), the names unchanged
    assert_eq!(names(&out), names(&data));
    let rebased = [
        &b"Da\0Db\0X"[..],
        root.path().as_os_str().as_encoded_bytes(),
        b"/abs/src\0Rabs/src/b\0T\0Rabs/src/a\0Tabs/src/b\0R\0Tabs/src/a\0\0",
    ]
    .concat();
    assert_eq!(dumpdirs_of(&out), [rebased, b"Nfb\0\0".to_vec()]);
    // into `/`, the name stays where it was
    assert!(dumpdir::rebase_temp(swap, Path::new("/")).unwrap() == swap);
    // a file renamed into the cycle's temporary directory is gone through as a directory
    // only when a directory moved there
    std::fs::write(root.path().join("abs/src/f"), "").unwrap();
    let err = run(
        &incremental(&[
            dumpdir_member("abs/src/", b"X/abs/src\0Rabs/src/f\0T\0R\0Tabs/src/a\0\0"),
            file("abs/src/a/x", b"x"),
        ]),
        root.path(),
        &[],
    )
    .unwrap_err();
    assert!(
        err.contains("\"abs/src/a/x\"") && err.contains("not a directory"),
        "{err}"
    );
}

#[test]
fn what_a_rename_moved_is_gone_through_as_what_it_was() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("srv/t/real")).unwrap();
    symlink(outside.path(), root.path().join("srv/t/x")).unwrap();
    symlink(outside.path(), root.path().join("srv/t/real/old")).unwrap();
    // the symlink moved to a new name, then written through
    let data = incremental(&[
        dumpdir_member("srv/t/", b"Rsrv/t/x\0Tsrv/t/y\0\0"),
        file("srv/t/y/evil", b"evil"),
    ]);
    let err = run(&data, root.path(), &[]).unwrap_err();
    assert!(
        err.contains("\"srv/t/y/evil\"")
            && err.contains("goes through srv/t/x, a symlink to")
            && err.contains("a dumpdir of this slot renamed srv/t/x to srv/t/y"),
        "{err}"
    );
    // a second rename through the first one's target
    let data = incremental(&[dumpdir_member(
        "srv/t/",
        b"Rsrv/t/x\0Tsrv/t/y\0Rsrv/t/y/secret\0Tsrv/t/loot\0\0",
    )]);
    let err = run(&data, root.path(), &[]).unwrap_err();
    assert!(err.contains("`Rsrv/t/y/secret`"), "{err}");
    // a directory member after the rename vouches for that directory, not what is in it
    let data = incremental(&[
        dumpdir_member("srv/t/", b"Rsrv/t/real\0Tsrv/t/moved\0\0"),
        dumpdir_member("srv/t/moved/", b"\0"),
        file("srv/t/moved/new", b"new"),
        file("srv/t/moved/old/evil", b"evil"),
    ]);
    let err = run(&data, root.path(), &[]).unwrap_err();
    assert!(
        err.contains("\"srv/t/moved/old/evil\"") && err.contains("srv/t/real/old, a symlink"),
        "{err}"
    );
}

#[test]
fn the_renames_gnu_tar_writes_for_moves_between_two_nights_pass_unchanged() {
    // each: the directories on disk after the FULL, and the DIFF as GNU tar 1.34 writes it
    for (dirs, members) in [
        // mv a m; mv c m/c2
        (
            &["src/a/b", "src/c"][..],
            vec![
                dumpdir_member("src/", b"Dm\0Rsrc/a\0Tsrc/m\0Rsrc/c\0Tsrc/m/c2\0\0"),
                dumpdir_member("src/m/", b"Db\0Dc2\0\0"),
                dumpdir_member("src/m/b/", b"Nf\0\0"),
                dumpdir_member("src/m/c2/", b"Ng\0Ynew\0\0"),
                file("src/m/c2/new", b"new"),
            ],
        ),
        // mv a b; mv b/x c
        (
            &["src/a/x/y"][..],
            vec![
                dumpdir_member("src/", b"Db\0Dc\0Rsrc/a\0Tsrc/b\0Rsrc/b/x\0Tsrc/c\0\0"),
                dumpdir_member("src/b/", b"\0"),
                dumpdir_member("src/c/", b"Dy\0\0"),
                dumpdir_member("src/c/y/", b"Ynew\0\0"),
                file("src/c/y/new", b"new"),
            ],
        ),
        // mkdir -p n/d; mv a n/d/a2
        (
            &["src/a"][..],
            vec![
                dumpdir_member("src/", b"Dn\0Rsrc/a\0Tsrc/n/d/a2\0\0"),
                dumpdir_member("src/n/", b"Dd\0\0"),
                dumpdir_member("src/n/d/", b"Da2\0\0"),
                dumpdir_member("src/n/d/a2/", b"Ynew\0\0"),
                file("src/n/d/a2/new", b"new"),
            ],
        ),
        // mv d/e/f top; rm -rf d
        (
            &["src/d/e/f/g"][..],
            vec![
                dumpdir_member("src/", b"Dtop\0Rsrc/d/e/f\0Tsrc/top\0\0"),
                dumpdir_member("src/top/", b"Dg\0\0"),
                dumpdir_member("src/top/g/", b"Ynew\0\0"),
                file("src/top/g/new", b"new"),
            ],
        ),
    ] {
        let root = tempfile::tempdir().unwrap();
        for d in dirs {
            std::fs::create_dir_all(root.path().join(d)).unwrap();
        }
        let data = incremental(&members);
        assert_eq!(run(&data, root.path(), &[]).unwrap(), data, "{dirs:?}");
    }
}

#[test]
fn hostile_long_names_are_refused() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("t")).unwrap();
    let outside = tempfile::tempdir().unwrap();
    symlink(outside.path(), root.path().join("t/disk")).unwrap();
    let long = |kind: EntryType, value: &str| {
        let mut data = value.as_bytes().to_vec();
        data.push(0);
        let h = raw_header("././@LongLink", kind, data.len() as u64, "");
        (h, data)
    };
    let pax = |key: &str, value: &str| {
        let data = pax_record(key, value.as_bytes());
        let h = raw_header("PaxHeaders/x", EntryType::XHeader, data.len() as u64, "");
        (h, data)
    };
    let padded = "d/".repeat(60);
    for (ext, member, shown, why) in [
        (
            long(
                EntryType::GNULongName,
                &format!(
                    "{padded}../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../../escape"
                ),
            ),
            file("short", b"x"),
            "escape",
            "`..`",
        ),
        (
            long(
                EntryType::GNULongName,
                &format!("t/disk/{}", "n".repeat(120)),
            ),
            file("short", b"x"),
            "t/disk/nnn",
            "goes through t/disk, a symlink",
        ),
        (
            long(
                EntryType::GNULongLink,
                &format!("../../{}", "n".repeat(120)),
            ),
            (raw_header("h", EntryType::Link, 0, "short"), Vec::new()),
            "\"h\"",
            "its link target: its name contains `..`",
        ),
        (
            pax("path", "t/../../escape"),
            file("short", b"x"),
            "t/../../escape",
            "`..`",
        ),
        (
            pax("path", "t/disk/evil"),
            file("short", b"x"),
            "t/disk/evil",
            "goes through t/disk",
        ),
        (
            pax("linkpath", "t/disk/secret"),
            (raw_header("h", EntryType::Link, 0, "short"), Vec::new()),
            "\"h\"",
            "its link target t/disk/secret",
        ),
        (
            pax("linkpath", "../secret"),
            (raw_header("h", EntryType::Link, 0, "short"), Vec::new()),
            "\"h\"",
            "`..`",
        ),
    ] {
        let data = incremental(&[ext, member]);
        let err = run(&data, root.path(), &[]).unwrap_err();
        assert!(err.contains(shown) && err.contains(why), "{shown}: {err}");
    }
    // through a symlink made earlier in the same stream
    let data = incremental(&[
        (raw_header("t/s", EntryType::Symlink, 0, "/tmp"), Vec::new()),
        long(EntryType::GNULongName, &format!("t/s/{}", "n".repeat(120))),
        file("short", b"x"),
    ]);
    let err = run(&data, root.path(), &[]).unwrap_err();
    assert!(
        err.contains("goes through t/s, which an earlier member"),
        "{err}"
    );
    let data = incremental(&[
        (raw_header("t/s", EntryType::Symlink, 0, "/tmp"), Vec::new()),
        pax("path", "t/s/evil"),
        file("short", b"x"),
    ]);
    let err = run(&data, root.path(), &[]).unwrap_err();
    assert!(
        err.contains("\"t/s/evil\"") && err.contains("earlier member"),
        "{err}"
    );
}

#[test]
fn renames_tar_wrote_children_first_are_handed_on_parents_first() {
    use dumpdir::arrange;
    // `mv a/b b; mv a z`, as GNU tar 1.34 writes it
    let written: &[u8] = b"Db\0Dz\0Rs/z/b\0Ts/b\0Rs/a\0Ts/z\0\0";
    let arranged = arrange(written, true).unwrap();
    assert_eq!(arranged, b"Db\0Dz\0Rs/a\0Ts/z\0Rs/z/b\0Ts/b\0\0");
    // deeper: `mv a/b/c c2; mv a/b a/y; mv a z`
    let deep: &[u8] = b"Rs/z/y/c\0Ts/c2\0Rs/z/b\0Ts/z/y\0Rs/a\0Ts/z\0\0";
    assert_eq!(
        arrange(deep, true).unwrap(),
        b"Rs/a\0Ts/z\0Rs/z/b\0Ts/z/y\0Rs/z/y/c\0Ts/c2\0\0"
    );
    // already in order, a single rename, a cycle, circular dependencies: left as written
    for kept in [
        &b"Rs/a\0Ts/z\0Rs/z/b\0Ts/b\0\0"[..],
        b"Rs/a\0Ts/b\0\0",
        b"X/s\0Rs/b\0T\0Rs/a\0Ts/b\0R\0Ts/a\0\0",
        b"Rs/e/y/e\0Ts/e\0Rs/d\0Ts/e/y\0\0",
        b"Rs/a\0Ys/b\0\0",
    ] {
        assert_eq!(arrange(kept, true), None, "{}", kept.escape_ascii());
    }
    // a rotation of three, as GNU tar 1.34 writes it: twice, from two starts; once is
    // what happened
    let once = b"X/s\0Rs/b\0T\0Rs/c\0Ts/b\0Rs/a\0Ts/c\0R\0Ts/a\0";
    let again = b"X/s\0Rs/c\0T\0Rs/a\0Ts/c\0Rs/b\0Ts/a\0R\0Ts/b\0";
    let rotation = [&b"Da\0Db\0Dc\0"[..], once, again, b"\0"].concat();
    assert_eq!(
        arrange(&rotation, true).unwrap(),
        [&b"Da\0Db\0Dc\0"[..], once, b"\0"].concat()
    );
    // not in a dumpdir whose size a pax header sets; two different swaps both stay
    assert_eq!(arrange(&rotation, false), None);
    let swaps = b"X/s\0Rs/d\0T\0Rs/c\0Ts/d\0R\0Ts/c\0X/s\0Rs/b\0T\0Rs/a\0Ts/b\0R\0Ts/a\0\0";
    assert_eq!(arrange(swaps, true), None);
    // the guard hands tar the arranged order, with the header's size unchanged
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("s/a/b")).unwrap();
    let data = incremental(&[dumpdir_member("s/", written)]);
    let out = run(&data, root.path(), &[]).unwrap();
    assert_eq!(dumpdirs_of(&out), [arranged]);
    assert_eq!(out.len(), data.len());
}

proptest::proptest! {
    /// Whatever a hostile dumpdir holds, arranging it never panics, never adds an entry,
    /// and changes its length only by dropping repeated cycles of a rewritable one.
    #[test]
    fn arranging_any_dumpdir_keeps_its_entries(
        entries in proptest::collection::vec(
            (proptest::sample::select(vec![b'R', b'T', b'X', b'Y', b'D']),
             proptest::sample::select(vec!["s", "s/a", "s/z", "s/z/b", "s/a/b", ""])),
            0..12),
        terminated in proptest::bool::ANY,
    ) {
        let mut data = Vec::new();
        for (code, name) in &entries {
            data.push(*code);
            data.extend_from_slice(name.as_bytes());
            data.push(0);
        }
        if !terminated {
            data.pop();
        }
        for rewritable in [false, true] {
            let Some(out) = dumpdir::arrange(&data, rewritable) else {
                continue;
            };
            // only repeated cycles are dropped, and only from a rewritable dumpdir
            let mut left: Vec<&[u8]> = data.split(|&b| b == 0).collect();
            for entry in out.split(|&b| b == 0) {
                let at = left.iter().position(|e| *e == entry);
                proptest::prop_assert!(at.is_some(), "{:?} not in the input", entry);
                left.swap_remove(at.unwrap_or_default());
            }
            if !rewritable || !data.contains(&b'X') {
                proptest::prop_assert_eq!(out.len(), data.len());
            }
        }
    }
}
