//! Unit tests of `settings`.

use super::*;
use crate::config::{ConfigError, load_settings, parse_str};
use std::fs;

/// A scratch ROOT with `diffs/` and `tmp/` (as the golden runs had).
struct Root {
    dir: tempfile::TempDir,
}

impl Root {
    fn new() -> Root {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("diffs")).unwrap();
        fs::create_dir(dir.path().join("tmp")).unwrap();
        Root { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn conf(&self) -> PathBuf {
        self.path().join("test.conf")
    }

    /// Parses `text` (with `@ROOT@` replaced) as `ROOT/test.conf` and validates it.
    fn settings(&self, text: &str) -> Result<Settings, SettingsError> {
        let text = text.replace("@ROOT@", &self.path().display().to_string());
        let doc = parse_str(&self.conf(), &text).expect("parses");
        Settings::from_document(&doc)
    }

    /// Like `settings` with the required globals prepended.
    fn with_globals(&self, body: &str) -> Result<Settings, SettingsError> {
        self.settings(&format!(
            "DiffDir @ROOT@/diffs\nBucket b.example.com\nChunkSize 1000\n{body}"
        ))
    }

    fn err(&self, text: &str) -> String {
        self.settings(text)
            .expect_err("must be invalid")
            .to_string()
    }

    fn err_with_globals(&self, body: &str) -> String {
        self.with_globals(body)
            .expect_err("must be invalid")
            .to_string()
    }

    /// `ROOT/test.conf:LINE: `
    fn at(&self, line: usize) -> String {
        format!("{}:{line}: ", self.conf().display())
    }

    /// Loads a golden case from fixtures/config/golden, `@ROOT@` replaced.
    fn golden(&self, name: &str) -> Settings {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/config/golden")
            .join(name);
        let text = fs::read_to_string(fixture)
            .unwrap()
            .replace("@ROOT@", &self.path().display().to_string());
        let conf = self.path().join(name);
        fs::write(&conf, text).unwrap();
        load_settings(&conf).unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

fn names(scope: &Scope) -> Vec<&str> {
    scope.items.iter().map(|i| i.name.as_str()).collect()
}

fn item<'a>(s: &'a Settings, name: &str) -> &'a Item {
    s.scopes
        .iter()
        .flat_map(|sc| sc.items.iter())
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("no item {name}"))
}

// ---- golden cases ----

#[test]
fn golden_01_simple() {
    let root = Root::new();
    let s = root.golden("01-simple.conf");
    assert_eq!(s.bucket, "backups.example.com");
    assert_eq!(s.diff_dir, root.path().join("diffs"));
    assert_eq!(s.gpg_recipient.as_deref(), Some("backup@example.com"));
    assert_eq!(s.s3_keyfile, Some(root.path().join("key.txt")));
    assert_eq!(s.chunk_size, 25_000_000);
    assert_eq!(s.temp_dir, None);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    assert_eq!(s.scopes.len(), 3);
    assert_eq!(s.scopes[0].cycle_name, None);
    assert!(s.scopes[0].items.is_empty());
    assert_eq!(s.scopes[1].cycle_name.as_deref(), Some("daily-example"));
    assert_eq!(names(&s.scopes[1]), vec!["/etc", "/home/build", "/usr"]);
    let daily = &s.scopes[1].items[0];
    assert_eq!(daily.kind, ItemKind::Directory);
    assert_eq!(daily.block, None);
    assert_eq!(
        (daily.cycle.frequency, daily.cycle.diffs, daily.cycle.fulls),
        (1, 6, 2)
    );
    assert_eq!(s.scopes[2].cycle_name.as_deref(), Some("weekly-example"));
    assert_eq!(names(&s.scopes[2]), vec!["/bin", "/opt", "/root"]);
    for i in &s.scopes[2].items {
        assert_eq!((i.cycle.frequency, i.cycle.diffs, i.cycle.fulls), (7, 3, 2));
        assert_eq!(i.cycle.excludes, vec!["/opt/useless"]);
    }
}

#[test]
fn golden_02_blocks() {
    let root = Root::new();
    let s = root.golden("02-blocks.conf");
    assert_eq!(s.gpg_recipient, None);
    assert_eq!(s.scopes.len(), 1);
    assert_eq!(names(&s.scopes[0]), vec!["/home/foobar", "/"]);
    let foobar = &s.scopes[0].items[0];
    assert_eq!(foobar.block.as_deref(), Some("directory"));
    assert_eq!(foobar.cycle.fulls, 8);
    assert_eq!(foobar.cycle.excludes, vec!["/home/foobar/wumpus"]);
    let slash = &s.scopes[0].items[1];
    assert_eq!(
        slash.cycle.excludes,
        vec!["/proc", "/dev", "/sys", "/tmp", "/var/run"]
    );
    assert_eq!(slash.origin.line, 14);
}

