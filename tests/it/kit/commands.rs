//! `completions`, `man`, an example in every subcommand's `--help`, and the binary called
//! through a link named `s3napback.pl` behaving exactly the same.

use std::fs;
use std::path::Path;

use super::{Output, run, run_as, write_logconfig};
use crate::backup::harness::Site;
use crate::support::clock::DAY_2;
use crate::support::s3::ClosedPort;
use crate::support::tool;

const SUBCOMMANDS: [&str; 8] = [
    "list",
    "restore",
    "cat",
    "verify",
    "status",
    "prepare-bucket",
    "completions",
    "man",
];

#[test]
fn completions_for_each_shell_name_every_subcommand() {
    let site = Site::new();
    for (shell, marker) in [
        ("bash", "complete -F _s3napback"),
        ("zsh", "#compdef s3napback"),
        ("fish", "complete -c s3napback"),
    ] {
        let out = run(&site, &["completions", shell], DAY_2);
        assert_eq!(out.status, 0, "{shell}: {}", out.stderr);
        assert!(out.stdout.contains(marker), "{shell}:\n{}", out.stdout);
        for sub in SUBCOMMANDS {
            assert!(out.stdout.contains(sub), "{shell} lacks {sub}");
        }
        assert!(out.stdout.contains("json"), "{shell} lacks --json");
    }
    let out = run(&site, &["completions", "tcsh"], DAY_2);
    assert_eq!(out.status, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("invalid value 'tcsh'"),
        "{}",
        out.stderr
    );
}

#[test]
fn man_prints_a_roff_page_with_every_subcommand() {
    let out = run(&Site::new(), &["man"], DAY_2);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with(".ie \\n(.g .ds Aq"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(".TH s3napback 1"), "{}", out.stdout);
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
        assert!(out.stdout.contains(section), "{section}\n{}", out.stdout);
    }
    for sub in SUBCOMMANDS {
        // roff escapes every hyphen
        let roff = format!("s3napback-{sub}").replace('-', "\\-");
        assert!(out.stdout.contains(&roff), "{sub}");
    }
}

#[test]
fn every_subcommand_help_shows_an_example() {
    let site = Site::new();
    let top = run(&site, &["--help"], DAY_2);
    assert!(
        top.stdout.contains("Examples:\n  s3napback -t -c "),
        "{}",
        top.stdout
    );
    for sub in SUBCOMMANDS {
        let out = run(&site, &[sub, "--help"], DAY_2);
        assert_eq!(out.status, 0, "{sub}: {}", out.stderr);
        assert!(out.stdout.contains("Example"), "{sub}:\n{}", out.stdout);
        assert!(
            out.stdout.contains(&format!("\n  s3napback {sub} ")),
            "{sub}:\n{}",
            out.stdout
        );
    }
}

fn same(a: &Output, b: &Output, what: &str) {
    assert_eq!(a.status, b.status, "{what}");
    assert_eq!(a.stdout, b.stdout, "{what}");
    assert_eq!(a.stderr, b.stderr, "{what}");
}

#[test]
fn a_link_named_s3napback_pl_behaves_exactly_the_same() {
    let site = Site::new();
    let link = site.path("bin/s3napback.pl");
    fs::create_dir_all(link.parent().unwrap()).unwrap();
    tool::link(&link);
    write_logconfig(&site, "INFO, Screen", "");
    let conf = site.path("x.conf");
    let closed = ClosedPort::new();
    fs::write(
        &conf,
        format!(
            "DiffDir {}\nBucket b\nChunkSize 1000\nS3Endpoint {}\n\
             Directory /etc\n",
            site.diff_dir().display(),
            closed.endpoint()
        ),
    )
    .unwrap();
    let conf = conf.to_str().unwrap();
    for args in [
        &["-h"][..],
        &["--help"],
        &["--version"],
        &["list", "--help"],
        &["-t", "-c", conf],
        &["-c", "/nonexistent.conf"],
    ] {
        let by_name = run_as(&link, &site, args, DAY_2);
        let direct = run(&site, args, DAY_2);
        same(&by_name, &direct, &format!("{args:?}"));
    }
    let usage = run_as(&link, &site, &["-h"], DAY_2);
    assert!(
        usage.stdout.contains("Usage: s3napback [OPTIONS]"),
        "{}",
        usage.stdout
    );
    let test_mode = run_as(&link, &site, &["-t", "-c", conf], DAY_2);
    assert!(
        test_mode
            .stderr
            .contains("Directory INFO Directory /etc -> b:/etc-8-DIFF"),
        "{}",
        test_mode.stderr
    );
}

#[test]
fn a_s3napback_pl_link_uses_the_log_config_beside_it_as_the_legacy_script_did() {
    let site = Site::new();
    let legacy_bin = site.path("usr/local/bin");
    fs::create_dir_all(&legacy_bin).unwrap();
    let link = legacy_bin.join("s3napback.pl");
    tool::link(&link);
    fs::write(
        legacy_bin.join("s3napback.logconfig"),
        "log4perl.rootLogger = INFO, Screen\n\
         log4perl.appender.Screen = Log::Log4perl::Appender::Screen\n\
         log4perl.appender.Screen.layout = Log::Log4perl::Layout::PatternLayout\n\
         log4perl.appender.Screen.layout.ConversionPattern = legacy-beside-the-link %p %m%n\n",
    )
    .unwrap();
    let conf = site.path("x.conf");
    let closed = ClosedPort::new();
    fs::write(
        &conf,
        format!(
            "DiffDir {}\nBucket b\nChunkSize 1000\nS3Endpoint {}\n",
            site.diff_dir().display(),
            closed.endpoint()
        ),
    )
    .unwrap();
    // Called by its full path, and by name through PATH (as a crontab line would).
    let path = format!("{}:/usr/bin:/bin", legacy_bin.display());
    for program in [link.as_path(), Path::new("s3napback.pl")] {
        let out = tool::command_at(program, ["-t", "-c", conf.to_str().unwrap()], DAY_2)
            .env("PATH", &path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with("legacy-beside-the-link INFO Starting s3napback\n"),
            "{}: {stderr}",
            program.display()
        );
    }
}
