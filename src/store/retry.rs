//! Retries around any [`Store`], after restic's `backend/retry`: every call is repeated
//! with exponential backoff and jitter while its error is transient (5xx, SlowDown,
//! timeouts, dropped connections, an ETag mismatch, a GET body broken mid-transfer),
//! within a number of retries and a total time. Permanent errors (AccessDenied,
//! NoSuchBucket, a missing object, ...; [`StoreError::is_permanent`]) return at once.
//!
//! Every retry is logged at WARN (operation, bucket:key, attempt, error, next delay) and
//! a call that needed retries logs "succeeded after N retries" at INFO, under the log
//! category `Backup.S3napback.S3`, so a cron log shows a struggling link.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::keys::KeyStyle;
use super::lock::{BucketLock, Retention, VersionInfo};
use super::multipart::{OpenUpload, UploadedPart};
use super::{Fetched, ObjectInfo, ReadStore, Store, StoreError, error_chain, place};

/// The log target of retry messages (`Backup.S3napback.S3` in a log config).
pub const LOG_TARGET: &str = "Backup::S3napback::S3";

/// When and how often a failed call is repeated.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (`S3Retries`); 0 disables retrying.
    pub max_retries: u32,
    /// The delay before the first retry; it doubles for each further one.
    pub initial_delay: Duration,
    /// The longest delay between two attempts.
    pub max_delay: Duration,
    /// No retry starts later than this after the first attempt began.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    /// 6 retries, 1 s doubling up to 60 s (about 2 minutes of waiting in all), at most
    /// 15 minutes per call.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 6,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_elapsed: Duration::from_secs(15 * 60),
        }
    }
}

impl RetryPolicy {
    /// The policy with `max_retries` retries, otherwise the defaults.
    pub fn with_retries(max_retries: u32) -> Self {
        RetryPolicy {
            max_retries,
            ..RetryPolicy::default()
        }
    }

    /// The delay before retry `retry` (1 for the first) without jitter:
    /// `initial_delay * 2^(retry-1)`, at most `max_delay`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// The delay before retry `retry` with jitter: `backoff * (1 - random / 2)` for
    /// `random` in `[0, 1)`, so between half and all of the backoff (parallel uploads that
    /// failed together do not come back together).
    pub fn delay(&self, retry: u32, random: f64) -> Duration {
        self.backoff(retry)
            .mul_f64(1.0 - random.clamp(0.0, 1.0) / 2.0)
    }

    /// Whether retry `retry` may start, `elapsed` after the first attempt began, once
    /// `delay` has passed.
    pub fn allows(&self, retry: u32, elapsed: Duration, delay: Duration) -> bool {
        retry <= self.max_retries && elapsed + delay <= self.max_elapsed
    }
}

/// A number in `[0, 1)` that differs between calls (std's randomly keyed hasher).
fn random_unit() -> f64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Says why requests that store data must no longer start (a SIGTERM, say), if so.
pub type StopCheck = fn() -> Option<String>;

/// A [`Store`] whose every call is retried by a [`RetryPolicy`].
#[derive(Debug)]
pub struct RetryStore<S: Store> {
    inner: S,
    policy: RetryPolicy,
    stop: Option<StopCheck>,
}

