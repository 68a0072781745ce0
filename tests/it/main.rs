//! Integration tests: one binary, real tools and real servers.

mod argv;
pub(crate) mod backup;
mod cli;
mod clock_discipline;
mod commands;
mod conformance;
mod faults;
mod fleet;
mod hostile;
mod iam_policies;
mod inspect;
mod interrupted_commit;
mod kit;
mod listing_failure;
mod object_lock;
mod perf;
mod pipeline;
mod prepare_bucket;
mod restore;
mod restore_damaged_gzip;
mod restore_dumpdir;
mod restore_safety;
mod restore_unencrypted;
mod signals;
mod sse_kms;
mod store;
mod support;