#[test]
fn golden_03_databases() {
    let root = Root::new();
    let s = root.golden("03-databases.conf");
    assert_eq!(s.temp_dir, Some(root.path().join("tmp")));
    assert_eq!(
        names(&s.scopes[0]),
        vec![
            "all",
            "mydatabase",
            "/var/run/mysqld/mysqld.sock:shop",
            "all",
            "postgres@inventory"
        ]
    );
    let kinds: Vec<ItemKind> = s.scopes[0].items.iter().map(|i| i.kind).collect();
    assert_eq!(
        kinds,
        vec![
            ItemKind::MySql,
            ItemKind::MySql,
            ItemKind::MySql,
            ItemKind::PostgreSql,
            ItemKind::PostgreSql
        ]
    );
    let items = &s.scopes[0].items;
    assert_eq!(items[0].block.as_deref(), Some("mysql"));
    assert_eq!(items[0].cycle.fulls, 14);
    assert!(!items[0].cycle.use_temp_file);
    assert!(items[1].cycle.use_temp_file);
    assert_eq!(items[2].cycle.fulls, 5);
    assert_eq!(items[2].cycle.mysql_options, vec!["--single-transaction"]);
    assert_eq!(items[3].block.as_deref(), Some("postgresql"));
    assert_eq!(items[3].cycle.fulls, 7);
    assert_eq!((items[4].cycle.frequency, items[4].cycle.phase), (2, 1));
}

#[test]
fn golden_04_hanoi() {
    let root = Root::new();
    let s = root.golden("04-hanoi.conf");
    assert_eq!(names(&s.scopes[1]), vec!["/etc", "/var"]);
    let etc = &s.scopes[1].items[0].cycle;
    assert_eq!(etc.cycle_type, CycleType::Hanoi);
    assert_eq!(etc.discs, 5);
    assert!(!etc.archive_oldest_disc);
    let www = item(&s, "/srv/www");
    assert_eq!(www.cycle.cycle_type, CycleType::Hanoi);
    assert_eq!((www.cycle.frequency, www.cycle.discs), (2, 4));
    assert!(www.cycle.archive_oldest_disc);
}

