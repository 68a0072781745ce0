//! Helpers that start real servers and prepare real tool state for the tests.

pub mod s3;
