//! Preparing a bucket for Object Lock (`s3napback prepare-bucket`): the bucket-level
//! requests of [`S3Store`] that only that admin command sends. The nightly run never
//! needs them (nor the permissions they take: see `contrib/iam/`).
//!
//! - [`S3Store::bucket_exists`] (HeadBucket), [`S3Store::create_locked_bucket`]
//!   (CreateBucket with Object Lock, which brings versioning with it);
//! - [`S3Store::versioning`] / [`S3Store::enable_versioning`] (Get/PutBucketVersioning);
//! - [`S3Store::enable_object_lock`] (PutObjectLockConfiguration, no default retention;
//!   reading it is [`crate::store::ReadStore::bucket_lock`]);
//! - [`S3Store::lifecycle`] / [`S3Store::put_lifecycle_rule`]
//!   (Get/PutBucketLifecycleConfiguration): the rule [`LIFECYCLE_RULE_ID`] replaced, every
//!   other rule of the bucket kept;
//! - [`S3Store::bucket_policy`] / [`S3Store::put_bucket_policy`] (Get/PutBucketPolicy):
//!   the bucket policy `prepare-bucket --deny-all-but` installs.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    BucketVersioningStatus, CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration,
    LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration, ObjectLockConfiguration,
    ObjectLockEnabled, TransitionDefaultMinimumObjectSize, VersioningConfiguration,
};

use super::{DEFAULT_REGION, S3Store, status};
use crate::store::StoreError;

/// The id of the lifecycle rule s3napback keeps on a bucket with Object Lock.
pub const LIFECYCLE_RULE_ID: &str = "s3napback-noncurrent";

/// After how many days the rule aborts a multipart upload that was never completed.
pub const ABORT_MULTIPART_DAYS: i32 = 1;

/// A bucket's versioning (GetBucketVersioning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versioning {
    /// Never enabled: every key has one object.
    Off,
    /// Enabled: overwrites and deletes keep the older versions.
    Enabled,
    /// Enabled once, suspended since.
    Suspended,
}

impl Versioning {
    /// How S3 calls the state (`Enabled`, `Suspended`; `Off` for never enabled).
    pub fn as_str(self) -> &'static str {
        match self {
            Versioning::Off => "Off",
            Versioning::Enabled => "Enabled",
            Versioning::Suspended => "Suspended",
        }
    }
}

/// How the bucket's rule [`LIFECYCLE_RULE_ID`] compares with the one wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleState {
    /// The bucket has no rule of that id.
    Missing,
    /// It has one (or several) that differ from the rule wanted.
    Differs,
    /// It has exactly the rule wanted.
    Same,
}

/// A bucket's lifecycle configuration as read (GetBucketLifecycleConfiguration), kept
/// whole so that [`S3Store::put_lifecycle_rule`] writes every other rule back unchanged.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    rules: Vec<LifecycleRule>,
    min_size: Option<TransitionDefaultMinimumObjectSize>,
}

impl Lifecycle {
    /// A configuration of these rules (for tests and callers that build one).
    pub fn of(rules: Vec<LifecycleRule>) -> Lifecycle {
        Lifecycle {
            rules,
            min_size: None,
        }
    }

    /// Every rule, ours included.
    pub fn rules(&self) -> &[LifecycleRule] {
        &self.rules
    }

    /// How many rules are not ours (kept as they are).
    pub fn other_rules(&self) -> usize {
        self.rules.iter().filter(|r| !is_ours(r)).count()
    }

    /// How our rule compares with the one expiring noncurrent versions after
    /// `noncurrent_days`.
    pub fn our_rule(&self, noncurrent_days: i32) -> RuleState {
        let ours: Vec<&LifecycleRule> = self.rules.iter().filter(|r| is_ours(r)).collect();
        match ours.as_slice() {
            [] => RuleState::Missing,
            [one] if is_exactly(one, noncurrent_days) => RuleState::Same,
            _ => RuleState::Differs,
        }
    }