#[test]
fn golden_05_phase_frequency() {
    let root = Root::new();
    let s = root.golden("05-phase-frequency.conf");
    let got: Vec<(&str, i64, i64, i64, i64)> = s.scopes[1..]
        .iter()
        .map(|sc| {
            let c = &sc.items[0].cycle;
            (
                sc.cycle_name.as_deref().unwrap(),
                c.frequency,
                c.phase,
                c.diffs,
                c.fulls,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("even", 2, 0, 2, 3),
            ("odd", 2, 1, 2, 3),
            ("monthly", 30, 7, 0, 3)
        ]
    );
    assert_eq!(s.chunk_size, 1_000_000);
}

#[test]
fn golden_06_syntax() {
    let root = Root::new();
    let s = root.golden("06-syntax.conf");
    assert_eq!(s.bucket, "syntax.example.com");
    assert_eq!(s.temp_dir, Some(root.path().join("tmp")));
    assert_eq!(s.scopes.len(), 2);
    assert_eq!(names(&s.scopes[0]), vec!["/var/lib/app"]);
    let app = &s.scopes[0].items[0];
    assert_eq!(app.block.as_deref(), Some("directory"));
    assert!(!app.cycle.use_temp_file);
    assert_eq!((app.cycle.diffs, app.cycle.fulls), (2, 2));
    let cycle = &s.scopes[1];
    assert_eq!(cycle.cycle_name.as_deref(), Some("mixed-case"));
    assert_eq!(
        names(cycle),
        vec!["/srv/with space", "/srv/plain", "/srv/continued"]
    );
    for i in &cycle.items {
        assert!(i.cycle.use_temp_file);
        assert_eq!(i.cycle.excludes, vec!["/srv/with space/cache"]);
        assert_eq!((i.cycle.diffs, i.cycle.fulls), (4, 3));
        assert_eq!(i.block, None);
    }
}

#[test]
fn golden_07_toplevel() {
    let root = Root::new();
    let s = root.golden("07-toplevel.conf");
    assert_eq!(
        s.gpg_keyring,
        Some(format!("{}/gnupg/pubring.kbx", root.path().display()))
    );
    assert_eq!(names(&s.scopes[0]), vec!["/etc", "/home", "all"]);
    for i in &s.scopes[0].items {
        assert_eq!((i.cycle.frequency, i.cycle.diffs, i.cycle.fulls), (1, 5, 3));
        assert_eq!(i.cycle.excludes, vec!["/home/tmp"]);
    }
    assert_eq!(s.scopes[0].items[2].kind, ItemKind::MySql);
    assert_eq!(names(&s.scopes[1]), vec!["/opt", "reporting", "all"]);
    for i in &s.scopes[1].items {
        let c = &i.cycle;
        assert_eq!((c.frequency, c.phase, c.diffs, c.fulls), (7, 3, 1, 4));
        assert!(c.excludes.is_empty(), "no inheritance");
    }
}

// ---- scopes, defaults, combining ----

#[test]
fn defaults() {
    let root = Root::new();
    let s = root.with_globals("Directory /etc\n").unwrap();
    assert_eq!(s.scopes[0].items[0].cycle, CycleSettings::default());
    let d = CycleSettings::default();
    assert_eq!(d.cycle_type, CycleType::Simple);
    assert_eq!(
        (d.frequency, d.phase, d.diffs, d.fulls, d.discs),
        (1, 0, 6, 4, 5)
    );
    assert!(!d.archive_oldest_disc && !d.use_temp_file);
    assert_eq!(s.s3_keyfile, None);
    assert_eq!(s.gpg_recipient, None);
    assert_eq!(
        (s.s3_endpoint.as_deref(), s.s3_region.as_deref()),
        (None, None)
    );
}

#[test]
fn new_s3_endpoint_and_region() {
    let root = Root::new();
    let s = root
        .with_globals("S3Endpoint http://127.0.0.1:9000\nS3Region eu-west-1\n")
        .unwrap();
    assert_eq!(s.s3_endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    assert_eq!(s.s3_region.as_deref(), Some("eu-west-1"));
}

#[test]
fn s3_retries_and_timeout() {
    let root = Root::new();
    let s = root.with_globals("S3Retries 2\nS3Timeout 300\n").unwrap();
    assert_eq!((s.s3_retries, s.s3_timeout), (Some(2), Some(300)));
    let s = root.with_globals("").unwrap();
    assert_eq!((s.s3_retries, s.s3_timeout), (None, None));
    let e = root.with_globals("S3Timeout 0\n").unwrap_err().to_string();
    assert!(
        e.contains("S3Timeout must be between 1 and 86400, not 0"),
        "{e}"
    );
    let e = root.with_globals("S3Retries x\n").unwrap_err().to_string();
    assert!(e.contains("S3Retries must be a whole number"), "{e}");
}

#[test]
fn run_timeout_is_a_positive_number_of_hours() {
    use std::time::Duration;
    let root = Root::new();
    let timeout = |text: &str| root.with_globals(text).map(|s| s.run_timeout);
    assert_eq!(timeout("").unwrap(), None);
    assert_eq!(
        timeout("RunTimeout 6\n").unwrap(),
        Some(Duration::from_secs(6 * 3600))
    );
    assert_eq!(
        timeout("RunTimeout 0.5\n").unwrap(),
        Some(Duration::from_secs(1800))
    );
    for bad in ["0", "-1", "x", "200", "inf"] {
        let e = timeout(&format!("RunTimeout {bad}\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("RunTimeout \"{bad}\"")), "{e}");
    }
}

#[test]
fn s3_payload_signing_is_auto_yes_or_no_and_names_its_line() {
    use crate::store::s3::PayloadSigning;
    let root = Root::new();
    let signing = |text: &str| root.with_globals(text).map(|s| s.s3_payload_signing);
    assert_eq!(signing("").unwrap(), PayloadSigning::Auto);
    assert_eq!(
        signing("S3PayloadSigning AUTO\n").unwrap(),
        PayloadSigning::Auto
    );
    assert_eq!(
        signing("S3PayloadSigning yes\n").unwrap(),
        PayloadSigning::Always
    );
    assert_eq!(
        signing("S3PayloadSigning off\n").unwrap(),
        PayloadSigning::Never
    );
    let e = signing("S3PayloadSigning sometimes\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(":4: S3PayloadSigning must be auto, yes or no, not \"sometimes\""),
        "{e}"
    );
}

