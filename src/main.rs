//! s3napback: cycling, incremental, compressed, encrypted backups to S3.
//! `main` only wires: read the clock, parse the command line, run, exit with its status.

use std::process::ExitCode;

use clap::Parser;
use s3napback::clock::Clock;
use s3napback::commands::{self, cli::Cli};

fn main() -> ExitCode {
    // Read the clock first, before anything can start a thread.
    let system_clock = Clock::system();
    let cli = Cli::parse();
    let clock = if cli.run.common.now.is_some() || cli.command.is_some() {
        None
    } else {
        Some(system_clock)
    };
    ExitCode::from(commands::run(cli, clock))
}
