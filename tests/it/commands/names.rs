//! Positional NAMEs (`s3napback -t NAME ...`): `NAME.conf` and a bare `NAME` in the config
//! directory (S3NAPBACK_CONFIG_DIR), `NAME.conf` first when both exist; and `-d`, which
//! shows debug lines even when the log config sets every logger to INFO.

use std::fs;
use std::process::Output;

use crate::support::clock::DAY_1;
use crate::support::gpg::GpgHome;
use crate::support::s3::ClosedPort;
use crate::support::tool;

/// `s3napback ARGS` on [`DAY_1`] in test mode's world: an S3 endpoint that refuses (test mode only
/// lists), an empty GnuPG home.
fn run(args: &[&str], config_dir: &std::path::Path) -> (Option<i32>, String) {
    let gpg = GpgHome::empty();
    let closed = ClosedPort::new();
    let out: Output = tool::command(args, DAY_1)
        .env("GNUPGHOME", gpg.path())
        .env("AWS_ENDPOINT_URL", closed.endpoint())
        .env("S3NAPBACK_CONFIG_DIR", config_dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// A config for bucket `bucket` backing up `dir`.
fn config(root: &std::path::Path, bucket: &str, dir: &str) -> String {
    format!(
        "DiffDir {}\nBucket {bucket}\nChunkSize 1000\nDirectory {dir}\n",
        root.join("diffs").display()
    )
}

#[test]
fn names_are_found_as_name_dot_conf_and_as_bare_name() {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir(root.path().join("diffs")).unwrap();
    let d = root.path();
    fs::write(d.join("nightly.conf"), config(d, "bn", "/etc")).unwrap();
    fs::write(d.join("weekly"), config(d, "bw", "/srv")).unwrap();
    // both spellings: NAME.conf wins
    fs::write(d.join("both.conf"), config(d, "bc", "/opt")).unwrap();
    fs::write(d.join("both"), config(d, "bx", "/var")).unwrap();

    let (code, text) = run(&["-t", "nightly", "weekly", "both"], d);
    assert_eq!(code, Some(0), "{text}");
    for line in [
        "Directory /etc -> bn:/etc-",
        "Directory /srv -> bw:/srv-",
        "Directory /opt -> bc:/opt-",
    ] {
        assert!(text.contains(line), "{line:?} missing:\n{text}");
    }
    assert!(!text.contains("bx:"), "{text}");

    let (code, text) = run(&["-t", "monthly"], d);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains(&format!(
            "monthly: neither {0}/monthly.conf nor {0}/monthly exists",
            d.display()
        )),
        "{text}"
    );
}

#[test]
fn debug_flag_overrides_a_log_config_that_says_info() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path();
    fs::create_dir(d.join("diffs")).unwrap();
    fs::write(d.join("x.conf"), config(d, "b", "/etc")).unwrap();
    let logconf = d.join("log.conf");
    fs::write(
        &logconf,
        "log4perl.rootLogger = INFO, Screen\n\
         log4perl.logger.Backup.S3napback = INFO\n\
         log4perl.appender.Screen = Log::Log4perl::Appender::Screen\n\
         log4perl.appender.Screen.stderr = 0\n\
         log4perl.appender.Screen.layout = Log::Log4perl::Layout::PatternLayout\n\
         log4perl.appender.Screen.layout.ConversionPattern = [%p] %c %m%n\n",
    )
    .unwrap();
    let logconf = logconf.to_str().unwrap();
    let conf = d.join("x.conf");
    let conf = conf.to_str().unwrap();

    let (code, text) = run(&["-t", "--logconfig", logconf, "-c", conf], d);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("[INFO] Backup.S3napback "), "{text}");
    assert!(!text.contains("[DEBUG]"), "INFO config, no -d:\n{text}");

    let (code, text) = run(&["-t", "-d", "--logconfig", logconf, "-c", conf], d);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("[INFO] Backup.S3napback "), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("[DEBUG] Backup.S3napback")),
        "-d shows debug lines through the configured appender:\n{text}"
    );
}
