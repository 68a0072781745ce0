//! Unit tests of `pattern`.

use super::*;
use time::macros::datetime;

fn clock() -> Clock {
    Clock {
        now: datetime!(2027-03-04 05:06:07.089123456 +01:00),
        zone: "CET".to_string(),
    }
}

fn render(pattern: &str, level: log::Level, msg: &str) -> String {
    let (p, problems) = Log4perlPattern::new(pattern).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    p.render_at(
        &Record::builder()
            .args(format_args!("{msg}"))
            .level(level)
            .target("Backup::S3napback::Directory")
            .module_path(Some("s3napback::source::dir"))
            .file(Some("src/source/dir.rs"))
            .line(Some(42))
            .build(),
        &clock(),
    )
}

fn info(pattern: &str) -> String {
    render(pattern, log::Level::Info, "message")
}

#[test]
fn golden_pattern() {
    assert_eq!(
        info("%c %p %m%n"),
        "Backup.S3napback.Directory INFO message\n"
    );
}

#[test]
fn default_date_and_formats() {
    assert_eq!(info("%d"), "2027/03/04 05:06:07");
    assert_eq!(
        info("%d{yyyy-MM-dd HH:mm:ss,SSS}"),
        "2027-03-04 05:06:07,089"
    );
    assert_eq!(info("%d{yy M d H m s}"), "27 3 4 5 6 7");
    assert_eq!(info("%d{hh:mm a EEE MMM}"), "05:06 AM Thu Mar");
    assert_eq!(info("%d{EEEE MMMM}"), "Thursday March");
    assert_eq!(info("%d{z Z}"), "CET +0100");
    assert_eq!(info("%d{SSSSSS}"), "089123");
    assert_eq!(
        info("%d{yyyy-MM-dd'T'HH:mm 'o''clock'}"),
        "2027-03-04T05:06 o'clock"
    );
    assert_eq!(info("%d{ISO8601}"), "2027-03-04 05:06:07,089");
    assert_eq!(info("%d{ABSOLUTE}"), "05:06:07,089");
    assert_eq!(info("%d{DATE}"), "04 Mar 2027 05:06:07,089");
    assert_eq!(info("%d{D}"), "63");
}

#[test]
fn pm_and_negative_offset() {
    let (p, _) = Log4perlPattern::new("%d{h a Z}").unwrap();
    let c = Clock {
        now: datetime!(2027-03-04 12:00:00 -08:00),
        zone: "PST".into(),
    };
    let rec = Record::builder().args(format_args!("x")).build();
    assert_eq!(p.render_at(&rec, &c), "12 PM -0800");
}

#[test]
fn category_class_file_location() {
    assert_eq!(
        info("%c{1}|%c{2}|%c{9}"),
        "Directory|S3napback.Directory|Backup.S3napback.Directory"
    );
    assert_eq!(
        info("%C|%C{1}|%M"),
        "s3napback::source::dir|dir|s3napback::source::dir"
    );
    assert_eq!(info("%F|%F{1}|%L"), "src/source/dir.rs|dir.rs|42");
    assert_eq!(info("%l"), "s3napback::source::dir src/source/dir.rs (42)");
}

#[test]
fn host_pid_relative() {
    assert_eq!(info("%H"), hostname());
    assert!(!hostname().is_empty());
    assert_eq!(info("%P"), std::process::id().to_string());
    let r: u64 = info("%r").parse().unwrap();
    assert!(r < 3_600_000);
    let r: u64 = info("%R").parse().unwrap();
    assert!(r < 3_600_000);
}

#[test]
fn literals_percent_newline_and_misc() {
    assert_eq!(info("100%% [%m]%n"), "100% [message]\n");
    assert_eq!(info("a%Tb%x"), "ab[undef]");
    assert_eq!(render("%m{chomp}|", log::Level::Info, "line\n"), "line|");
    assert_eq!(info("%X{user}"), "[undef]");
    let (p, _) = Log4perlPattern::new("%X{user} %m").unwrap();
    let kv = [("user", "alice")];
    let rec = Record::builder()
        .args(format_args!("hi"))
        .key_values(&kv)
        .build();
    assert_eq!(p.render_at(&rec, &clock()), "alice hi");
}

#[test]
fn level_names_and_fatal() {
    assert_eq!(render("%p", log::Level::Trace, ""), "TRACE");
    assert_eq!(render("%p", log::Level::Debug, ""), "DEBUG");
    assert_eq!(render("%p", log::Level::Info, ""), "INFO");
    assert_eq!(render("%p", log::Level::Warn, ""), "WARN");
    assert_eq!(render("%p", log::Level::Error, ""), "ERROR");
    assert_eq!(render("%p{1}", log::Level::Error, ""), "E");
    let (p, _) = Log4perlPattern::new("%p %m").unwrap();
    let kv = [("fatal", true)];
    let rec = Record::builder()
        .args(format_args!("boom"))
        .level(log::Level::Error)
        .key_values(&kv)
        .build();
    assert_eq!(p.render_at(&rec, &clock()), "FATAL boom");
}

#[test]
fn width_modifiers() {
    assert_eq!(info("[%-5p]"), "[INFO ]");
    assert_eq!(info("[%5p]"), "[ INFO]");
    assert_eq!(info("[%.3c]"), "[Bac]");
    assert_eq!(info("[%-8.3p]"), "[INF     ]");
    assert_eq!(info("[%8.3p]"), "[     INF]");
    assert_eq!(info("[%2p]"), "[INFO]");
    assert_eq!(info("[%-10c{1}]"), "[Directory ]");
    assert_eq!(info("[%10d{HH:mm}]"), "[     05:06]");
}

#[test]
fn unknown_conversions_are_reported_and_kept() {
    let (p, problems) = Log4perlPattern::new("%Q %m %").unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("%Q"));
    let rec = Record::builder().args(format_args!("x")).build();
    assert_eq!(p.render_at(&rec, &clock()), "%Q x %");
}

#[test]
fn encoder_writes_through_log4rs() {
    use log4rs::encode::writer::simple::SimpleWriter;
    let (p, _) = Log4perlPattern::new("%c %p %m%n").unwrap();
    let mut buf = SimpleWriter(Vec::new());
    let rec = Record::builder()
        .args(format_args!("message"))
        .level(log::Level::Info)
        .target("Backup::S3napback::Directory")
        .build();
    p.encode(&mut buf, &rec).unwrap();
    assert_eq!(
        String::from_utf8(buf.0).unwrap(),
        "Backup.S3napback.Directory INFO message\n"
    );
}
