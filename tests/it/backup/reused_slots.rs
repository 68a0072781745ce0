//! A failing source on a reused slot name never removes the backup kept under that name
//! (issue 7): day 1 writes slot N, the rotation comes back to N, the source fails. Then
//! every object in the bucket is byte-for-byte what it was (so no staging leftovers
//! either), the DiffDir state file is unchanged, the ERROR names the item, the exit status
//! is 1; a rerun the same day after fixing the source stores the slot, and `s3napback
//! restore` gives the newest state exactly.
//!
//! Schedule used (`Diffs 1`, `Fulls 1`, SimpleCycle): slot `yday % 2`; 2026-11-11 and -13
//! are FULL days (slot 0), 2026-11-12 and -14 DIFF days (slot 1). Databases with `Fulls 2`
//! use slot `yday % 2` as well.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use s3napback::store::s3::S3Store;

use super::harness::{Run, Site, bucket, make_tree, restored, tree};
use crate::support::db::{MariaDb, Postgres};
use crate::support::gpg::GpgHome;
use crate::support::s3::{S3Server, moto};
use crate::support::svn::SvnRepo;

/// A site, a moto server whose clock follows the runs' `--now`, and one config.
pub struct Days {
    pub site: Site,
    pub server: S3Server,
    pub store: S3Store,
    /// The time of the last backup run: read-only commands run then too.
    now: std::cell::RefCell<String>,
    pub conf: PathBuf,
}

impl Days {
    /// Starts the server and writes the config (`chunk` bytes per chunk, encrypted).
    pub fn new(site: Site, chunk: u64, body: &str) -> Days {
        let server = moto();
        server.set_clock("2026-11-10 03:00:00");
        let store = server.store();
        let conf = site.config(&server, chunk, true, body);
        Days {
            site,
            server,
            store,
            now: std::cell::RefCell::new("2026-11-10 03:00:00".into()),
            conf,
        }
    }

    /// Moves the server's clock to `date` 03:00 and runs the backup with that `--now`.
    pub fn backup(&self, date: &str) -> Run {
        self.backup_with(date, &[])
    }

    /// [`Days::backup`] with extra flags (`-d`).
    pub fn backup_with(&self, date: &str, flags: &[&str]) -> Run {
        let now = format!("{date} 03:00:00");
        self.set_now(&now);
        let mut args = flags.to_vec();
        args.extend(["-c", self.conf.to_str().unwrap()]);
        self.site.run(&args, &now)
    }

    /// Records `now` as the time of the last backup run (for runs started otherwise).
    pub fn set_now(&self, now: &str) {
        *self.now.borrow_mut() = now.to_owned();
    }

    /// The time of the last backup run (the server's clock follows the runs').
    pub fn now(&self) -> String {
        self.now.borrow().clone()
    }

    /// Runs a read-only command (`restore`, `status`, ...) with ARGS after `-c CONF`, at
    /// the time of the last backup run.
    pub fn command(&self, command: &str, args: &[&str]) -> Run {
        self.command_at(command, args, &self.now())
    }

    /// [`Days::command`] at `now`.
    pub fn command_at(&self, command: &str, args: &[&str], now: &str) -> Run {
        let mut all = vec![command, "-c", self.conf.to_str().unwrap()];
        all.extend_from_slice(args);
        self.site.run(&all, now)
    }

    /// `s3napback restore --into DIR ITEM`; panics unless it succeeds.
    pub fn restore_into(&self, dir: &Path, item: &str) -> Run {
        let run = self.command("restore", &["--into", dir.to_str().unwrap(), item]);
        assert_eq!(run.status, 0, "{}", run.log);
        run
    }
}

/// The DiffDir state file of an item.
pub fn state_file(site: &Site, name: &str) -> PathBuf {
    site.diff_dir()
        .join(format!("{}.diff", name.replace('/', "_")))
}

/// Checks the failed run: exit 1, an ERROR naming `item`, the bucket exactly `before`,
/// the state file (when given) still holding `state`.
pub fn assert_failed_cleanly(
    run: &Run,
    item: &str,
    store: &S3Store,
    before: &BTreeMap<String, Vec<u8>>,
    state: Option<(&Path, &[u8])>,
) {
    assert_eq!(run.status, 1, "{}", run.log);
    run.expect(&format!("ERROR Backup of {item}"))
        .expect("was left as it was");
    let after = bucket(store);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "{}",
        run.log
    );
    assert!(after == *before, "an object's bytes changed\n{}", run.log);
    if let Some((path, bytes)) = state {
        assert_eq!(fs::read(path).unwrap(), bytes, "{} changed", path.display());
    }
}

