//! Object storage: the [`ReadStore`] and [`Store`] traits the rest of the tool uses (the
//! read side for the read-only commands and test mode, the write side for backup runs),
//! and the js3tream key layout (LEGACY.md §6 and §8). `s3` is the aws-sdk-s3 implementation; `memory` an
//! in-memory one for tests (key styles, fault injection).

pub mod as_of;
pub mod commit;
pub mod keys;
pub mod lock;
pub mod memory;
pub mod multipart;
pub mod open;
pub mod retry;
pub mod s3;
pub mod stamp;

use bytes::Bytes;
use time::OffsetDateTime;

use keys::KeyStyle;
use lock::{BucketLock, Retention, VersionInfo};
use multipart::{OpenUpload, UploadedPart};

/// The MD5 of `data` as lower-case hex, the form of a plain S3 ETag.
pub fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    hex(&Md5::digest(data))
}

/// Lower-case hex of a digest (so a digest computed once serves both Content-MD5 and the
/// ETag comparison).
pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// True for an ETag that is a plain MD5 (32 hex digits): single-part uploads on AWS
/// without SSE-KMS/SSE-C, moto and Garage. Multipart ETags (`md5-N`) are not.
pub fn is_plain_md5(etag: &str) -> bool {
    etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The user metadata under which an upload stores the MD5 of the object's bytes
/// (lower-case hex; `x-amz-meta-s3napback-md5`), so that the bytes can be checked where
/// the ETag is no MD5 (SSE-KMS, SSE-C). CopyObject keeps it.
pub const MD5_METADATA: &str = "s3napback-md5";

/// An object's bytes as a sized read delivered them, with their MD5 when the store
/// computed it on the way (to check the body against the GET's ETag), so that a caller
/// checking the listed ETag does not hash the bytes a second time, and what the answer
/// said about how to check them.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The object's bytes.
    pub data: Bytes,
    /// Their MD5 (lower-case hex), when the store already computed it.
    pub md5: Option<String>,
    /// Whether the object's ETag can be the MD5 of its bytes: not when the answer says
    /// the object is encrypted with SSE-KMS or a customer key (SSE-C).
    pub etag_is_md5: bool,
    /// The MD5 stored with the object at upload ([`MD5_METADATA`]), when it has one.
    pub stored_md5: Option<String>,
    /// The object's ETag as the answer gave it (unquoted, lower case): the whole object's,
    /// also for a ranged read, so that the pieces of one object can be told to come from
    /// the same version.
    pub etag: Option<String>,
}

impl Fetched {
    /// The bytes with no digest computed yet, from an answer that said nothing about
    /// encryption and stored no MD5.
    pub fn unhashed(data: Bytes) -> Fetched {
        Fetched {
            data,
            md5: None,
            etag_is_md5: true,
            stored_md5: None,
            etag: None,
        }
    }

    /// The MD5 of the bytes (lower-case hex): the store's, else computed now.
    pub fn md5_hex(&self) -> String {
        self.md5.clone().unwrap_or_else(|| md5_hex(&self.data))
    }

    /// Why the bytes are not the object's as stored, judged against the MD5 stored with
    /// it (whatever the ETag) and against its listed ETag `etag` when that can be an MD5
    /// (a plain 32-hex ETag of an object the answer does not call SSE-KMS/SSE-C).
    pub fn md5_mismatch(&self, etag: Option<&str>) -> Option<Md5Mismatch> {
        judge_md5(
            || self.md5_hex(),
            self.stored_md5.as_deref(),
            etag,
            self.etag_is_md5,
        )
    }
}

