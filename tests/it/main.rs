//! Integration tests: one binary, real tools and real servers.

mod backup;
mod cli;
mod pipeline;
mod restore;
mod store;
mod support;