#[test]
fn notify_command_is_an_argument_vector() {
    let root = Root::new();
    let s = root
        .with_globals("NotifyCommand \"curl -fsS -m 10 'https://h/p q'\"\n")
        .unwrap();
    let argv = s.notify_command.unwrap();
    assert_eq!(argv, ["curl", "-fsS", "-m", "10", "https://h/p q"]);
    let s = root.with_globals("NotifyCommand /bin/x \"a b\"\n").unwrap();
    assert_eq!(s.notify_command.unwrap(), ["/bin/x", "a b"]);
    assert_eq!(root.with_globals("").unwrap().notify_command, None);
    for bad in [
        "NotifyCommand\n",
        "NotifyCommand \"\"\n",
        "NotifyCommand \"'x\"\n",
    ] {
        let e = root.err_with_globals(bad);
        assert!(e.contains("NotifyCommand"), "{e}");
        assert!(e.contains(&root.at(4)), "{e}");
    }
}

#[test]
fn bare_gpg_recipient_means_no_encryption() {
    let root = Root::new();
    let s = root.with_globals("GpgRecipient\n").unwrap();
    assert_eq!(s.gpg_recipient, None);
    let s = root.with_globals("GpgRecipient \"\"\n").unwrap();
    assert_eq!(s.gpg_recipient, None);
}

#[test]
fn single_valued_settings_take_the_first_value() {
    let root = Root::new();
    let s = root
        .with_globals("Frequency 1\nFrequency 7\nFulls 3 9\nDirectory /etc\nBucket other\n")
        .unwrap();
    let c = &s.scopes[0].items[0].cycle;
    assert_eq!((c.frequency, c.fulls), (1, 3));
    assert_eq!(s.bucket, "b.example.com");
}

#[test]
fn mysql_options_first_value_split_like_a_shell() {
    let root = Root::new();
    let s = root
        .with_globals(
            "<MySQL a>\nMySQLOptions --single-transaction --quick\n</MySQL>\n\
             <MySQL b>\nMySQLOptions \"--single-transaction --quick\"\n</MySQL>\n\
             <MySQL c>\nMySQLOptions \"--where='id > 5' --quick\"\n</MySQL>\n",
        )
        .unwrap();
    let opts: Vec<Vec<String>> = s.scopes[0]
        .items
        .iter()
        .map(|i| i.cycle.mysql_options.clone())
        .collect();
    assert_eq!(
        opts,
        vec![
            vec!["--single-transaction".to_string()],
            vec!["--single-transaction".into(), "--quick".into()],
            vec!["--where=id > 5".into(), "--quick".into()],
        ]
    );
}

#[test]
fn excludes_combine_all_values_in_order() {
    let root = Root::new();
    let s = root
        .with_globals("Exclude /a /b\nDirectory /x\nExclude /c\n")
        .unwrap();
    assert_eq!(s.scopes[0].items[0].cycle.excludes, vec!["/a", "/b", "/c"]);
}

#[test]
fn bare_exclude_is_ignored_with_a_warning() {
    let root = Root::new();
    let s = root.with_globals("Exclude\nDirectory /x\n").unwrap();
    assert!(s.scopes[0].items[0].cycle.excludes.is_empty());
    assert_eq!(
        s.warnings,
        vec![format!("{}Exclude with no value ignored", root.at(4))]
    );
}

#[test]
fn no_inheritance_between_scopes() {
    let root = Root::new();
    let s = root
        .with_globals(
            "Fulls 9\nExclude /top\nDirectory /top\n\
             <Directory /blk>\nDiffs 2\n</Directory>\n\
             <Cycle c>\nFrequency 3\nDirectory /cyc\n<Directory /nested>\nPhase 1\n</Directory>\n</Cycle>\n",
        )
        .unwrap();
    let top = item(&s, "/top");
    assert_eq!(top.cycle.fulls, 9);
    assert_eq!(top.cycle.excludes, vec!["/top"]);
    let blk = item(&s, "/blk");
    assert_eq!((blk.cycle.fulls, blk.cycle.diffs), (4, 2));
    assert!(blk.cycle.excludes.is_empty());
    let cyc = item(&s, "/cyc");
    assert_eq!((cyc.cycle.fulls, cyc.cycle.frequency), (4, 3));
    let nested = item(&s, "/nested");
    assert_eq!((nested.cycle.frequency, nested.cycle.phase), (1, 1));
    assert_eq!(nested.block.as_deref(), Some("directory"));
    assert_eq!(names(&s.scopes[1]), vec!["/cyc", "/nested"]);
}