/// How bytes differ from what was stored, given their MD5 (`md5`, computed once, and
/// only when there is something to compare it with): from the MD5 stored with the object
/// at upload (`stored`, whatever the ETag), and from its ETag `etag` when that can be an
/// MD5 (a plain 32-hex ETag of an object the answer did not call SSE-KMS/SSE-C:
/// `etag_is_md5`).
pub fn judge_md5(
    md5: impl FnOnce() -> String,
    stored: Option<&str>,
    etag: Option<&str>,
    etag_is_md5: bool,
) -> Option<Md5Mismatch> {
    let etag = etag
        .map(|e| e.trim_matches('"').to_ascii_lowercase())
        .filter(|e| etag_is_md5 && is_plain_md5(e));
    if stored.is_none() && etag.is_none() {
        return None;
    }
    let md5 = md5();
    if let Some(stored) = stored
        && !md5.eq_ignore_ascii_case(stored)
    {
        return Some(Md5Mismatch::Stored {
            md5,
            stored: stored.to_owned(),
        });
    }
    let etag = etag?;
    (md5 != etag).then_some(Md5Mismatch::Etag { md5, etag })
}

/// How a chunk's bytes differ from what was stored (see [`Fetched::md5_mismatch`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Md5Mismatch {
    /// The MD5 of the bytes is not the MD5 stored with the object at upload.
    #[error("its MD5 {md5} does not match the MD5 {stored} stored with it at upload")]
    Stored {
        /// The MD5 of the bytes received.
        md5: String,
        /// The MD5 stored with the object.
        stored: String,
    },
    /// The MD5 of the bytes is not its (plain MD5) ETag.
    #[error("its MD5 {md5} does not match its ETag {etag}")]
    Etag {
        /// The MD5 of the bytes received.
        md5: String,
        /// The listed ETag.
        etag: String,
    },
}

impl std::ops::Deref for Fetched {
    type Target = Bytes;
    fn deref(&self) -> &Bytes {
        &self.data
    }
}

/// One stored object as a listing reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectInfo {
    /// The key as the server reports it (see [`ReadStore::physical_key`]).
    pub key: String,
    pub size: u64,
    pub last_modified: OffsetDateTime,
    /// The ETag without quotes, when the server gave one.
    pub etag: Option<String>,
}

/// The underlying error a [`StoreError`] keeps (an SDK or I/O error).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Failures of the store, each naming the operation, bucket and key it concerns.
///
/// The text of a variant never repeats its source: `{}` gives a one-line summary in our
/// own words (with the S3 error code and HTTP status when the server answered), `{:#}`
/// (anyhow) or [`error_chain`] append the underlying error's chain.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A request failed (the server refused it, or the transport failed).
    #[error("{op} {}: {summary}", place(bucket, key))]
    Request {
        /// The S3 operation (`PutObject`, `GetObject`, ...).
        op: &'static str,
        bucket: String,
        key: String,
        /// What went wrong, in our words (S3 code, message and HTTP status included).
        summary: String,
        /// The S3 error code (`SlowDown`, `AccessDenied`, ...) when the server gave one.
        code: Option<Box<str>>,
        /// True when repeating the request cannot help (see [`StoreError::is_permanent`]).
        permanent: bool,
        #[source]
        source: Option<BoxError>,
    },
    /// The ETag of a PUT or GET answer is not the MD5 of the bytes sent or received
    /// (corruption on the way: retried).
    #[error("{op} {bucket}:{key}: ETag {etag} does not match the MD5 {md5} of the {size} bytes")]
    EtagMismatch {
        /// `PutObject` or `GetObject`.
        op: &'static str,
        bucket: String,
        key: String,
        etag: String,
        md5: String,
        size: usize,
    },
    /// A GET body longer than the listing said (refused at once, never held whole:
    /// permanent) or shorter (a broken transfer: retried).
    #[error("GetObject {bucket}:{key}: {}", body_size_text(*.expected, *.received))]
    BodySize {
        bucket: String,
        key: String,
        /// The size the listing gives.
        expected: u64,
        /// Bytes received (for a longer body: the count at which reading stopped).
        received: u64,
    },
    #[error("{bucket}:{key}: no such object")]
    NotFound { bucket: String, key: String },
    #[error("S3 client setup: {0}")]
    Setup(String),
}

/// `bucket:key`, or the bucket alone for bucket-wide requests (key `""`).
pub fn place(bucket: &str, key: &str) -> String {
    if key.is_empty() {
        bucket.to_owned()
    } else {
        format!("{bucket}:{key}")
    }
}

