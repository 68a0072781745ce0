//! `s3napback verify`.

use crate::clock::Clock;

/// Runs the command; returns the exit status.
pub fn run(_args: &crate::cli::VerifyArgs, _clock: &Clock) -> anyhow::Result<u8> {
    anyhow::bail!("verify: not implemented yet")
}
