//! Integration tests: one binary, real tools and real servers.

mod argv;
pub(crate) mod backup;
mod cli;
mod commands;
mod conformance;
mod faults;
mod hostile;
mod inspect;
mod kit;
mod perf;
mod pipeline;
mod restore;
mod restore_damaged_gzip;
mod restore_safety;
mod restore_unencrypted;
mod signals;
mod sse_kms;
mod store;
mod support;
