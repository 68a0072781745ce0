//! `s3napback restore` and `s3napback cat`.

use crate::clock::Clock;

/// Runs `restore`; returns the exit status.
pub fn run(_args: &crate::cli::RestoreArgs, _clock: &Clock) -> anyhow::Result<u8> {
    anyhow::bail!("restore: not implemented yet")
}

/// Runs `cat`; returns the exit status.
pub fn run_cat(_args: &crate::cli::CatArgs, _clock: &Clock) -> anyhow::Result<u8> {
    anyhow::bail!("cat: not implemented yet")
}
