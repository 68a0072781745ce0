//! Integration tests: one binary, real tools and real servers.

pub(crate) mod backup;
mod cli;
mod inspect;
mod perf;
mod pipeline;
mod restore;
mod store;
mod support;
