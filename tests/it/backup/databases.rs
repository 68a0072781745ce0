//! MySQL and PostgreSQL items: real dumps from throwaway servers, stored encrypted,
//! restored by hand and loaded into fresh databases with equal rows; a dump of a missing
//! database fails only its item.

use std::fs;

use super::harness::{Site, chunks, fetch, gunzip};
use crate::support::db::{MariaDb, Postgres};
use crate::support::s3::moto;

#[test]
fn mysql_dump_round_trip_and_a_missing_database_fails_alone() {
    let db = MariaDb::start();
    db.sql(
        "CREATE DATABASE shop; CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(40)); \
         INSERT INTO shop.items VALUES (1, 'apple'), (2, 'pear; DROP TABLE x'), (3, 'o''brien');",
    );
    let server = moto();
    let store = server.store();
    let mut site = Site::new();
    // As the legacy README says: a ~/.my.cnf lets mysqldump reach the server unprompted.
    let home = site.path("home");
    fs::create_dir(&home).unwrap();
    fs::copy(db.defaults_extra_file(), home.join(".my.cnf")).unwrap();
    site.env = vec![("HOME".into(), home.display().to_string())];
    let body = "<MySQL shop>\n\tFulls 14\n</MySQL>\n<MySQL nosuchdb>\n\tFulls 14\n</MySQL>\n\
                <MySQL all>\n\tFulls 14\n\tMySQLOptions \"--single-transaction --quick\"\n</MySQL>\n";
    let conf = site.config(&server, 2000, true, body);
    // 2026-11-12: yday 315, slot 315 % 14 = 7.
    let run = site.run(&["-c", conf.to_str().unwrap()], "2026-11-12 03:00:00");
    assert_eq!(run.status, 1, "{}", run.log);
    run.expect("mysql => nosuchdb")
        .expect("Backup.S3napback.MySQL ERROR Backup of MySQL nosuchdb")
        .expect("`mysqldump` (pipeline stage 0) failed with exit status 2");
    assert!(chunks(&store, "MySQL/nosuchdb-7").is_empty());
    assert!(
        !chunks(&store, "MySQL/--all-databases-7").is_empty(),
        "{}",
        run.log
    );

    let dump = gunzip(&site.decrypt(&fetch(&store, "MySQL/shop-7")));
    db.sql("CREATE DATABASE shop_restored");
    let dump_file = site.path("shop.sql");
    fs::write(&dump_file, &dump).unwrap();
    db.sql_db("shop_restored", &format!("source {}", dump_file.display()));
    let query = "SELECT id, name FROM items ORDER BY id";
    assert_eq!(db.sql_db("shop_restored", query), db.sql_db("shop", query));
    assert!(db.sql_db("shop_restored", query).contains("o'brien"));

    // The restore command gives the same dump, decompressed, ready to load.
    let file = site.path("restored.sql");
    let run = site.run(
        &[
            "restore",
            "-c",
            conf.to_str().unwrap(),
            "--into",
            file.to_str().unwrap(),
            "shop",
        ],
        "2026-11-12 04:00:00",
    );
    assert_eq!(run.status, 0, "{}", run.log);
    assert_eq!(fs::read(&file).unwrap(), dump);
    db.sql("CREATE DATABASE shop_again");
    db.sql_db("shop_again", &format!("source {}", file.display()));
    assert_eq!(db.sql_db("shop_again", query), db.sql_db("shop", query));
}

#[test]
fn postgres_dump_round_trip() {
    let pg = Postgres::start();
    pg.sql("postgres", "CREATE DATABASE inventory");
    pg.sql(
        "inventory",
        "CREATE TABLE parts (id int primary key, label text); \
         INSERT INTO parts VALUES (1, 'bolt'), (2, 'nut | washer'), (3, 'o''ring');",
    );
    let server = moto();
    let store = server.store();
    let mut site = Site::new();
    site.env = pg.tool_env();
    let body = "<PostgreSQL postgres@inventory>\n\tFulls 7\n\tUseTempFile yes\n</PostgreSQL>\n\
                <PostgreSQL all>\n\tFulls 7\n</PostgreSQL>\n";
    let conf = site.config(&server, 1500, true, body);
    let run = site.run(&["-c", conf.to_str().unwrap()], "2026-11-12 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    // 315 % 7 = 0
    run.expect("PostgreSQL inventory -> ")
        .expect("PostgreSQL  -> ");
    assert!(!chunks(&store, "PostgreSQL/-0").is_empty());
    assert!(
        fs::read_dir(site.path("tmp")).unwrap().next().is_none(),
        "the temp file is removed"
    );

    let dump = gunzip(&site.decrypt(&fetch(&store, "PostgreSQL/inventory-0")));
    let dump_file = site.path("inventory.sql");
    fs::write(&dump_file, &dump).unwrap();
    pg.sql("postgres", "CREATE DATABASE restored");
    pg.sql_file("restored", &dump_file);
    let query = "SELECT id, label FROM parts ORDER BY id";
    assert_eq!(pg.sql("restored", query), pg.sql("inventory", query));

    // The restore command gives the same dump, byte for byte: into a file, and to stdout
    // (the run's log goes to stdout too with this log config: the dump is in it, whole).
    let into = site.path("restored-inventory.sql");
    let run = site.run(
        &[
            "restore",
            "-c",
            conf.to_str().unwrap(),
            "--into",
            into.to_str().unwrap(),
            "postgres@inventory",
        ],
        "2026-11-12 04:00:00",
    );
    assert_eq!(run.status, 0, "{}", run.log);
    assert!(fs::read(&into).unwrap() == dump, "{}", run.log);
    let run = site.run(
        &[
            "restore",
            "-c",
            conf.to_str().unwrap(),
            "--to-stdout",
            "postgres@inventory",
        ],
        "2026-11-12 04:00:00",
    );
    assert_eq!(run.status, 0, "{}", run.log);
    let dump = String::from_utf8(dump).unwrap();
    assert!(dump.contains("CREATE TABLE public.parts"), "{dump}");
    assert!(run.log.contains(&dump), "{}", run.log);
}
