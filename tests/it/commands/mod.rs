//! The read-only commands and the command line against literal expectations: `cat`
//! byte for byte, `list --json` and the table as literal text, `verify` exit statuses,
//! positional NAMEs and `-d`.

mod cat;
mod listing;
mod names;
mod verify;

use std::process::Output;

use crate::support::tool;

use crate::backup::harness::{Site, make_tree, pipe_through};

/// When the commands run: after every slot the tests store.
const NOW: &str = "2026-11-14 03:00:00";

/// Runs `s3napback ARGS...` for `site` with its GnuPG home and `TZ` at [`NOW`] (stdout
/// and stderr kept apart, unlike `Site::run`).
pub fn run(site: &Site, tz: &str, args: &[&str]) -> Output {
    site.set_server_clock(NOW);
    let mut cmd = tool::command(args, NOW);
    site.prepare(&mut cmd);
    cmd.env("TZ", tz).output().expect("run s3napback")
}

/// Status, stdout and stderr, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A real `tar -cz` of a small tree made at `site/NAME`: the plain stream of a Directory
/// backup.
pub fn tar_gz(site: &Site, name: &str) -> Vec<u8> {
    let src = site.path(name);
    make_tree(&src);
    let argv: Vec<String> = ["tar", "-cz", "-C"]
        .iter()
        .map(|s| s.to_string())
        .chain([src.display().to_string(), ".".to_string()])
        .collect();
    pipe_through(&argv, &[])
}
