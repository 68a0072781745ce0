//! The aws-sdk-s3 store behind a private tokio runtime.
//!
//! The rest of the program is synchronous; every [`Store`] call blocks on the store's own
//! multi-thread runtime (safe to call from several threads at once, never from inside an
//! async context). Settings that non-AWS servers need: checksums only when required, Content-MD5
//! on every PUT with the ETag checked when it can be an MD5 ([`etag_can_be_md5`]) and the
//! MD5 stored as user metadata ([`super::MD5_METADATA`], checked on reading whatever the
//! ETag),
//! path-style addressing for custom endpoints, and timeouts so a hung connection cannot
//! stall a cron run.
//!
//! Retries: the SDK's own retry is switched off (one attempt per call); every retry is
//! done, and logged, by [`super::retry::RetryStore`], which also covers what the SDK's
//! retry cannot (an ETag mismatch, a GET body broken after the headers arrived). Two
//! nested retry layers would multiply the attempts and hide the SDK's from the log.
//!
//! Timeouts (`watch`, issue 27): every request runs under a stall timeout (S3Timeout,
//! default 60 s, without a byte sent or received aborts the attempt; a GET body is read
//! under its own stall timeout that names the bytes received) and a total that follows
//! the bytes it carries, `S3Timeout + bytes / 128 KiB/s` (a 16 MiB part: 60 + 128 s; a
//! 25 MB chunk: 60 + 191 s). Other requests (copies, listings, GETs) may take
//! `S3Timeout + ChunkSize / 128 KiB/s`, the server's work on a whole chunk.
//!
//! Keys: callers pass the logical (legacy) keys, which are PUT exactly as written. Some
//! servers (Garage, MinIO) strip leading `/` from keys; [`S3Store`] detects this once per
//! store ([`KeyStyle`]) so that [`ReadStore::list`] and [`ReadStore::physical_key`] agree with
//! what the server reports.

use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::meta::region::ProvideRegion;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    retry::RetryConfig, timeout::TimeoutConfig,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier, StorageClass,
};
use aws_sdk_s3::types::{MetadataDirective, ObjectLockMode};
use bytes::Bytes;
use time::OffsetDateTime;
use tokio::runtime::Runtime;
use versions::smithy_time;
use watch::{Expired, Stall, WatchInterceptor, watch};

mod config;
mod errors;
mod multipart;
mod server_clock;
mod setup;
mod signing;
mod upload;
mod versions;
mod watch;

pub use config::{
    DEFAULT_BASE_TIMEOUT, DEFAULT_REGION, MIN_THROUGHPUT, S3Config, Secret, attempt_timeout_for,
    read_keyfile,
};
pub use errors::etag_can_be_md5;
use errors::{classify, no_such_bucket, request_error, status};
pub use signing::PayloadSigning;

/// Content-MD5 of an empty request body.
const EMPTY_BODY_MD5: &str = "1B2M2Y8AsgTpgAmY7PhCfg==";

pub use setup::{
    ABORT_MULTIPART_DAYS, LIFECYCLE_RULE_ID, Lifecycle, RuleState, Versioning, is_exactly, our_rule,
};

use super::keys::KeyStyle;
use super::lock::{BucketLock, Retention, VersionInfo};
use super::multipart::{OpenUpload, UploadedPart};
use super::{BoxError, Fetched, ObjectInfo, ReadStore, Store, StoreError, is_permanent_answer};

