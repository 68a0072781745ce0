//! End-to-end backups with the real binary, real tools and real S3 servers (issue 3).

mod databases;
mod directory;
mod failures;
pub mod harness;
mod rotation;
mod subversion;
mod takeover;
