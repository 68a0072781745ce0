//! `s3napback restore` and `cat` against buckets written exactly as js3tream wrote them
//! (LEGACY.md §8), with streams made by the real tar / gpg / gzip / svnadmin.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use bytes::Bytes;
use s3napback::store::keys::chunk_key;
use s3napback::store::s3::S3Store;
use s3napback::store::{ReadStore, Store};

use crate::backup::harness::stdout_of;
use crate::support::clock::{DAY_1, DAY_2, DAY_3};
use crate::support::gpg::GpgHome;
use crate::support::s3::{S3Server, moto};
use crate::support::svn::SvnRepo;
use crate::support::tool;

pub(crate) const CHUNK: usize = 1000;

/// PUTs a stream as js3tream did: `PREFIX:%020d` objects of CHUNK bytes, plus a trailing
/// zero-length object when the length is a multiple of CHUNK.
pub(crate) fn put_stream(store: &S3Store, prefix: &str, data: &[u8]) {
    let mut index = 0u64;
    for piece in data.chunks(CHUNK) {
        store
            .put(&chunk_key(prefix, index), Bytes::copy_from_slice(piece))
            .unwrap();
        index += 1;
    }
    if data.len().is_multiple_of(CHUNK) {
        store.put(&chunk_key(prefix, index), Bytes::new()).unwrap();
    }
}

pub(crate) fn run_with_input(argv: &[String], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let t = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    t.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "{argv:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub(crate) fn encrypt(gpg: &GpgHome, data: &[u8]) -> Vec<u8> {
    run_with_input(
        &gpg.argv(&["--trust-model", "always", "-r", gpg.recipient(), "-e"]),
        data,
    )
}

pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    run_with_input(&["gzip".to_string(), "-c".into()], data)
}

/// `tar -czp -g SNAP -C / NAME` as the legacy ran it.
fn tar_stream(name: &Path, snap: &Path) -> Vec<u8> {
    stdout_of(
        Command::new("tar")
            .arg("-f")
            .arg("-")
            .arg("-g")
            .arg(snap)
            .args(["-C", "/", "-czp"])
            .arg(name),
    )
}

/// Incompressible bytes, so that streams span several chunks.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Relative path -> bytes of a file, `None` for a directory.
pub(crate) type Tree = BTreeMap<String, Option<Vec<u8>>>;

/// Every file and directory under `root`, relative, with the bytes of files.
pub(crate) fn snapshot(root: &Path) -> Tree {
    let mut out = BTreeMap::new();
    fn walk(base: &Path, dir: &Path, out: &mut Tree) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            if p.is_dir() {
                out.insert(rel, None);
                walk(base, &p, out);
            } else {
                out.insert(rel, Some(fs::read(&p).unwrap()));
            }
        }
    }
    walk(root, root, &mut out);
    out
}

pub(crate) struct Setup {
    pub(crate) server: S3Server,
    pub(crate) store: S3Store,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) conf: PathBuf,
}

pub(crate) fn setup(items: &str, encrypted: bool) -> Setup {
    let server = moto();
    let store = server.store();
    let dir = tempfile::tempdir().unwrap();
    let diff = dir.path().join("diff");
    fs::create_dir(&diff).unwrap();
    let keyfile = dir.path().join("keys");
    fs::write(
        &keyfile,
        format!("key={}\nsecret={}\n", server.key, server.secret),
    )
    .unwrap();
    let conf = dir.path().join("s3napback.conf");
    let gpg = if encrypted {
        "GpgRecipient backup@example.com\n"
    } else {
        ""
    };
    fs::write(
        &conf,
        format!(
            "Bucket {}\nDiffDir {}\nChunkSize {CHUNK}\nS3Endpoint {}\nS3Region us-east-1\n\
             S3Keyfile {}\n{gpg}{items}\n",
            server.bucket,
            diff.display(),
            server.endpoint,
            keyfile.display()
        ),
    )
    .unwrap();
    Setup {
        server,
        store,
        dir,
        conf,
    }
}