/// A bucket on an S3 server, reached with aws-sdk-s3.
pub struct S3Store {
    rt: Runtime,
    client: Client,
    bucket: String,
    region: String,
    endpoint: Option<String>,
    tag: Option<String>,
    /// `S3Timeout`: the stall timeout of every request, the base of every total.
    stall_timeout: Duration,
    /// The total of one request that carries no body of ours (a copy, a listing): the
    /// server's work on a whole chunk must fit in it.
    attempt_timeout: Duration,
    key_style: OnceLock<KeyStyle>,
    /// Whether PutObject and UploadPart bodies are part of the signature.
    sign_payload: bool,
    /// Says why an upload under way must end now (the run's time is up), if so.
    cancel: Option<super::retry::StopCheck>,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("key_style", &self.key_style.get())
            .field("sign_payload", &self.sign_payload)
            .finish()
    }
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn to_offset(dt: Option<&aws_smithy_types::DateTime>) -> OffsetDateTime {
    dt.and_then(|d| OffsetDateTime::from_unix_timestamp_nanos(d.as_nanos()).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl S3Store {
    /// Builds the client (no request is sent unless the region must be discovered).
    pub fn connect(cfg: S3Config) -> Result<S3Store, StoreError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("s3napback-s3")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Setup(format!("tokio runtime: {e}")))?;
        let endpoint = cfg
            .endpoint
            .clone()
            .filter(|e| !e.trim().is_empty())
            .or_else(|| env_nonempty("AWS_ENDPOINT_URL_S3"))
            .or_else(|| env_nonempty("AWS_ENDPOINT_URL"));
        let explicit_region = cfg
            .region
            .clone()
            .filter(|r| !r.trim().is_empty())
            .or_else(|| env_nonempty("AWS_REGION"))
            .or_else(|| env_nonempty("AWS_DEFAULT_REGION"));

        let discovery = watch(
            cfg.stall_timeout,
            cfg.attempt_timeout,
            Stall::Throughout,
            None,
            async {
                let explicit_region = match explicit_region {
                    Some(r) => Some(r),
                    None => aws_config::profile::ProfileFileRegionProvider::new()
                        .region()
                        .await
                        .map(|r| r.to_string()),
                };
                let first_region = explicit_region
                    .clone()
                    .unwrap_or_else(|| DEFAULT_REGION.to_owned());
                let client = Self::build_client(&cfg, endpoint.as_deref(), &first_region).await;
                if explicit_region.is_some() {
                    return (client, first_region);
                }
                // No region configured: ask the bucket where it lives (AWS answers with
                // x-amz-bucket-region, even on the 301 for a bucket in another region).
                let found = match client.head_bucket().bucket(&cfg.bucket).send().await {
                    Ok(out) => out.bucket_region().map(str::to_owned),
                    Err(e) => e
                        .raw_response()
                        .and_then(|r| r.headers().get("x-amz-bucket-region"))
                        .map(str::to_owned),
                };
                match found {
                    Some(r) if r != first_region => {
                        let client = Self::build_client(&cfg, endpoint.as_deref(), &r).await;
                        (client, r)
                    }
                    _ => (client, first_region),
                }
            },
        );
        let (client, region) = rt.block_on(discovery).map_err(|expired| {
            StoreError::Setup(format!(
                "asking bucket {} for its region: {expired}",
                cfg.bucket
            ))
        })?;
        let key_style = OnceLock::new();
        if let Some(style) = cfg.key_style {
            let _ = key_style.set(style);
        }
        let sign_payload = cfg.payload_signing.signs(endpoint.as_deref());
        log::debug!(
            "upload bodies {} (S3PayloadSigning {}, endpoint {})",
            if sign_payload {
                "signed (SHA-256)"
            } else {
                "not signed (UNSIGNED-PAYLOAD; Content-MD5 signed and checked)"
            },
            cfg.payload_signing,
            endpoint.as_deref().unwrap_or("AWS")
        );
        Ok(S3Store {
            rt,
            client,
            bucket: cfg.bucket,
            region,
            endpoint,
            tag: cfg.tag,
            stall_timeout: cfg.stall_timeout,
            attempt_timeout: cfg.attempt_timeout,
            key_style,
            sign_payload,
            cancel: None,
        })
    }

    /// Once `cancel` says why, an upload (PutObject, UploadPart) under way is ended with
    /// that reason as a permanent error, whatever its timeouts.
    pub fn with_cancel(mut self, cancel: super::retry::StopCheck) -> Self {
        self.cancel = Some(cancel);
        self
    }

    async fn build_client(cfg: &S3Config, endpoint: Option<&str>, region: &str) -> Client {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                // the attempt's total and stall timeouts are ours (`watched`)
                TimeoutConfig::builder()
                    .connect_timeout(cfg.connect_timeout)
                    .build(),
            );
        if let Some((key, secret)) = &cfg.credentials {
            loader = loader.credentials_provider(Credentials::new(
                key.clone(),
                secret.expose().to_owned(),
                None,
                None,
                "s3napback-keyfile",
            ));
        }
        if let Some(ep) = endpoint {
            loader = loader.endpoint_url(ep);
        }
        let shared = loader.load().await;
        let conf = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(endpoint.is_some())
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .interceptor(WatchInterceptor)
            .build();
        Client::from_conf(conf)
    }

    /// The signing region in use.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The custom endpoint in use, if any.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// Runs one store call (`op` on `key`, as its errors name them) on the runtime under
    /// the stall timeout and the total of a request without a body of ours.
    fn watched<T>(
        &self,
        op: &'static str,
        key: &str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.watched_bytes(op, key, None, Stall::Throughout, call)
    }

    /// Runs one store call that carries `bytes` (a body sent or an answer expected of
    /// that size) under the stall timeout (as `stall` says) and the total
    /// [`attempt_timeout_for`]`(S3Timeout, bytes)`; `None`: the total of a request
    /// without a body. A call that runs out is a transient error (retried, logged).
    fn watched_bytes<T>(
        &self,
        op: &'static str,
        key: &str,
        bytes: Option<u64>,
        stall: Stall,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let total = bytes.map_or(self.attempt_timeout, |n| {
            attempt_timeout_for(self.stall_timeout, n)
        });
        let cancel = matches!(op, "PutObject" | "UploadPart")
            .then_some(self.cancel)
            .flatten();
        match self
            .rt
            .block_on(watch(self.stall_timeout, total, stall, cancel, call))
        {
            Ok(done) => done,
            Err(Expired::Cancelled(why)) => Err(self.err(op, key, format!("ended: {why}"))),
            Err(expired) => Err(self.transient(op, key, expired.to_string(), None)),
        }
    }

    /// An error of our own finding (no SDK error behind it).
    fn err(&self, op: &'static str, key: &str, summary: String) -> StoreError {
        StoreError::Request {
            op,
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            summary,
            code: None,
            permanent: true,
            source: None,
        }
    }

    /// An error for an SDK failure of `op` on `key`.
    fn sdk_err<E>(
        &self,
        op: &'static str,
        key: &str,
        err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    ) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        request_error(op, &self.bucket, key, err)
    }

    /// Creates the bucket when it does not exist (as js3tream did).
    pub fn ensure_bucket(&self) -> Result<(), StoreError> {
        self.watched("HeadBucket", "", async {
            match self.client.head_bucket().bucket(&self.bucket).send().await {
                Ok(_) => return Ok(()),
                Err(e) if status(&e) == Some(404) => {}
                Err(e) => return Err(self.sdk_err("HeadBucket", "", e)),
            }
            let mut req = self.client.create_bucket().bucket(&self.bucket);
            if self.region != DEFAULT_REGION {
                req = req.create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::from(self.region.as_str()))
                        .build(),
                );
            }
            match req.send().await {
                Ok(_) => Ok(()),
                Err(e)
                    if e.as_service_error().and_then(|s| s.code())
                        == Some("BucketAlreadyOwnedByYou") =>
                {
                    Ok(())
                }
                Err(e) => Err(self.sdk_err("CreateBucket", "", e)),
            }
        })
    }

    /// How this server spells keys: the configured style, else detected once and cached.
    ///
    /// Detection first reads: a key starting with `/` in the first listing page proves
    /// the server keeps keys as written. Otherwise it PUTs a probe object
    /// `/.s3napback-probe-…//x`, sees how the listing spells it and deletes it. When the
    /// probe cannot be written (read-only credentials), leading slashes are assumed to be
    /// stripped: on such a bucket no legacy `/…` key exists anyway.
    pub fn key_style(&self) -> Result<KeyStyle, StoreError> {
        if let Some(style) = self.key_style.get() {
            return Ok(*style);
        }
        let style = self.detect_key_style()?;
        log::debug!("bucket {}: key style {style:?}", self.bucket);
        Ok(*self.key_style.get_or_init(|| style))
    }

    fn detect_key_style(&self) -> Result<KeyStyle, StoreError> {
        let first_page = self.watched("ListObjectsV2", "", async {
            self.client
                .list_objects_v2()
                .bucket(&self.bucket)
                .max_keys(1000)
                .send()
                .await
                .map_err(|e| self.sdk_err("ListObjectsV2", "", e))
        })?;
        if first_page
            .contents()
            .iter()
            .any(|o| o.key().is_some_and(|k| k.starts_with('/')))
        {
            return Ok(KeyStyle::Faithful);
        }
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let id = format!(".s3napback-probe-{}-{nanos}", std::process::id());
        let probe = format!("/{id}//x");
        if let Err(e) = self.put(&probe, Bytes::from_static(b"probe")) {
            log::warn!(
                "bucket {}: cannot write a probe object ({e}); assuming the server strips leading '/' from keys",
                self.bucket
            );
            return Ok(KeyStyle::StripLeadingSlashes);
        }
        let mut listed = self.list_raw(&format!("/{id}"))?;
        listed.extend(self.list_raw(&id)?);
        let mut doomed: Vec<String> = listed.iter().map(|o| o.key.clone()).collect();
        doomed.push(probe.clone());
        self.delete_raw(&doomed)?;
        let style = listed
            .iter()
            .find_map(|o| KeyStyle::classify(&probe, &o.key));
        match style {
            Some(s) => Ok(s),
            None => Err(self.err(
                "probe",
                &probe,
                format!(
                    "the server lists the probe object as {:?}: unsupported key normalisation",
                    listed.iter().map(|o| &o.key).collect::<Vec<_>>()
                ),
            )),
        }
    }

    /// The user metadata `tag` of one object (key as listed), js3tream's `-t`.
    pub fn tag_of(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.watched("HeadObject", key, async {
            let out = self
                .client
                .head_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| self.sdk_err("HeadObject", key, e))?;
            Ok(out.metadata().and_then(|m| m.get("tag")).cloned())
        })
    }

    /// Reads one object as a stream, each piece under the stall timeout. With `expected`,
    /// a body announced or found longer is refused before more than `expected` bytes
    /// are held, and a shorter one is an error.
    ///
    /// With `range` (start, length) only those bytes are read (`expected` is the length);
    /// the answer's ETag is the whole object's and is returned, not checked.
    fn read_object(
        &self,
        key: &str,
        version: Option<&str>,
        expected: Option<u64>,
        range: Option<(u64, u64)>,
    ) -> Result<Fetched, StoreError> {
        let size_error = |received| StoreError::BodySize {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            expected: expected.unwrap_or(0),
            received,
        };
        // the body is read under its own stall timeout; the total stays the one sized
        // for a whole chunk, as before (a GET body had no total)
        let watch = Stall::UntilAnswer;
        self.watched_bytes("GetObject", key, None, watch, async {
            let out = match self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .set_version_id(version.map(str::to_owned))
                .set_range(
                    range
                        .filter(|&(_, len)| len > 0)
                        .map(|(start, len)| format!("bytes={start}-{}", start + len - 1)),
                )
                .send()
                .await
            {
                Ok(out) => out,
                Err(e)
                    if status(&e) == Some(404)
                        || e.as_service_error().is_some_and(|s| s.is_no_such_key()) =>
                {
                    return Err(StoreError::NotFound {
                        bucket: self.bucket.clone(),
                        key: key.to_owned(),
                    });
                }
                Err(e) => return Err(self.sdk_err("GetObject", key, e)),
            };
            let announced = out.content_length().unwrap_or(0).max(0) as u64;
            if let Some(limit) = expected
                && announced > limit
            {
                return Err(size_error(announced));
            }
            // The ETag is checked here too (when it can be an MD5), so that corruption on
            // the way is a transient error the retry wrapper repeats.
            let etag_is_md5 = etag_can_be_md5(
                out.server_side_encryption().map(|s| s.as_str()),
                out.sse_customer_algorithm(),
            );
            let answer_etag = out
                .e_tag()
                .map(|e| e.trim_matches('"').to_ascii_lowercase());
            let etag = answer_etag
                .clone()
                .filter(|e| range.is_none() && etag_is_md5 && super::is_plain_md5(e));
            let stored_md5 = out
                .metadata()
                .and_then(|m| m.get(super::MD5_METADATA))
                .map(|v| v.trim().to_ascii_lowercase());
            // Room for what the server announced (at most `expected` here), never trusted
            // beyond 256 MiB ahead of the bytes themselves.
            let mut data = bytes::BytesMut::with_capacity(announced.min(256 << 20) as usize);
            let mut body = out.body;
            loop {
                let piece = tokio::time::timeout(self.stall_timeout, body.next()).await;
                let piece = match piece {
                    Err(_) => {
                        return Err(self.transient(
                            "GetObject",
                            key,
                            format!(
                                "the body stalled for {:?} after {} bytes",
                                self.stall_timeout,
                                data.len()
                            ),
                            None,
                        ));
                    }
                    Ok(None) => break,
                    Ok(Some(Err(e))) => {
                        return Err(self.transient(
                            "GetObject",
                            key,
                            format!("the body broke after {} bytes", data.len()),
                            Some(Box::new(e)),
                        ));
                    }
                    Ok(Some(Ok(piece))) => piece,
                };
                let received = (data.len() + piece.len()) as u64;
                if expected.is_some_and(|limit| received > limit) {
                    return Err(size_error(received));
                }
                data.extend_from_slice(&piece);
            }
            if let Some(limit) = expected
                && (data.len() as u64) < limit
            {
                return Err(size_error(data.len() as u64));
            }
            let mut md5 = None;
            if let Some(etag) = etag {
                let digest = super::md5_hex(&data);
                if digest != etag {
                    return Err(StoreError::EtagMismatch {
                        op: "GetObject",
                        bucket: self.bucket.clone(),
                        key: key.to_owned(),
                        etag,
                        md5: digest,
                        size: data.len(),
                    });
                }
                md5 = Some(digest);
            }
            Ok(Fetched {
                data: data.freeze(),
                md5,
                etag_is_md5,
                stored_md5,
                etag: answer_etag,
            })
        })
    }

    /// A transient error of our own finding (a body that broke or stalled).
    fn transient(
        &self,
        op: &'static str,
        key: &str,
        summary: String,
        source: Option<BoxError>,
    ) -> StoreError {
        StoreError::Request {
            op,
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            summary,
            code: None,
            permanent: false,
            source,
        }
    }

    /// Lists with `server_prefix` exactly as given to the server.
    fn list_raw(&self, server_prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        self.watched("ListObjectsV2", server_prefix, async {
            let mut req = self.client.list_objects_v2().bucket(&self.bucket);
            if !server_prefix.is_empty() {
                req = req.prefix(server_prefix);
            }
            let mut pages = req.into_paginator().send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| self.sdk_err("ListObjectsV2", server_prefix, e))?;
                for o in page.contents() {
                    let Some(key) = o.key() else { continue };
                    out.push(ObjectInfo {
                        key: key.to_owned(),
                        size: o.size().unwrap_or(0).max(0) as u64,
                        last_modified: to_offset(o.last_modified()),
                        etag: o.e_tag().map(|e| e.trim_matches('"').to_owned()),
                    });
                }
            }
            Ok(out)
        })
    }

    /// Deletes exactly the keys given, in DeleteObjects batches of 1000.
    fn delete_raw(&self, keys: &[String]) -> Result<(), StoreError> {
        self.watched(
            "DeleteObjects",
            keys.first().map_or("", String::as_str),
            async {
                for batch in keys.chunks(1000) {
                    self.delete_batch(batch).await?;
                }
                Ok(())
            },
        )
    }

    async fn delete_one(&self, key: &str) -> Result<(), StoreError> {
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // A missing key is fine; a missing bucket is not.
            Err(e) if status(&e) == Some(404) && !no_such_bucket(&e) => Ok(()),
            Err(e) => Err(self.sdk_err("DeleteObject", key, e)),
        }
    }

    async fn delete_batch(&self, keys: &[String]) -> Result<(), StoreError> {
        let objects = keys
            .iter()
            .map(|k| ObjectIdentifier::builder().key(k).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err("DeleteObjects", &keys[0], e.to_string()))?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| self.err("DeleteObjects", &keys[0], e.to_string()))?;
        let out = match self
            .client
            .delete_objects()
            .bucket(&self.bucket)
            .delete(delete)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some() && !no_such_bucket(&e) => {
                let (summary, _, _) = classify(&e);
                log::debug!(
                    "bucket {}: DeleteObjects refused ({summary}); deleting one by one",
                    self.bucket
                );
                for k in keys {
                    self.delete_one(k).await?;
                }
                return Ok(());
            }
            Err(e) => return Err(self.sdk_err("DeleteObjects", &keys[0], e)),
        };
        for err in out.errors() {
            if err.code() == Some("NoSuchKey") {
                continue;
            }
            let code = err.code().unwrap_or("error");
            return Err(StoreError::Request {
                op: "DeleteObjects",
                bucket: self.bucket.clone(),
                key: err.key().unwrap_or("").to_owned(),
                summary: format!("{code}: {}", err.message().unwrap_or("")),
                code: Some(code.into()),
                permanent: is_permanent_answer(None, Some(code)),
                source: None,
            });
        }
        Ok(())
    }
}

