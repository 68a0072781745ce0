//! The only way the tests start the tool: [`command`] (the binary) or [`command_at`] (a
//! link to it, e.g. `s3napback.pl`). Both take the run's clock, `--now NOW`, and set
//! `TZ=UTC` (a caller may set another zone), so no test depends on the real date, time
//! of day or zone. `tests/it/clock_discipline.rs` fails when a test names the binary or
//! spawns it any other way.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

/// The tool's binary. Private: run it through [`command`], link it with [`link`].
const BINARY: &str = env!("CARGO_BIN_EXE_s3napback");

/// `s3napback ARGS... --now NOW` with `TZ=UTC`. `--now` is a global option: every
/// subcommand takes it (`gzip`, `completions`, `man` and `--help` too).
pub fn command<I, S>(args: I, now: &str) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    command_at(Path::new(BINARY), args, now)
}

/// [`command`] run as `program` (a link to the binary; a bare name is looked up in PATH).
pub fn command_at<I, S>(program: &Path, args: I, now: &str) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<S> = args.into_iter().collect();
    for a in &args {
        let a = a.as_ref();
        assert!(
            a != "--now" && !a.to_string_lossy().starts_with("--now="),
            "pass the time as tool::command's `now`, not in ARGS"
        );
        assert!(
            a != "--",
            "`--` would make the appended `--now` a positional argument"
        );
    }
    let mut cmd = Command::new(program);
    cmd.args(&args).arg("--now").arg(now).env("TZ", "UTC");
    cmd
}

/// A symbolic link `at` to the binary (run it with [`command_at`]).
pub fn link(at: &Path) {
    std::os::unix::fs::symlink(BINARY, at)
        .unwrap_or_else(|e| panic!("link {} -> {BINARY}: {e}", at.display()));
}