impl<S: Store> RetryStore<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, policy: RetryPolicy) -> Self {
        RetryStore {
            inner,
            policy,
            stop: None,
        }
    }

    /// Once `stop` says why, no PUT or copy starts (nor a retry of one): the run winds
    /// down with listings and deletes only (its clean-up).
    pub fn with_stop(mut self, stop: StopCheck) -> Self {
        self.stop = Some(stop);
        self
    }

    /// The refusal of a request that would store data after the stop.
    fn stopped(&self, op: &'static str, key: &str) -> Result<(), StoreError> {
        match self.stop.and_then(|stop| stop()) {
            None => Ok(()),
            Some(why) => Err(StoreError::Request {
                op: if op == "PutObject" {
                    "PutObject"
                } else {
                    "CopyObject"
                },
                bucket: self.inner.bucket().to_owned(),
                key: key.to_owned(),
                summary: format!("not started: {why}"),
                code: None,
                permanent: true,
                source: None,
            }),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The policy in use.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Runs `call` until it succeeds, fails permanently, or the policy gives up; logs
    /// each retry. `key` is what the call concerns (a key, prefix or the first key).
    pub fn retry<T>(
        &self,
        op: &str,
        key: &str,
        mut call: impl FnMut() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let mut retry = 0;
        loop {
            let err = match call() {
                Ok(value) => {
                    if retry > 0 {
                        log::info!(
                            target: LOG_TARGET,
                            "{op} {} succeeded after {retry} {}",
                            place(self.inner.bucket(), key),
                            if retry == 1 { "retry" } else { "retries" }
                        );
                    }
                    return Ok(value);
                }
                Err(e) if e.is_permanent() => return Err(e),
                Err(e) => e,
            };
            retry += 1;
            let delay = self.policy.delay(retry, random_unit());
            if !self.policy.allows(retry, started.elapsed(), delay) {
                if retry > 1 {
                    log::warn!(
                        target: LOG_TARGET,
                        "{op} {}: giving up after {retry} attempts in {:.1?}",
                        place(self.inner.bucket(), key),
                        started.elapsed()
                    );
                }
                return Err(err);
            }
            // The error names op, bucket and key itself; say them once.
            let context = format!("{op} {}", place(self.inner.bucket(), key));
            let chain = error_chain(&err);
            let detail = chain
                .strip_prefix(&context)
                .and_then(|rest| rest.strip_prefix(": "))
                .unwrap_or(&chain);
            log::warn!(
                target: LOG_TARGET,
                "{context}: attempt {retry} of {} failed: {detail}; retrying in {delay:.1?}",
                self.policy.max_retries + 1,
            );
            std::thread::sleep(delay);
        }
    }
}

impl<S: Store> ReadStore for RetryStore<S> {
    fn bucket(&self) -> &str {
        self.inner.bucket()
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        self.retry("ListObjectsV2", prefix, || self.inner.list(prefix))
    }

    fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        self.retry("GetObject", key, || self.inner.get(key))
    }

    fn get_sized(&self, key: &str, expected: u64) -> Result<Fetched, StoreError> {
        self.retry("GetObject", key, || self.inner.get_sized(key, expected))
    }

    fn get_range(
        &self,
        key: &str,
        version: Option<&str>,
        start: u64,
        len: u64,
    ) -> Result<Fetched, StoreError> {
        self.retry("GetObject", key, || {
            self.inner.get_range(key, version, start, len)
        })
    }

    fn physical_key(&self, logical: &str) -> String {
        self.inner.physical_key(logical)
    }

    fn tag_of(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.retry("HeadObject", key, || self.inner.tag_of(key))
    }

    fn list_versions(&self, prefix: &str) -> Result<Vec<VersionInfo>, StoreError> {
        self.retry("ListObjectVersions", prefix, || {
            self.inner.list_versions(prefix)
        })
    }

    fn get_version(
        &self,
        key: &str,
        version_id: &str,
        expected: u64,
    ) -> Result<Fetched, StoreError> {
        self.retry("GetObject", key, || {
            self.inner.get_version(key, version_id, expected)
        })
    }

    fn bucket_lock(&self) -> Result<BucketLock, StoreError> {
        self.retry("GetObjectLockConfiguration", "", || {
            self.inner.bucket_lock()
        })
    }

    fn server_time(&self) -> Result<Option<time::OffsetDateTime>, StoreError> {
        self.retry("HeadBucket", "", || self.inner.server_time())
    }

    fn retention_of(&self, key: &str, version_id: &str) -> Result<Option<Retention>, StoreError> {
        self.retry("HeadObject", key, || {
            self.inner.retention_of(key, version_id)
        })
    }
}

impl<S: Store> Store for RetryStore<S> {
    fn put(&self, key: &str, body: Bytes) -> Result<(), StoreError> {
        self.retry("PutObject", key, || {
            self.stopped("PutObject", key)?;
            self.inner.put(key, body.clone())
        })
    }

    fn copy(
        &self,
        from: &str,
        to: &str,
        lock: Option<&Retention>,
    ) -> Result<Option<String>, StoreError> {
        self.retry("CopyObject", to, || {
            self.stopped("CopyObject", to)?;
            self.inner.copy(from, to, lock)
        })
    }

    fn put_locked(
        &self,
        key: &str,
        body: Bytes,
        lock: &Retention,
    ) -> Result<Option<String>, StoreError> {
        self.retry("PutObject", key, || {
            self.stopped("PutObject", key)?;
            self.inner.put_locked(key, body.clone(), lock)
        })
    }

    fn extend_retention(
        &self,
        key: &str,
        version_id: Option<&str>,
        lock: &Retention,
    ) -> Result<(), StoreError> {
        self.retry("PutObjectRetention", key, || {
            self.stopped("PutObjectRetention", key)?;
            self.inner.extend_retention(key, version_id, lock)
        })
    }

    fn create_multipart(&self, key: &str) -> Result<String, StoreError> {
        self.retry("CreateMultipartUpload", key, || {
            self.stopped("CreateMultipartUpload", key)?;
            self.inner.create_multipart(key)
        })
    }

    fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        body: Bytes,
    ) -> Result<UploadedPart, StoreError> {
        self.retry("UploadPart", key, || {
            self.stopped("UploadPart", key)?;
            self.inner.upload_part(key, upload_id, number, body.clone())
        })
    }

    fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> Result<(), StoreError> {
        self.retry("CompleteMultipartUpload", key, || {
            self.stopped("CompleteMultipartUpload", key)?;
            self.inner.complete_multipart(key, upload_id, parts)
        })
    }

    fn store_md5(&self, key: &str, md5: &str) -> Result<(), StoreError> {
        self.retry("CopyObject", key, || {
            self.stopped("CopyObject", key)?;
            self.inner.store_md5(key, md5)
        })
    }

    fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StoreError> {
        self.retry("AbortMultipartUpload", key, || {
            self.inner.abort_multipart(key, upload_id)
        })
    }

    fn list_multipart(&self, prefix: &str) -> Result<Vec<OpenUpload>, StoreError> {
        self.retry("ListMultipartUploads", prefix, || {
            self.inner.list_multipart(prefix)
        })
    }

    fn delete(&self, keys: &[String]) -> Result<(), StoreError> {
        let first = keys.first().map_or("", String::as_str);
        self.retry("DeleteObjects", first, || self.inner.delete(keys))
    }

    fn ensure_bucket(&self) -> Result<(), StoreError> {
        self.retry("CreateBucket", "", || self.inner.ensure_bucket())
    }

    fn key_style(&self) -> Result<KeyStyle, StoreError> {
        self.retry("ListObjectsV2", "", || self.inner.key_style())
    }
}

#[cfg(test)]
mod tests;