impl ReadStore for S3Store {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        let server_prefix = if prefix.is_empty() {
            String::new()
        } else {
            self.key_style()?.apply(prefix)
        };
        self.list_raw(&server_prefix)
    }

    fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        self.read_object(key, None, None, None).map(|f| f.data)
    }

    fn get_sized(&self, key: &str, expected: u64) -> Result<Fetched, StoreError> {
        self.read_object(key, None, Some(expected), None)
    }

    fn get_range(
        &self,
        key: &str,
        version: Option<&str>,
        start: u64,
        len: u64,
    ) -> Result<Fetched, StoreError> {
        self.read_object(key, version, Some(len), Some((start, len)))
    }

    fn get_version(
        &self,
        key: &str,
        version_id: &str,
        expected: u64,
    ) -> Result<Fetched, StoreError> {
        self.read_object(key, Some(version_id), Some(expected), None)
    }

    fn list_versions(&self, prefix: &str) -> Result<Vec<VersionInfo>, StoreError> {
        let server_prefix = if prefix.is_empty() {
            String::new()
        } else {
            self.key_style()?.apply(prefix)
        };
        self.list_versions_raw(&server_prefix)
    }

    fn bucket_lock(&self) -> Result<BucketLock, StoreError> {
        S3Store::bucket_lock(self)
    }

    fn server_time(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        S3Store::server_time(self).map(Some)
    }

    fn retention_of(&self, key: &str, version_id: &str) -> Result<Option<Retention>, StoreError> {
        S3Store::retention_of(self, key, version_id)
    }

    fn physical_key(&self, logical: &str) -> String {
        match self.key_style() {
            Ok(style) => style.apply(logical),
            Err(e) => {
                log::warn!(
                    "bucket {}: cannot tell how the server spells keys ({e}); assuming as written",
                    self.bucket
                );
                logical.to_owned()
            }
        }
    }

    fn tag_of(&self, key: &str) -> Result<Option<String>, StoreError> {
        S3Store::tag_of(self, key)
    }
}