fn body_size_text(expected: u64, received: u64) -> String {
    if received > expected {
        format!("the server sent more than the {expected} bytes the listing gives; refused")
    } else {
        format!("the body ended after {received} of {expected} bytes")
    }
}

/// S3 error codes that no retry can cure: credentials, permissions, a missing bucket or
/// key, a malformed request.
pub const PERMANENT_CODES: &[&str] = &[
    "AccessDenied",
    "AccountProblem",
    "AllAccessDisabled",
    "InvalidAccessKeyId",
    "InvalidArgument",
    "InvalidBucketName",
    "InvalidObjectState",
    "InvalidRequest",
    "InvalidSecurity",
    "MalformedXML",
    "MethodNotAllowed",
    "NoSuchBucket",
    "NoSuchKey",
    "NotFound",
    "NotImplemented",
    "NotSignedUp",
    "SignatureDoesNotMatch",
    "EntityTooLarge",
];

/// S3 error codes worth another attempt even though their HTTP status is a 4xx.
const TRANSIENT_4XX_CODES: &[&str] = &[
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "BadDigest",
    "IncompleteBody",
    "ExpiredToken",
    "TooManyRequests",
    "SlowDown",
    "Throttling",
    "ThrottlingException",
];

/// Whether an answer of the server (HTTP `status`, S3 `code`) is permanent: the listed
/// codes always are; 5xx, 408, 429 and the throttling/timeout/digest codes never are;
/// any other 4xx is.
pub fn is_permanent_answer(status: Option<u16>, code: Option<&str>) -> bool {
    if let Some(code) = code {
        if PERMANENT_CODES.contains(&code) {
            return true;
        }
        if TRANSIENT_4XX_CODES.contains(&code) {
            return false;
        }
    }
    match status {
        Some(408 | 429) => false,
        Some(s) => (400..500).contains(&s),
        None => false,
    }
}

impl StoreError {
    /// A request this store does not implement (permanent, code `NotImplemented`).
    pub fn unsupported(op: &'static str, bucket: &str) -> StoreError {
        StoreError::Request {
            op,
            bucket: bucket.to_owned(),
            key: String::new(),
            summary: "not implemented by this store".into(),
            code: Some("NotImplemented".into()),
            permanent: true,
            source: None,
        }
    }

    /// True when repeating the request cannot help: a permanent S3 error code
    /// ([`PERMANENT_CODES`], other 4xx answers), a missing object, a body longer than
    /// listed, a setup error. 5xx, throttling, timeouts, dropped connections, an ETag
    /// mismatch and a short body are transient.
    pub fn is_permanent(&self) -> bool {
        match self {
            StoreError::Request { permanent, .. } => *permanent,
            StoreError::EtagMismatch { .. } => false,
            StoreError::BodySize {
                expected, received, ..
            } => received > expected,
            StoreError::NotFound { .. } | StoreError::Setup(_) => true,
        }
    }

    /// The S3 error code when the server gave one (`NoSuchKey` for a missing object).
    pub fn code(&self) -> Option<&str> {
        match self {
            StoreError::Request { code, .. } => code.as_deref(),
            StoreError::NotFound { .. } => Some("NoSuchKey"),
            _ => None,
        }
    }
}

/// An error and its whole source chain on one line (`a: b: c`), a segment that repeats
/// the previous one left out. The chain ends at a server's answer: its summary (code,
/// message, HTTP status) holds everything the SDK error below it knows.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let answered = |e: &(dyn std::error::Error + 'static)| {
        e.downcast_ref::<StoreError>()
            .is_some_and(|s| s.code().is_some())
    };
    let mut out = err.to_string();
    let mut last = out.clone();
    let mut next = if answered(err) { None } else { err.source() };
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !last.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        last = text;
        next = if answered(e) { None } else { e.source() };
    }
    out
}

