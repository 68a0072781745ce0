//! S3 Object Lock and versions: what a locked, versioned bucket adds to the store.
//!
//! On a bucket with Object Lock (which implies versioning) overwriting or deleting a key
//! only adds a new version or a delete marker; a version locked until a date cannot be
//! removed before it (COMPLIANCE: by nobody; GOVERNANCE: only with a bypass permission
//! the nightly run does not hold). The backup run locks what it stores under slot keys
//! ([`Retention`]); readers can see the bucket as it was at a date ([`VersionInfo`],
//! `store::as_of`).

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// `ObjectLockMode`: who may shorten or remove a lock before its date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LockMode {
    /// Nobody, not even the account's root user.
    Compliance,
    /// Only a user with `s3:BypassGovernanceRetention` (not the nightly run).
    Governance,
}

impl LockMode {
    /// `COMPLIANCE` / `GOVERNANCE`, as S3 spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::Compliance => "COMPLIANCE",
            LockMode::Governance => "GOVERNANCE",
        }
    }

    /// Reads `COMPLIANCE` or `GOVERNANCE` (any case).
    pub fn parse(text: &str) -> Option<LockMode> {
        match text.to_ascii_uppercase().as_str() {
            "COMPLIANCE" => Some(LockMode::Compliance),
            "GOVERNANCE" => Some(LockMode::Governance),
            _ => None,
        }
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A lock on one object version: its mode and the date before which it cannot go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub mode: LockMode,
    /// The retain-until date.
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
}

/// What the bucket says about Object Lock (GetObjectLockConfiguration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketLock {
    /// Object Lock is enabled; `default` is the bucket's default retention (mode, days),
    /// which every new object version gets unless it carries its own.
    Enabled { default: Option<(LockMode, i64)> },
    /// The bucket exists without Object Lock (it cannot be switched on for the objects
    /// already stored without versioning: S3 enables it on existing buckets only with
    /// versioning on).
    NotEnabled,
    /// The server does not implement the Object Lock API (Garage); its answer.
    Unsupported(String),
}

/// One version of a key, or a delete marker, as ListObjectVersions shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// The key as listed.
    pub key: String,
    /// The version id (`null` for objects stored before versioning was enabled).
    pub version_id: String,
    pub last_modified: OffsetDateTime,
    pub size: u64,
    pub etag: Option<String>,
    /// The current version of its key.
    pub is_latest: bool,
    /// A delete marker, not data.
    pub delete_marker: bool,
}