    /// The noncurrent days of our rule, when the bucket has one rule of our id that sets
    /// them.
    pub fn our_noncurrent_days(&self) -> Option<i32> {
        let mut ours = self.rules.iter().filter(|r| is_ours(r));
        match (ours.next(), ours.next()) {
            (Some(rule), None) => rule
                .noncurrent_version_expiration()
                .and_then(|n| n.noncurrent_days()),
            _ => None,
        }
    }

    /// The configuration with our rule (replacing every rule of our id) after the others.
    fn with_our_rule(&self, noncurrent_days: i32) -> Result<Vec<LifecycleRule>, String> {
        let mut rules: Vec<LifecycleRule> =
            self.rules.iter().filter(|r| !is_ours(r)).cloned().collect();
        rules.push(our_rule(noncurrent_days)?);
        Ok(rules)
    }
}

fn is_ours(rule: &LifecycleRule) -> bool {
    rule.id() == Some(LIFECYCLE_RULE_ID)
}

/// The rule s3napback keeps on a bucket with Object Lock, for the whole bucket:
/// noncurrent versions (overwritten or deleted, once their lock has run out) expire after
/// `noncurrent_days`, incomplete multipart uploads are aborted after
/// [`ABORT_MULTIPART_DAYS`], and delete markers left without versions are removed.
pub fn our_rule(noncurrent_days: i32) -> Result<LifecycleRule, String> {
    LifecycleRule::builder()
        .id(LIFECYCLE_RULE_ID)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .expiration(
            LifecycleExpiration::builder()
                .expired_object_delete_marker(true)
                .build(),
        )
        .noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(noncurrent_days)
                .build(),
        )
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(ABORT_MULTIPART_DAYS)
                .build(),
        )
        .build()
        .map_err(|e| e.to_string())
}

/// True when `rule` does exactly what [`our_rule`]`(noncurrent_days)` does: the whole
/// bucket (an empty or no prefix, no tag or size filter), enabled, those three actions
/// and no other.
pub fn is_exactly(rule: &LifecycleRule, noncurrent_days: i32) -> bool {
    // A rule written with the legacy top-level Prefix (deprecated, still answered).
    #[allow(deprecated)]
    let legacy_prefix = rule.prefix().unwrap_or("");
    let whole_bucket = legacy_prefix.is_empty()
        && rule.filter().is_none_or(|f| {
            f.prefix().unwrap_or("").is_empty()
                && f.tag().is_none()
                && f.and().is_none()
                && f.object_size_greater_than().is_none()
                && f.object_size_less_than().is_none()
        });
    let markers_only = rule.expiration().is_some_and(|e| {
        e.expired_object_delete_marker() == Some(true) && e.days().is_none() && e.date().is_none()
    });
    let noncurrent = rule.noncurrent_version_expiration().is_some_and(|n| {
        n.noncurrent_days() == Some(noncurrent_days) && n.newer_noncurrent_versions().is_none()
    });
    let abort = rule
        .abort_incomplete_multipart_upload()
        .is_some_and(|a| a.days_after_initiation() == Some(ABORT_MULTIPART_DAYS));
    is_ours(rule)
        && *rule.status() == ExpirationStatus::Enabled
        && whole_bucket
        && markers_only
        && noncurrent
        && abort
        && rule.transitions().is_empty()
        && rule.noncurrent_version_transitions().is_empty()
}

impl S3Store {
    /// HeadBucket: true when the bucket exists (and these credentials may see it), false
    /// for a 404.
    pub fn bucket_exists(&self) -> Result<bool, StoreError> {
        self.watched("HeadBucket", "", async {
            match self.client.head_bucket().bucket(&self.bucket).send().await {
                Ok(_) => Ok(true),
                Err(e) if status(&e) == Some(404) => Ok(false),
                Err(e) => Err(self.sdk_err("HeadBucket", "", e)),
            }
        })
    }

