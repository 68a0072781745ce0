//! The operator's kit (issue 9): the e-mail appender against a local SMTP sink, the
//! end-of-run summary and `--json`, `NotifyCommand`, completions and man page, and the
//! `s3napback.pl` name.

mod commands;
mod mail;
mod metrics;
mod smtp;
mod summary;

use std::fs;
use std::path::Path;

use crate::backup::harness::Site;
use crate::support::tool;

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

/// Runs `program --logconfig SITE/log.conf ARGS... --now NOW` in the site's environment
/// (the server the site's config names moved to `now`).
pub fn run_as(program: &Path, site: &Site, args: &[&str], now: &str) -> Output {
    site.set_server_clock(now);
    let logconf = site.path("log.conf");
    let mut all = vec!["--logconfig", logconf.to_str().unwrap()];
    all.extend_from_slice(args);
    let mut cmd = tool::command_at(program, all, now);
    site.prepare(&mut cmd);
    let out = cmd.output().expect("run s3napback");
    Output {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the tool's binary as [`run_as`] runs a link to it.
pub fn run(site: &Site, args: &[&str], now: &str) -> Output {
    site.set_server_clock(now);
    let logconf = site.path("log.conf");
    let mut all = vec!["--logconfig", logconf.to_str().unwrap()];
    all.extend_from_slice(args);
    let mut cmd = tool::command(all, now);
    site.prepare(&mut cmd);
    let out = cmd.output().expect("run s3napback");
    Output {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
