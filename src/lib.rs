//! s3napback as a library: the modules the binary and the integration tests share.
//!
//! The other modules (`config`, `plan`, `pipeline`, ...) move here as they are wired up;
//! add one `pub mod` line each.

pub mod chunker;
pub mod store;
