//! Unit tests of `build`.

use super::*;
use log::{Level, Log, Record};
use log4rs::encode::writer::simple::SimpleWriter;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// (to stderr?, rendered line) for every record a Screen appender wrote.
type Out = Arc<Mutex<Vec<(bool, String)>>>;

#[derive(Debug)]
struct Capture {
    stderr: bool,
    enc: Box<dyn Encode>,
    out: Out,
}

impl Append for Capture {
    fn append(&self, record: &Record) -> anyhow::Result<()> {
        let mut w = SimpleWriter(Vec::new());
        self.enc.encode(&mut w, record)?;
        let text = String::from_utf8(w.0)?;
        self.out.lock().unwrap().push((self.stderr, text));
        Ok(())
    }
    fn flush(&self) {}
}

struct Setup {
    logger: log4rs::Logger,
    out: Out,
    warnings: Vec<String>,
    notes: Vec<String>,
}

impl Setup {
    fn emit(&self, target: &str, level: Level, msg: &str) {
        self.logger.log(
            &Record::builder()
                .target(target)
                .level(level)
                .args(format_args!("{msg}"))
                .build(),
        );
    }
    fn fatal(&self, target: &str, msg: &str) {
        let kv = [("fatal", true)];
        self.logger.log(
            &Record::builder()
                .target(target)
                .level(Level::Error)
                .key_values(&kv)
                .args(format_args!("{msg}"))
                .build(),
        );
    }
    fn take(&self) -> Vec<(bool, String)> {
        std::mem::take(&mut *self.out.lock().unwrap())
    }
    fn stdout(&self) -> String {
        self.take()
            .into_iter()
            .filter(|(e, _)| !e)
            .map(|(_, s)| s)
            .collect()
    }
}

fn try_setup(spec: Option<&LogSpec>, debug: bool) -> Result<Setup, LogConfigError> {
    let out: Out = Arc::default();
    let o = out.clone();
    let mut factory = move |stderr: bool, enc: Box<dyn Encode>| -> Box<dyn Append> {
        Box::new(Capture {
            stderr,
            enc,
            out: o.clone(),
        })
    };
    let built = build_with(spec, debug, &mut factory)?;
    Ok(Setup {
        logger: log4rs::Logger::new(built.config),
        out,
        warnings: built.warnings,
        notes: built.notes,
    })
}

fn spec(text: &str) -> LogSpec {
    LogSpec::parse(text, Path::new("t.logconfig")).unwrap()
}

fn setup(text: &str, debug: bool) -> Setup {
    try_setup(Some(&spec(text)), debug).unwrap()
}

const DIR: &str = "Backup::S3napback::Directory";

/// The LOGCONF constant of golden.py.
const GOLDEN: &str = "log4perl.rootLogger = DEBUG, Screen
log4perl.appender.Screen        = Log::Log4perl::Appender::Screen
log4perl.appender.Screen.stderr = 0
log4perl.appender.Screen.layout = Log::Log4perl::Layout::PatternLayout
log4perl.appender.Screen.layout.ConversionPattern = %c %p %m%n
log4perl.logger.Backup.S3napback = INFO
";

#[test]
fn golden_logconf_prints_exactly_on_stdout() {
    let s = setup(GOLDEN, false);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    s.emit(DIR, Level::Debug, "hidden");
    s.emit(DIR, Level::Info, "message");
    assert_eq!(
        s.take(),
        vec![(
            false,
            "Backup.S3napback.Directory INFO message\n".to_string()
        )]
    );
    s.emit("Backup::S3napback", Level::Warn, "TEST MODE ONLY");
    s.fatal("Backup::S3napback::MySQL", "dead");
    assert_eq!(
        s.stdout(),
        "Backup.S3napback WARN TEST MODE ONLY\nBackup.S3napback.MySQL FATAL dead\n"
    );
}

