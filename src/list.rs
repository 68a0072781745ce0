//! `s3napback list`.

use crate::clock::Clock;

/// Runs the command; returns the exit status.
pub fn run(_args: &crate::cli::ListArgs, _clock: &Clock) -> anyhow::Result<u8> {
    anyhow::bail!("list: not implemented yet")
}