#[test]
fn line_items_and_block_items_in_file_order() {
    let root = Root::new();
    let s = root
        .with_globals(
            "<Directory /b1>\n</Directory>\nDirectory /l1 /l2\nMySQL db\n<PostgreSQL all>\n</PostgreSQL>\n\
             subversion /svn/repo\n<SubversionDir /svn>\n</SubversionDir>\n",
        )
        .unwrap();
    let got: Vec<(ItemKind, &str, Option<&str>, usize)> = s.scopes[0]
        .items
        .iter()
        .map(|i| (i.kind, i.name.as_str(), i.block.as_deref(), i.origin.line))
        .collect();
    assert_eq!(
        got,
        vec![
            (ItemKind::Directory, "/b1", Some("directory"), 4),
            (ItemKind::Directory, "/l1", None, 6),
            (ItemKind::Directory, "/l2", None, 6),
            (ItemKind::MySql, "db", None, 7),
            (ItemKind::PostgreSql, "all", Some("postgresql"), 8),
            (ItemKind::Subversion, "/svn/repo", None, 10),
            (ItemKind::SubversionDir, "/svn", Some("subversiondir"), 11),
        ]
    );
}

#[test]
fn cycle_type_is_case_insensitive() {
    let root = Root::new();
    let s = root
        .with_globals("CycleType hanoicycle\nDirectory /a\n<Cycle c>\nCycleType SIMPLECYCLE\nDirectory /b\n</Cycle>\n")
        .unwrap();
    assert_eq!(item(&s, "/a").cycle.cycle_type, CycleType::Hanoi);
    assert_eq!(item(&s, "/b").cycle.cycle_type, CycleType::Simple);
}

#[test]
fn booleans_accept_fixed_forms() {
    let root = Root::new();
    let s = root
        .with_globals("TempDir @ROOT@/tmp\nUseTempFile yes\nArchiveOldestDisc 1\nDirectory /a\n<Directory /b>\nUseTempFile off\nArchiveOldestDisc 0\n</Directory>\n")
        .unwrap();
    let a = &item(&s, "/a").cycle;
    assert!(a.use_temp_file && a.archive_oldest_disc);
    let b = &item(&s, "/b").cycle;
    assert!(!b.use_temp_file && !b.archive_oldest_disc);
}

// ---- warnings ----

#[test]
fn warning_unknown_directive() {
    let root = Root::new();
    let s = root
        .with_globals("Foo bar\n<Cycle c>\nLogLevel 3\n</Cycle>\n")
        .unwrap();
    assert_eq!(
        s.warnings,
        vec![
            format!("{}unknown directive Foo ignored", root.at(4)),
            format!("{}unknown directive LogLevel ignored", root.at(6)),
        ]
    );
}

#[test]
fn warning_unknown_block_and_cycle_in_cycle() {
    let root = Root::new();
    let s = root
        .with_globals("<Weird x>\nDirectory /lost\n</Weird>\n<Cycle a>\n<Cycle b>\nDirectory /inner\n</Cycle>\n</Cycle>\n")
        .unwrap();
    assert_eq!(s.scopes.len(), 2);
    assert!(s.scopes.iter().all(|sc| sc.items.is_empty()));
    assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
    assert!(s.warnings[0].starts_with(&root.at(4)), "{:?}", s.warnings);
    assert!(s.warnings[0].contains("<Weird>"));
    assert!(s.warnings[1].starts_with(&root.at(8)), "{:?}", s.warnings);
    assert!(s.warnings[1].contains("<Cycle>"));
}

#[test]
fn warning_item_block_with_more_than_one_name() {
    let root = Root::new();
    let s = root
        .with_globals("<Directory /a /b>\n</Directory>\n")
        .unwrap();
    assert_eq!(names(&s.scopes[0]), vec!["/a"]);
    assert_eq!(s.warnings.len(), 1);
    assert!(s.warnings[0].starts_with(&root.at(4)), "{:?}", s.warnings);
}

#[test]
fn warning_global_inside_a_block_and_item_inside_item_block() {
    let root = Root::new();
    let s = root
        .with_globals("<Cycle c>\nBucket other\n</Cycle>\n<Directory /a>\nDirectory /b\n<Directory /c>\n</Directory>\n</Directory>\n")
        .unwrap();
    assert_eq!(s.bucket, "b.example.com");
    assert_eq!(names(&s.scopes[0]), vec!["/a"]);
    assert_eq!(s.warnings.len(), 3, "{:?}", s.warnings);
    assert!(s.warnings[0].starts_with(&root.at(5)));
    assert!(s.warnings[1].starts_with(&root.at(8)));
    assert!(s.warnings[2].starts_with(&root.at(9)));
}

