//! `NotifyCommand`: after a backup run, runs each configured command (an argument vector,
//! no shell) with the JSON summary on stdin and `S3NAPBACK_STATUS` set to the exit status.
//! A command that fails is logged at ERROR; it never changes the run's exit status.

use anyhow::{Context, Result, bail};

use crate::plan::report::Category;

/// The environment variable that carries the run's exit status.
pub const STATUS_VARIABLE: &str = "S3NAPBACK_STATUS";

/// Runs `argv` with `json` on stdin; an error names the command and says how it failed
/// (with what it wrote to stderr).
pub fn notify(argv: &[String], json: &str, exit_status: u8) -> Result<()> {
    let (program, args) = argv.split_first().context("NotifyCommand is empty")?;
    let shown = shell_words::join(argv);
    let out = duct::cmd(program, args)
        .stdin_bytes(json.as_bytes())
        .env(STATUS_VARIABLE, exit_status.to_string())
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .with_context(|| format!("NotifyCommand `{shown}` could not be started"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        bail!(
            "NotifyCommand `{shown}` failed ({}): {}",
            out.status,
            stderr.trim()
        );
    }
    log::debug!(target: Category::Main.target(), "NotifyCommand `{shown}` done");
    Ok(())
}

/// Runs every command once (in order, duplicates dropped), logging failures at ERROR.
pub fn notify_all(commands: &[Vec<String>], json: &str, exit_status: u8) {
    let mut seen: Vec<&Vec<String>> = Vec::new();
    for argv in commands {
        if seen.contains(&argv) {
            continue;
        }
        seen.push(argv);
        if let Err(e) = notify(argv, json, exit_status) {
            log::error!(target: Category::Main.target(), "{e:#}");
        }
    }
}
