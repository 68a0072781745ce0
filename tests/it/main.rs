//! Integration tests: one binary, real tools and real servers.

mod store;
mod support;
