//! The argument vectors a backup run starts, from the config text to the programs: the
//! same `Source::stages` and `Encryption::argv` the run hands to the pipeline, compared
//! with literal vectors (MySQLOptions split as a shell would, `SOCKET:DB`, PostgreSQL
//! `USER@DB` as `-U`, GpgKeyring). The real runs that show each option took effect are in
//! `backup::options`.

use std::path::Path;

use s3napback::config::{Settings, parse_str};
use s3napback::plan::schedule::Day;
use s3napback::plan::{Decision, Facts, plan};

/// Every run's programs (source stages, then gpg), by item name, for `config`.
fn argvs(config: &str) -> Vec<(String, Vec<Vec<String>>)> {
    let doc = parse_str(Path::new("/etc/s3napback/x.conf"), config).unwrap();
    let settings = Settings::from_document(&doc).unwrap();
    let facts = Facts {
        day: Some(Day {
            yday: 315,
            epoch_days: 20_404,
        }),
        force: true,
        ..Facts::default()
    };
    plan(&settings, &facts)
        .jobs
        .into_iter()
        .map(|job| {
            let Decision::Run(run) = job.decision else {
                panic!("{}: {:?}", job.name, job.decision)
            };
            let mut stages = run.source.stages(None);
            stages.extend(run.encryption.map(|e| e.argv()));
            (job.name, stages)
        })
        .collect()
}

fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// `/tmp`: DiffDir must exist.
const GLOBALS: &str = "DiffDir /tmp\nBucket b\nChunkSize 1000\n";

#[test]
fn mysql_options_are_split_as_a_shell_would_and_come_before_the_database() {
    let got = argvs(&format!(
        "{GLOBALS}<MySQL shop>\n\tMySQLOptions \"--single-transaction --quick \
         '--where=id > 1' --default-character-set=utf8mb4\"\n</MySQL>\n"
    ));
    assert_eq!(
        got,
        [(
            "shop".to_owned(),
            vec![
                v(&[
                    "mysqldump",
                    "--opt",
                    "--single-transaction",
                    "--quick",
                    "--where=id > 1",
                    "--default-character-set=utf8mb4",
                    "--",
                    "shop"
                ]),
                v(&["gzip"])
            ]
        )]
    );
}

#[test]
fn mysql_socket_and_database_become_socket_and_database_arguments() {
    let got = argvs(&format!(
        "{GLOBALS}MySQL \"/run/my sql/mysqld.sock:shop\"\nMySQL /run/mysqld.sock:all\n"
    ));
    assert_eq!(
        got,
        [
            (
                "/run/my sql/mysqld.sock:shop".to_owned(),
                vec![
                    v(&[
                        "mysqldump",
                        "--opt",
                        "--socket",
                        "/run/my sql/mysqld.sock",
                        "--",
                        "shop"
                    ]),
                    v(&["gzip"])
                ]
            ),
            (
                "/run/mysqld.sock:all".to_owned(),
                vec![
                    v(&[
                        "mysqldump",
                        "--opt",
                        "--socket",
                        "/run/mysqld.sock",
                        "--all-databases"
                    ]),
                    v(&["gzip"])
                ]
            ),
        ]
    );
}

#[test]
fn postgres_user_at_database_becomes_dash_capital_u() {
    let got = argvs(&format!(
        "{GLOBALS}PostgreSQL backup_role@inventory\nPostgreSQL admin@all\nPostgreSQL plain\n"
    ));
    assert_eq!(
        got,
        [
            (
                "backup_role@inventory".to_owned(),
                vec![
                    v(&["pg_dump", "-U", "backup_role", "--", "inventory"]),
                    v(&["gzip"])
                ]
            ),
            (
                "admin@all".to_owned(),
                vec![v(&["pg_dumpall", "-U", "admin"]), v(&["gzip"])]
            ),
            (
                "plain".to_owned(),
                vec![v(&["pg_dump", "--", "plain"]), v(&["gzip"])]
            ),
        ]
    );
}

#[test]
fn gpg_keyring_and_recipient_reach_the_gpg_stage() {
    let got = argvs(&format!(
        "{GLOBALS}GpgRecipient backup@example.com\nGpgKeyring \"/etc/s3napback/pub ring.gpg\"\n\
         <MySQL all>\n</MySQL>\n"
    ));
    assert_eq!(
        got,
        [(
            "all".to_owned(),
            vec![
                v(&["mysqldump", "--opt", "--all-databases"]),
                v(&["gzip"]),
                v(&[
                    "gpg",
                    "--batch",
                    "--keyring",
                    "/etc/s3napback/pub ring.gpg",
                    "-r",
                    "backup@example.com",
                    "-e"
                ])
            ]
        )]
    );
    let plain = argvs(&format!(
        "{GLOBALS}GpgRecipient backup@example.com\n<MySQL all>\n</MySQL>\n"
    ));
    assert_eq!(
        plain[0].1[2],
        v(&["gpg", "--batch", "-r", "backup@example.com", "-e"])
    );
}
