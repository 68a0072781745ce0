//! `ObjectLockMode` in a backup run: the bucket must have Object Lock before anything is
//! stored, the lock dates run on the S3 server's clock ([`anchor_to_server`]), and a DIFF
//! extends the locks of the chain it builds on.

use time::{Duration, OffsetDateTime};

use crate::config::Settings;
use crate::plan::{Decision, Plan, RunLock};
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

/// The most the host's clock and the S3 server's may differ in a run that locks: beyond
/// it the lock dates (and the schedule's days) cannot be trusted, and nothing is stored.
pub const MAX_SKEW: Duration = Duration::hours(1);

/// Differences of the clocks below this are noise (the `Date` header counts whole
/// seconds, and the request takes its time): the lock dates stay as planned.
pub const SKEW_NOISE: Duration = Duration::minutes(1);

/// Anchors the lock dates of `plan` on the S3 server's clock. The plan computed each
/// retain-until from the host's clock `host` (the schedule's days); the server, which
/// enforces the lock, counts on its own clock `server` (read just now). A difference of
/// at most [`MAX_SKEW`] shifts every lock by it, so that each runs as long on the
/// server's clock as the schedule asked; a larger one (or a clock that cannot be read)
/// fails every item that would lock, before it stores or removes anything (its DiffDir
/// state file untouched). `server`: `Ok(None)` for a store without a clock (in memory).
pub fn anchor_to_server(
    plan: &mut Plan,
    host: OffsetDateTime,
    server: Result<Option<OffsetDateTime>, String>,
) {
    let verdict = match server {
        Ok(None) => return,
        Ok(Some(server)) => {
            let skew = server - host;
            if skew.abs() > MAX_SKEW {
                Err(format!(
                    "the S3 server's clock reads {server}, the host's {host}: they are {} \
                     apart, more than one hour, so the Object Lock dates (retain-until) \
                     cannot be trusted; nothing was stored or removed (set the host's clock \
                     right, e.g. with NTP, or --now)",
                    words(skew.abs())
                ))
            } else {
                Ok(skew)
            }
        }
        Err(why) => Err(format!(
            "the S3 server's clock cannot be read ({why}), and Object Lock dates are \
             counted on it; nothing was stored or removed"
        )),
    };
    let mut warned = false;
    for job in &mut plan.jobs {
        let Decision::Run(run) = &mut job.decision else {
            continue;
        };
        let Some(lock) = &mut run.lock else {
            continue;
        };
        match &verdict {
            Err(why) => {
                job.decision = Decision::Broken {
                    legacy: run.clone(),
                    why: why.clone(),
                };
            }
            Ok(skew) if skew.abs() >= SKEW_NOISE => {
                lock.retention.until += *skew;
                if !warned {
                    warned = true;
                    log::warn!(
                        "bucket {}: the S3 server's clock is {} {} the host's; the Object \
                         Lock dates follow the server's",
                        plan.bucket,
                        words(skew.abs()),
                        if skew.is_positive() {
                            "ahead of"
                        } else {
                            "behind"
                        }
                    );
                }
            }
            Ok(_) => {}
        }
    }
}

/// `1 h 2 min 3 s`.
fn words(d: Duration) -> String {
    let secs = d.whole_seconds();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, _) => format!("{m} min {s} s"),
        _ => format!("{h} h {m} min {s} s"),
    }
}