#[test]
fn parser_warnings_are_kept() {
    let root = Root::new();
    let s = root.with_globals("Include @ROOT@/none/*.conf\n").unwrap();
    assert_eq!(s.warnings.len(), 1);
    assert!(s.warnings[0].contains("matches no file"));
}

// ---- errors ----

#[test]
fn error_missing_bucket() {
    let root = Root::new();
    let e = root.err("DiffDir @ROOT@/diffs\nChunkSize 10\n");
    assert_eq!(
        e,
        format!("{}: missing required setting Bucket", root.conf().display())
    );
}

#[test]
fn error_missing_diff_dir() {
    let root = Root::new();
    let e = root.err("Bucket b\nChunkSize 10\n");
    assert_eq!(
        e,
        format!(
            "{}: missing required setting DiffDir",
            root.conf().display()
        )
    );
}

#[test]
fn error_missing_chunk_size() {
    let root = Root::new();
    let e = root.err("Bucket b\nDiffDir @ROOT@/diffs\n");
    assert_eq!(
        e,
        format!(
            "{}: missing required setting ChunkSize",
            root.conf().display()
        )
    );
}

#[test]
fn error_required_setting_without_value() {
    let root = Root::new();
    let e = root.err("Bucket\nDiffDir @ROOT@/diffs\nChunkSize 1\n");
    assert_eq!(e, format!("{}Bucket needs a value", root.at(1)));
}

#[test]
fn error_required_global_only_inside_a_block_is_missing() {
    let root = Root::new();
    let e = root.err("DiffDir @ROOT@/diffs\nChunkSize 10\n<Cycle c>\nBucket b\n</Cycle>\n");
    assert!(e.ends_with("missing required setting Bucket"), "{e}");
}

#[test]
fn error_diff_dir_not_a_directory() {
    let root = Root::new();
    let e = root.err("Bucket b\nChunkSize 10\nDiffDir @ROOT@/absent\n");
    assert!(e.starts_with(&root.at(3)), "{e}");
    assert!(e.contains("is not an existing directory"), "{e}");
    fs::write(root.path().join("file"), "").unwrap();
    let e = root.err("Bucket b\nChunkSize 10\nDiffDir @ROOT@/file\n");
    assert!(e.contains("is not an existing directory"), "{e}");
}

#[test]
fn error_use_temp_file_without_temp_dir() {
    let root = Root::new();
    let e = root.err_with_globals("<MySQL db>\n\nUseTempFile on\n</MySQL>\n");
    assert_eq!(
        e,
        format!("{}UseTempFile is set but there is no TempDir", root.at(6))
    );
    let e = root.err_with_globals("<Cycle c>\nUseTempFile 1\nDirectory /x\n</Cycle>\n");
    assert!(e.starts_with(&root.at(5)), "{e}");
    // Set in a scope that holds no item: nothing uses it, so no error.
    root.with_globals("<Cycle c>\nUseTempFile 1\n</Cycle>\n")
        .unwrap();
    // With a TempDir it is fine.
    root.with_globals("TempDir @ROOT@/tmp\nUseTempFile 1\nDirectory /x\n")
        .unwrap();
}

#[test]
fn error_numbers_out_of_range() {
    let root = Root::new();
    for (line, expect) in [
        ("Frequency 0", "Frequency must be at least 1, not 0"),
        ("Fulls 0", "Fulls must be at least 1, not 0"),
        ("Discs 0", "Discs must be at least 1, not 0"),
        ("Diffs -1", "Diffs must be at least 0, not -1"),
        ("Phase -2", "Phase must be at least 0, not -2"),
    ] {
        let e = root.err_with_globals(&format!("<Directory /x>\n{line}\n</Directory>\n"));
        assert_eq!(e, format!("{}{expect}", root.at(5)), "{line}");
    }
    // The lower bounds themselves are accepted.
    root.with_globals("Frequency 1\nFulls 1\nDiscs 1\nDiffs 0\nPhase 0\nDirectory /x\n")
        .unwrap();
}

#[test]
fn error_chunk_size_out_of_range() {
    let root = Root::new();
    let base = "Bucket b\nDiffDir @ROOT@/diffs\n";
    for bad in ["0", "-5", "5368709121"] {
        let e = root.err(&format!("{base}ChunkSize {bad}\n"));
        assert!(e.starts_with(&root.at(3)), "{e}");
        assert!(
            e.contains("ChunkSize must be between 1 and 5368709120"),
            "{e}"
        );
    }
    let s = root
        .settings(&format!("{base}ChunkSize 5368709120\n"))
        .unwrap();
    assert_eq!(s.chunk_size, MAX_CHUNK_SIZE);
}

