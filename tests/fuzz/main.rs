//! Fuzz targets (proptest): the config parser and validation, the log-config parser and
//! pattern layout, the planner, and random bucket listings (planner, journal, restore
//! chain, status, list). Each property is "no panic, and errors name where":
//! proptest catches a panic as a failure and shrinks it to a minimal input.
//!
//! `cargo test --test fuzz` runs a modest number of cases per target (proptest's 256);
//! `PROPTEST_CASES=1000000 cargo test --profile fuzz --test fuzz` runs a million per target,
//! five million in all (the figures are in doc/development.md). The `fuzz` profile is release with overflow checks on,
//! so an overflow panics here instead of wrapping.

mod config;
mod listing;
mod logconfig;
mod planner;
mod text;
