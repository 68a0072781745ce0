//! Hostile names in every item kind: spaces, both quotes, `;`, `$()`, backticks and a
//! leading `-` (as a path component for directories and repositories, as the whole name for
//! databases) are backed up and restored, and nothing is interpreted: every program gets an
//! argument vector (with `--` before the name), and the `$(touch ...)` never runs.
//!
//! A newline cannot be part of an item name: the legacy config syntax is one directive per
//! line and a quoted value does not span lines. Files *inside* a backed-up directory may
//! have any name, newline included, and that is covered.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::backup::harness::{Site, restored, tree};
use crate::support::db::{MariaDb, Postgres};
use crate::support::s3::moto;
use crate::support::svn::SvnRepo;
use crate::support::tool;

/// A name with everything a shell would interpret; `$(touch MARKER)` proves nothing ran.
fn hostile(marker: &Path) -> String {
    format!(
        "-x we ird;$(touch {}) `touch {0}` 'q' \"d\"",
        marker.display()
    )
}

/// A database name with everything a shell would interpret, short enough for MariaDB
/// and PostgreSQL; a `touch M` that ran would leave `M` in the working directory.
const SHORT: &str = "-x we ird;$(touch M) `touch M` 'q' \"d\"";

/// A config value for `name`: double-quoted, `"` escaped as the config syntax allows.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\\\""))
}

fn run_ok(site: &Site, args: &[&str], now: &str) -> String {
    let run = site.run(args, now);
    assert_eq!(run.status, 0, "{args:?}:\n{}", run.log);
    run.log
}

fn restore_to_stdout(site: &Site, conf: &Path, item: &str) -> Vec<u8> {
    // after every backup of these tests; no log config, so stdout is the stream alone
    let now = "2026-11-20 03:00:00";
    site.set_server_clock(now);
    let mut cmd = tool::command(
        ["restore", "-c", conf.to_str().unwrap(), "--to-stdout", item],
        now,
    );
    site.prepare(&mut cmd);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn directory_with_a_hostile_name_and_hostile_file_names() {
    let server = moto();
    let site = Site::new();
    let marker = site.path("MARKER");
    let src: PathBuf = site.path(&hostile(&marker));
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("plain.txt"), "plain\n").unwrap();
    fs::write(src.join("new\nline;$(touch x)`y`.txt"), "newline\n").unwrap();
    fs::write(src.join("sub/-rf 'a' \"b\""), "dash\n").unwrap();
    let conf = site.config(
        &server,
        500,
        true,
        &format!("Directory {}\n", quoted(src.to_str().unwrap())),
    );
    let c = conf.to_str().unwrap();
    run_ok(&site, &["-c", c], "2026-11-12 03:00:00");
    fs::write(src.join("sub/later $(x).txt"), "diff\n").unwrap();
    run_ok(&site, &["-c", c], "2026-11-13 03:00:00");

    let into = site.path("out");
    let log = run_ok(
        &site,
        &[
            "restore",
            "-c",
            c,
            "--into",
            into.to_str().unwrap(),
            src.to_str().unwrap(),
        ],
        "2026-11-13 04:00:00",
    );
    assert_eq!(tree(&restored(&into, &src)), tree(&src), "{log}");
    assert!(!marker.exists(), "a name was interpreted by a shell");
}

#[test]
fn subversion_repository_with_a_hostile_path() {
    let server = moto();
    let site = Site::new();
    let marker = site.path("MARKER");
    let original = SvnRepo::new(3);
    let repo = site.path(&hostile(&marker)).join("repo");
    fs::create_dir_all(repo.parent().unwrap()).unwrap();
    assert!(
        Command::new("cp")
            .arg("-a")
            .arg(original.path())
            .arg(&repo)
            .status()
            .unwrap()
            .success()
    );
    let body = format!(
        "<Subversion {}>\nFulls 2\n</Subversion>\n",
        quoted(repo.to_str().unwrap())
    );
    let conf = site.config(&server, 700, true, &body);
    let c = conf.to_str().unwrap();
    run_ok(&site, &["-c", c], "2026-11-12 03:00:00");

    // restore gives the dump itself, decompressed: svnadmin's plain dump format
    let dump = restore_to_stdout(&site, &conf, repo.to_str().unwrap());
    assert!(
        dump.starts_with(b"SVN-fs-dump-format-version: "),
        "not a plain svnadmin dump: {:?}",
        String::from_utf8_lossy(&dump[..dump.len().min(40)])
    );
    let loaded = SvnRepo::from_dump(&dump);
    assert_eq!(loaded.youngest(), 3);
    assert_eq!(loaded.cat("trunk/file.txt"), original.cat("trunk/file.txt"));
    assert!(!marker.exists(), "a name was interpreted by a shell");
}

