//! Names the legacy naming makes share a snapshot file or an object prefix. A config the
//! legacy ran still runs: test mode prints the legacy's lines (exit 0); in a real run the
//! same thing configured in several scopes is backed up in each (one WARN), while two
//! distinct things whose names collide fail each run with an ERROR naming both, their
//! lines and what they share (exit 1), and every other item of the file is stored.

use std::fs;

use super::{GLOBALS, Scratch};
use crate::backup::harness::{Site, make_tree, prefixes};
use crate::backup::reused_slots::Days;
use crate::support::db::{MariaDb, Postgres};
use crate::support::s3::moto;
use crate::support::svn::SvnRepo;

/// The site's config has 8 lines before the body, 9 with `GpgRecipient` (encrypted, as
/// [`Days`] writes it): line `n` of the body is line `PLAIN + n` or `ENCRYPTED + n`.
const PLAIN: usize = 8;
const ENCRYPTED: usize = 9;

/// One of two colliding items: (kind as configured, name, line of the body).
type Party<'a> = (&'a str, &'a str, usize);

/// Asserts that `log` fails each of two colliding items with the same ERROR exactly once:
/// `later` (the second in the file) and `earlier` named with their lines and `shared`.
fn assert_collision(
    log: &str,
    category: &str,
    conf: &str,
    before_body: usize,
    later: Party<'_>,
    earlier: Party<'_>,
    shared: &str,
) {
    let message = format!(
        "{} {:?} (at {conf}:{}) and {} {:?} (at {conf}:{}) share {shared}: neither is backed \
         up until one of them is renamed or removed",
        later.0,
        later.1,
        before_body + later.2,
        earlier.0,
        earlier.1,
        before_body + earlier.2,
    );
    for (kind, name, _) in [later, earlier] {
        let line = format!("Backup.S3napback.{category} ERROR {kind} {name}: {message}\n");
        assert_eq!(log.matches(&line).count(), 1, "{line}\n{log}");
    }
}

/// Test mode runs such a config as the legacy did: exit 0, both items announced.
fn test_mode_runs(body: &str, announced: &[&str]) {
    let s = Scratch::new();
    let conf = s.write("x.conf", &format!("{GLOBALS}{body}"));
    let out = s.test_run(&conf, &[]);
    assert_eq!(out.code, 0, "{body}:\n{}", out.text);
    // a name announced twice (MySQL a/b and a:b both print `MySQL a/b`) is counted twice
    for want in announced {
        let times = announced.iter().filter(|w| *w == want).count();
        assert_eq!(
            out.text.matches(&format!("{want} -> b:")).count(),
            times,
            "{want:?} {times} times in:\n{}",
            out.text
        );
    }
    assert!(!out.text.contains("ERROR"), "{}", out.text);
}

#[test]
fn colliding_names_keep_the_legacy_test_mode() {
    test_mode_runs(
        "Directory /srv/a_b\n<Cycle w>\nDirectory /srv/a/b\n</Cycle>\n",
        &["Directory /srv/a_b", "Directory /srv/a/b"],
    );
    test_mode_runs(
        "MySQL a/b\n<MySQL a:b>\n</MySQL>\n",
        &["MySQL a/b", "MySQL a/b"],
    );
    test_mode_runs(
        "PostgreSQL db\nPostgreSQL postgres@db\n",
        &["PostgreSQL db", "PostgreSQL db"],
    );
    // the legacy README's pattern: one directory in two cycles
    test_mode_runs(
        "Directory /etc /home\n<Cycle weekly>\nFrequency 7\nDirectory /etc\n</Cycle>\n",
        &["Directory /etc", "Directory /home", "Directory /etc"],
    );
}

#[test]
fn distinct_directories_sharing_a_snapshot_file_fail_and_the_others_are_stored() {
    let site = Site::new();
    for d in ["srv/a_b", "srv/a/b", "srv/other"] {
        make_tree(&site.path(d));
    }
    let root = site.root.path().display().to_string();
    let body = format!(
        "Diffs 6\nFulls 2\nDirectory {root}/srv/a_b\nDirectory {root}/srv/other\n\
         <Cycle w>\nDiffs 6\nFulls 2\nDirectory {root}/srv/a/b\n</Cycle>\n"
    );
    let days = Days::new(site, 100_000, &body);
    let conf = days.conf.display().to_string();
    // 2026-11-12 (day of year 315, slot 7 of 14): a FULL day
    for day in ["2026-11-12", "2026-11-13"] {
        let run = days.backup(day);
        assert_eq!(run.status, 1, "{}", run.log);
        // the site's config has 9 lines before the body
        let message = format!(
            "Directory \"{root}/srv/a/b\" (at {conf}:17) and Directory \"{root}/srv/a_b\" \
             (at {conf}:12) share the snapshot file \"{}.diff\": neither is backed up until \
             one of them is renamed or removed",
            format!("{root}/srv/a_b").replace('/', "_")
        );
        for item in ["srv/a_b", "srv/a/b"] {
            let line =
                format!("Backup.S3napback.Directory ERROR Directory {root}/{item}: {message}\n");
            assert_eq!(run.log.matches(&line).count(), 1, "{line}\n{}", run.log);
        }
        let stored = prefixes(&days.store);
        assert!(
            stored
                .iter()
                .all(|p| p.starts_with(&format!("{root}/srv/other-"))),
            "{stored:?}"
        );
        assert!(!stored.is_empty());
    }
    // neither colliding item touched DiffDir; the other item's state file is there
    let states: Vec<String> = fs::read_dir(days.site.diff_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".diff"))
        .collect();
    assert_eq!(
        states,
        [format!(
            "{}.diff",
            format!("{root}/srv/other").replace('/', "_")
        )]
    );
}

