//! Issue 17: immutable backups with S3 Object Lock, against moto's versioned, locked
//! buckets. Every object a run stores under a slot key is locked until the slot's next
//! scheduled rewrite plus the grace, the FULL of a chain as long as its newest DIFF,
//! staging objects not at all; after an attack with the run's own credentials,
//! `restore --at` a day before it gives that day exactly and `status` names the keys; a
//! bucket without Object Lock stores nothing.

use std::collections::BTreeMap;
use std::fs;

use s3napback::store::commit::Record;
use s3napback::store::keys::parse_chunk_key;
use s3napback::store::lock::{LockMode, Retention};
use s3napback::store::{ReadStore, Store};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::backup::harness::{Site, gunzip, make_tree, noise, restored, tree};
use crate::support::db::MariaDb;
use crate::support::s3::{S3Server, moto};
use crate::support::s3admin::Admin;
use crate::support::svn::SvnRepo;

const CHUNK: u64 = 700;

/// A daily cycle (14 slots: 2026-11-12 is slot 7, a FULL) locked in COMPLIANCE mode with
/// a grace of 3 days, plus `items`.
fn locked_config(items: &str) -> String {
    format!(
        "ObjectLockMode COMPLIANCE\nObjectLockGrace 3\n<Cycle daily>\n\tDiffs 6\n\tFulls 2\n{items}</Cycle>\n"
    )
}

/// Each current slot chunk's lock, by key (moto: HeadObject of the current version).
fn locks(server: &S3Server) -> BTreeMap<String, Option<Retention>> {
    let store = server.store();
    store
        .list_versions("")
        .unwrap()
        .into_iter()
        .filter(|v| v.is_latest && !v.delete_marker && parse_chunk_key(&v.key).is_some())
        .map(|v| {
            let lock = store.retention_of(&v.key, &v.version_id).unwrap();
            (v.key, lock)
        })
        .collect()
}

fn until(key: &str, locks: &BTreeMap<String, Option<Retention>>) -> OffsetDateTime {
    let lock = locks[key].unwrap_or_else(|| panic!("{key} is not locked"));
    assert_eq!(lock.mode, LockMode::Compliance, "{key}");
    lock.until
}