/// A bucket of objects, read side: what list, verify, status, restore, cat and test mode
/// may do (they hold a `dyn ReadStore`, so they cannot write by mistake).
/// Synchronous: implementations hide their own runtime.
/// Keys passed in are *logical* (the legacy names, `/etc-3-FULL:00000000000000000000`).
pub trait ReadStore: Send + Sync {
    /// The bucket name.
    fn bucket(&self) -> &str;
    /// Every object whose logical key starts with `prefix` (all objects for `""`).
    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError>;
    /// Reads one whole object.
    fn get(&self, key: &str) -> Result<Bytes, StoreError>;
    /// Reads one object whose listing says it has `expected` bytes; a longer body is
    /// refused ([`StoreError::BodySize`], permanent), a shorter one is a (transient) error.
    /// Implementations stream and stop reading past `expected`; this default reads the
    /// whole body first.
    fn get_sized(&self, key: &str, expected: u64) -> Result<Fetched, StoreError> {
        let data = self.get(key)?;
        if data.len() as u64 != expected {
            return Err(StoreError::BodySize {
                bucket: self.bucket().to_owned(),
                key: key.to_owned(),
                expected,
                received: data.len() as u64,
            });
        }
        Ok(Fetched::unhashed(data))
    }
    /// Reads bytes `start..start + len` of an object (key as listed; of one version with
    /// `version`), which must exist: fewer bytes are a (transient) [`StoreError::BodySize`],
    /// more are refused. The answer's ETag and stored MD5 are the whole object's; the
    /// bytes are not checked against them (see [`multipart::ChunkDigest`]). This default
    /// reads the whole (current) object and slices it.
    fn get_range(
        &self,
        key: &str,
        version: Option<&str>,
        start: u64,
        len: u64,
    ) -> Result<Fetched, StoreError> {
        if version.is_some() {
            return Err(StoreError::unsupported("GetObject", self.bucket()));
        }
        let whole = self.get(key)?;
        let end = start.saturating_add(len);
        if (whole.len() as u64) < end {
            return Err(StoreError::BodySize {
                bucket: self.bucket().to_owned(),
                key: key.to_owned(),
                expected: len,
                received: (whole.len() as u64).saturating_sub(start),
            });
        }
        Ok(Fetched::unhashed(whole.slice(start as usize..end as usize)))
    }
    /// How this server spells a logical key in listings (servers such as Garage and MinIO
    /// strip leading `/`); identity on AWS-faithful servers.
    fn physical_key(&self, logical: &str) -> String;
    /// The user metadata `tag` of one object (key as listed), js3tream's `-t`.
    fn tag_of(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Every version and delete marker of the keys starting with `prefix` (logical; all
    /// for `""`), oldest first per key. Stores without versions refuse.
    fn list_versions(&self, prefix: &str) -> Result<Vec<VersionInfo>, StoreError> {
        let _ = prefix;
        Err(StoreError::unsupported("ListObjectVersions", self.bucket()))
    }
    /// Reads one version of an object (key as listed) that has `expected` bytes, like
    /// [`ReadStore::get_sized`].
    fn get_version(
        &self,
        key: &str,
        version_id: &str,
        expected: u64,
    ) -> Result<Fetched, StoreError> {
        let _ = (key, version_id, expected);
        Err(StoreError::unsupported("GetObject", self.bucket()))
    }
    /// The bucket's Object Lock configuration.
    fn bucket_lock(&self) -> Result<BucketLock, StoreError> {
        Ok(BucketLock::Unsupported(
            "this store has no Object Lock".into(),
        ))
    }
    /// The server's clock now (S3: the `Date` of an answer), for Object Lock dates; `None`
    /// for a store without a clock of its own (in memory).
    fn server_time(&self) -> Result<Option<time::OffsetDateTime>, StoreError> {
        Ok(None)
    }
    /// The lock on one version of an object (key as listed); `None` when unlocked.
    fn retention_of(&self, key: &str, version_id: &str) -> Result<Option<Retention>, StoreError> {
        let _ = (key, version_id);
        Ok(None)
    }
}

/// A bucket of objects, read and write: what a backup run uses.
pub trait Store: ReadStore {
    /// Stores one object with Content-MD5 and its MD5 as user metadata
    /// ([`MD5_METADATA`], where the store keeps metadata), and checks the returned ETag
    /// against the MD5 when it can be one.
    fn put(&self, key: &str, body: Bytes) -> Result<(), StoreError>;
    /// Copies one object inside the bucket on the server (no data passes through the
    /// tool), keeping its bytes, metadata and storage class; `to` is replaced if present.
    /// With `lock`, the new version is locked (Object Lock). Returns the new version's
    /// id on a versioned bucket.
    fn copy(
        &self,
        from: &str,
        to: &str,
        lock: Option<&Retention>,
    ) -> Result<Option<String>, StoreError>;
    /// Stores a small object locked with `lock` (with the Content-MD5 a lock needs);
    /// returns the new version's id.
    fn put_locked(
        &self,
        key: &str,
        body: Bytes,
        lock: &Retention,
    ) -> Result<Option<String>, StoreError> {
        let _ = (key, body, lock);
        Err(StoreError::unsupported("PutObject", self.bucket()))
    }
    /// Extends the lock of one version (key as listed; the current one for `None`) to
    /// `lock`; a lock that already lasts as long is left as it is (locks only grow).
    fn extend_retention(
        &self,
        key: &str,
        version_id: Option<&str>,
        lock: &Retention,
    ) -> Result<(), StoreError> {
        let _ = (key, version_id, lock);
        Err(StoreError::unsupported("PutObjectRetention", self.bucket()))
    }
    /// Starts a multipart upload of `key` (with the tag metadata, where the store keeps
    /// it); returns its upload id.
    fn create_multipart(&self, key: &str) -> Result<String, StoreError> {
        let _ = key;
        Err(StoreError::unsupported(
            "CreateMultipartUpload",
            self.bucket(),
        ))
    }
    /// Uploads part `number` (from 1) of an upload with Content-MD5, the returned ETag
    /// checked against the MD5 when it can be one.
    fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        body: Bytes,
    ) -> Result<UploadedPart, StoreError> {
        let _ = (key, upload_id, number, body);
        Err(StoreError::unsupported("UploadPart", self.bucket()))
    }
    /// Completes an upload from its `parts` (in order).
    fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> Result<(), StoreError> {
        let _ = (key, upload_id, parts);
        Err(StoreError::unsupported(
            "CompleteMultipartUpload",
            self.bucket(),
        ))
    }
    /// Stores `md5` (of the whole object, lower-case hex) with an object as
    /// [`MD5_METADATA`], which a multipart upload cannot carry from its start: the object
    /// is copied onto itself with the metadata replaced (the tag kept).
    fn store_md5(&self, key: &str, md5: &str) -> Result<(), StoreError> {
        let _ = (key, md5);
        Err(StoreError::unsupported("CopyObject", self.bucket()))
    }
    /// Aborts an upload: its parts are deleted; one already gone is not an error.
    fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StoreError> {
        let _ = (key, upload_id);
        Err(StoreError::unsupported(
            "AbortMultipartUpload",
            self.bucket(),
        ))
    }
    /// The uploads started and neither completed nor aborted under `prefix` (logical).
    fn list_multipart(&self, prefix: &str) -> Result<Vec<OpenUpload>, StoreError> {
        let _ = prefix;
        Ok(Vec::new())
    }
    /// Deletes objects (keys as returned by `list`); missing ones are not an error.
    fn delete(&self, keys: &[String]) -> Result<(), StoreError>;
    /// Creates the bucket when it does not exist (as js3tream did).
    fn ensure_bucket(&self) -> Result<(), StoreError>;
    /// How this server spells keys. May ask the server with a probe object (a write):
    /// read-only callers judge the style from a listing instead.
    fn key_style(&self) -> Result<KeyStyle, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_of_answers() {
        for code in [
            "AccessDenied",
            "NoSuchBucket",
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "NotFound",
        ] {
            assert!(is_permanent_answer(Some(403), Some(code)), "{code}");
        }
        assert!(is_permanent_answer(Some(404), None));
        assert!(is_permanent_answer(Some(400), Some("SomethingElse")));
        assert!(!is_permanent_answer(Some(503), Some("SlowDown")));
        assert!(!is_permanent_answer(Some(503), None));
        assert!(!is_permanent_answer(Some(500), Some("InternalError")));
        assert!(!is_permanent_answer(Some(400), Some("RequestTimeout")));
        assert!(!is_permanent_answer(Some(400), Some("BadDigest")));
        assert!(!is_permanent_answer(Some(429), None));
        assert!(
            !is_permanent_answer(None, None),
            "no answer: a transport failure"
        );
    }

    #[test]
    fn md5_is_judged_by_stored_metadata_and_by_etags_that_can_be_md5s() {
        let md5_abc = "900150983cd24fb0d6963f7d28e17f72";
        let kms_etag = "0123456789abcdef0123456789abcdef";
        let plain = |data: &'static [u8]| Fetched::unhashed(Bytes::from_static(data));
        let kms = |data: &'static [u8], stored: Option<&str>| Fetched {
            etag_is_md5: false,
            stored_md5: stored.map(str::to_owned),
            ..plain(data)
        };
        assert_eq!(plain(b"abc").md5_mismatch(Some(md5_abc)), None);
        assert!(matches!(
            plain(b"abd").md5_mismatch(Some(&format!("\"{md5_abc}\""))),
            Some(Md5Mismatch::Etag { .. })
        ));
        // an SSE-KMS ETag says nothing about the bytes ...
        assert_eq!(kms(b"abc", None).md5_mismatch(Some(kms_etag)), None);
        // ... the stored MD5 does, whatever the ETag
        assert_eq!(
            kms(b"abc", Some(md5_abc)).md5_mismatch(Some(kms_etag)),
            None
        );
        let err = kms(b"abd", Some(md5_abc))
            .md5_mismatch(Some(kms_etag))
            .unwrap();
        assert_eq!(
            err.to_string(),
            format!(
                "its MD5 4911e516e5aa21d327512e0c8b197616 does not match the MD5 {md5_abc} \
                 stored with it at upload"
            )
        );
        let stored_too = Fetched {
            stored_md5: Some(md5_abc.to_uppercase()),
            ..plain(b"abc")
        };
        assert_eq!(stored_too.md5_mismatch(None), None);
    }