/// `s3napback COMMAND -c CONF ARGS...` on 2026-11-20, after every slot the tests store
/// (on the server's clock, which they move from [`DAY_1`] on).
pub(crate) fn s3napback(setup: &Setup, gpg: &GpgHome, args: &[&str]) -> Output {
    let conf = setup.conf.to_str().unwrap();
    let mut all = vec![args[0], "-c", conf];
    all.extend_from_slice(&args[1..]);
    tool::command(all, "2026-11-20 03:00:00")
        .env("GNUPGHOME", gpg.path())
        .output()
        .unwrap()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A tree changed over four "days": FULL, then three DIFFs (add, change, delete).
/// Returns the source path and the expected snapshot after each day.
fn rotation(setup: &Setup, gpg: Option<&GpgHome>) -> (PathBuf, Vec<Tree>) {
    let src = setup.dir.path().join("src");
    let snap = setup.dir.path().join("snap.diff");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("a.bin"), noise(1, 2500)).unwrap();
    fs::write(src.join("sub/b.txt"), "bee\n").unwrap();
    fs::write(src.join("gone.txt"), "soon deleted\n").unwrap();
    let mut states = Vec::new();
    let name = src.display().to_string();
    for day in 0..4 {
        match day {
            1 => fs::write(src.join("sub/new.bin"), noise(2, 1800)).unwrap(),
            2 => fs::write(src.join("a.bin"), noise(3, 3100)).unwrap(),
            3 => {
                fs::remove_file(src.join("gone.txt")).unwrap();
                fs::create_dir(src.join("later")).unwrap();
                fs::write(src.join("later/c.txt"), "see\n").unwrap();
            }
            _ => {}
        }
        // tar's incremental dumps go by ctime: let every day's changes be newer
        std::thread::sleep(Duration::from_millis(1100));
        // a day apart on the server, from DAY_1 on
        setup
            .server
            .set_clock(&format!("2026-11-{} 03:00:00", 12 + day));
        let mut data = tar_stream(&src, &snap);
        if let Some(g) = gpg {
            data = encrypt(g, &data);
        }
        // slot numbers wrap: FULL in 5, DIFFs in 6, 0, 1
        let prefix = match day {
            0 => format!("{name}-5-FULL"),
            d => format!("{name}-{}-DIFF", (5 + d) % 7),
        };
        put_stream(&setup.store, &prefix, &data);
        states.push(snapshot(&src));
    }
    (src, states)
}

fn restored(out_dir: &Path, src: &Path) -> Tree {
    snapshot(&out_dir.join(src.strip_prefix("/").unwrap()))
}

