//! Integration tests: one binary, real tools and real servers.

mod support;