#[test]
fn hierarchy_and_foreign_crates() {
    let s = setup(GOLDEN, false);
    // Backup.S3napback = INFO covers its children; the rest of Backup has root DEBUG.
    s.emit("Backup::S3napback::PostgreSQL", Level::Debug, "no");
    s.emit("Backup::Other", Level::Debug, "yes");
    // Other crates: WARN and above only, although root is DEBUG.
    s.emit("aws_smithy_runtime::client", Level::Info, "no");
    s.emit("aws_smithy_runtime::client", Level::Warn, "careful");
    assert_eq!(
        s.stdout(),
        "Backup.Other DEBUG yes\naws_smithy_runtime.client WARN careful\n"
    );
    // Root ERROR: other crates follow the stricter root level.
    let s = setup(&GOLDEN.replace("= DEBUG, Screen", "= ERROR, Screen"), false);
    s.emit("hyper", Level::Warn, "no");
    s.emit("Backup::X", Level::Warn, "no");
    s.emit("hyper", Level::Error, "e");
    assert_eq!(s.stdout(), "hyper ERROR e\n");
}

#[test]
fn debug_flag_puts_every_category_at_debug() {
    let s = setup(GOLDEN, true);
    s.emit(DIR, Level::Debug, "shown");
    s.emit("Backup::S3napback", Level::Trace, "no");
    s.emit("hyper", Level::Info, "no");
    assert_eq!(s.stdout(), "Backup.S3napback.Directory DEBUG shown\n");
}

#[test]
fn no_spec_means_stderr_info_with_date() {
    let s = try_setup(None, false).unwrap();
    s.emit(DIR, Level::Debug, "no");
    s.emit("hyper", Level::Info, "no");
    s.emit(DIR, Level::Info, "hello");
    let got = s.take();
    assert_eq!(got.len(), 1);
    assert!(got[0].0, "to stderr");
    let line = &got[0].1;
    // yyyy/MM/dd HH:mm:ss Backup.S3napback.Directory INFO hello
    assert_eq!(
        line.len(),
        19 + " Backup.S3napback.Directory INFO hello\n".len(),
        "{line}"
    );
    assert_eq!(&line[4..5], "/");
    assert!(
        line.ends_with(" Backup.S3napback.Directory INFO hello\n"),
        "{line}"
    );
    let s = try_setup(None, true).unwrap();
    s.emit(DIR, Level::Debug, "yes");
    assert_eq!(s.take().len(), 1);
}

#[test]
fn screen_defaults_to_stderr() {
    let text = "log4perl.rootLogger = INFO, A, B
log4perl.appender.A = Log::Log4perl::Appender::Screen
log4perl.appender.A.layout = Log::Log4perl::Layout::SimpleLayout
log4perl.appender.B = Log::Log4perl::Appender::Screen
log4perl.appender.B.stderr = 1
";
    let s = setup(text, false);
    s.emit(DIR, Level::Info, "m");
    let got = s.take();
    assert_eq!(
        got,
        vec![
            (true, "INFO - m\n".to_string()),
            (true, "INFO - m\n".to_string())
        ]
    );
}

#[test]
fn additivity() {
    let text = "log4perl.rootLogger = INFO, Root
log4perl.appender.Root = Log::Log4perl::Appender::Screen
log4perl.appender.Root.stderr = 0
log4perl.appender.Root.layout = PatternLayout
log4perl.appender.Root.layout.ConversionPattern = root %m%n
log4perl.appender.Db = Log::Log4perl::Appender::Screen
log4perl.appender.Db.layout = PatternLayout
log4perl.appender.Db.layout.ConversionPattern = db %m%n
log4perl.logger.Backup.S3napback.MySQL = DEBUG, Db
";
    let s = setup(text, false);
    s.emit("Backup::S3napback::MySQL", Level::Debug, "x");
    s.emit(DIR, Level::Info, "y");
    assert_eq!(
        s.take(),
        vec![
            (true, "db x\n".to_string()),
            (false, "root x\n".to_string()),
            (false, "root y\n".to_string())
        ]
    );
    let s = setup(
        &format!("{text}log4perl.additivity.Backup.S3napback.MySQL = 0\n"),
        false,
    );
    s.emit("Backup::S3napback::MySQL", Level::Debug, "x");
    assert_eq!(s.take(), vec![(true, "db x\n".to_string())]);
    // additivity for a category without a logger line: inherits the level, no output
    let s = setup(
        &format!("{text}log4perl.additivity.Backup.S3napback.Directory = 0\n"),
        false,
    );
    s.emit(DIR, Level::Info, "gone");
    assert_eq!(s.take(), vec![]);
    let bad = spec(&format!("{text}log4perl.additivity.Backup = maybe\n"));
    let err = try_setup(Some(&bad), false).err().unwrap().to_string();
    assert!(err.starts_with("t.logconfig:10:"), "{err}");
}

