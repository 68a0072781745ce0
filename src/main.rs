//! s3napback: cycling, incremental, compressed, encrypted backups to S3.
//! `main` only wires: parse the command line, run, map the outcome to an exit code.

mod cli;
mod config;
mod logconfig;
mod pipeline;
mod snapshot;

fn main() {
    println!("s3napback skeleton");
}