#[test]
fn error_non_numeric_numbers() {
    let root = Root::new();
    for bad in ["1.5", "abc", "7days", "\"\""] {
        let e = root.err_with_globals(&format!("Frequency {bad}\n"));
        assert!(e.starts_with(&root.at(4)), "{e}");
        assert!(e.contains("Frequency must be a whole number"), "{e}");
    }
    let e = root.err("Bucket b\nDiffDir @ROOT@/diffs\nChunkSize 25MB\n");
    assert!(e.starts_with(&root.at(3)), "{e}");
    assert!(e.contains("ChunkSize must be a whole number"), "{e}");
}

#[test]
fn error_unknown_cycle_type() {
    let root = Root::new();
    let e = root.err_with_globals("<Cycle c>\nCycleType FibonacciCycle\n</Cycle>\n");
    assert!(e.starts_with(&root.at(5)), "{e}");
    assert!(e.contains("unknown CycleType \"FibonacciCycle\""), "{e}");
}

#[test]
fn error_boolean_not_zero_or_one() {
    let root = Root::new();
    let e = root.err_with_globals("ArchiveOldestDisc 2\n");
    assert!(e.starts_with(&root.at(4)), "{e}");
    assert!(e.contains("ArchiveOldestDisc must be"), "{e}");
    let e = root.err_with_globals("TempDir @ROOT@/tmp\nUseTempFile maybe\n");
    assert!(e.starts_with(&root.at(5)), "{e}");
}

#[test]
fn error_bad_mysql_options_quoting() {
    let root = Root::new();
    let e = root.err_with_globals("<MySQL db>\nMySQLOptions \"--where='x\"\n</MySQL>\n");
    assert!(e.starts_with(&root.at(5)), "{e}");
    assert!(e.contains("MySQLOptions"), "{e}");
}

#[test]
fn error_item_without_name() {
    let root = Root::new();
    let e = root.err_with_globals("Directory\n");
    assert_eq!(e, format!("{}Directory needs a value", root.at(4)));
    let e = root.err_with_globals("Directory /a \"\"\n");
    assert_eq!(e, format!("{}Directory needs a value", root.at(4)));
    let e = root.err_with_globals("<MySQL>\n</MySQL>\n");
    assert_eq!(e, format!("{}<MySQL> block needs a name", root.at(4)));
    let e = root.err_with_globals("<Directory \"\">\n</Directory>\n");
    assert_eq!(e, format!("{}<Directory> block needs a name", root.at(4)));
}

#[test]
fn load_settings_reports_parse_and_settings_errors() {
    let root = Root::new();
    let conf = root.conf();
    fs::write(&conf, "Bucket b\n</Cycle>\n").unwrap();
    match load_settings(&conf) {
        Err(ConfigError::Parse(e)) => assert_eq!(e.origin.line, 2),
        other => panic!("expected a parse error, got {other:?}"),
    }
    fs::write(&conf, "Bucket b\n").unwrap();
    let e = load_settings(&conf).expect_err("invalid");
    assert!(matches!(e, ConfigError::Settings(_)));
    assert!(e.to_string().starts_with(&conf.display().to_string()));
}

#[test]
fn lock_wait_defaults_to_an_hour_and_takes_units() {
    let root = Root::new();
    let wait = |body: &str| root.with_globals(body).unwrap().lock_wait;
    assert_eq!(wait(""), Duration::from_secs(3600));
    assert_eq!(wait("LockWait 0\n"), Duration::ZERO);
    assert_eq!(wait("LockWait 90\n"), Duration::from_secs(90 * 60));
    assert_eq!(wait("LockWait 5s\n"), Duration::from_secs(5));
    assert_eq!(wait("LockWait 2H\n"), Duration::from_secs(7200));
    for bad in ["-1", "1d", "x", "", "169h", "18446744073709551615h"] {
        let e = root.err_with_globals(&format!("LockWait \"{bad}\"\n"));
        assert!(e.starts_with(&root.at(4)), "{bad}: {e}");
        assert!(e.contains("LockWait"), "{bad}: {e}");
    }
}

// ---- Compressor and GpgCompression (issue 11) ----