#[test]
fn logger_without_level_inherits() {
    let text = "log4perl.rootLogger = WARN
log4perl.logger.Backup.S3napback = INFO
log4perl.logger.Backup.S3napback.Directory = , A
log4perl.appender.A = Log::Log4perl::Appender::Screen
log4perl.appender.A.stderr = 0
log4perl.appender.A.layout = SimpleLayout
";
    let s = setup(text, false);
    s.emit(DIR, Level::Debug, "no");
    s.emit(DIR, Level::Info, "yes");
    s.emit("Backup::S3napback", Level::Error, "no appender");
    assert_eq!(s.stdout(), "INFO - yes\n");
}

fn screen_with(extra: &str) -> String {
    format!(
        "log4perl.rootLogger = TRACE, A
log4perl.appender.A = Log::Log4perl::Appender::Screen
log4perl.appender.A.stderr = 0
log4perl.appender.A.layout = PatternLayout
log4perl.appender.A.layout.ConversionPattern = %p%n
{extra}"
    )
}

fn passed(s: &Setup) -> String {
    s.emit(DIR, Level::Trace, "");
    s.emit(DIR, Level::Debug, "");
    s.emit(DIR, Level::Info, "");
    s.emit(DIR, Level::Warn, "");
    s.emit(DIR, Level::Error, "");
    s.fatal(DIR, "");
    s.stdout().replace('\n', " ").trim().to_string()
}

#[test]
fn thresholds() {
    let s = setup(&screen_with(""), false);
    assert_eq!(passed(&s), "TRACE DEBUG INFO WARN ERROR FATAL");
    let s = setup(
        &screen_with("log4perl.appender.A.Threshold = WARN\n"),
        false,
    );
    assert_eq!(passed(&s), "WARN ERROR FATAL");
    let s = setup(
        &screen_with("log4perl.appender.A.Threshold = FATAL\n"),
        false,
    );
    assert_eq!(passed(&s), "FATAL");
    let s = setup(
        &screen_with("log4perl.appender.A.min_level = info\n"),
        false,
    );
    assert_eq!(passed(&s), "INFO WARN ERROR FATAL");
    let s = setup(
        &screen_with("log4perl.appender.A.min_level = notice\n"),
        false,
    );
    assert_eq!(passed(&s), "WARN ERROR FATAL");
    let s = setup(
        &screen_with("log4perl.appender.A.min_level = critical\n"),
        false,
    );
    assert_eq!(passed(&s), "FATAL");
    // both: the stricter wins
    let s = setup(
        &screen_with(
            "log4perl.appender.A.min_level = debug\nlog4perl.appender.A.Threshold = ERROR\n",
        ),
        false,
    );
    assert_eq!(passed(&s), "ERROR FATAL");
    // -d does not override an appender's threshold
    let s = setup(&screen_with("log4perl.appender.A.Threshold = INFO\n"), true);
    assert_eq!(passed(&s), "INFO WARN ERROR FATAL");
    // a threshold for a misspelt appender name is ignored silently
    let s = setup(
        &screen_with("log4perl.appender.a.Threshold = ERROR\n"),
        false,
    );
    assert!(s.warnings.is_empty());
    assert_eq!(passed(&s), "TRACE DEBUG INFO WARN ERROR FATAL");
    let bad = spec(&screen_with("log4perl.appender.A.Threshold = LOUD\n"));
    let err = try_setup(Some(&bad), false).err().unwrap().to_string();
    assert!(
        err.starts_with("t.logconfig:6:") && err.contains("LOUD"),
        "{err}"
    );
}

