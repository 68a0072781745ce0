//! The command line and the checks done before any work: usage, exit codes, config
//! errors naming file and line, the gpg recipient check, NAME lookup, test-mode errors.

use std::fs;

use crate::support::clock::DAY_1;
use crate::support::gpg::GpgHome;
use crate::support::s3::ClosedPort;
use crate::support::tool;

struct Out {
    code: i32,
    text: String,
}

/// `s3napback ARGS` on [`DAY_1`] (see [`run_at`]).
fn run(args: &[&str], env: &[(&str, &str)]) -> Out {
    run_at(args, env, DAY_1)
}

/// `s3napback ARGS --now NOW` with a fresh GnuPG home and S3 on a port that refuses
/// connections.
fn run_at(args: &[&str], env: &[(&str, &str)], now: &str) -> Out {
    let gpg = GpgHome::new();
    let closed = ClosedPort::new();
    let mut cmd = tool::command(args, now);
    cmd.env("GNUPGHOME", gpg.path())
        .env("AWS_ENDPOINT_URL", closed.endpoint());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        text: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn site(conf_body: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("diffs")).unwrap();
    let conf = dir.path().join("x.conf");
    let text = conf_body.replace("@ROOT@", dir.path().to_str().unwrap());
    fs::write(&conf, text).unwrap();
    let conf = conf.display().to_string();
    (dir, conf)
}

const GLOBALS: &str = "DiffDir @ROOT@/diffs\nBucket b\nChunkSize 1000\n";

#[test]
fn short_help_prints_usage_and_exits_2() {
    let out = run(&["-h"], &[]);
    assert_eq!(out.code, 2);
    assert!(out.text.contains("Usage: s3napback"), "{}", out.text);
    assert!(out.text.contains("-t"), "{}", out.text);
}