/// Day 11 FULL and day 12 DIFF of `src`, with a change in between.
fn two_good_days(days: &Days, src: &Path) {
    assert_eq!(days.backup("2026-11-11").status, 0);
    fs::write(src.join("a.txt"), "alpha on the 12th\n").unwrap();
    let run = days.backup("2026-11-12");
    assert_eq!(run.status, 0, "{}", run.log);
}

fn directory_days(site: Site, extra: &str) -> (Days, PathBuf, String) {
    let src = site.path("src/tree");
    make_tree(&src);
    let name = src.display().to_string();
    let body = format!("<Directory {name}>\n\tDiffs 1\n\tFulls 1\n{extra}</Directory>\n");
    (Days::new(site, 1000, &body), src, name)
}

/// Restores the newest state of `name` and compares it with `src`.
fn assert_restores(days: &Days, src: &Path, name: &str) {
    assert_restores_as(days, src, Path::new(name), name);
}

/// Restores the newest state of `name` (backed up from `original`) and compares it with
/// the tree now at `expected`.
fn assert_restores_as(days: &Days, expected: &Path, original: &Path, name: &str) {
    let out = days.site.path("restored");
    let _ = fs::remove_dir_all(&out);
    days.restore_into(&out, name);
    assert_eq!(tree(&restored(&out, original)), tree(expected));
}

#[test]
fn a_missing_directory_on_a_full_day_keeps_the_old_full() {
    let (days, src, name) = directory_days(Site::new(), "");
    two_good_days(&days, &src);
    let before = bucket(&days.store);
    assert!(
        before
            .keys()
            .any(|k| k.starts_with(&format!("{name}-0-FULL:")))
    );
    let state = fs::read(state_file(&days.site, &name)).unwrap();
    let moved = days.site.path("src/moved");
    fs::rename(&src, &moved).unwrap();
    let run = days.backup("2026-11-13");
    assert_failed_cleanly(
        &run,
        &format!("Directory {name}"),
        &days.store,
        &before,
        Some((&state_file(&days.site, &name), &state)),
    );
    run.expect("`tar` (pipeline stage 0) failed with exit status 2");
    // The kept FULL + DIFF still restore the day-12 state.
    assert_restores_as(&days, &moved, &src, &name);

    fs::rename(&moved, &src).unwrap();
    fs::write(src.join("new.txt"), "new on the 13th\n").unwrap();
    let run = days.backup("2026-11-13");
    assert_eq!(run.status, 0, "{}", run.log);
    assert_restores(&days, &src, &name);
}

#[test]
fn a_fatal_tar_error_on_a_diff_day_keeps_the_old_diff() {
    let (days, src, name) = directory_days(Site::new(), "");
    two_good_days(&days, &src);
    // The FULL of the 13th: the DIFF of the 12th is then no longer in the restore chain
    // and the 14th rewrites it as a DIFF (see backup::chain).
    let run = days.backup("2026-11-13");
    assert_eq!(run.status, 0, "{}", run.log);
    let before = bucket(&days.store);
    let state_path = state_file(&days.site, &name);
    let good_state = fs::read(&state_path).unwrap();
    // A damaged snapshot file: GNU tar stops with "Error is not recoverable" (exit 2).
    fs::write(&state_path, "GNU tar-1.35-2\n").unwrap();
    fs::write(src.join("a.txt"), "alpha on the 14th\n").unwrap();
    let run = days.backup("2026-11-14");
    assert_failed_cleanly(
        &run,
        &format!("Directory {name}"),
        &days.store,
        &before,
        Some((&state_path, b"GNU tar-1.35-2\n")),
    );
    run.expect("`tar` (pipeline stage 0) failed with exit status 2");

    fs::write(&state_path, &good_state).unwrap();
    let run = days.backup("2026-11-14");
    assert_eq!(run.status, 0, "{}", run.log);
    assert_restores(&days, &src, &name);
}

#[test]
fn gpg_refusing_the_key_keeps_the_old_slot() {
    let (mut days, src, name) = directory_days(Site::new(), "");
    two_good_days(&days, &src);
    let before = bucket(&days.store);
    let state_path = state_file(&days.site, &name);
    let state = fs::read(&state_path).unwrap();
    let untrusted = untrusted_copy(&days.site.gpg);
    days.site.env = vec![("GNUPGHOME".into(), untrusted.path_str())];
    fs::write(src.join("new.txt"), "new on the 13th\n").unwrap();
    let run = days.backup("2026-11-13");
    assert_failed_cleanly(
        &run,
        &format!("Directory {name}"),
        &days.store,
        &before,
        Some((&state_path, &state)),
    );
    run.expect("`gpg` (pipeline stage 1) failed");

    days.site.env.clear();
    let run = days.backup("2026-11-13");
    assert_eq!(run.status, 0, "{}", run.log);
    assert_restores(&days, &src, &name);
}

