//! Configs beyond the documented limits (doc/configuration.md, "Limits"): exit 2 before any
//! work, a message naming the directive and file:line, never a panic. Run in debug (overflow
//! checks on) and in the `fuzz` profile (optimised) alike: the arithmetic is checked
//! explicitly, so both give the same message.

use super::{GLOBALS, Scratch};
use std::path::Path;

fn refused(conf_body: &str, needles: &[&str]) {
    let s = Scratch::new();
    let conf = s.write("x.conf", &format!("{GLOBALS}{conf_body}"));
    let out = s.test_run(&conf, &[]);
    assert_eq!(out.code, 2, "{conf_body}:\n{}", out.text);
    for needle in needles {
        let needle = needle.replace("@CONF@", conf.to_str().unwrap());
        assert!(out.text.contains(&needle), "{needle:?} in:\n{}", out.text);
    }
}

#[test]
fn schedule_numbers_that_would_overflow_are_refused_with_file_and_line() {
    refused(
        "Diffs 9223372036854775807\nFulls 2\nDirectory /srv\n",
        &["@CONF@:4: Diffs must be at most 100000, not 9223372036854775807"],
    );
    refused(
        "CycleType HanoiCycle\nDiscs 63\nArchiveOldestDisc yes\nDirectory /srv\n",
        &["@CONF@:5: Discs must be at most 32, not 63"],
    );
    refused(
        "<Cycle c>\nCycleType HanoiCycle\nFrequency 9223372036854775807\nMySQL all\n</Cycle>\n",
        &["@CONF@:6: Frequency must be at most 36500"],
    );
    refused(
        "<Directory /srv>\nPhase 9223372036854775807\n</Directory>\n",
        &["@CONF@:5: Phase must be at most 36500"],
    );
    refused(
        "Fulls 99999999999999999999999\nMySQL all\n",
        &["@CONF@:4: Fulls 99999999999999999999999 is out of range"],
    );
    refused(
        "Frequency -9223372036854775808\nMySQL all\n",
        &["@CONF@:4: Frequency must be at least 1"],
    );
}

#[test]
fn the_limits_themselves_are_accepted() {
    let s = Scratch::new();
    let conf = s.write(
        "x.conf",
        &format!(
            "{GLOBALS}Frequency 36500\nPhase 36500\nDiffs 100000\nFulls 100000\n\
             Directory /srv\n<Cycle h>\nCycleType HanoiCycle\nDiscs 32\nFrequency 36500\n\
             ArchiveOldestDisc yes\nMySQL all\n</Cycle>\n"
        ),
    );
    let out = s.test_run(&conf, &["-f"]);
    assert_eq!(out.code, 0, "{}", out.text);
    assert!(
        out.text
            .contains("MySQL --all-databases -> b:MySQL/--all-databases-"),
        "{}",
        out.text
    );
}

#[test]
fn huge_log_pattern_widths_are_refused_with_file_and_line() {
    let s = Scratch::new();
    let conf = s.write("x.conf", &format!("{GLOBALS}Directory /srv\n"));
    for pattern in [
        "%999999999m%n",
        "%-1001p %m%n",
        "%.99999999999999999999m%n",
        "%c{123456} %m",
    ] {
        let log = s.write(
            "log.conf",
            &format!(
                "log4perl.rootLogger = INFO, A\n\
                 log4perl.appender.A = Log::Log4perl::Appender::Screen\n\
                 log4perl.appender.A.layout = Log::Log4perl::Layout::PatternLayout\n\
                 log4perl.appender.A.layout.ConversionPattern = {pattern}\n"
            ),
        );
        let out = s.test_run(&conf, &["--logconfig", log.to_str().unwrap()]);
        assert_eq!(out.code, 2, "{pattern}: {}", out.text);
        let want = format!("{}:4: invalid log configuration: width", log.display());
        assert!(out.text.contains(&want), "{pattern}: {}", out.text);
        assert!(
            out.text.contains("larger than the limit of 1000"),
            "{}",
            out.text
        );
    }
}