impl Store for S3Store {
    fn put(&self, key: &str, body: Bytes) -> Result<(), StoreError> {
        self.put_object(key, body, None).map(|_| ())
    }

    fn put_locked(
        &self,
        key: &str,
        body: Bytes,
        lock: &Retention,
    ) -> Result<Option<String>, StoreError> {
        self.put_object(key, body, Some(lock))
    }

    fn extend_retention(
        &self,
        key: &str,
        version_id: Option<&str>,
        lock: &Retention,
    ) -> Result<(), StoreError> {
        S3Store::extend_retention(self, key, version_id, lock)
    }

    fn copy(
        &self,
        from: &str,
        to: &str,
        lock: Option<&Retention>,
    ) -> Result<Option<String>, StoreError> {
        let source = self.copy_source(from)?;
        self.watched("CopyObject", to, async {
            let req = self
                .client
                .copy_object()
                .bucket(&self.bucket)
                .key(to)
                .copy_source(source)
                .metadata_directive(MetadataDirective::Copy)
                .storage_class(StorageClass::Standard);
            let out = match lock {
                None => req.send().await,
                // Some servers (moto) want a Content-MD5 on every request that sets a
                // lock, a copy too: the MD5 of the empty request body, true everywhere.
                Some(lock) => {
                    req.object_lock_mode(ObjectLockMode::from(lock.mode.as_str()))
                        .object_lock_retain_until_date(smithy_time(lock.until))
                        .customize()
                        .mutate_request(|r| {
                            r.headers_mut().insert("Content-MD5", EMPTY_BODY_MD5);
                        })
                        .send()
                        .await
                }
            };
            let out = out.map_err(|e| match status(&e) {
                Some(404) => StoreError::NotFound {
                    bucket: self.bucket.clone(),
                    key: from.to_owned(),
                },
                _ => self.sdk_err("CopyObject", &format!("{from} -> {to}"), e),
            })?;
            // A copy whose body failed half-way can still answer 200 (the error is in
            // the body): no result means no copy.
            if out.copy_object_result().is_none() {
                return Err(self.err(
                    "CopyObject",
                    &format!("{from} -> {to}"),
                    "no CopyObjectResult in the answer".into(),
                ));
            }
            Ok(out.version_id().map(str::to_owned))
        })
    }

