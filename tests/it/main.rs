//! Integration tests: one binary, real tools and real servers.

mod backup;
mod cli;
mod inspect;
mod kit;
mod pipeline;
mod restore;
mod store;
mod support;
