//! `Log::Dispatch::Email::MailSender`: one mail per run with the run's lines at or above
//! its level, through its layout; an SMTP server that cannot be reached is an ERROR on the
//! other appenders and the backup is stored all the same.

use super::smtp::{SmtpSink, closed_port};
use super::{run, write_logconfig};
use crate::backup::harness::{Site, chunks, extract, fetch, make_tree, restored, tree};
use crate::support::s3::moto;

fn email_appender(port: u16) -> String {
    format!(
        "log4perl.appender.Email = Log::Dispatch::Email::MailSender\n\
         log4perl.appender.Email.to = ops@example.com, backup@example.org\n\
         log4perl.appender.Email.from = s3napback@example.com\n\
         log4perl.appender.Email.subject = nightly backup\n\
         log4perl.appender.Email.smtp = 127.0.0.1:{port}\n\
         log4perl.appender.Email.min_level = info\n\
         log4perl.appender.Email.layout = Log::Log4perl::Layout::PatternLayout\n\
         log4perl.appender.Email.layout.ConversionPattern = [%p] %m%n\n"
    )
}

/// The Screen's `%c %p %m%n` records at INFO and above, laid out as `[%p] %m%n`.
fn screen_to_mail_layout(screen: &str) -> String {
    let mut out = String::new();
    let mut keep = false;
    for line in screen.lines() {
        let mut parts = line.splitn(3, ' ');
        let (cat, level, msg) = (parts.next(), parts.next(), parts.next());
        match (cat, level) {
            (Some(c), Some(l)) if c.starts_with("Backup") => {
                keep = matches!(l, "INFO" | "WARN" | "ERROR" | "FATAL");
                if keep {
                    out.push_str(&format!("[{l}] {}\n", msg.unwrap_or("")));
                }
            }
            _ if keep => out.push_str(&format!("{line}\n")),
            _ => {}
        }
    }
    out
}

/// A site with one directory item on a DIFF day (2026-11-13, slot 8).
fn one_item_site(server: &crate::support::s3::S3Server) -> (Site, String, String) {
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let body = format!(
        "<Cycle daily>\n\tDiffs 6\n\tFulls 2\n\tDirectory {}\n</Cycle>\n",
        src.display()
    );
    let conf = site.config(server, 1000, true, &body);
    let prefix = format!("{}-8-DIFF", src.display());
    (site, conf.display().to_string(), prefix)
}

#[test]
fn the_sink_receives_one_mail_with_the_runs_lines_at_its_level_and_layout() {
    let server = moto();
    let store = server.store();
    let sink = SmtpSink::start();
    let (site, conf, prefix) = one_item_site(&server);
    write_logconfig(&site, "DEBUG, Screen, Email", &email_appender(sink.port));
    let out = run(&site, &["-c", &conf], "2026-11-13 03:00:00");
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(!chunks(&store, &prefix).is_empty());
    // The Screen got DEBUG lines too; the mail only INFO and above.
    assert!(
        out.stderr.contains("Backup.S3napback DEBUG "),
        "{}",
        out.stderr
    );
    let mails = sink.mails();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    let mail = &mails[0];
    assert_eq!(mail.from, "s3napback@example.com");
    assert_eq!(mail.to, vec!["ops@example.com", "backup@example.org"]);
    assert!(
        mail.headers.lines().any(|h| h == "Subject: nightly backup"),
        "{}",
        mail.headers
    );
    assert_eq!(mail.body, screen_to_mail_layout(&out.stderr));
    assert!(
        mail.body
            .contains(&format!("[INFO] {}:{prefix}: stored ", server.bucket)),
        "{}",
        mail.body
    );
    assert!(
        mail.body.contains("[INFO] Summary: Directory "),
        "{}",
        mail.body
    );
    assert!(!mail.body.contains("DEBUG"), "{}", mail.body);
}

#[test]
fn an_unreachable_smtp_server_is_an_error_and_the_backup_is_still_stored() {
    let server = moto();
    let store = server.store();
    let port = closed_port();
    let (site, conf, prefix) = one_item_site(&server);
    write_logconfig(&site, "INFO, Screen, Email", &email_appender(port));
    let out = run(&site, &["-c", &conf], "2026-11-13 03:00:00");
    assert_eq!(out.status, 0, "{}", out.stderr);
    let expected = format!(
        "Backup.S3napback ERROR cannot send the log mail of appender Email to \
         ops@example.com, backup@example.org through 127.0.0.1:{port}: "
    );
    assert!(out.stderr.contains(&expected), "{}", out.stderr);
    // The error is the last thing logged, after the summary.
    assert!(
        out.stderr
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with(&expected)
    );
    // The slot restores to the source tree (legacy manual recovery).
    let stream = site.decrypt(&fetch(&store, &prefix));
    let out_dir = site.path("restored");
    extract(&stream, &out_dir);
    let src = site.path("src/tree");
    assert_eq!(tree(&restored(&out_dir, &src)), tree(&src));
}

/// The mail goes out after a failed run too, and carries the failure: doc/operating.md's "also
/// after a failure" (an item whose directory is missing fails; exit 1).
#[test]
fn the_mail_is_sent_after_a_failed_run_with_its_error() {
    let server = moto();
    let sink = SmtpSink::start();
    let (site, conf, _) = one_item_site(&server);
    let src = site.path("src/tree");
    std::fs::remove_dir_all(&src).unwrap();
    write_logconfig(&site, "INFO, Screen, Email", &email_appender(sink.port));
    let out = run(&site, &["-c", &conf], "2026-11-13 03:00:00");
    assert_eq!(out.status, 1, "{}", out.stderr);
    let mails = sink.mails();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    let error = format!("[ERROR] Backup of Directory {}", src.display());
    assert!(
        mails[0].body.contains(&error),
        "{error:?} in:\n{}",
        mails[0].body
    );
    assert!(
        mails[0].body.contains("Summary: Directory ") && mails[0].body.contains(": failed,"),
        "{}",
        mails[0].body
    );
}