#[test]
fn mysql_names_sharing_a_prefix_fail_and_the_other_database_is_stored() {
    let db = MariaDb::start();
    db.sql("CREATE DATABASE keep; CREATE TABLE keep.t (id INT PRIMARY KEY); INSERT INTO keep.t VALUES (1);");
    let server = moto();
    let mut site = Site::new();
    let home = site.path("home");
    fs::create_dir(&home).unwrap();
    fs::copy(db.defaults_extra_file(), home.join(".my.cnf")).unwrap();
    site.env = vec![("HOME".into(), home.display().to_string())];
    let keep = format!("{}:keep", db.socket().display());
    // `a/b` is database "a/b"; `a:b` is database "b" on socket "a": both MySQL/a/b
    let conf = site.config(
        &server,
        1000,
        false,
        &format!("Fulls 2\nMySQL a/b\n<MySQL a:b>\n</MySQL>\nMySQL {keep}\n"),
    );
    let conf = conf.display().to_string();
    let run = site.run(&["-c", &conf], "2026-11-12 03:00:00");
    assert_eq!(run.status, 1, "{}", run.log);
    assert_collision(
        &run.log,
        "MySQL",
        &conf,
        PLAIN,
        ("MySQL", "a:b", 3),
        ("MySQL", "a/b", 2),
        "the object prefix \"MySQL/a/b\"",
    );
    let stored = prefixes(&server.store());
    let want = format!("MySQL/{}/keep-", db.socket().display());
    assert!(!stored.is_empty());
    assert!(stored.iter().all(|p| p.starts_with(&want)), "{stored:?}");
}

#[test]
fn postgres_user_at_db_and_db_fail_and_the_other_database_is_stored() {
    let pg = Postgres::start();
    pg.sql("postgres", "CREATE DATABASE db");
    pg.sql("postgres", "CREATE DATABASE keep");
    let server = moto();
    let mut site = Site::new();
    site.env = pg.tool_env();
    let conf = site.config(
        &server,
        1000,
        false,
        "Fulls 2\nPostgreSQL db\nPostgreSQL postgres@db\nPostgreSQL postgres@keep\n",
    );
    let conf = conf.display().to_string();
    let run = site.run(&["-c", &conf], "2026-11-12 03:00:00");
    assert_eq!(run.status, 1, "{}", run.log);
    assert_collision(
        &run.log,
        "PostgreSQL",
        &conf,
        PLAIN,
        ("PostgreSQL", "postgres@db", 3),
        ("PostgreSQL", "db", 2),
        "the object prefix \"PostgreSQL/db\"",
    );
    let stored = prefixes(&server.store());
    assert!(!stored.is_empty());
    assert!(
        stored.iter().all(|p| p.starts_with("PostgreSQL/keep-")),
        "{stored:?}"
    );
}

#[test]
fn a_subversion_repository_and_a_directory_of_the_same_path_fail_and_the_others_are_stored() {
    let repo = SvnRepo::new(2);
    let name = repo.path().display().to_string();
    let site = Site::new();
    let other = site.path("srv/other");
    make_tree(&other);
    let other = other.display().to_string();
    let body =
        format!("Diffs 6\nFulls 2\nDirectory {name}\nSubversion {name}\nDirectory {other}\n");
    let days = Days::new(site, 100_000, &body);
    let conf = days.conf.display().to_string();
    let run = days.backup("2026-11-12");
    assert_eq!(run.status, 1, "{}", run.log);
    // the Directory logs under Directory, the repository under Subversion
    let message = format!(
        "Subversion {name:?} (at {conf}:{}) and Directory {name:?} (at {conf}:{}) share \
         the snapshot file {:?}: neither is backed up until one of them is renamed or removed",
        ENCRYPTED + 4,
        ENCRYPTED + 3,
        format!("{}.diff", name.replace('/', "_")),
    );
    for (category, kind) in [("Directory", "Directory"), ("Subversion", "Subversion")] {
        let line = format!("Backup.S3napback.{category} ERROR {kind} {name}: {message}\n");
        assert_eq!(run.log.matches(&line).count(), 1, "{line}\n{}", run.log);
    }
    let stored = prefixes(&days.store);
    assert!(!stored.is_empty());
    assert!(
        stored.iter().all(|p| p.starts_with(&format!("{other}-"))),
        "{stored:?}"
    );
}

#[test]
fn a_subversion_dir_configured_twice_is_backed_up_with_one_warning() {
    // the same SubversionDir spelled with and without its trailing `/`, in two scopes:
    // the same thing, not a collision: one WARN, its repository stored, exit 0
    let repo = SvnRepo::new(2);
    let dir = repo.path().parent().unwrap().display().to_string();
    let member = repo.path().display().to_string();
    let site = Site::new();
    let body = format!(
        "Diffs 6\nFulls 2\nSubversionDir {dir}\n<Cycle w>\nDiffs 6\nFulls 2\n\
         SubversionDir {dir}/\n</Cycle>\n"
    );
    let days = Days::new(site, 100_000, &body);
    let conf = days.conf.display().to_string();
    let run = days.backup("2026-11-12");
    assert_eq!(run.status, 0, "{}", run.log);
    assert!(!run.log.contains(" ERROR "), "{}", run.log);
    let warning = format!(
        "SubversionDir {dir:?} is configured 2 times ({conf}:{}, {conf}:{}): each backs it up \
         on its own schedule, sharing the repositories of {dir:?}",
        ENCRYPTED + 3,
        ENCRYPTED + 7,
    );
    assert_eq!(
        run.log.matches(&warning).count(),
        1,
        "{warning}\n{}",
        run.log
    );
    let stored = prefixes(&days.store);
    assert!(stored.contains(&format!("{member}-7-FULL")), "{stored:?}");
}