#[test]
fn include_of_devices_and_huge_files_is_refused() {
    let s = Scratch::new();
    let big = s.write("big.conf", &"# padding\n".repeat(110_000));
    let fifo = s.dir.path().join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for (target, why) in [
        ("/dev/zero", "/dev/zero: cannot read: not a regular file"),
        ("/dev/null", "/dev/null: cannot read: not a regular file"),
        (
            fifo.to_str().unwrap(),
            "fifo: cannot read: not a regular file",
        ),
        (
            big.to_str().unwrap(),
            "larger than the limit of 1048576 bytes",
        ),
    ] {
        let s2 = Scratch::new();
        let conf = s2.write("x.conf", &format!("{GLOBALS}Include {target}\n"));
        let out = s2.test_run(&conf, &[]);
        assert_eq!(out.code, 2, "{target}: {}", out.text);
        assert!(out.text.contains(why), "{target}: {}", out.text);
        let from = format!("included from {}:4", conf.display());
        assert!(out.text.contains(&from), "{target}: {}", out.text);
    }
    // The config itself, and a log config, are held to the same rules.
    let out = s.test_run(Path::new("/dev/zero"), &[]);
    assert_eq!(out.code, 2, "{}", out.text);
    let conf = s.write("x.conf", &format!("{GLOBALS}Directory /srv\n"));
    let out = s.test_run(&conf, &["--logconfig", "/dev/zero"]);
    assert_eq!(out.code, 2, "{}", out.text);
    assert!(
        out.text.contains("/dev/zero: not a regular file"),
        "{}",
        out.text
    );
}

#[test]
fn include_fan_out_and_exponential_trees_are_refused() {
    let s = Scratch::new();
    s.write("leaf.conf", "Exclude /x\n");
    // One file included thousands of times.
    let many = "Include @ROOT@/leaf.conf\n".repeat(5000);
    let conf = s.write("x.conf", &format!("{GLOBALS}{many}Directory /srv\n"));
    let out = s.test_run(&conf, &[]);
    assert_eq!(out.code, 2, "{}", out.text);
    let want = format!("{}:260: Include: more than 256 files read", conf.display());
    assert!(out.text.contains(&want), "{}", out.text);
    // Ten levels, each including the next twice: 2^10 reads.
    for level in 0..10 {
        let next = format!("Include @ROOT@/t{}.conf\n", level + 1);
        s.write(&format!("t{level}.conf"), &next.repeat(2));
    }
    s.write("t10.conf", "Exclude /y\n");
    let conf = s.write("y.conf", &format!("{GLOBALS}Include @ROOT@/t0.conf\n"));
    let out = s.test_run(&conf, &[]);
    assert_eq!(out.code, 2, "{}", out.text);
    assert!(
        out.text.contains("Include: more than 256 files read"),
        "{}",
        out.text
    );
}

#[test]
fn deep_block_nesting_is_refused_also_across_includes() {
    let s = Scratch::new();
    let deep = "<Cycle x>\n".repeat(100_000);
    let conf = s.write("x.conf", &format!("{GLOBALS}{deep}"));
    let out = s.test_run(&conf, &[]);
    assert_eq!(out.code, 2, "{}", out.text);
    let want = format!(
        "{}:20: <Cycle> nests blocks more than 16 deep",
        conf.display()
    );
    assert!(out.text.contains(&want), "{}", out.text);

    let inner = s.write("inner.conf", &"<Directory /a>\n".repeat(10));
    let conf = s.write(
        "y.conf",
        &format!(
            "{GLOBALS}{}Include {}\n",
            "<Cycle x>\n".repeat(10),
            inner.display()
        ),
    );
    let out = s.test_run(&conf, &[]);
    assert_eq!(out.code, 2, "{}", out.text);
    let want = format!(
        "{}:7: <Directory> nests blocks more than 16 deep",
        inner.display()
    );
    assert!(out.text.contains(&want), "{}", out.text);
}
