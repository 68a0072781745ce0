//! `list`, `verify` and `status` against a moto bucket holding slots exactly as js3tream
//! wrote them (real tar, gzip and gpg streams cut into ChunkSize objects).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use bytes::Bytes;
use s3napback::store::keys::chunk_key;
use s3napback::store::s3::S3Store;
use s3napback::store::{ReadStore, Store};

use crate::backup::harness::noise;
use crate::support::gpg::{GpgHome, RECIPIENT};
use crate::support::s3::{S3Server, moto};
use crate::support::tool;

const CHUNK: usize = 1000;

/// A real `tar -cz` of a directory holding one file of `len` noise bytes.
fn tar_gz(len: usize, seed: u32) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.bin"), noise(len, seed)).unwrap();
    let out = Command::new("tar")
        .arg("-czf")
        .arg("-")
        .arg("-C")
        .arg(dir.path())
        .arg("data.bin")
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

/// A real gzip stream (stored blocks, so its length is predictable) of `len` noise bytes
/// (a database dump).
fn gzip(len: usize, seed: u32) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    gz.write_all(&noise(len, seed)).unwrap();
    gz.finish().unwrap()
}

/// `gpg -r RECIPIENT -e` of `data`.
fn encrypt(home: &GpgHome, data: &[u8]) -> Vec<u8> {
    let argv = home.argv(&["--trust-model", "always", "-r", RECIPIENT, "-e"]);
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    out.stdout
}

/// Stores a stream as js3tream did: ChunkSize pieces, a trailing zero-length object when
/// the length is a multiple of ChunkSize.
fn put_slot(store: &S3Store, prefix: &str, data: &[u8]) {
    let mut pieces: Vec<&[u8]> = data.chunks(CHUNK).collect();
    if data.len().is_multiple_of(CHUNK) {
        pieces.push(&[]);
    }
    for (i, piece) in pieces.into_iter().enumerate() {
        store
            .put(&chunk_key(prefix, i as u64), Bytes::copy_from_slice(piece))
            .unwrap();
    }
}

/// When the fixture stored slot `prefix`.
fn stored_at(prefix: &str) -> &'static str {
    match prefix {
        "/etc-0-FULL" => "2026-11-12 03:00:00",
        "/etc-1-DIFF" => "2026-11-12 03:01:00",
        "/etc-2-DIFF" => "2026-11-12 03:02:00",
        _ => "2026-11-12 03:03:00",
    }
}