    /// CreateBucket with Object Lock enabled (`ObjectLockEnabledForBucket`), which
    /// enables versioning too; in the store's region (a location constraint outside
    /// `us-east-1`, as [`S3Store::ensure_bucket`] does).
    pub fn create_locked_bucket(&self) -> Result<(), StoreError> {
        self.watched("CreateBucket", "", async {
            let mut req = self
                .client
                .create_bucket()
                .bucket(&self.bucket)
                .object_lock_enabled_for_bucket(true);
            if self.region != DEFAULT_REGION {
                req = req.create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::from(self.region.as_str()))
                        .build(),
                );
            }
            req.send()
                .await
                .map_err(|e| self.sdk_err("CreateBucket", "", e))?;
            Ok(())
        })
    }

    /// GetBucketVersioning.
    pub fn versioning(&self) -> Result<Versioning, StoreError> {
        self.watched("GetBucketVersioning", "", async {
            let out = self
                .client
                .get_bucket_versioning()
                .bucket(&self.bucket)
                .send()
                .await
                .map_err(|e| self.sdk_err("GetBucketVersioning", "", e))?;
            Ok(match out.status() {
                Some(BucketVersioningStatus::Enabled) => Versioning::Enabled,
                Some(BucketVersioningStatus::Suspended) => Versioning::Suspended,
                _ => Versioning::Off,
            })
        })
    }

    /// PutBucketVersioning `Enabled`.
    pub fn enable_versioning(&self) -> Result<(), StoreError> {
        self.watched("PutBucketVersioning", "", async {
            self.client
                .put_bucket_versioning()
                .bucket(&self.bucket)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| self.sdk_err("PutBucketVersioning", "", e))?;
            Ok(())
        })
    }

    /// PutObjectLockConfiguration `ObjectLockEnabled=Enabled` with no rule: no default
    /// retention (s3napback locks what it keeps itself). S3 takes it only on a bucket
    /// with versioning enabled; some servers only on a new or empty bucket.
    pub fn enable_object_lock(&self) -> Result<(), StoreError> {
        self.watched("PutObjectLockConfiguration", "", async {
            self.client
                .put_object_lock_configuration()
                .bucket(&self.bucket)
                .object_lock_configuration(
                    ObjectLockConfiguration::builder()
                        .object_lock_enabled(ObjectLockEnabled::Enabled)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| self.sdk_err("PutObjectLockConfiguration", "", e))?;
            Ok(())
        })
    }

    /// GetBucketLifecycleConfiguration; no rules when the bucket has none
    /// (`NoSuchLifecycleConfiguration`).
    pub fn lifecycle(&self) -> Result<Lifecycle, StoreError> {
        self.watched("GetBucketLifecycleConfiguration", "", async {
            let answer = self
                .client
                .get_bucket_lifecycle_configuration()
                .bucket(&self.bucket)
                .send()
                .await;
            match answer {
                Ok(out) => Ok(Lifecycle {
                    rules: out.rules().to_vec(),
                    min_size: out.transition_default_minimum_object_size().cloned(),
                }),
                Err(e) if e.code() == Some("NoSuchLifecycleConfiguration") => {
                    Ok(Lifecycle::default())
                }
                Err(e) => Err(self.sdk_err("GetBucketLifecycleConfiguration", "", e)),
            }
        })
    }

    /// PutBucketLifecycleConfiguration: `current`'s rules with every rule of our id
    /// replaced by [`our_rule`]`(noncurrent_days)` (the others, and the default minimum
    /// object size for transitions, as they were).
    pub fn put_lifecycle_rule(
        &self,
        current: &Lifecycle,
        noncurrent_days: i32,
    ) -> Result<(), StoreError> {
        const OP: &str = "PutBucketLifecycleConfiguration";
        let config = current
            .with_our_rule(noncurrent_days)
            .and_then(|rules| {
                BucketLifecycleConfiguration::builder()
                    .set_rules(Some(rules))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| self.err(OP, "", e))?;
        self.watched("PutBucketLifecycleConfiguration", "", async {
            self.client
                .put_bucket_lifecycle_configuration()
                .bucket(&self.bucket)
                .lifecycle_configuration(config)
                .set_transition_default_minimum_object_size(current.min_size.clone())
                .send()
                .await
                .map_err(|e| self.sdk_err(OP, "", e))?;
            Ok(())
        })
    }
}

