//! Integration tests: one binary, real tools and real servers.

mod pipeline;
mod restore;
mod store;
mod support;
