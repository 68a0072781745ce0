//! `s3napback status`.

use crate::clock::Clock;

/// Runs the command; returns the exit status.
pub fn run(_args: &crate::cli::StatusArgs, _clock: &Clock) -> anyhow::Result<u8> {
    anyhow::bail!("status: not implemented yet")
}
