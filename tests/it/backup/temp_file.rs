//! `UseTempFile`: the whole stream goes to a file in TempDir first and is uploaded from
//! it. A `pg_dumpall` that stops in the middle (the test holds a lock on a table of the
//! last database) shows the difference: with the temp file the run has written a growing
//! file in TempDir and nothing to the bucket; streaming has uploaded chunks already. The
//! stored slot is then compared byte for byte with the temp file (kept through a hard
//! link), and the file is gone after the run.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use s3napback::store::s3::S3Store;
use s3napback::store::{ReadStore, Store};

use super::harness::{Site, fetch, gunzip};
use crate::support::clock::DAY_1;
use crate::support::db::Postgres;
use crate::support::s3::moto;

/// A psql session holding `LOCK TABLE held IN ACCESS EXCLUSIVE MODE` in `zzz_locked`
/// until [`Lock::release`].
struct Lock(Child);

impl Lock {
    fn take(pg: &Postgres) -> Lock {
        let mut child = Command::new(pg.bin("psql"))
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
            .args(pg.client_args())
            .args(["-d", "zzz_locked"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .as_mut()
            .unwrap()
            .write_all(b"BEGIN;\nLOCK TABLE held IN ACCESS EXCLUSIVE MODE;\n")
            .unwrap();
        wait_until("the lock is held", || {
            locks(pg, "granted AND mode = 'AccessExclusiveLock'") > 0
        });
        Lock(child)
    }

    fn release(mut self) {
        let mut stdin = self.0.stdin.take().unwrap();
        stdin.write_all(b"COMMIT;\n").unwrap();
        drop(stdin);
        assert!(self.0.wait().unwrap().success());
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Locks on relation `held` that match `condition` (pg_class is per database).
fn locks(pg: &Postgres, condition: &str) -> usize {
    pg.sql(
        "zzz_locked",
        &format!(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
             WHERE c.relname = 'held' AND {condition}"
        ),
    )
    .trim()
    .parse()
    .unwrap()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn files(dir: &Path) -> BTreeSet<PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

/// Starts `s3napback -c CONF` for `site` as `Site::run` would, without waiting.
fn spawn(site: &Site, conf: &Path) -> Child {
    site.command(&["-c", conf.to_str().unwrap()], DAY_1)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// What a run looked like while `pg_dumpall` waited for the lock.
struct Midway {
    /// Files that appeared in TempDir, each with its size.
    new_files: Vec<(PathBuf, u64)>,
    /// Objects in the bucket.
    objects: usize,
}

/// Runs a backup of `PostgreSQL all` (UseTempFile as given) that stalls on the lock;
/// looks at TempDir and the bucket midway, keeps the temp file as `keep`, then lets the
/// dump finish. Returns the midway view and the run's log.
fn stalled_run(
    pg: &Postgres,
    site: &Site,
    store: &S3Store,
    conf: &Path,
    keep: &Path,
    ready: impl Fn(&Midway) -> bool,
) -> (Midway, String) {
    let temp_dir = site.path("tmp");
    let before = files(&temp_dir);
    let lock = Lock::take(pg);
    let child = spawn(site, conf);
    wait_until("pg_dumpall waits for the lock", || {
        locks(pg, "NOT granted") > 0
    });
    // the run has got as far as `ready` says with the first databases (it cannot go on:
    // pg_dumpall waits for the lock)
    let look = || Midway {
        new_files: files(&temp_dir)
            .difference(&before)
            .filter_map(|p| Some((p.clone(), fs::metadata(p).ok()?.len())))
            .collect(),
        objects: store.list("").unwrap().len(),
    };
    wait_until("the run has got as far as the lock lets it", || {
        ready(&look())
    });
    let Midway { new_files, objects } = look();
    if let [(file, _)] = &new_files[..] {
        fs::hard_link(file, keep).unwrap();
    }
    lock.release();
    let out = child.wait_with_output().unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert_eq!(files(&temp_dir), before, "no temp file is left: {log}");
    (Midway { new_files, objects }, log)
}

#[test]
fn use_temp_file_buffers_the_whole_stream_in_temp_dir_and_uploads_that_file() {
    let pg = Postgres::start();
    pg.sql("postgres", "CREATE DATABASE aaa_big");
    pg.sql("postgres", "CREATE DATABASE zzz_locked");
    // about 700 kB of hex that gzip can only halve: several 100 kB chunks
    pg.sql(
        "aaa_big",
        "CREATE TABLE noise AS SELECT g AS id, \
         decode(md5(g::text) || md5((g * 7)::text), 'hex') AS bytes \
         FROM generate_series(1, 10000) g",
    );
    pg.sql("zzz_locked", "CREATE TABLE held (id int)");
    let server = moto();
    let store = server.store();
    let mut site = Site::new();
    site.env = pg.env();
    site.env.push(super::options::pg_first_on_path(&pg));
    // a file that was there before the run stays untouched
    fs::write(site.path("tmp/unrelated"), "not ours").unwrap();

    // streaming (the control): chunks are stored while the dump is still running
    let conf = site.config(
        &server,
        100_000,
        false,
        "<PostgreSQL all>\n\tFulls 7\n</PostgreSQL>\n",
    );
    let (midway, log) = stalled_run(&pg, &site, &store, &conf, &site.path("unused"), |m| {
        m.objects > 0
    });
    assert!(midway.new_files.is_empty(), "{:?}", midway.new_files);
    assert!(midway.objects > 0, "streaming uploads as it reads: {log}");
    assert!(!fetch(&store, "PostgreSQL/-0").is_empty(), "{log}");
    let old: Vec<String> = store.list("").unwrap().into_iter().map(|o| o.key).collect();
    store.delete(&old).unwrap();
    fs::remove_dir_all(site.diff_dir()).unwrap();
    fs::create_dir(site.diff_dir()).unwrap();

    let conf = site.config(
        &server,
        100_000,
        false,
        "<PostgreSQL all>\n\tFulls 7\n\tUseTempFile yes\n</PostgreSQL>\n",
    );
    let kept = site.path("kept-temp-file");
    let (midway, log) = stalled_run(&pg, &site, &store, &conf, &kept, |m| {
        m.new_files.iter().any(|(_, len)| *len > 100_000)
    });
    assert_eq!(
        midway.new_files.len(),
        1,
        "one temp file in TempDir during the run: {:?}",
        midway.new_files
    );
    assert!(
        midway.new_files[0].1 > 100_000,
        "the dump so far is in the temp file: {:?}",
        midway.new_files
    );
    assert_eq!(
        midway.objects, 0,
        "nothing is uploaded before the dump ends"
    );

    // the slot holds exactly the temp file's bytes, a whole dump of every database
    let stored = fetch(&store, "PostgreSQL/-0");
    assert!(stored == fs::read(&kept).unwrap(), "{log}");
    let dump = String::from_utf8(gunzip(&stored)).unwrap();
    assert!(dump.contains("COPY public.noise (id, bytes) FROM stdin;"));
    assert!(dump.contains("CREATE TABLE public.held"));
    assert!(dump.contains("-- PostgreSQL database cluster dump complete\n"));
    assert_eq!(fs::read(site.path("tmp/unrelated")).unwrap(), b"not ours");
}
