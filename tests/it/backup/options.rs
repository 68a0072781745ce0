//! Real runs whose stored backup shows that an option reached the program it is for:
//! MySQLOptions (a `--where` with spaces and `--skip-extended-insert` change the rows and
//! their form), MySQL `SOCKET:DB` (the client's own socket setting points nowhere),
//! PostgreSQL `USER@DB` (only that role may read the table; PGUSER names another role) and
//! GpgKeyring (the recipient's key is only in that keyring). Each also shows that the
//! same run without the option would not give that result, so the test can fail.

use std::fs;
use std::process::Command;

use super::harness::{Site, chunks, extract, fetch, gunzip, pipe_through, tree};
use crate::support::db::{MariaDb, Postgres};
use crate::support::gpg::GpgHome;
use crate::support::s3::moto;

/// 2026-11-12: day of year 315.
const NOW: &str = "2026-11-12 03:00:00";

#[test]
fn mysql_socket_and_mysql_options_take_effect() {
    let db = MariaDb::start();
    db.sql(
        "CREATE DATABASE shop; CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(20)); \
         INSERT INTO shop.items VALUES (1, 'apple'), (2, 'pear'), (3, 'plum'); \
         CREATE DATABASE orders; CREATE TABLE orders.lines (id INT PRIMARY KEY, qty INT); \
         INSERT INTO orders.lines VALUES (1, 10), (2, 20), (3, 30);",
    );
    let server = moto();
    let store = server.store();
    let mut site = Site::new();
    // The client's own option file names a socket that does not exist: only `--socket`
    // from `SOCKET:DB` reaches the server.
    let home = site.path("home");
    fs::create_dir(&home).unwrap();
    fs::write(
        home.join(".my.cnf"),
        "[client]\nuser=root\nsocket=/nonexistent/mysqld.sock\n",
    )
    .unwrap();
    site.env = vec![("HOME".into(), home.display().to_string())];
    let without_socket = Command::new("mysqldump")
        .arg("shop")
        .env("HOME", &home)
        .env_remove("MYSQL_UNIX_PORT")
        .output()
        .unwrap();
    assert!(
        !without_socket.status.success(),
        "mysqldump must not reach the server without --socket"
    );

    let socket = db.socket().display().to_string();
    let body = format!(
        "Fulls 14\nMySQL {socket}:shop\n<MySQL {socket}:orders>\n\tFulls 14\n\
         \tMySQLOptions \"--where='id > 1' --skip-extended-insert\"\n</MySQL>\n"
    );
    let conf = site.config(&server, 100_000, false, &body);
    let run = site.run(&["-c", conf.to_str().unwrap()], NOW);
    assert_eq!(run.status, 0, "{}", run.log);

    // 315 % 14 = 7; the prefix carries the socket path
    let shop =
        String::from_utf8(gunzip(&fetch(&store, &format!("MySQL/{socket}/shop-7")))).unwrap();
    assert!(
        shop.contains("INSERT INTO `items` VALUES\n(1,'apple'),\n(2,'pear'),\n(3,'plum');"),
        "{shop}"
    );
    let orders =
        String::from_utf8(gunzip(&fetch(&store, &format!("MySQL/{socket}/orders-7")))).unwrap();
    let inserts: Vec<&str> = orders
        .lines()
        .filter(|l| l.starts_with("INSERT INTO"))
        .collect();
    assert_eq!(
        inserts,
        [
            "INSERT INTO `lines` VALUES (2,20);",
            "INSERT INTO `lines` VALUES (3,30);"
        ],
        "{orders}"
    );
    assert!(chunks(&store, &format!("MySQL/{socket}/orders-7")).len() == 1);
}

/// `PATH` with the server's own binaries first, so pg_dump matches the server.
pub(super) fn pg_first_on_path(pg: &Postgres) -> (String, String) {
    let bin = pg.bin("pg_dump");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    ("PATH".into(), path)
}

