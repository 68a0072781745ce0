//! Integration tests: one binary, real tools and real servers.

mod pipeline;
mod store;
mod support;
