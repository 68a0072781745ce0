//! Helpers that start real servers and prepare real tool state for the tests.

pub mod clock;
pub mod db;
pub mod garage_cluster;
pub mod gpg;
pub mod kms;
pub mod proxy;
pub mod s3;
pub mod s3admin;
pub mod svn;
pub mod tool;
