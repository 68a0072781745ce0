//! s3napback library: the parts of the tool that the integration tests drive directly.
pub mod pipeline;
pub mod snapshot;