#[test]
fn compressor_and_gpg_compression_default_to_the_legacy_commands() {
    let root = Root::new();
    let s = root.with_globals("Directory /etc\n").unwrap();
    let c = &s.scopes[0].items[0].cycle;
    assert_eq!((c.compressor, c.gpg_compression), (Compressor::Gzip, true));
}

#[test]
fn compressor_and_gpg_compression_inherit_from_the_scope_around_them() {
    // issue 18: new settings at the top level are the default of every block
    let root = Root::new();
    let s = root
        .with_globals(
            "Compressor pigz\nGpgCompression no\nDirectory /top\n\
             <Directory /own>\nCompressor GZIP\n</Directory>\n\
             <Cycle c>\nGpgCompression on\nDirectory /cyc\n\
             <MySQL db>\nCompressor gzip\n</MySQL>\n</Cycle>\n\
             <Cycle d>\nDirectory /plain\n</Cycle>\n",
        )
        .unwrap();
    let get = |name: &str| {
        let c = &item(&s, name).cycle;
        (c.compressor, c.gpg_compression)
    };
    assert_eq!(get("/top"), (Compressor::Pigz, false));
    assert_eq!(
        get("/own"),
        (Compressor::Gzip, false),
        "its own, then the top's"
    );
    assert_eq!(
        get("/cyc"),
        (Compressor::Pigz, true),
        "the cycle's, then the top's"
    );
    assert_eq!(
        get("db"),
        (Compressor::Gzip, true),
        "its own, then its cycle's"
    );
    assert_eq!(get("/plain"), (Compressor::Pigz, false), "the top's");
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn legacy_settings_at_a_top_level_without_items_warn_that_they_do_nothing() {
    let root = Root::new();
    let s = root
        .with_globals("Diffs 3\nCompressor pigz\n<Cycle c>\nDirectory /cyc\n</Cycle>\n")
        .unwrap();
    assert_eq!(
        item(&s, "/cyc").cycle.diffs,
        6,
        "legacy scoping: not inherited"
    );
    assert_eq!(item(&s, "/cyc").cycle.compressor, Compressor::Pigz);
    assert_eq!(
        s.warnings,
        vec![format!(
            "{}Diffs at the top level has no effect: there are no items at the top level, and blocks do not inherit it (as in s3napback.pl); set it in each block",
            root.at(4)
        )]
    );
    // with a top-level item it is that item's setting: no warning
    let s = root
        .with_globals("Diffs 3\nDirectory /top\n<Cycle c>\nDirectory /cyc\n</Cycle>\n")
        .unwrap();
    assert_eq!(item(&s, "/top").cycle.diffs, 3);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn error_unknown_compressor_or_gpg_compression_value() {
    let root = Root::new();
    let e = root.err_with_globals("<Cycle c>\nCompressor xz\n</Cycle>\n");
    assert_eq!(
        e,
        format!(
            "{}unknown Compressor \"xz\" (expected gzip or pigz)",
            root.at(5)
        )
    );
    let e = root.err_with_globals("<Directory /x>\nGpgCompression maybe\n</Directory>\n");
    assert!(e.starts_with(&root.at(5)), "{e}");
    assert!(e.contains("GpgCompression must be yes/no"), "{e}");
}

/// Issue 24: the read-only commands read a config of the bucket alone (a lost host): no
/// DiffDir (or one that is gone), no ChunkSize, no items; Bucket is still required, and a
/// backup run still refuses such a config.
#[test]
fn a_config_of_the_bucket_alone_is_enough_for_reading() {
    let root = Root::new();
    let read = |text: &str| {
        let text = text.replace("@ROOT@", &root.path().display().to_string());
        let doc = parse_str(&root.conf(), &text).expect("parses");
        Settings::for_reading(&doc)
    };
    let s = read("Bucket b\nS3Endpoint http://127.0.0.1:9\n").unwrap();
    assert_eq!(s.bucket, "b");
    assert_eq!(s.chunk_size, crate::config::settings::READ_ONLY_CHUNK_SIZE);
    assert!(s.scopes.iter().all(|scope| scope.items.is_empty()));
    let s = read("Bucket b\nDiffDir @ROOT@/gone\nChunkSize 10\n").unwrap();
    assert_eq!(s.chunk_size, 10);
    let e = read("S3Region x\n").unwrap_err().to_string();
    assert!(e.ends_with("missing required setting Bucket"), "{e}");
    let e = read("Bucket b\nChunkSize 0\n").unwrap_err().to_string();
    assert!(e.contains("ChunkSize must be between"), "{e}");
    assert!(
        root.err("Bucket b\n")
            .ends_with("missing required setting DiffDir")
    );
}