#[test]
fn unknown_class_and_undefined_appender_warn_with_file_and_line() {
    let text = format!(
        "{}log4perl.appender.X = Log::Log4perl::Appender::Socket\nlog4perl.rootLogger = INFO, A, X, Nope\n",
        screen_with("")
    );
    let s = setup(&text, false);
    assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
    assert!(
        s.warnings[0]
            .starts_with("t.logconfig:6: unknown appender class Log::Log4perl::Appender::Socket"),
        "{:?}",
        s.warnings
    );
    assert!(
        s.warnings[1].starts_with("t.logconfig:7: appender Nope"),
        "{:?}",
        s.warnings
    );
    s.emit(DIR, Level::Info, "");
    assert_eq!(s.stdout(), "INFO\n", "the known appender still works");
}

#[test]
fn unknown_conversion_warns_with_line() {
    let s = setup(&screen_with("").replace("%p%n", "%p %Q%n"), false);
    assert_eq!(s.warnings.len(), 1);
    assert!(
        s.warnings[0].starts_with("t.logconfig:5: unknown conversion `%Q`"),
        "{:?}",
        s.warnings
    );
}

#[test]
fn mail_sender_is_built_and_leaves_the_screen_alone() {
    let text = format!(
        "{}log4perl.rootLogger = INFO, A, Email
log4perl.appender.Email = Log::Dispatch::Email::MailSender
log4perl.appender.Email.to = me@company.com
log4perl.appender.Email.from = me@company.com
log4perl.appender.Email.subject = s3napback log
log4perl.appender.Email.smtp = smtp.z.com
log4perl.appender.Email.min_level = info
log4perl.appender.Email.layout = Log::Log4perl::Layout::PatternLayout
log4perl.appender.Email.layout.ConversionPattern = %d %p %m%n
",
        screen_with("")
    );
    let s = setup(&text, false);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    assert!(s.notes.is_empty(), "{:?}", s.notes);
    s.emit(DIR, Level::Info, "");
    assert_eq!(s.stdout(), "INFO\n");
}

#[test]
fn mail_sender_settings_errors_name_the_line() {
    for (extra, line, needle) in [
        ("", 7, "needs `to`"),
        (
            "log4perl.appender.Email.to = not an address\n",
            8,
            "to `not an address`",
        ),
        (
            "log4perl.appender.Email.to = a@b.c\nlog4perl.appender.Email.smtp = h:x\n",
            9,
            "bad port",
        ),
    ] {
        let text = format!(
            "{}log4perl.rootLogger = INFO, A, Email\n\
             log4perl.appender.Email = Log::Dispatch::Email::MailSender\n{extra}",
            screen_with("")
        );
        let err = try_setup(Some(&spec(&text)), false)
            .err()
            .expect(extra)
            .to_string();
        assert!(err.contains(&format!("t.logconfig:{line}:")), "{err}");
        assert!(err.contains(needle), "{err}");
    }
}

fn file_conf(class: &str, path: &Path, extra: &str) -> String {
    format!(
        "log4perl.rootLogger = INFO, F
log4perl.appender.F = {class}
log4perl.appender.F.filename = {}
log4perl.appender.F.layout = PatternLayout
log4perl.appender.F.layout.ConversionPattern = %c %p %m%n
{extra}",
        path.display()
    )
}

