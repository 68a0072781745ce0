//! Integration tests: one binary, real tools and real servers.

mod backup;
mod cli;
mod hostile;
mod inspect;
mod pipeline;
mod restore;
mod store;
mod support;
