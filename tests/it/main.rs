//! Integration tests: one binary, real tools and real servers.

mod inspect;
mod pipeline;
mod store;
mod support;
