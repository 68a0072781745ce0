//! s3napback: cycling, incremental, compressed, encrypted backups to S3.
//! `main` only wires: read the clock, parse the command line, run, exit with its status.

use std::process::ExitCode;

use clap::Parser;
use s3napback::clock::Clock;
use s3napback::commands::{self, cli::Cli};

fn main() -> ExitCode {
    // Read the clock first, before anything can start a thread.
    let system_clock = Clock::system();
    return_large_buffers_to_the_system();
    let cli = Cli::parse();
    let clock = if cli.run.common.now.is_some() || cli.command.is_some() {
        None
    } else {
        Some(system_clock)
    };
    ExitCode::from(commands::run(cli, clock))
}

/// Chunks and pieces (up to 32 MiB) are allocated and freed all run long, each by
/// whichever thread fetched or read it. glibc raises its mmap threshold to the size of
/// the largest block freed (up to 32 MiB), after which such buffers come from the
/// threads' heap arenas, which keep freed memory: the process grows with the length of
/// the stream instead of staying at the few buffers in flight. A fixed threshold of
/// 1 MiB keeps every large buffer an mmap of its own, returned to the system when freed.
fn return_large_buffers_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