    #[test]
    fn error_kinds_and_texts() {
        let body = |expected, received| StoreError::BodySize {
            bucket: "b".into(),
            key: "/k:0".into(),
            expected,
            received,
        };
        assert!(body(10, 11).is_permanent());
        assert!(!body(10, 4).is_permanent());
        assert_eq!(
            body(10, 4).to_string(),
            "GetObject b:/k:0: the body ended after 4 of 10 bytes"
        );
        let etag = StoreError::EtagMismatch {
            op: "GetObject",
            bucket: "b".into(),
            key: "/k:0".into(),
            etag: "x".into(),
            md5: "y".into(),
            size: 1,
        };
        assert!(!etag.is_permanent());
        let missing = StoreError::NotFound {
            bucket: "b".into(),
            key: "/k:0".into(),
        };
        assert!(missing.is_permanent());
        assert_eq!(missing.code(), Some("NoSuchKey"));
        let source: BoxError = Box::new(std::io::Error::other("connection reset"));
        let err = StoreError::Request {
            op: "PutObject",
            bucket: "b".into(),
            key: "/k:0".into(),
            summary: "the connection failed".into(),
            code: None,
            permanent: false,
            source: Some(source),
        };
        assert_eq!(err.to_string(), "PutObject b:/k:0: the connection failed");
        assert_eq!(
            error_chain(&err),
            "PutObject b:/k:0: the connection failed: connection reset"
        );
        let text = format!("{:#}", anyhow::Error::from(err));
        assert_eq!(text.matches("connection reset").count(), 1, "{text}");
        let answer = StoreError::Request {
            op: "GetObject",
            bucket: "b".into(),
            key: "/k:0".into(),
            summary: "SlowDown: reduce your rate (HTTP 503)".into(),
            code: Some("SlowDown".into()),
            permanent: false,
            source: Some(Box::new(std::io::Error::other("service error"))),
        };
        assert_eq!(
            error_chain(&answer),
            "GetObject b:/k:0: SlowDown: reduce your rate (HTTP 503)"
        );
    }
}
