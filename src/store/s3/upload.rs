//! Uploads: PutObject with its Content-MD5 and the answer's ETag checked, and the
//! copy source a CopyObject names.

use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::operation::upload_part::UploadPartOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ObjectLockMode, StorageClass};
use base64::Engine;
use bytes::Bytes;
use md5::{Digest, Md5};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::versions::smithy_time;
use super::{S3Store, Stall, etag_can_be_md5};
use crate::store::StoreError;
use crate::store::lock::Retention;

/// What a CopyObject source key escapes: everything but unreserved characters and `/`.
const COPY_SOURCE_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// The MD5 of a body to send, from one pass over its bytes: lower-case hex (to compare
/// with the answer's ETag) and base64 (the Content-MD5 header).
pub(super) fn body_md5(body: &[u8]) -> (String, String) {
    let digest = Md5::digest(body);
    (
        crate::store::hex(&digest),
        base64::engine::general_purpose::STANDARD.encode(digest),
    )
}

/// What the answer to an upload (PutObject, UploadPart) says about the bytes stored.
pub(super) trait UploadAnswer {
    /// The ETag, quoted as the server sent it.
    fn etag(&self) -> Option<&str>;
    /// `x-amz-server-side-encryption`.
    fn sse(&self) -> Option<&str>;
    /// `x-amz-server-side-encryption-customer-algorithm` (SSE-C).
    fn sse_customer(&self) -> Option<&str>;
}

impl UploadAnswer for PutObjectOutput {
    fn etag(&self) -> Option<&str> {
        self.e_tag()
    }
    fn sse(&self) -> Option<&str> {
        self.server_side_encryption().map(|s| s.as_str())
    }
    fn sse_customer(&self) -> Option<&str> {
        self.sse_customer_algorithm()
    }
}

impl UploadAnswer for UploadPartOutput {
    fn etag(&self) -> Option<&str> {
        self.e_tag()
    }
    fn sse(&self) -> Option<&str> {
        self.server_side_encryption().map(|s| s.as_str())
    }
    fn sse_customer(&self) -> Option<&str> {
        self.sse_customer_algorithm()
    }
}

impl S3Store {
    /// Checks the ETag of a PutObject or UploadPart answer (`op`, for `key` as errors name
    /// it) against the MD5 of the `size` bytes sent, unless the answer says they are
    /// encrypted with SSE-KMS or a customer key, whose ETags are no MD5 (the server
    /// checked the Content-MD5 then).
    pub(super) fn check_sent(
        &self,
        op: &'static str,
        key: &str,
        answer: &impl UploadAnswer,
        md5_hex: &str,
        size: usize,
    ) -> Result<(), StoreError> {
        let (sse, sse_customer) = (answer.sse(), answer.sse_customer());
        if !etag_can_be_md5(sse, sse_customer) {
            log::debug!(
                "{}:{key}: encrypted with {} on the server; the ETag is no MD5, the Content-MD5 was checked there",
                self.bucket,
                sse.unwrap_or("a customer key")
            );
            return Ok(());
        }
        let etag = answer
            .etag()
            .map(|e| e.trim_matches('"').to_ascii_lowercase())
            .unwrap_or_default();
        if etag == md5_hex {
            return Ok(());
        }
        Err(StoreError::EtagMismatch {
            op,
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            etag: if etag.is_empty() {
                "(none)".into()
            } else {
                etag
            },
            md5: md5_hex.to_owned(),
            size,
        })
    }

    /// The copy source header of `from` (logical key): `bucket/key`, URL-encoded. Servers
    /// do not normalise it as they do request paths: the key is named as the server
    /// spells it.
    pub(super) fn copy_source(&self, from: &str) -> Result<String, StoreError> {
        let source_key = self.key_style()?.apply(from);
        Ok(format!(
            "{}/{}",
            self.bucket,
            utf8_percent_encode(&source_key, COPY_SOURCE_ESCAPES)
        ))
    }

    /// PutObject with Content-MD5 (which a lock needs too), the MD5 as metadata and the
    /// ETag checked; returns the version id.
    pub(super) fn put_object(
        &self,
        key: &str,
        body: Bytes,
        lock: Option<&Retention>,
    ) -> Result<Option<String>, StoreError> {
        let (md5_hex, md5_b64) = body_md5(&body);
        let size = body.len();
        let watch = Stall::Throughout;
        self.watched_bytes("PutObject", key, Some(size as u64), watch, async {
            let mut req = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .content_length(size as i64)
                .content_md5(md5_b64)
                .metadata(crate::store::MD5_METADATA, &md5_hex)
                .storage_class(StorageClass::Standard)
                .body(ByteStream::from(body));
            if let Some(tag) = &self.tag {
                req = req.metadata("tag", tag);
            }
            if let Some(lock) = lock {
                req = req
                    .object_lock_mode(ObjectLockMode::from(lock.mode.as_str()))
                    .object_lock_retain_until_date(smithy_time(lock.until));
            }
            let sent = if self.sign_payload {
                req.send().await
            } else {
                req.customize().disable_payload_signing().send().await
            };
            let out = sent.map_err(|e| self.sdk_err("PutObject", key, e))?;
            let version = out.version_id().map(str::to_owned);
            self.check_sent("PutObject", key, &out, &md5_hex, size)?;
            Ok(version)
        })
    }
}