impl S3Store {
    /// GetBucketPolicy: the bucket's policy document, `None` when it has none
    /// (`NoSuchBucketPolicy`).
    pub fn bucket_policy(&self) -> Result<Option<String>, StoreError> {
        self.watched("GetBucketPolicy", "", async {
            match self
                .client
                .get_bucket_policy()
                .bucket(&self.bucket)
                .send()
                .await
            {
                Ok(out) => Ok(out.policy().map(str::to_owned)),
                Err(e) if e.code() == Some("NoSuchBucketPolicy") => Ok(None),
                Err(e) => Err(self.sdk_err("GetBucketPolicy", "", e)),
            }
        })
    }

    /// PutBucketPolicy: `policy` (a JSON document) replaces the bucket's policy.
    pub fn put_bucket_policy(&self, policy: &str) -> Result<(), StoreError> {
        self.watched("PutBucketPolicy", "", async {
            self.client
                .put_bucket_policy()
                .bucket(&self.bucket)
                .policy(policy)
                .send()
                .await
                .map_err(|e| self.sdk_err("PutBucketPolicy", "", e))?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn other(id: &str) -> LifecycleRule {
        LifecycleRule::builder()
            .id(id)
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("logs/").build())
            .expiration(LifecycleExpiration::builder().days(30).build())
            .build()
            .unwrap()
    }

    #[test]
    fn our_rule_is_exactly_itself_and_nothing_near_it() {
        let rule = our_rule(30).unwrap();
        assert!(is_exactly(&rule, 30));
        assert!(!is_exactly(&rule, 31), "other days");
        let mut disabled = rule.clone();
        disabled.status = ExpirationStatus::Disabled;
        assert!(!is_exactly(&disabled, 30));
        let mut narrower = rule.clone();
        narrower.filter = Some(LifecycleRuleFilter::builder().prefix("x").build());
        assert!(!is_exactly(&narrower, 30));
        let mut no_abort = rule.clone();
        no_abort.abort_incomplete_multipart_upload = None;
        assert!(!is_exactly(&no_abort, 30));
        let mut expires_current = rule.clone();
        expires_current.expiration = Some(LifecycleExpiration::builder().days(5).build());
        assert!(!is_exactly(&expires_current, 30));
        let mut keeps_newer = rule.clone();
        keeps_newer.noncurrent_version_expiration = Some(
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(30)
                .newer_noncurrent_versions(3)
                .build(),
        );
        assert!(!is_exactly(&keeps_newer, 30));
        // a server that answers without a filter (the whole bucket) is the same rule
        let mut unfiltered = rule.clone();
        unfiltered.filter = None;
        assert!(is_exactly(&unfiltered, 30));
        let mut renamed = rule;
        renamed.id = Some("mine".into());
        assert!(!is_exactly(&renamed, 30));
    }

    #[test]
    fn our_rule_replaces_only_its_own_id() {
        let none = Lifecycle::default();
        assert_eq!(none.our_rule(30), RuleState::Missing);
        let others = Lifecycle::of(vec![other("logs"), other("tmp")]);
        assert_eq!(others.our_rule(30), RuleState::Missing);
        assert_eq!(others.other_rules(), 2);
        let with = others.with_our_rule(30).unwrap();
        assert_eq!(
            with.iter().map(|r| r.id().unwrap()).collect::<Vec<_>>(),
            ["logs", "tmp", LIFECYCLE_RULE_ID]
        );
        let same = Lifecycle::of(with.clone());
        assert_eq!(same.our_rule(30), RuleState::Same);
        assert_eq!(same.our_noncurrent_days(), Some(30));
        assert_eq!(same.our_rule(40), RuleState::Differs);
        let replaced = same.with_our_rule(40).unwrap();
        assert_eq!(replaced.len(), 3);
        assert_eq!(replaced[..2], with[..2]);
        assert!(is_exactly(&replaced[2], 40));
        // two rules of our id (never written by us): both replaced by one
        let twice = Lifecycle::of(vec![
            our_rule(30).unwrap(),
            other("logs"),
            our_rule(30).unwrap(),
        ]);
        assert_eq!(twice.our_rule(30), RuleState::Differs);
        assert_eq!(twice.our_noncurrent_days(), None);
        assert_eq!(twice.with_our_rule(30).unwrap().len(), 2);
    }
}
