//! The operator's kit (issue 9): the e-mail appender against a local SMTP sink, the
//! end-of-run summary and `--json`, `NotifyCommand`, completions and man page, and the
//! `s3napback.pl` name.

mod commands;
mod mail;
mod smtp;
mod summary;

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::backup::harness::Site;

/// What one run of the tool printed, stdout and stderr apart.
pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A Screen appender on stderr with `%c %p %m%n`, plus `extra` log4perl lines.
pub fn write_logconfig(site: &Site, root: &str, extra: &str) {
    let text = format!(
        "log4perl.rootLogger = {root}\n\
         log4perl.appender.Screen = Log::Log4perl::Appender::Screen\n\
         log4perl.appender.Screen.stderr = 1\n\
         log4perl.appender.Screen.layout = Log::Log4perl::Layout::PatternLayout\n\
         log4perl.appender.Screen.layout.ConversionPattern = %c %p %m%n\n{extra}"
    );
    fs::write(site.path("log.conf"), text).unwrap();
}

/// Runs `program --logconfig SITE/log.conf ARGS...` in the site's environment.
pub fn run_as(program: &Path, site: &Site, args: &[&str]) -> Output {
    let (k, v) = site.gpg.env();
    let out = Command::new(program)
        .arg("--logconfig")
        .arg(site.path("log.conf"))
        .args(args)
        .env(k, v)
        .env("TZ", "UTC")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("run s3napback");
    Output {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the tool's binary (see [`run_as`]).
pub fn run(site: &Site, args: &[&str]) -> Output {
    run_as(Path::new(env!("CARGO_BIN_EXE_s3napback")), site, args)
}