/// The same recipient as `gpg`, but in a keyring that has only its public key, untrusted:
/// the recipient check passes, `gpg --batch -e` refuses the key (exit status 2).
pub fn untrusted_copy(gpg: &GpgHome) -> GpgHome {
    let untrusted = GpgHome::empty();
    let exported = Command::new("gpg")
        .args(gpg.argv(&["--export", gpg.recipient()]).iter().skip(1))
        .output()
        .unwrap();
    assert!(exported.status.success());
    let key = untrusted.path().join("key.pub");
    fs::write(&key, &exported.stdout).unwrap();
    let imported = Command::new("gpg")
        .args(
            untrusted
                .argv(&["--import", key.to_str().unwrap()])
                .iter()
                .skip(1),
        )
        .output()
        .unwrap();
    assert!(imported.status.success(), "{imported:?}");
    untrusted
}

/// Unmounts a tmpfs when dropped.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_temp_dir_keeps_the_old_slot() {
    let (days, src, name) = directory_days(Site::new(), "\tUseTempFile yes\n");
    // TempDir on a 1 MiB tmpfs (we run as root).
    let tmp = days.site.path("tmp");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&tmp)
        .status()
        .unwrap();
    assert!(mounted.success(), "mount -t tmpfs needs root");
    let _mount = Mount(tmp.clone());
    two_good_days(&days, &src);
    let before = bucket(&days.store);
    let state_path = state_file(&days.site, &name);
    let state = fs::read(&state_path).unwrap();
    // 3 MB of incompressible data do not fit the 1 MiB TempDir (ENOSPC).
    let mut x: u64 = 99;
    let big: Vec<u8> = (0..3_000_000)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) as u8
        })
        .collect();
    fs::write(src.join("big.bin"), big).unwrap();
    let run = days.backup("2026-11-13");
    assert_failed_cleanly(
        &run,
        &format!("Directory {name}"),
        &days.store,
        &before,
        Some((&state_path, &state)),
    );
    run.expect("No space left on device");
    assert!(
        fs::read_dir(&tmp).unwrap().next().is_none(),
        "temp file removed"
    );

    fs::remove_file(src.join("big.bin")).unwrap();
    let run = days.backup("2026-11-13");
    assert_eq!(run.status, 0, "{}", run.log);
    assert_restores(&days, &src, &name);
}

