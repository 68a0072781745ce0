//! `ObjectLockMode` in a backup run: the bucket must have Object Lock before anything is
//! stored, and a DIFF extends the locks of the chain it builds on.

use crate::config::Settings;
use crate::plan::RunLock;
use crate::store::keys::parse_chunk_key;
use crate::store::lock::BucketLock;
use crate::store::{ReadStore, Store, StoreError};

/// `ObjectLockMode` is set but the bucket cannot lock: a real run of that config stores
/// and removes nothing.
#[derive(Debug, thiserror::Error)]
#[error("bucket {bucket}: ObjectLockMode is set, but {why}; nothing was stored or removed")]
pub struct LockUnavailable {
    pub bucket: String,
    pub why: String,
}

/// Checks that the bucket has Object Lock (with versioning) when the config asks for it.
/// A bucket default retention is allowed, with a warning of what it costs: it locks the
/// staged uploads too.
pub fn check_bucket(store: &dyn ReadStore, settings: &Settings) -> Result<(), LockUnavailable> {
    if settings.object_lock.is_none() {
        return Ok(());
    }
    let fail = |why: String| LockUnavailable {
        bucket: settings.bucket.clone(),
        why,
    };
    let how = format!(
        "run `s3napback prepare-bucket -c {}` (it creates the bucket with Object Lock, or \
         enables versioning and Object Lock on it), or remove ObjectLockMode",
        settings.path.display()
    );
    match store.bucket_lock() {
        Ok(BucketLock::Enabled { default: None }) => Ok(()),
        Ok(BucketLock::Enabled {
            default: Some((mode, days)),
        }) => {
            log::warn!(
                "bucket {}: its default retention ({mode}, {days} days) also locks every staged upload: each run's stream is then stored twice for {days} days (the staged copy cannot be deleted before); remove the default retention rule, s3napback locks the slots itself",
                settings.bucket
            );
            Ok(())
        }
        Ok(BucketLock::NotEnabled) => Err(fail(format!("the bucket has no Object Lock: {how}"))),
        Ok(BucketLock::Unsupported(answer)) => Err(fail(format!(
            "the S3 server does not support Object Lock ({answer}); use a server that does \
             (AWS, MinIO, Ceph RGW, Backblaze B2, Wasabi) or remove ObjectLockMode"
        ))),
        Err(e) if e.code() == Some("NoSuchBucket") => {
            Err(fail(format!("the bucket does not exist: {how}")))
        }
        Err(e) => Err(fail(format!(
            "its Object Lock configuration cannot be read: {}",
            crate::store::error_chain(&e)
        ))),
    }
}

/// Extends the lock of every current chunk of the chain slots `lock.extend` names to
/// `lock.retention` (locks only grow). Returns how many objects were extended.
pub fn extend_chain(store: &dyn Store, lock: &RunLock) -> Result<usize, StoreError> {
    let mut extended = 0;
    for prefix in &lock.extend {
        for version in store.list_versions(&format!("{prefix}:"))? {
            let is_chunk = parse_chunk_key(&version.key).is_some_and(|(p, _)| p == prefix.as_str());
            if !is_chunk || !version.is_latest || version.delete_marker {
                continue;
            }
            store.extend_retention(&version.key, Some(&version.version_id), &lock.retention)?;
            extended += 1;
        }
    }
    Ok(extended)
}
