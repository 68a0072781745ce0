//! Secrets stay secret: the S3 secret never reaches the output of any command (`-d`
//! included), an error, or a child's argument vector or environment; a MySQL password goes
//! to mysqldump through a 0600 defaults file, not argv. Children are watched with a spy
//! directory first on PATH whose scripts record argv and environment, then exec the real
//! program (the real tar, gzip, gpg and mysqldump still do the work).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::backup::harness::{Site, chunks, fetch, gunzip, make_tree};
use crate::support::db::MariaDb;
use crate::support::s3::moto;

const SECRET: &str = "Zq9-s3cr3t-NEVER-PRINTED-7xK";

/// Puts spy scripts for `programs` in `site/spy`, first on PATH; each appends its argv
/// and environment to `site/spy.log` and execs the real program.
fn spy(site: &mut Site, programs: &[&str]) -> std::path::PathBuf {
    let dir = site.path("spy");
    fs::create_dir_all(&dir).unwrap();
    let log = site.path("spy.log");
    for program in programs {
        let real = String::from_utf8(
            std::process::Command::new("sh")
                .args(["-c", &format!("command -v {program}")])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let script = dir.join(program);
        fs::write(
            &script,
            format!(
                "#!/bin/sh\n{{ echo \"== {program}\"; printf '%s\\n' \"$@\"; env; }} >> '{}'\n\
                 exec '{}' \"$@\"\n",
                log.display(),
                real.trim()
            ),
        )
        .unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap());
    site.env.push(("PATH".into(), path));
    log
}

#[test]
fn the_s3_secret_appears_nowhere_even_with_debug() {
    let server = moto();
    let mut site = Site::new();
    let src = site.path("src");
    make_tree(&src);
    let conf = site.config(
        &server,
        700,
        true,
        &format!("Directory {}\n", src.display()),
    );
    let keyfile = site.path("key.txt");
    fs::write(&keyfile, format!("key={}\nsecret={SECRET}\n", server.key)).unwrap();
    fs::set_permissions(&keyfile, fs::Permissions::from_mode(0o644)).unwrap();
    let spy_log = spy(&mut site, &["tar", "gzip", "gpg"]);
    let c = conf.to_str().unwrap();

    let backup = site.run(&["-d", "-c", c], "2026-11-12 03:00:00");
    assert_eq!(backup.status, 0, "{}", backup.log);
    backup.expect(&format!(
        "S3Keyfile {} is readable by group or others (mode 644)",
        keyfile.display()
    ));
    assert!(
        backup.log.contains("DEBUG"),
        "debug output is on:\n{}",
        backup.log
    );
    let mut outputs = vec![backup.log.clone()];
    let into = site.path("restored");
    for args in [
        vec!["-t", "-d", "-c", c],
        vec!["list", "-d", "-c", c],
        vec!["verify", "--deep", "-d", "-c", c],
        vec!["status", "-d", "-c", c],
        vec![
            "restore",
            "-d",
            "-c",
            c,
            "--into",
            into.to_str().unwrap(),
            src.to_str().unwrap(),
        ],
    ] {
        let run = site.run(&args, "2026-11-12 04:00:00");
        outputs.push(run.log);
    }
    // An error path: the server refuses (a wrong endpoint), with debug output.
    let closed = crate::support::s3::ClosedPort::new();
    let bad = fs::read_to_string(&conf)
        .unwrap()
        .replace(&server.endpoint, &closed.endpoint());
    let bad_conf = site.path("bad.conf");
    fs::write(&bad_conf, bad).unwrap();
    let failed = site.run(
        &["-d", "-c", bad_conf.to_str().unwrap()],
        "2026-11-13 03:00:00",
    );
    assert_ne!(failed.status, 0, "{}", failed.log);
    outputs.push(failed.log);

    for out in &outputs {
        assert!(!out.contains(SECRET), "the secret leaked:\n{out}");
    }
    let children = fs::read_to_string(&spy_log).unwrap();
    assert!(
        children.contains("== tar") && children.contains("== gpg"),
        "{children}"
    );
    assert!(
        !children.contains(SECRET),
        "a child saw the secret:\n{children}"
    );
    assert!(!chunks(&server.store(), &format!("{}-7-FULL", src.display())).is_empty());

    // With the key file private, no warning.
    fs::set_permissions(&keyfile, fs::Permissions::from_mode(0o600)).unwrap();
    let run = site.run(&["-t", "-c", c], "2026-11-12 05:00:00");
    assert!(
        !run.log.contains("readable by group or others"),
        "{}",
        run.log
    );
}

#[test]
fn a_mysql_password_reaches_mysqldump_only_through_a_private_defaults_file() {
    let db = MariaDb::start();
    let password = "pw;$(touch /tmp/x)`id`'q'";
    db.sql(&format!(
        "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, v TEXT); \
         INSERT INTO shop.t VALUES (1, 'kept'); \
         CREATE USER bk@localhost IDENTIFIED BY '{}'; GRANT ALL ON *.* TO bk@localhost;",
        password.replace('\'', "''")
    ));
    let server = moto();
    let store = server.store();
    let mut site = Site::new();
    let home = site.path("home");
    fs::create_dir(&home).unwrap();
    site.env.push(("HOME".into(), home.display().to_string()));
    let spy_log = spy(&mut site, &["mysqldump"]);
    // The value is split as a shell would: "..." keeps the quote characters literal.
    let options = format!(
        "--user=bk \\\"--password={}\\\"",
        password.replace('`', "\\`").replace('$', "\\$")
    );
    let body = format!(
        "<MySQL {}:shop>\nFulls 14\nMySQLOptions \"{options}\"\n</MySQL>\n",
        db.socket().display()
    );
    let conf = site.config(&server, 2000, false, &body);
    let c = conf.to_str().unwrap();

    // Test mode prints the legacy line, unchanged (the password included, as the legacy did).
    let test = site.run(&["-t", "-c", c], "2026-11-12 03:00:00");
    assert_eq!(test.status, 0, "{}", test.log);
    test.expect(&format!(
        "mysqldump --opt --socket {} --user=bk --password={password} shop | gzip",
        db.socket().display()
    ));

    let run = site.run(&["-d", "-c", c], "2026-11-12 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    assert!(!run.log.contains(password), "{}", run.log);
    let children = fs::read_to_string(&spy_log).unwrap();
    assert!(
        !children.contains("pw;"),
        "argv or env had the password:\n{children}"
    );
    let argv: Vec<&str> = children.lines().skip(1).take(3).collect();
    let file = argv[0]
        .strip_prefix("--defaults-extra-file=")
        .unwrap_or_else(|| panic!("first option: {children}"));
    assert_eq!(argv[1], "--opt");
    assert!(
        !Path::new(file).exists(),
        "the defaults file is removed afterwards"
    );

    let prefix = format!("MySQL/{}/shop-7", db.socket().display());
    let dump = String::from_utf8(gunzip(&fetch(&store, &prefix))).unwrap();
    assert!(dump.contains("(1,'kept')"), "{dump}");
}
