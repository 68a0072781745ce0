//! Object storage: the [`Store`] trait the rest of the tool uses, and the js3tream key
//! layout (LEGACY.md §6 and §8). `s3` is the aws-sdk-s3 implementation; `memory` an
//! in-memory one for tests (key styles, fault injection).

pub mod keys;
pub mod memory;
pub mod s3;

use bytes::Bytes;
use time::OffsetDateTime;

/// The MD5 of `data` as lower-case hex, the form of a plain S3 ETag.
pub fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// True for an ETag that is a plain MD5 (32 hex digits): single-part uploads on AWS
/// without SSE-KMS/SSE-C, moto and Garage. Multipart ETags (`md5-N`) are not.
pub fn is_plain_md5(etag: &str) -> bool {
    etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit())
}

/// One stored object as a listing reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectInfo {
    /// The key as the server reports it (see [`Store::physical_key`]).
    pub key: String,
    pub size: u64,
    pub last_modified: OffsetDateTime,
    /// The ETag without quotes, when the server gave one.
    pub etag: Option<String>,
}

/// Failures of the store, each naming the bucket and key it concerns.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{op} {bucket}:{key}: {message}")]
    Request {
        op: &'static str,
        bucket: String,
        key: String,
        message: String,
    },
    #[error("{bucket}:{key}: ETag {etag} does not match the MD5 {md5} of the {size} bytes sent")]
    EtagMismatch {
        bucket: String,
        key: String,
        etag: String,
        md5: String,
        size: usize,
    },
    #[error("{bucket}:{key}: no such object")]
    NotFound { bucket: String, key: String },
    #[error("S3 client setup: {0}")]
    Setup(String),
}

/// A bucket of objects. Synchronous: implementations hide their own runtime.
/// Keys passed in are *logical* (the legacy names, `/etc-3-FULL:00000000000000000000`).
pub trait Store: Send + Sync {
    /// The bucket name.
    fn bucket(&self) -> &str;
    /// Every object whose logical key starts with `prefix` (all objects for `""`).
    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError>;
    /// Stores one object with Content-MD5 and checks the returned ETag against the MD5.
    fn put(&self, key: &str, body: Bytes) -> Result<(), StoreError>;
    /// Reads one whole object.
    fn get(&self, key: &str) -> Result<Bytes, StoreError>;
    /// Deletes objects (keys as returned by `list`); missing ones are not an error.
    fn delete(&self, keys: &[String]) -> Result<(), StoreError>;
    /// How this server spells a logical key in listings (servers such as Garage and MinIO
    /// strip leading `/`); identity on AWS-faithful servers.
    fn physical_key(&self, logical: &str) -> String;
}
