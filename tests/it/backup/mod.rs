//! End-to-end backups with the real binary, real tools and real S3 servers (issue 3).

mod chain;
mod databases;
mod directory;
mod failures;
mod fast_failures;
mod first_night;
pub(crate) mod harness;
mod interrupted;
mod late_commit;
mod options;
mod readme_example;
mod restore_paths;
pub(crate) mod reused_slots;
mod rotation;
mod subversion;
mod subversion_status;
mod takeover;
mod temp_file;
mod test_mode;
