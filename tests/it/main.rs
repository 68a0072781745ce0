//! Integration tests: one binary, real tools and real servers.

mod argv;
mod backup;
mod cli;
mod commands;
mod conformance;
mod inspect;
mod pipeline;
mod restore;
mod store;
mod support;