#[test]
fn encrypted_directory_rotation_restores_the_newest_state() {
    let gpg = GpgHome::new();
    let setup = setup("", true);
    let (src, states) = rotation(&setup, Some(&gpg));
    // the item is configured after the fact (its path is only known now)
    let conf = fs::read_to_string(&setup.conf).unwrap();
    fs::write(&setup.conf, format!("{conf}Directory {}\n", src.display())).unwrap();
    let out_dir = setup.dir.path().join("out");
    let item = src.display().to_string();
    let out = s3napback(
        &setup,
        &gpg,
        &["restore", "--into", out_dir.to_str().unwrap(), &item],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(restored(&out_dir, &src), states[3]);
    let log = stderr(&out);
    let full = log.find(&format!("{item}-5-FULL")).unwrap();
    let last = log.find(&format!("{item}-1-DIFF")).unwrap();
    assert!(full < last, "{log}");

    // one path only
    let only = setup.dir.path().join("only");
    let member = format!("{}/sub", item.trim_start_matches('/'));
    let out = s3napback(
        &setup,
        &gpg,
        &["restore", "--into", only.to_str().unwrap(), &item, &member],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let got = restored(&only, &src);
    assert!(
        got.contains_key("sub/new.bin") && !got.contains_key("a.bin"),
        "{got:?}"
    );

    // cat: the decrypted (still gzip'd) stream of the FULL
    let out = s3napback(&setup, &gpg, &["cat", &format!("{item}-5-FULL")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(&out.stdout[..2], &[0x1f, 0x8b]);

    // the wrong key: non-zero, naming the slot
    let other = GpgHome::other();
    let wrong = setup.dir.path().join("wrong");
    let out = s3napback(
        &setup,
        &other,
        &["restore", "--into", wrong.to_str().unwrap(), &item],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let log = stderr(&out);
    assert!(
        log.contains(&format!("failed in s3napback-test:{item}-5-FULL")) && log.contains("gpg"),
        "{log}"
    );
    assert!(log.contains("partial restore"), "{log}");

    // no --into: a usage error
    let out = s3napback(&setup, &gpg, &["restore", &item]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn plain_directory_errors_name_the_slot_and_chunk() {
    let gpg = GpgHome::new();
    let setup = setup("", false);
    let (src, states) = rotation(&setup, None);
    let item = src.display().to_string();
    let out_dir = setup.dir.path().join("out");
    let restore = |dir: &Path| {
        s3napback(
            &setup,
            &gpg,
            &["restore", "--into", dir.to_str().unwrap(), &item],
        )
    };
    // not configured, but in the bucket: restored as a Directory
    let out = restore(&out_dir);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(restored(&out_dir, &src), states[3]);

    // a corrupted chunk in the second DIFF (same size, different bytes)
    let key = chunk_key(&format!("{item}-0-DIFF"), 0);
    let good = setup.store.get(&key).unwrap();
    let mut bad = good.to_vec();
    for b in bad.iter_mut().skip(20).take(200) {
        *b ^= 0x55;
    }
    setup.store.put(&key, Bytes::from(bad)).unwrap();
    let out = restore(&setup.dir.path().join("corrupt"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let log = stderr(&out);
    assert!(
        log.contains(&format!("restored s3napback-test:{item}-5-FULL"))
            || log.contains(&format!("restored {item}-5-FULL")),
        "{log}"
    );
    assert!(
        log.contains(&format!("failed in s3napback-test:{item}-0-DIFF")),
        "{log}"
    );
    assert!(log.contains("holds a partial restore"), "{log}");
    setup.store.put(&key, good).unwrap();

    // a missing chunk in the FULL
    let key = chunk_key(&format!("{item}-5-FULL"), 1);
    setup.store.delete(&[key]).unwrap();
    let out = restore(&setup.dir.path().join("missing"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let log = stderr(&out);
    assert!(
        log.contains(&format!("{item}-5-FULL")) && log.contains("chunk 1 is missing"),
        "{log}"
    );

    // no FULL at all
    let keys: Vec<String> = setup
        .store
        .list(&format!("{item}-5-FULL:"))
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    setup.store.delete(&keys).unwrap();
    // (issue 24: unstamped DIFFs with no FULL restore from the oldest, with a WARN
    // naming it, since it is complete when it was the item's first backup)
    let out = restore(&setup.dir.path().join("nofull"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "WARN {item}: no FULL slot of {item} on or before now: restoring from its oldest DIFF slot {item}-6-DIFF"
        )),
        "{}",
        stderr(&out)
    );

    // cat of an unknown prefix
    let out = s3napback(&setup, &gpg, &["cat", "/nothing-1-FULL"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("/nothing-1-FULL"), "{}", stderr(&out));
}

#[test]
fn database_dump_and_subversion_chain_round_trip() {
    let gpg = GpgHome::new();
    let repo = SvnRepo::new(3);
    let setup = setup(
        &format!(
            "MySQL all\nPostgreSQL postgres@inventory\nSubversion {}\n",
            repo.path().display()
        ),
        true,
    );
    // databases: an older and a newer dump; the newest one comes back, decompressed
    let old = b"-- old dump\n".to_vec();
    let dump: Vec<u8> = (0..300)
        .flat_map(|i| format!("INSERT INTO t VALUES ({i}, 'row {i}');\n").into_bytes())
        .collect();
    setup.server.set_clock(DAY_1);
    put_stream(
        &setup.store,
        "MySQL/--all-databases-2",
        &encrypt(&gpg, &gzip(&old)),
    );
    setup.server.set_clock(DAY_2);
    put_stream(
        &setup.store,
        "MySQL/--all-databases-3",
        &encrypt(&gpg, &gzip(&dump)),
    );
    put_stream(
        &setup.store,
        "PostgreSQL/inventory-0",
        &encrypt(&gpg, &gzip(&dump)),
    );
    let out = s3napback(&setup, &gpg, &["restore", "--to-stdout", "all"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout == dump, "dump differs:\n{}", stderr(&out));
    let file = setup.dir.path().join("pg.sql");
    let out = s3napback(
        &setup,
        &gpg,
        &[
            "restore",
            "--into",
            file.to_str().unwrap(),
            "postgres@inventory",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read(&file).unwrap(), dump);

    // Subversion: FULL r0:3, then DIFFs r4:4 and r5:6
    let name = repo.path().display().to_string();
    let svn_dump = |from: u64, to: u64| {
        let out = Command::new("svnadmin")
            .args(["dump", "-q", &format!("-r{from}:{to}"), "--incremental"])
            .arg(repo.path())
            .output()
            .unwrap();
        assert!(out.status.success());
        encrypt(&gpg, &gzip(&out.stdout))
    };
    setup.server.set_clock(DAY_1);
    put_stream(&setup.store, &format!("{name}-0-FULL"), &svn_dump(0, 3));
    repo.commit_file("trunk/file.txt", "four\n");
    setup.server.set_clock(DAY_2);
    put_stream(&setup.store, &format!("{name}-1-DIFF"), &svn_dump(4, 4));
    repo.commit_file("trunk/new.txt", "five\n");
    repo.commit_file("trunk/file.txt", "six\n");
    setup.server.set_clock(DAY_3);
    put_stream(&setup.store, &format!("{name}-2-DIFF"), &svn_dump(5, 6));
    let out = s3napback(&setup, &gpg, &["restore", "--to-stdout", &name]);
    assert!(out.status.success(), "{}", stderr(&out));
    let fresh = SvnRepo::from_dump(&out.stdout);
    assert_eq!(fresh.youngest(), repo.youngest());
    assert_eq!(fresh.cat("trunk/file.txt"), "six\n");
    assert_eq!(fresh.cat("trunk/new.txt"), "five\n");
    assert_eq!(
        fresh.cat("trunk/sub/other.txt"),
        repo.cat("trunk/sub/other.txt")
    );
}
