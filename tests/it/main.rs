//! Integration tests: one binary, real tools and real servers.

mod backup;
mod pipeline;
mod store;
mod support;