#[test]
fn file_appender_modes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/s3napback.log");
    let class = "Log::Log4perl::Appender::File";
    for (mode, keeps) in [
        ("", true),
        ("log4perl.appender.F.mode = append\n", true),
        ("log4perl.appender.F.mode = write\n", false),
        ("log4perl.appender.F.mode = clobber\n", false),
    ] {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "old\n").unwrap();
        let s = setup(&file_conf(class, &path, mode), false);
        s.emit(DIR, Level::Debug, "no");
        s.emit(DIR, Level::Info, "new");
        Log::flush(&s.logger);
        drop(s);
        let got = std::fs::read_to_string(&path).unwrap();
        let new = "Backup.S3napback.Directory INFO new\n";
        let want = if keeps {
            format!("old\n{new}")
        } else {
            new.to_string()
        };
        assert_eq!(got, want, "mode {mode:?}");
    }
    let bad = spec(&file_conf(
        class,
        &path,
        "log4perl.appender.F.mode = pipe\n",
    ));
    let err = try_setup(Some(&bad), false).err().unwrap().to_string();
    assert!(err.starts_with("t.logconfig:6:"), "{err}");
}

#[test]
fn unwritable_log_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let path = blocker.join("s3napback.log");
    for class in ["Log::Log4perl::Appender::File", "Log::Dispatch::FileRotate"] {
        let sp = spec(&file_conf(class, &path, ""));
        let err = try_setup(Some(&sp), false).err().unwrap();
        assert!(
            matches!(err, LogConfigError::Appender { line: 2, .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.starts_with("t.logconfig:2: cannot set up log appender F"),
            "{msg}"
        );
        assert!(msg.contains(&path.display().to_string()), "{msg}");
    }
    let sp = spec(
        "log4perl.rootLogger = INFO, F\nlog4perl.appender.F = Log::Log4perl::Appender::File\n",
    );
    let err = try_setup(Some(&sp), false).err().unwrap().to_string();
    assert!(err.contains("needs a filename"), "{err}");
}

#[test]
fn file_rotate_keeps_max_files_of_size_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rot.log");
    let extra = "log4perl.appender.F.max = 2\nlog4perl.appender.F.size = 1_00\nlog4perl.appender.F.mode = append\n";
    let s = setup(&file_conf("Log::Dispatch::FileRotate", &path, extra), false);
    for i in 0..40 {
        s.emit(DIR, Level::Info, &format!("line {i:02}"));
    }
    Log::flush(&s.logger);
    drop(s);
    let exists = |suffix: &str| dir.path().join(format!("rot.log{suffix}")).exists();
    assert!(exists("") && exists(".1") && exists(".2") && !exists(".3"));
    let current = std::fs::read_to_string(&path).unwrap();
    assert!(current.len() <= 100 + 40, "{}", current.len());
    assert!(current.ends_with("INFO line 39\n"), "{current}");
    let bad = spec(&file_conf(
        "Log::Dispatch::FileRotate",
        &path,
        "log4perl.appender.F.size = lots\n",
    ));
    let err = try_setup(Some(&bad), false).err().unwrap().to_string();
    assert!(
        err.starts_with("t.logconfig:6:") && err.contains("lots"),
        "{err}"
    );
}

#[test]
fn sizes() {
    assert_eq!(parse_size("10_000_000"), Some(10_000_000));
    assert_eq!(parse_size("10k"), Some(10 * 1024));
    assert_eq!(parse_size("2M"), Some(2 * 1024 * 1024));
    assert_eq!(parse_size("1G"), Some(1024 * 1024 * 1024));
    assert_eq!(parse_size("x"), None);
    assert_eq!(parse_size(""), None);
}

#[test]
fn stock_file_builds() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("s3napback.log");
    let stock =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("s3napback.logconfig"))
            .unwrap()
            .replace("/var/log/s3napback.log", &log.display().to_string());
    let s = setup(&stock, false);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    s.emit(DIR, Level::Debug, "no");
    s.emit(DIR, Level::Info, "Directory /etc -> b:etc");
    let got = s.take();
    assert_eq!(got.len(), 1);
    assert!(
        got[0].0 && got[0].1.ends_with(" INFO Directory /etc -> b:etc\n"),
        "{got:?}"
    );
    Log::flush(&s.logger);
    let file = std::fs::read_to_string(&log).unwrap();
    assert!(file.ends_with(" INFO Directory /etc -> b:etc\n"), "{file}");
    // the public build() works without installing anything
    let (_config, warnings) = build(Some(&spec(&stock)), false).unwrap();
    assert!(warnings.is_empty());
}