#[test]
fn version_prints_the_version() {
    let out = run(&["--version"], &[]);
    assert_eq!(out.code, 0);
    assert!(out.text.contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn no_config_is_a_usage_error() {
    let out = run(&["-t"], &[]);
    assert_eq!(out.code, 2, "{}", out.text);
    assert!(out.text.contains("no configuration given"), "{}", out.text);
}

#[test]
fn a_syntax_error_names_file_and_line() {
    let (_d, conf) = site(&format!("{GLOBALS}<Cycle x>\nFrequency 1\n</Directory>\n"));
    let out = run(&["-t", "-c", &conf], &[]);
    assert_eq!(out.code, 2, "{}", out.text);
    assert!(out.text.contains(&format!("{conf}:6")), "{}", out.text);
}

#[test]
fn validation_errors_stop_before_any_work() {
    for (body, needle) in [
        ("DiffDir @ROOT@/diffs\nChunkSize 1000\n", "Bucket"),
        ("Bucket b\nChunkSize 1000\n", "DiffDir"),
        (
            "DiffDir @ROOT@/nope\nBucket b\nChunkSize 1000\n",
            "@ROOT@/nope",
        ),
        (
            &format!("{GLOBALS}Frequency 0\nDirectory /etc\n"),
            "Frequency",
        ),
        (&format!("{GLOBALS}Fulls zero\nDirectory /etc\n"), "Fulls"),
        (
            "DiffDir @ROOT@/diffs\nBucket b\nChunkSize 6000000000\n",
            "ChunkSize",
        ),
        (
            &format!("{GLOBALS}UseTempFile yes\nDirectory /etc\n"),
            "TempDir",
        ),
        (
            &format!("{GLOBALS}CycleType Fancy\nDirectory /etc\n"),
            "CycleType",
        ),
    ] {
        let (d, conf) = site(body);
        let out = run(&["-t", "-c", &conf], &[]);
        let needle = needle.replace("@ROOT@", d.path().to_str().unwrap());
        assert_eq!(out.code, 2, "{body}: {}", out.text);
        assert!(out.text.contains(&needle), "{body}: {}", out.text);
        assert!(out.text.contains(&conf), "names the file: {}", out.text);
        assert!(!out.text.contains("Starting s3napback"), "{}", out.text);
    }
}

#[test]
fn unknown_directives_are_warned_with_file_and_line() {
    let (_d, conf) = site(&format!("{GLOBALS}Frobnicate yes\nDirectory /etc\n"));
    let out = run(&["-t", "-c", &conf], &[]);
    assert_eq!(out.code, 0, "{}", out.text);
    assert!(out.text.contains(&format!("{conf}:4")), "{}", out.text);
    assert!(out.text.contains("Frobnicate"), "{}", out.text);
}

#[test]
fn a_missing_gpg_recipient_is_fatal() {
    let (_d, conf) = site(&format!(
        "{GLOBALS}GpgRecipient nobody@example.com\nDirectory /etc\n"
    ));
    let out = run(&["-t", "-c", &conf], &[]);
    assert_eq!(out.code, 2, "{}", out.text);
    assert!(
        out.text
            .contains("FATAL GPG recipient nobody@example.com not found"),
        "{}",
        out.text
    );
}

#[test]
fn names_are_looked_up_in_the_config_directory() {
    let (d, _conf) = site(&format!("{GLOBALS}Directory /etc\n"));
    fs::rename(d.path().join("x.conf"), d.path().join("nightly.conf")).unwrap();
    let dir = d.path().to_str().unwrap();
    let out = run(&["-t", "nightly"], &[("S3NAPBACK_CONFIG_DIR", dir)]);
    assert_eq!(out.code, 0, "{}", out.text);
    assert!(
        out.text.contains("Directory /etc -> b:/etc-"),
        "{}",
        out.text
    );
    let out = run(&["-t", "weekly"], &[("S3NAPBACK_CONFIG_DIR", dir)]);
    assert_eq!(out.code, 2, "{}", out.text);
    assert!(out.text.contains("weekly.conf"), "{}", out.text);
}

#[test]
fn a_missing_subversion_repository_prints_the_legacy_line_in_test_mode() {
    // What the legacy ran without a youngest revision (`-r0:` with an empty HEAD), byte
    // for byte (golden case 08); a real run fails the item (backup::readme_example).
    let (d, conf) = site(&format!(
        "{GLOBALS}Subversion @ROOT@/no-repo\nDirectory /etc\n"
    ));
    let out = run_at(&["-t", "-c", &conf], &[], "2026-11-16 03:00:00");
    assert_eq!(out.code, 0, "{}", out.text);
    let repo = format!("{}/no-repo", d.path().display());
    assert!(
        out.text.contains(&format!(
            "INFO svnadmin dump -q -r0: --incremental {repo} | gzip  | s3 put"
        )),
        "{}",
        out.text
    );
    assert!(!out.text.contains("ERROR"), "{}", out.text);
    assert!(
        out.text.contains("Directory /etc -> b:/etc-"),
        "the other items go on: {}",
        out.text
    );
}

#[test]
fn debug_flag_shows_debug_lines() {
    let (_d, conf) = site(&format!("{GLOBALS}Directory /etc\n"));
    let out = run(&["-t", "-d", "-c", &conf], &[]);
    assert_eq!(out.code, 0, "{}", out.text);
    assert!(out.text.contains("DEBUG"), "{}", out.text);
}

#[test]
fn a_bad_now_is_a_usage_error() {
    let (_d, conf) = site(&format!("{GLOBALS}Directory /etc\n"));
    let out = run_at(&["-t", "-c", &conf], &[], "tomorrow");
    assert_eq!(out.code, 2, "{}", out.text);
    assert!(out.text.contains("YYYY-MM-DD HH:MM:SS"), "{}", out.text);
}

#[test]
fn a_config_that_cannot_start_does_not_stop_the_next() {
    let (d, first) = site(&format!(
        "{GLOBALS}GpgRecipient nobody@example.com\nDirectory /etc\n"
    ));
    let second = d.path().join("second.conf");
    fs::write(
        &second,
        format!("{GLOBALS}Directory /srv\n").replace("@ROOT@", d.path().to_str().unwrap()),
    )
    .unwrap();
    let dir = d.path().to_str().unwrap();
    let out = run(
        &["-t", "-c", &first, "second"],
        &[("S3NAPBACK_CONFIG_DIR", dir)],
    );
    assert_eq!(out.code, 2, "{}", out.text);
    assert!(
        out.text
            .contains("GPG recipient nobody@example.com not found"),
        "{}",
        out.text
    );
    assert!(
        out.text.contains("Directory /srv -> b:/srv-"),
        "{}",
        out.text
    );
}
