//! Integration tests: one binary, real tools and real servers.

mod backup;
mod cli;
mod inspect;
mod pipeline;
mod restore;
mod restore_safety;
mod store;
mod support;