#[test]
fn slots_are_locked_until_their_next_rewrite_and_a_full_as_long_as_its_diffs() {
    let server = moto();
    Admin::new(&server).create_locked_bucket();
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let name = src.display().to_string();
    let conf = site.config(
        &server,
        CHUNK,
        true,
        &locked_config(&format!("\tDirectory {name}\n")),
    );
    let conf = conf.to_str().unwrap();
    let full = format!("{name}-7-FULL:00000000000000000000");

    let run = site.run(&["-c", conf], "2026-11-12 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    let day_1 = locks(&server);
    // slot 7 comes again on 2026-11-26: locked to the end of the day after it (whatever
    // the time of day and zone of that run), plus 3 days of grace
    assert_eq!(until(&full, &day_1), datetime!(2026-12-01 00:00 UTC));
    assert!(day_1.len() > 1, "several chunks: {day_1:?}");
    for key in day_1.keys() {
        assert_eq!(until(key, &day_1), datetime!(2026-12-01 00:00 UTC), "{key}");
    }

    for (n, now) in [(8, "2026-11-13 03:00:00"), (9, "2026-11-14 03:00:00")] {
        fs::write(src.join("a.txt"), format!("day {n}\n")).unwrap();
        // incompressible: each DIFF spans several chunks
        fs::write(src.join(format!("noise-{n}.bin")), noise(3000, n)).unwrap();
        let run = site.run(&["-c", conf], now);
        assert_eq!(run.status, 0, "{}", run.log);
    }
    let day_3 = locks(&server);
    // slot 9 comes again on 2026-11-28: every chunk of it, and of the chain it builds on
    // (the FULL and the first DIFF), is kept that long, not only chunk 0
    let chain = [
        format!("{name}-7-FULL:"),
        format!("{name}-8-DIFF:"),
        format!("{name}-9-DIFF:"),
    ];
    let chain_until = |locks: &BTreeMap<String, Option<Retention>>, want: OffsetDateTime| {
        for slot in &chain {
            let keys: Vec<&String> = locks.keys().filter(|k| k.starts_with(slot)).collect();
            assert!(keys.len() > 1, "several chunks of {slot}: {locks:?}");
            for key in keys {
                assert_eq!(until(key, locks), want, "{key}");
            }
        }
    };
    chain_until(&day_3, datetime!(2026-12-03 00:00 UTC));

    // locks only grow: a later run whose chain lock is shorter (no grace: slot 10 comes
    // again on 2026-11-29, locked to 2026-12-01) leaves the longer locks as they are
    let text = fs::read_to_string(conf)
        .unwrap()
        .replace("ObjectLockGrace 3\n", "ObjectLockGrace 0\n");
    fs::write(conf, text).unwrap();
    fs::write(src.join("a.txt"), "day 10\n").unwrap();
    fs::write(src.join("noise-10.bin"), noise(3000, 10)).unwrap();
    let run = site.run(&["-c", conf], "2026-11-15 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    let day_4 = locks(&server);
    let tenth = format!("{name}-10-DIFF:00000000000000000000");
    assert_eq!(until(&tenth, &day_4), datetime!(2026-12-01 00:00 UTC));
    chain_until(&day_4, datetime!(2026-12-03 00:00 UTC));

    // staging objects and commit markers are never locked: all deletable now
    let store = server.store();
    let reserved: Vec<_> = store
        .list_versions(".s3napback/")
        .unwrap()
        .into_iter()
        .filter(|v| !v.delete_marker && !v.key.starts_with(".s3napback/record/"))
        .collect();
    assert!(!reserved.is_empty());
    for v in &reserved {
        assert_eq!(
            store.retention_of(&v.key, &v.version_id).unwrap(),
            None,
            "{}",
            v.key
        );
    }
    // the commit records name the versions of every chunk the commit wrote and the lock
    // they got, and are locked like their slots
    let records: Vec<_> = store
        .list_versions(".s3napback/record/")
        .unwrap()
        .into_iter()
        .filter(|v| v.is_latest)
        .collect();
    assert_eq!(records.len(), 4, "{records:?}");
    let current: BTreeMap<String, String> = store
        .list_versions(&name)
        .unwrap()
        .into_iter()
        .filter(|v| v.is_latest && !v.delete_marker)
        .map(|v| (v.key, v.version_id))
        .collect();
    let committed = [
        ("7-FULL", datetime!(2026-12-01 00:00 UTC)),
        ("8-DIFF", datetime!(2026-12-02 00:00 UTC)),
        ("9-DIFF", datetime!(2026-12-03 00:00 UTC)),
        ("10-DIFF", datetime!(2026-12-01 00:00 UTC)),
    ];
    for (slot, lock_until) in committed {
        let slot = format!("{name}-{slot}");
        let v = records
            .iter()
            .find(|v| v.key == format!(".s3napback/record/{slot}"))
            .unwrap_or_else(|| panic!("no record of {slot}: {records:?}"));
        let record: Record = serde_json::from_slice(&store.get(&v.key).unwrap()).unwrap();
        assert_eq!(record.slot, slot);
        assert_eq!(
            record.lock,
            Retention {
                mode: LockMode::Compliance,
                until: lock_until
            },
            "{slot}"
        );
        let chunks: Vec<(&String, &String)> = current
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{slot}:")))
            .collect();
        assert!(chunks.len() > 1, "{slot}: {current:?}");
        assert_eq!(record.chunks, chunks.len() as u64, "{slot}");
        let named: Vec<Option<String>> = chunks.iter().map(|(_, id)| Some((*id).clone())).collect();
        assert_eq!(record.versions, named, "{slot}");
        let lock = store
            .retention_of(&v.key, &v.version_id)
            .unwrap()
            .unwrap_or_else(|| panic!("{} is not locked", v.key));
        assert_eq!(lock.mode, LockMode::Compliance, "{}", v.key);
        assert!(lock.until >= lock_until, "{}: {lock:?}", v.key);
    }
}

#[test]
fn after_an_attack_with_the_runs_own_key_restore_at_gives_the_day_before_exactly() {
    let server = moto();
    let attacker = Admin::new(&server);
    attacker.create_locked_bucket();
    let db = MariaDb::start();
    db.sql("CREATE DATABASE shop; CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(40));");
    let repo = SvnRepo::new(1);
    let mut site = Site::new();
    let home = site.path("home");
    fs::create_dir(&home).unwrap();
    fs::copy(db.defaults_extra_file(), home.join(".my.cnf")).unwrap();
    site.env = vec![("HOME".into(), home.display().to_string())];
    let src = site.path("src/tree");
    make_tree(&src);
    let name = src.display().to_string();
    let repo_name = repo.path().display().to_string();
    let items = format!("\tDirectory {name}\n\tSubversion {repo_name}\n\tMySQL shop\n");
    let conf = site.config(&server, CHUNK, true, &locked_config(&items));
    let conf = conf.to_str().unwrap();

    let days = ["2026-11-12", "2026-11-13", "2026-11-14"];
    let mut dump_of_day_3 = String::new();
    for (n, day) in days.iter().enumerate() {
        fs::write(src.join("a.txt"), format!("day {n}\n")).unwrap();
        fs::write(src.join(format!("new-{n}.txt")), format!("{day}\n")).unwrap();
        repo.commit_file("trunk/file.txt", &format!("on {day}\n"));
        db.sql(&format!(
            "INSERT INTO shop.items VALUES ({n}, 'item of {day}')"
        ));
        let run = site.run(&["-c", conf], &format!("{day} 03:00:00"));
        assert_eq!(run.status, 0, "{}", run.log);
        dump_of_day_3 = db.sql_db("shop", "SELECT id, name FROM items ORDER BY id");
    }
    let source_of_day_3 = tree(&src);

    // 2026-11-14 12:00, before the end of the day `--at 2026-11-14` names: forged
    // versions of the newest DIFF's first chunk and of the dump's, dated before the date,
    // so that "the newest version before the date" would take them. The tool's records
    // do not name them: restore --at, cat --at and verify --at must pass them over.
    server.set_clock("2026-11-14 12:00:00");
    let forged = [
        format!("{name}-9-DIFF:00000000000000000000"),
        "MySQL/shop-1:00000000000000000000".to_string(),
    ];
    // locked, as the run's own key can: the attack below cannot remove them either
    let store = server.store();
    let forged_lock = Retention {
        mode: LockMode::Compliance,
        until: datetime!(2027-01-01 00:00 UTC),
    };
    for key in &forged {
        store
            .put_locked(
                key,
                b"forged before the date\n".to_vec().into(),
                &forged_lock,
            )
            .unwrap();
    }
    for key in &forged {
        let newest = store
            .list_versions(key)
            .unwrap()
            .into_iter()
            .find(|v| &v.key == key && v.is_latest)
            .unwrap();
        assert_eq!(newest.size, 23, "{newest:?}");
        assert!(
            newest.last_modified >= datetime!(2026-11-14 12:00 UTC)
                && newest.last_modified < datetime!(2026-11-14 13:00 UTC),
            "{newest:?}"
        );
    }

    // 2026-11-15: the host is taken; the attacker uses the run's own credentials.
    server.set_clock("2026-11-15 12:00:00");
    let damage = attacker.destroy_everything();
    assert!(damage.keys > 0);
    assert!(damage.versions_refused > 0, "{damage:?}");
    assert!(
        damage.versions_deleted > 0,
        "{damage:?} (staging and markers are not locked)"
    );
    assert!(
        attacker.keys().is_empty(),
        "every key is deleted: {:?}",
        attacker.keys()
    );

    // the forged versions outlived the attack (locked): still there to be passed over
    for key in &forged {
        let kept = store
            .list_versions(key)
            .unwrap()
            .into_iter()
            .filter(|v| &v.key == key && v.size == 23)
            .count();
        assert_eq!(kept, 1, "{key}");
    }

    // status names the tampered keys of every item, and exits 1
    let status = site.run(&["status", "-c", conf], "2026-11-15 13:00:00");
    assert_eq!(status.status, 1, "{}", status.log);
    for slot in [
        format!("{name}-7-FULL"),
        format!("{name}-9-DIFF"),
        format!("{repo_name}-9-DIFF"),
        "MySQL/shop-1".to_string(),
    ] {
        status.expect(&format!("TAMPERED: {slot}:00000000000000000000: "));
    }

    // the versions are there to see, and the slots as of the day before check out
    let list = site.run(&["list", "-c", conf, "--versions"], "2026-11-15 13:00:00");
    assert_eq!(list.status, 0, "{}", list.log);
    list.expect("deleted        ")
        .expect(&format!("{name}-7-FULL:00000000000000000000"));
    let verify = site.run(
        &["verify", "-c", conf, "--at", "2026-11-14"],
        "2026-11-15 13:00:00",
    );
    assert_eq!(verify.status, 0, "{}", verify.log);

    // restore --at the day before the attack: that day's source, exactly
    let out = site.path("out");
    let run = site.run(
        &[
            "restore",
            "-c",
            conf,
            "--at",
            "2026-11-14",
            "--into",
            out.to_str().unwrap(),
            &name,
        ],
        "2026-11-15 13:00:00",
    );
    assert_eq!(run.status, 0, "{}", run.log);
    assert_eq!(tree(&restored(&out, &src)), source_of_day_3);

    // cat --at: the stream of a slot as it was, as stored (gzip)
    // (the default log configuration: log lines on stderr, the stream alone on stdout)
    let now = "2026-11-15 13:00:00";
    site.set_server_clock(now);
    let mut cat = crate::support::tool::command(
        vec!["cat", "-c", conf, "--at", "2026-11-14", "MySQL/shop-1"],
        now,
    );
    site.prepare(&mut cat);
    let cat = cat.output().unwrap();
    assert!(
        cat.status.success(),
        "{}",
        String::from_utf8_lossy(&cat.stderr)
    );
    assert!(
        cat.stdout.starts_with(&[0x1f, 0x8b]),
        "{:?}",
        &cat.stdout[..cat.stdout.len().min(64)]
    );
    let dump_by_cat = gunzip(&cat.stdout);

    let sql = site.path("shop.sql");
    let run = site.run(
        &[
            "restore",
            "-c",
            conf,
            "--at",
            "2026-11-14",
            "--into",
            sql.to_str().unwrap(),
            "shop",
        ],
        "2026-11-15 13:00:00",
    );
    assert_eq!(run.status, 0, "{}", run.log);
    db.sql("CREATE DATABASE shop_restored");
    db.sql_db("shop_restored", &format!("source {}", sql.display()));
    assert_eq!(
        db.sql_db("shop_restored", "SELECT id, name FROM items ORDER BY id"),
        dump_of_day_3
    );
    assert_eq!(fs::read(&sql).unwrap(), dump_by_cat);

    let dump = site.path("repo.dump");
    let run = site.run(
        &[
            "restore",
            "-c",
            conf,
            "--at",
            "2026-11-14",
            "--into",
            dump.to_str().unwrap(),
            &repo_name,
        ],
        "2026-11-15 13:00:00",
    );
    assert_eq!(run.status, 0, "{}", run.log);
    let loaded = SvnRepo::from_dump(&fs::read(&dump).unwrap());
    assert_eq!(loaded.youngest(), repo.youngest());
    assert_eq!(loaded.cat("trunk/file.txt"), "on 2026-11-14\n");
}

#[test]
fn a_bucket_without_object_lock_stores_nothing_and_says_how_to_enable_it() {
    let server = moto();
    let store = server.store(); // a plain bucket
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let name = src.display().to_string();
    let conf = site.config(
        &server,
        CHUNK,
        true,
        &locked_config(&format!("\tDirectory {name}\n")),
    );
    let run = site.run(&["-c", conf.to_str().unwrap()], "2026-11-12 03:00:00");
    assert_eq!(run.status, 1, "{}", run.log);
    run.expect("ERROR bucket s3napback-test: ObjectLockMode is set, but the bucket has no Object Lock: run `s3napback prepare-bucket -c")
        .expect("nothing was stored or removed");
    assert!(store.list("").unwrap().is_empty());
    let state_files: Vec<_> = fs::read_dir(site.diff_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".diff"))
        .collect();
    assert!(state_files.is_empty(), "{state_files:?}");
}

#[test]
fn status_flags_a_kept_slot_whose_lock_has_ended() {
    let server = moto();
    Admin::new(&server).create_locked_bucket();
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let name = src.display().to_string();
    let conf = site.config(
        &server,
        CHUNK,
        false,
        &locked_config(&format!("\tDirectory {name}\n")),
    );
    let conf = conf.to_str().unwrap();
    let run = site.run(&["-c", conf], "2026-11-12 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    // the next day nothing is wrong
    let status = site.run(&["status", "-c", conf], "2026-11-13 01:00:00");
    assert_eq!(status.status, 0, "{}", status.log);
    assert!(!status.log.contains("TAMPERED"), "{}", status.log);
    // no run since: on 2026-12-02 the lock (until 2026-12-01) is over
    let status = site.run(&["status", "-c", conf], "2026-12-02 01:00:00");
    assert_eq!(status.status, 1, "{}", status.log);
    status.expect(&format!(
        "TAMPERED: {name}-7-FULL:00000000000000000000: its lock ended 2026-12-01"
    ));
}

#[test]
fn a_server_without_object_lock_says_so() {
    let server = crate::support::s3::garage();
    let store = server.store();
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let name = src.display().to_string();
    let conf = site.config(
        &server,
        CHUNK,
        false,
        &locked_config(&format!("\tDirectory {name}\n")),
    );
    let run = site.run(&["-c", conf.to_str().unwrap()], "2026-11-12 03:00:00");
    assert_eq!(run.status, 1, "{}", run.log);
    run.expect("ObjectLockMode is set, but the S3 server does not support Object Lock");
    assert!(store.list("").unwrap().is_empty());
}

#[test]
fn a_bucket_default_retention_is_allowed_with_a_warning_of_its_cost() {
    let server = moto();
    let attacker = Admin::new(&server);
    attacker.create_locked_bucket();
    attacker.set_default_retention("GOVERNANCE", 5);
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let name = src.display().to_string();
    let conf = site.config(
        &server,
        CHUNK,
        false,
        &locked_config(&format!("\tDirectory {name}\n")),
    );
    let run = site.run(&["-c", conf.to_str().unwrap()], "2026-11-12 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect("its default retention (GOVERNANCE, 5 days) also locks every staged upload");
    // the slot itself carries the tool's own lock, not the default
    let locks = locks(&server);
    assert_eq!(
        until(&format!("{name}-7-FULL:00000000000000000000"), &locks),
        datetime!(2026-12-01 00:00 UTC)
    );
}
