//! Multipart uploads on S3 (see [`crate::store::multipart`]): parts with Content-MD5 and
//! their ETags checked, the whole chunk's MD5 stored after completion, and the uploads a
//! killed run left listed so the next run can abort them.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, MetadataDirective, StorageClass};
use bytes::Bytes;

use super::upload::body_md5;
use super::{EMPTY_BODY_MD5, S3Store, Stall, status};
use crate::store::multipart::{OpenUpload, UploadedPart};
use crate::store::{MD5_METADATA, StoreError};

impl S3Store {
    /// CreateMultipartUpload, with the tag as metadata.
    pub(super) fn create_multipart(&self, key: &str) -> Result<String, StoreError> {
        self.watched("CreateMultipartUpload", key, async {
            let mut req = self
                .client
                .create_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .storage_class(StorageClass::Standard);
            if let Some(tag) = &self.tag {
                req = req.metadata("tag", tag);
            }
            let out = req
                .send()
                .await
                .map_err(|e| self.sdk_err("CreateMultipartUpload", key, e))?;
            out.upload_id().map(str::to_owned).ok_or_else(|| {
                self.err(
                    "CreateMultipartUpload",
                    key,
                    "no upload id in the answer".into(),
                )
            })
        })
    }

    /// UploadPart with Content-MD5; the ETag is checked when it can be an MD5.
    pub(super) fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        body: Bytes,
    ) -> Result<UploadedPart, StoreError> {
        let (md5_hex, md5_b64) = body_md5(&body);
        let size = body.len();
        let op = "UploadPart";
        let watch = Stall::Throughout;
        self.watched_bytes(op, key, Some(size as u64), watch, async {
            let req = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .content_length(size as i64)
                .content_md5(md5_b64)
                .body(ByteStream::from(body));
            let sent = if self.sign_payload {
                req.send().await
            } else {
                req.customize().disable_payload_signing().send().await
            };
            let out = sent.map_err(|e| self.sdk_err(op, key, e))?;
            let part = format!("{key} (part {number})");
            self.check_sent(op, &part, &out, &md5_hex, size)?;
            Ok(UploadedPart {
                number,
                etag: out.e_tag().unwrap_or_default().to_owned(),
            })
        })
    }

    /// CompleteMultipartUpload.
    pub(super) fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> Result<(), StoreError> {
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|p| {
                        CompletedPart::builder()
                            .part_number(p.number)
                            .e_tag(&p.etag)
                            .build()
                    })
                    .collect(),
            ))
            .build();
        self.watched("CompleteMultipartUpload", key, async {
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .multipart_upload(completed)
                .send()
                .await
                .map_err(|e| self.sdk_err("CompleteMultipartUpload", key, e))?;
            Ok(())
        })
    }

    /// A copy of the object onto itself that stores its MD5 as metadata (the tag kept).
    pub(super) fn store_md5(&self, key: &str, md5: &str) -> Result<(), StoreError> {
        let source = self.copy_source(key)?;
        self.watched("CopyObject", key, async {
            let mut req = self
                .client
                .copy_object()
                .bucket(&self.bucket)
                .key(key)
                .copy_source(source)
                .metadata_directive(MetadataDirective::Replace)
                .metadata(MD5_METADATA, md5)
                .storage_class(StorageClass::Standard);
            if let Some(tag) = &self.tag {
                req = req.metadata("tag", tag);
            }
            // a bucket with a default lock wants a Content-MD5 on a copy too (moto)
            let out = req
                .customize()
                .mutate_request(|r| {
                    r.headers_mut().insert("Content-MD5", EMPTY_BODY_MD5);
                })
                .send()
                .await
                .map_err(|e| self.sdk_err("CopyObject", key, e))?;
            if out.copy_object_result().is_none() {
                return Err(self.err(
                    "CopyObject",
                    key,
                    "no CopyObjectResult in the answer".into(),
                ));
            }
            Ok(())
        })
    }

    /// AbortMultipartUpload; an upload already gone (404) is not an error.
    pub(super) fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StoreError> {
        self.watched("AbortMultipartUpload", key, async {
            match self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if status(&e) == Some(404) => Ok(()),
                Err(e) => Err(self.sdk_err("AbortMultipartUpload", key, e)),
            }
        })
    }

    /// ListMultipartUploads under `server_prefix`, every page.
    pub(super) fn list_multipart_raw(
        &self,
        server_prefix: &str,
    ) -> Result<Vec<OpenUpload>, StoreError> {
        self.watched("ListMultipartUploads", server_prefix, async {
            let mut out = Vec::new();
            let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
            loop {
                let page = self
                    .client
                    .list_multipart_uploads()
                    .bucket(&self.bucket)
                    .prefix(server_prefix)
                    .set_key_marker(key_marker.take())
                    .set_upload_id_marker(id_marker.take())
                    .send()
                    .await
                    .map_err(|e| self.sdk_err("ListMultipartUploads", server_prefix, e))?;
                for u in page.uploads() {
                    if let (Some(key), Some(id)) = (u.key(), u.upload_id()) {
                        out.push(OpenUpload {
                            key: key.to_owned(),
                            upload_id: id.to_owned(),
                        });
                    }
                }
                if page.is_truncated() != Some(true) {
                    return Ok(out);
                }
                key_marker = page.next_key_marker().map(str::to_owned);
                id_marker = page.next_upload_id_marker().map(str::to_owned);
                if key_marker.is_none() && id_marker.is_none() {
                    return Ok(out);
                }
            }
        })
    }
}