#[test]
fn mysqldump_failing_mid_dump_keeps_the_old_slot() {
    let db = MariaDb::start();
    db.sql(
        "CREATE DATABASE shop; CREATE TABLE shop.a_items (id INT PRIMARY KEY, name TEXT); \
         INSERT INTO shop.a_items VALUES (1, 'apple'); \
         CREATE TABLE shop.gone (x INT); CREATE VIEW shop.z_view AS SELECT x FROM shop.gone; \
         CREATE TABLE shop.b_bulk (v TEXT); INSERT INTO shop.b_bulk \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 900) \
         SELECT SHA2(RAND(), 512) FROM n;",
    );
    let mut site = Site::new();
    let home = site.path("home");
    fs::create_dir(&home).unwrap();
    fs::copy(db.defaults_extra_file(), home.join(".my.cnf")).unwrap();
    site.env = vec![("HOME".into(), home.display().to_string())];
    // No LOCK TABLES (which would fail on the view before any output).
    let days = Days::new(
        site,
        700,
        "<MySQL shop>\n\tFulls 2\n\tMySQLOptions --single-transaction\n</MySQL>\n",
    );
    let run = days.backup("2026-11-12");
    assert_eq!(run.status, 0, "{}", run.log);
    let before = bucket(&days.store);
    assert!(before.keys().any(|k| k.starts_with("MySQL/shop-1:")));
    // The view now names a missing table: mysqldump writes a_items, then fails on it.
    db.sql("INSERT INTO shop.a_items VALUES (2, 'pear'); DROP TABLE shop.gone;");
    let run = days.backup_with("2026-11-14", &["-d"]);
    assert_failed_cleanly(&run, "MySQL shop", &days.store, &before, None);
    run.expect("`mysqldump` (pipeline stage 0) failed")
        .expect("z_view")
        .expect("the objects it had stored were deleted");
    // The tables before the view had streamed many chunks into staging (then deleted).
    let streamed: u64 = run
        .log
        .split("MySQL/shop-1: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(streamed > 10 * 700, "{}", run.log);

    db.sql("DROP VIEW shop.z_view;");
    let run = days.backup("2026-11-14");
    assert_eq!(run.status, 0, "{}", run.log);
    let file = days.site.path("shop.sql");
    days.restore_into(&file, "shop");
    db.sql("CREATE DATABASE shop_restored");
    db.sql_db("shop_restored", &format!("source {}", file.display()));
    let query = "SELECT id, name FROM a_items ORDER BY id";
    assert_eq!(db.sql_db("shop_restored", query), db.sql_db("shop", query));
    assert!(db.sql_db("shop_restored", query).contains("pear"));
}

#[test]
fn pg_dump_failing_mid_dump_keeps_the_old_slot() {
    let pg = Postgres::start();
    pg.sql("postgres", "CREATE DATABASE inventory");
    pg.sql(
        "inventory",
        "CREATE TABLE a_parts (id int primary key, label text); \
         INSERT INTO a_parts VALUES (1, 'bolt'); \
         CREATE TABLE z_secret (x int); INSERT INTO z_secret VALUES (7); \
         CREATE ROLE dumper LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO dumper;",
    );
    let mut site = Site::new();
    site.env = pg.tool_env();
    let days = Days::new(
        site,
        700,
        "<PostgreSQL dumper@inventory>\n\tFulls 2\n</PostgreSQL>\n",
    );
    let run = days.backup("2026-11-12");
    assert_eq!(run.status, 0, "{}", run.log);
    let before = bucket(&days.store);
    // Row-level security on the last table: pg_dump (not its owner) has written the
    // schema and a_parts, then fails on z_secret.
    pg.sql(
        "inventory",
        "INSERT INTO a_parts VALUES (2, 'nut'); \
         ALTER TABLE z_secret ENABLE ROW LEVEL SECURITY; \
         CREATE POLICY p ON z_secret USING (x > 0);",
    );
    let run = days.backup("2026-11-14");
    assert_failed_cleanly(
        &run,
        "PostgreSQL dumper@inventory",
        &days.store,
        &before,
        None,
    );
    run.expect("`pg_dump` (pipeline stage 0) failed")
        .expect("row-level security")
        .expect("z_secret");

    pg.sql(
        "inventory",
        "ALTER TABLE z_secret DISABLE ROW LEVEL SECURITY;",
    );
    let run = days.backup("2026-11-14");
    assert_eq!(run.status, 0, "{}", run.log);
    let file = days.site.path("inventory.sql");
    days.restore_into(&file, "dumper@inventory");
    pg.sql("postgres", "CREATE DATABASE restored");
    pg.sql_file("restored", &file);
    let query = "SELECT id, label FROM a_parts ORDER BY id";
    assert_eq!(pg.sql("restored", query), pg.sql("inventory", query));
    assert!(pg.sql("restored", query).contains("nut"));
}

#[test]
fn svnadmin_failing_keeps_the_old_slot() {
    let repo = SvnRepo::new(3);
    let name = repo.path().display().to_string();
    let days = Days::new(
        Site::new(),
        700,
        &format!("<Subversion {name}>\n\tDiffs 0\n\tFulls 2\n</Subversion>\n"),
    );
    let run = days.backup("2026-11-12");
    assert_eq!(run.status, 0, "{}", run.log);
    let before = bucket(&days.store);
    let state_path = state_file(&days.site, &name);
    let state = fs::read(&state_path).unwrap();
    repo.commit_file("trunk/file.txt", "revision 4\n");
    // Revision 2 damaged: svnadmin dumps revisions 0-1, then fails.
    let rev2 = repo.path().join("db/revs/0/2");
    let good_rev2 = fs::read(&rev2).unwrap();
    fs::write(&rev2, b"garbage\n").unwrap();
    let run = days.backup("2026-11-14");
    assert_failed_cleanly(
        &run,
        &format!("Subversion {name}"),
        &days.store,
        &before,
        Some((&state_path, &state)),
    );
    run.expect("`svnadmin` (pipeline stage 0) failed");

    fs::write(&rev2, good_rev2).unwrap();
    let run = days.backup("2026-11-14");
    assert_eq!(run.status, 0, "{}", run.log);
    let file = days.site.path("svn.dump");
    days.restore_into(&file, &name);
    let loaded = SvnRepo::from_dump(&fs::read(&file).unwrap());
    assert_eq!(loaded.youngest(), 4);
    assert_eq!(loaded.cat("trunk/file.txt"), "revision 4\n");
}