#[test]
fn mysql_database_with_a_hostile_name() {
    let db = MariaDb::start();
    let mut site = Site::new();
    // MariaDB names are at most 64 characters: a marker relative to the working directory.
    let name = SHORT.to_string();
    let ident = format!("`{}`", name.replace('`', "``"));
    db.sql(&format!(
        "CREATE DATABASE {ident}; CREATE TABLE {ident}.t (id INT PRIMARY KEY, v TEXT); \
         INSERT INTO {ident}.t VALUES (1, 'one'), (2, 'two; $(x)');"
    ));
    let server = moto();
    let home = site.path("home");
    fs::create_dir(&home).unwrap();
    fs::copy(db.defaults_extra_file(), home.join(".my.cnf")).unwrap();
    site.env = vec![("HOME".into(), home.display().to_string())];
    let item = format!("{}:{name}", db.socket().display());
    let conf = site.config(
        &server,
        1000,
        false,
        &format!("<MySQL {}>\nFulls 14\n</MySQL>\n", quoted(&item)),
    );
    run_ok(
        &site,
        &["-c", conf.to_str().unwrap()],
        "2026-11-12 03:00:00",
    );

    let dump = restore_to_stdout(&site, &conf, &item);
    let file = site.path("dump.sql");
    fs::write(&file, &dump).unwrap();
    db.sql("CREATE DATABASE restored");
    db.sql_db("restored", &format!("source {}", file.display()));
    let query = "SELECT id, v FROM t ORDER BY id";
    assert_eq!(db.sql_db("restored", query), db.sql_db(&name, query));
    assert!(db.sql_db("restored", query).contains("two; $(x)"));
    assert!(
        !Path::new("M").exists(),
        "a name was interpreted by a shell"
    );
}

#[test]
fn postgres_database_with_a_hostile_name() {
    let pg = Postgres::start();
    let mut site = Site::new();
    // PostgreSQL names are at most 63 bytes: a marker relative to the working directory.
    let name = SHORT.to_string();
    let ident = format!("\"{}\"", name.replace('"', "\"\""));
    pg.sql("postgres", &format!("CREATE DATABASE {ident}"));
    pg.sql(
        &name,
        "CREATE TABLE t (id int primary key, v text); INSERT INTO t VALUES (1, 'a | b');",
    );
    let server = moto();
    site.env = pg.env();
    let bin = pg.bin("pg_dump");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap()
    );
    site.env.push(("PATH".into(), path));
    let item = format!("postgres@{name}");
    let conf = site.config(
        &server,
        1000,
        false,
        &format!("<PostgreSQL {}>\nFulls 7\n</PostgreSQL>\n", quoted(&item)),
    );
    let log = run_ok(
        &site,
        &["-c", conf.to_str().unwrap()],
        "2026-11-12 03:00:00",
    );
    assert!(log.contains(&format!("PostgreSQL {name} -> ")), "{log}");

    let dump = restore_to_stdout(&site, &conf, &item);
    let file = site.path("dump.sql");
    fs::write(&file, &dump).unwrap();
    pg.sql("postgres", "CREATE DATABASE restored");
    pg.sql_file("restored", &file);
    let query = "SELECT id, v FROM t ORDER BY id";
    assert_eq!(pg.sql("restored", query), pg.sql(&name, query));
    assert!(
        !Path::new("M").exists(),
        "a name was interpreted by a shell"
    );
}