    fn create_multipart(&self, key: &str) -> Result<String, StoreError> {
        S3Store::create_multipart(self, key)
    }

    fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        body: Bytes,
    ) -> Result<UploadedPart, StoreError> {
        S3Store::upload_part(self, key, upload_id, number, body)
    }

    fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> Result<(), StoreError> {
        S3Store::complete_multipart(self, key, upload_id, parts)
    }

    fn store_md5(&self, key: &str, md5: &str) -> Result<(), StoreError> {
        S3Store::store_md5(self, key, md5)
    }

    fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StoreError> {
        S3Store::abort_multipart(self, key, upload_id)
    }

    fn list_multipart(&self, prefix: &str) -> Result<Vec<OpenUpload>, StoreError> {
        let server_prefix = self.key_style()?.apply(prefix);
        self.list_multipart_raw(&server_prefix)
    }

    fn delete(&self, keys: &[String]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        // DeleteObjects names keys in its XML body, which Garage does not normalise:
        // send the server's spelling (idempotent on keys taken from a listing).
        let style = self.key_style()?;
        let physical: Vec<String> = keys.iter().map(|k| style.apply(k)).collect();
        self.delete_raw(&physical)
    }

    fn ensure_bucket(&self) -> Result<(), StoreError> {
        S3Store::ensure_bucket(self)
    }

    fn key_style(&self) -> Result<KeyStyle, StoreError> {
        S3Store::key_style(self)
    }
}
