//! The aws-sdk-s3 store behind a private tokio runtime.