#[test]
fn postgres_user_at_database_dumps_as_that_role() {
    let pg = Postgres::start();
    pg.sql(
        "postgres",
        "CREATE ROLE vault_keeper LOGIN; CREATE ROLE bystander LOGIN",
    );
    pg.sql("postgres", "CREATE DATABASE vault");
    pg.sql(
        "vault",
        "CREATE TABLE secrets (id int primary key, word text); \
         INSERT INTO secrets VALUES (1, 'only'), (2, 'for'), (3, 'the keeper'); \
         ALTER TABLE secrets OWNER TO vault_keeper; REVOKE ALL ON secrets FROM PUBLIC",
    );
    let server = moto();
    let store = server.store();
    let mut site = Site::new();
    // PGUSER names a role that may not read the table (and the OS user is not a role).
    site.env = pg
        .env()
        .into_iter()
        .filter(|(k, _)| k != "PGUSER")
        .chain([("PGUSER".to_owned(), "bystander".to_owned())])
        .collect();
    site.env.push(pg_first_on_path(&pg));
    let bin = pg.bin("pg_dump");
    // without -U the dump runs as PGUSER and fails
    let as_pguser = Command::new(&bin)
        .arg("vault")
        .envs(site.env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(
        !as_pguser.status.success(),
        "pg_dump as bystander must fail"
    );
    assert!(
        String::from_utf8_lossy(&as_pguser.stderr).contains("permission denied"),
        "{}",
        String::from_utf8_lossy(&as_pguser.stderr)
    );

    let conf = site.config(
        &server,
        100_000,
        false,
        "<PostgreSQL vault_keeper@vault>\n\tFulls 7\n</PostgreSQL>\n",
    );
    let run = site.run(&["-c", conf.to_str().unwrap()], NOW);
    assert_eq!(run.status, 0, "{}", run.log);
    // 315 % 7 = 0
    let dump = String::from_utf8(gunzip(&fetch(&store, "PostgreSQL/vault-0"))).unwrap();
    assert!(
        dump.contains(
            "COPY public.secrets (id, word) FROM stdin;\n1\tonly\n2\tfor\n3\tthe keeper\n\\.\n"
        ),
        "{dump}"
    );
}

#[test]
fn gpg_keyring_supplies_the_recipient_key() {
    let keys = GpgHome::new();
    // GNUPGHOME has no key at all: the recipient is known only through GpgKeyring.
    let site = Site::with_gpg(GpgHome::empty());
    // (only the trust database, as a user who trusts the key would have it)
    fs::copy(
        keys.path().join("trustdb.gpg"),
        site.gpg.path().join("trustdb.gpg"),
    )
    .unwrap();
    let server = moto();
    let store = server.store();
    let src = site.path("src/tree");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("note.txt"), "sealed with the keyring's key\n").unwrap();
    let body = format!(
        "GpgKeyring {}\n<Directory {}>\n\tFulls 7\n\tDiffs 0\n</Directory>\n",
        keys.pubring().display(),
        src.display()
    );
    let conf = site.config(&server, 100_000, true, &body);
    let run = site.run(&["-c", conf.to_str().unwrap()], NOW);
    assert_eq!(run.status, 0, "{}", run.log);
    let prefix = format!("{}-0-FULL", src.display());
    let sealed = fetch(&store, &prefix);
    let plain = pipe_through(&keys.argv(&["--quiet", "-d"]), &sealed);
    let out = site.path("out");
    extract(&plain, &out);
    assert_eq!(
        tree(&out.join(src.strip_prefix("/").unwrap())),
        tree(&src),
        "the decrypted backup is the tree"
    );

    // the same config without GpgKeyring: gpg does not know the recipient
    let without = site.config(
        &server,
        100_000,
        true,
        &body.replace(&format!("GpgKeyring {}\n", keys.pubring().display()), ""),
    );
    let run = site.run(&["-c", without.to_str().unwrap()], NOW);
    assert_ne!(run.status, 0, "{}", run.log);
    run.expect("GPG recipient backup@example.com not found");
}
