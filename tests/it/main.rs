//! Integration tests: one binary, real tools and real servers.

mod backup;
mod cli;
mod faults;
mod inspect;
mod kit;
mod pipeline;
mod restore;
mod signals;
mod store;
mod support;