/// A bucket, a config file for it and a gpg home with the key.
struct Fixture {
    server: S3Server,
    store: S3Store,
    gpg: GpgHome,
    conf: PathBuf,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let server = moto();
        let store = server.store();
        let gpg = GpgHome::new();
        let dir = tempfile::tempdir().unwrap();
        let conf = write_config(&server, dir.path(), CHUNK, "Directory /etc\nMySQL all\n");
        // each slot dated its own minute (the server's clock stands still there), so that
        // the order of the slots never depends on how fast the test runs
        server.freeze_clock(stored_at("/etc-0-FULL"));
        put_slot(&store, "/etc-0-FULL", &tar_gz(2500, 1));
        server.freeze_clock(stored_at("/etc-1-DIFF"));
        put_slot(&store, "/etc-1-DIFF", &tar_gz(2400, 2));
        server.freeze_clock(stored_at("/etc-2-DIFF"));
        put_slot(&store, "/etc-2-DIFF", &encrypt(&gpg, &tar_gz(2300, 3)));
        // a dump of exactly two chunks: ends with a zero-length object
        let dump = (1900..2000)
            .map(|len| gzip(len, 4))
            .find(|d| d.len() == 2 * CHUNK)
            .expect("a stored gzip stream of 2000 bytes");
        server.freeze_clock(stored_at("MySQL/--all-databases-0"));
        put_slot(&store, "MySQL/--all-databases-0", &dump);
        Fixture {
            server,
            store,
            gpg,
            conf,
            _dir: dir,
        }
    }

    /// `s3napback COMMAND -c CONF ARGS...` an hour after the slots were stored (the
    /// server's clock starts at [`crate::support::clock::DAY_1`]).
    fn run(&self, args: &[&str]) -> Output {
        self.run_at(args, "2026-11-12 04:00:00")
    }

    fn run_at(&self, args: &[&str], now: &str) -> Output {
        let (name, value) = self.gpg.env();
        let conf = self.conf.to_str().unwrap();
        let mut all = vec![args[0], "-c", conf];
        all.extend_from_slice(&args[1..]);
        tool::command(all, now).env(name, value).output().unwrap()
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn list_verify_and_status_on_a_good_bucket() {
    let fx = Fixture::new();

    let out = fx.run(&["list", "--json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["prefix"], "/etc-0-FULL");
    assert_eq!(rows[0]["type"], "FULL");
    assert_eq!(rows[0]["item"], "/etc");
    assert_eq!(rows[0]["chunks"], 3);
    assert_eq!(rows[3]["kind"], "mysql");

    let out = fx.run(&["list"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(stdout(&out).starts_with("LAST MODIFIED"));

    for deep in [&["verify"][..], &["verify", "--deep"][..]] {
        let out = fx.run(deep);
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        let text = stdout(&out);
        assert!(
            text.contains("Directory /etc: restorable for ")
                && text.contains("(FULL /etc-0-FULL + 2 DIFFs)"),
            "{text}"
        );
        assert!(text.contains("MySQL all: restorable for "), "{text}");
    }

    let out = fx.run(&["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Directory /etc: OK: newest /etc-2-DIFF"),
        "{text}"
    );
    assert!(text.contains("  timeline: FDD\n"), "{text}");
    assert!(
        text.contains("MySQL all: OK: newest MySQL/--all-databases-0"),
        "{text}"
    );

    // four hours after the slots were stored, with a maximum age of one hour
    let out = fx.run_at(&["status", "--max-age", "1"], "2026-11-12 07:00:00");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(stdout(&out).contains("Directory /etc: STALE: newest /etc-2-DIFF"));
}

impl Fixture {
    /// Stores `body` at chunk `index` of slot `prefix`, dated when the slot was stored.
    fn replace(&self, prefix: &str, index: u64, body: impl Into<Bytes>) {
        self.server.freeze_clock(stored_at(prefix));
        self.store
            .put(&chunk_key(prefix, index), body.into())
            .unwrap();
    }
}

#[test]
fn verify_names_slot_and_chunk() {
    let fx = Fixture::new();
    let s = &fx.store;

    // a missing chunk
    let key = chunk_key("/etc-0-FULL", 1);
    let saved = s.get(&key).unwrap();
    s.delete(std::slice::from_ref(&key)).unwrap();
    let out = fx.run(&["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = stdout(&out);
    assert!(text.contains("/etc-0-FULL: chunk 1 is missing\n"), "{text}");
    assert!(text.contains("Directory /etc: not restorable"), "{text}");
    // DIFFs without their FULL restore nothing: status calls the item stale
    let out = fx.run(&["status"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = stdout(&out);
    assert!(text.contains("  timeline: !DD\n"), "{text}");
    assert!(
        text.contains("Directory /etc: STALE: no restorable backup\n"),
        "{text}"
    );
    fx.replace("/etc-0-FULL", 1, saved);

    // a truncated middle chunk
    let key = chunk_key("/etc-1-DIFF", 1);
    let saved = s.get(&key).unwrap();
    fx.replace("/etc-1-DIFF", 1, saved[..600].to_vec());
    let out = fx.run(&["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = stdout(&out);
    assert!(
        text.contains("/etc-1-DIFF: chunk 1 has 600 bytes, expected 1000\n"),
        "{text}"
    );
    assert!(
        text.contains("(FULL /etc-0-FULL + 0 DIFFs); chain broken at /etc-1-DIFF"),
        "{text}"
    );
    fx.replace("/etc-1-DIFF", 1, saved);
    assert_eq!(fx.run(&["verify"]).status.code(), Some(0));

    // corrupted content of the right size: only --deep sees it
    for (prefix, expected) in [
        ("/etc-2-DIFF", "/etc-2-DIFF: gpg -d failed: "),
        (
            "MySQL/--all-databases-0",
            "MySQL/--all-databases-0: gzip -t failed: ",
        ),
        ("/etc-0-FULL", "/etc-0-FULL: tar -t failed: "),
    ] {
        let key = chunk_key(prefix, 1);
        let mut body = s.get(&key).unwrap().to_vec();
        for b in &mut body[100..200] {
            *b ^= 0x5a;
        }
        fx.replace(prefix, 1, body);
        assert_eq!(fx.run(&["verify"]).status.code(), Some(0));
        let out = fx.run(&["verify", "--deep"]);
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        assert!(stdout(&out).contains(expected), "{}", describe(&out));
    }
}

/// Writes `DIR/s3napback.conf` (and its key file) for `server` with `items`.
fn write_config(server: &S3Server, dir: &std::path::Path, chunk: usize, items: &str) -> PathBuf {
    let keyfile = dir.join("keys");
    std::fs::write(
        &keyfile,
        format!("key={}\nsecret={}\n", server.key, server.secret),
    )
    .unwrap();
    let conf = dir.join("s3napback.conf");
    std::fs::write(
        &conf,
        format!(
            "DiffDir {}\nBucket {}\nS3Keyfile {}\nChunkSize {chunk}\n\
             S3Endpoint {}\nS3Region {}\n{items}",
            dir.display(),
            server.bucket,
            keyfile.display(),
            server.endpoint,
            server.region
        ),
    )
    .unwrap();
    conf
}

/// `list --js3tream` prints what `js3tream -l -b BUCKET` printed (LEGACY.md §8): sizes in
/// kilo and mega of 1000 rounded as Java's `%.2f` rounds (half up on the shortest decimal
/// of the double: 1.005 prints 1.01, where C prints 1.00), the 12-hour clock without
/// AM/PM, groups by the key up to its first `:` sorted, the `tag` line, the total.
#[test]
fn list_js3tream_prints_what_js3tream_printed() {
    let dir = tempfile::tempdir().unwrap();
    let server = moto();
    // the server's clock stands still at each time, so LastModified is exact
    let at = |t: &str| server.freeze_clock(t);
    at("2026-11-12 04:07:50");
    let store = server.store();
    let tagged = S3Store::connect(s3napback::store::s3::S3Config {
        tag: Some("nightly".into()),
        ..server.config()
    })
    .unwrap();
    let put = |store: &S3Store, key: &str, len: usize| {
        store.put(key, Bytes::from(vec![b'x'; len])).unwrap();
    };

    // 157.061k; and 2.675k, stored as 2.67499999..., printed 2.68k.
    put(&store, &chunk_key("MySQL/--all-databases-5", 0), 157_061);
    put(&tagged, &chunk_key("/home-3-DIFF", 0), 2675);
    // The afternoon: 15:04:05 is printed 03:04:05. 1000 + 5 bytes: 1.005k -> 1.01k.
    at("2026-11-12 15:04:05");
    put(&store, &chunk_key("/etc-0-FULL", 0), 1000);
    put(&store, &chunk_key("/etc-0-FULL", 1), 5);
    // Half past midnight is 12:30:00; 5000k + 5005k = 10005k, over 10000: 10.005M -> 10.01M.
    at("2026-11-13 00:30:00");
    put(&store, &chunk_key("/big-1-FULL", 0), 5_005_000);
    put(&store, &chunk_key("/big-1-FULL", 1), 5_000_000);
    // A key without `:` is listed as the bucket itself.
    at("2026-11-13 12:00:00");
    put(&store, "README", 1234);

    let conf = write_config(&server, dir.path(), 5_005_000, "Directory /etc\n");
    let out = tool::command(
        ["list", "--js3tream", "-c", conf.to_str().unwrap()],
        "2026-11-13 13:00:00",
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let b = &server.bucket;
    assert_eq!(
        stdout(&out),
        format!(
            "2026-11-13 12:00:00 - {b} - 1.23k in 1 data blocks\n\
             2026-11-13 12:30:00 - {b}:/big-1-FULL - 10.01M in 2 data blocks\n\
             2026-11-12 03:04:05 - {b}:/etc-0-FULL - 1.01k in 2 data blocks\n\
             2026-11-12 04:07:50 - {b}:/home-3-DIFF - 2.68k in 1 data blocks\n\
             \tTAG:nightly\n\
             2026-11-12 04:07:50 - {b}:MySQL/--all-databases-5 - 157.06k in 1 data blocks\n\
             total: 5\n"
        )
    );
}
