//! `s3napback prepare-bucket -c FILE [-t]`: prepares the configured bucket for S3 Object
//! Lock, idempotently (issue 17). A bucket that does not exist is created with Object Lock
//! (and so versioning) enabled; on an existing one versioning and then Object Lock are
//! enabled where they are not. Either way the bucket gets the lifecycle rule
//! `s3napback-noncurrent`: noncurrent versions expire once the longest lock of the
//! config's items has run out, incomplete multipart uploads are aborted after a day, and
//! expired delete markers are removed; the bucket's other rules are kept.
//!
//! Everything is read first ([`inspect`]), then planned ([`plan`], pure), then done one
//! step at a time (or, with `-t`, printed). A second run finds everything in place and
//! changes nothing. With `--deny-all-but ADMIN_ARN` the bucket also gets the policy of
//! `contrib/iam/s3napback-bucket-policy.json` (`super::bucket_policy`).

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use clap::Args;

use super::bucket_policy::{self, PolicyState};
use crate::config::settings::DEFAULT_LOCK_GRACE_DAYS;
use crate::config::{ItemKind, Settings, load_settings_or_fatal};
use crate::exit::{EXIT_OK, Fatal};
use crate::plan::report::Category;
use crate::plan::retention::longest_days;
use crate::store::lock::{BucketLock, LockMode};
use crate::store::s3::{
    ABORT_MULTIPART_DAYS, LIFECYCLE_RULE_ID, Lifecycle, RuleState, S3Store, Versioning,
};
use crate::store::{ReadStore, StoreError};

/// `s3napback prepare-bucket`'s own options.
#[derive(Debug, Args, Clone, Default)]
pub struct PrepareArgs {
    /// Test mode: print each step it would take (and what is already in place); change
    /// nothing.
    #[arg(short = 't')]
    pub test: bool,
    /// Also install the bucket policy of contrib/iam/s3napback-bucket-policy.json, which
    /// denies every principal but ADMIN_ARN (the IAM user or role that runs
    /// prepare-bucket) bypassing governance retention, deleting object versions and
    /// changing versioning, Object Lock, lifecycle, replication or the bucket policy. A
    /// bucket with another policy is left as it is (an error: merge by hand).
    #[arg(long = "deny-all-but", value_name = "ADMIN_ARN")]
    pub deny_all_but: Option<String>,
}

/// Whether an item's slots are written incrementally (FULL and DIFFs): directories and
/// Subversion repositories; databases are dumped whole every time.
pub fn incremental(kind: ItemKind) -> bool {
    match kind {
        ItemKind::Directory | ItemKind::Subversion | ItemKind::SubversionDir => true,
        ItemKind::MySql | ItemKind::PostgreSql => false,
    }
}

/// The longest any object of the config stays locked, in days
/// ([`longest_days`] of each item's cycle, the largest); `None` for a config without
/// items. Each item reads its own cycle (its scope's, or its block's).
pub fn longest_retention(settings: &Settings, grace_days: i64) -> Option<i64> {
    let mut seen = Vec::new();
    let mut longest = None;
    for item in settings.scopes.iter().flat_map(|s| &s.items) {
        let key = (&item.cycle, incremental(item.kind));
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let days = longest_days(&item.cycle, key.1, grace_days);
        longest = longest.max(Some(days));
    }
    longest
}

/// What the bucket is like before anything changes.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// There is no such bucket (HeadBucket: 404).
    Missing,
    /// The bucket exists.
    Existing {
        /// Its versioning.
        versioning: Versioning,
        /// Its Object Lock configuration (enabled or not; never `Unsupported` here).
        lock: BucketLock,
        /// How its rule `s3napback-noncurrent` compares with the one wanted.
        rule: RuleState,
        /// The noncurrent days of the rule it has, when it has one.
        rule_days: Option<i32>,
        /// How many other lifecycle rules it has (kept).
        other_rules: usize,
    },
}

/// A change prepare-bucket makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// CreateBucket with Object Lock (and so versioning) enabled.
    CreateBucket,
    /// PutBucketVersioning `Enabled` (versioning is `from` now).
    EnableVersioning { from: Versioning },
    /// PutObjectLockConfiguration `Enabled`, no default retention.
    EnableLock,
    /// PutBucketLifecycleConfiguration with our rule expiring noncurrent versions after
    /// `days`, replacing the rule of our id that `was` there (`had`: its days), the
    /// `others` rules kept.
    PutRule {
        days: i32,
        was: RuleState,
        had: Option<i32>,
        others: usize,
    },
}

/// Something already as it should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InPlace {
    /// Versioning is enabled.
    Versioning,
    /// Object Lock is enabled.
    Lock,
    /// Our lifecycle rule is exactly so.
    Rule { days: i32 },
}

/// One line of what prepare-bucket does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// A change to make.
    Do(Step),
    /// Nothing to do here.
    Have(InPlace),
    /// The bucket has a default retention rule (mode, days): left as it is, but every
    /// object stored is then locked that long.
    DefaultRetention(LockMode, i64),
}

/// PURE: what to do on a bucket `found` so, for noncurrent versions to expire after
/// `days`: one line per step and per thing already in place, in the order they are done.
pub fn plan(found: &Found, days: i32) -> Vec<Line> {
    let Found::Existing {
        versioning,
        lock,
        rule,
        rule_days,
        other_rules,
    } = found
    else {
        return vec![
            Line::Do(Step::CreateBucket),
            Line::Do(Step::PutRule {
                days,
                was: RuleState::Missing,
                had: None,
                others: 0,
            }),
        ];
    };
    let mut lines = Vec::new();
    lines.push(match versioning {
        Versioning::Enabled => Line::Have(InPlace::Versioning),
        from => Line::Do(Step::EnableVersioning { from: *from }),
    });
    match lock {
        BucketLock::Enabled { default } => {
            lines.push(Line::Have(InPlace::Lock));
            if let Some((mode, days)) = default {
                lines.push(Line::DefaultRetention(*mode, *days));
            }
        }
        BucketLock::NotEnabled | BucketLock::Unsupported(_) => {
            lines.push(Line::Do(Step::EnableLock))
        }
    }
    lines.push(match rule {
        RuleState::Same => Line::Have(InPlace::Rule { days }),
        was => Line::Do(Step::PutRule {
            days,
            was: *was,
            had: *rule_days,
            others: *other_rules,
        }),
    });
    lines
}

/// What our lifecycle rule does, in words.
fn rule_text(days: i32) -> String {
    format!(
        "lifecycle rule {LIFECYCLE_RULE_ID} (noncurrent versions expire after {days} days, \
         incomplete multipart uploads are aborted after {ABORT_MULTIPART_DAYS} day, expired \
         delete markers are removed)"
    )
}

fn rules_kept(others: usize) -> String {
    match others {
        0 => String::new(),
        1 => "; the 1 other rule is kept".into(),
        n => format!("; the {n} other rules are kept"),
    }
}

impl Step {
    /// The test-mode line: what would be done, and the request.
    pub fn would(&self, bucket: &str) -> String {
        match self {
            Step::CreateBucket => format!(
                "would create bucket {bucket} with Object Lock enabled, and so versioning \
                 (CreateBucket)"
            ),
            Step::EnableVersioning { from } => format!(
                "would enable versioning on bucket {bucket}, {} now (PutBucketVersioning)",
                match from {
                    Versioning::Suspended => "suspended",
                    _ => "never enabled",
                }
            ),
            Step::EnableLock => format!(
                "would enable Object Lock on bucket {bucket}, with no default retention \
                 (PutObjectLockConfiguration)"
            ),
            Step::PutRule {
                days,
                was,
                had,
                others,
            } => {
                let verb = match (was, had) {
                    (RuleState::Missing, _) => "add".to_owned(),
                    (_, Some(had)) => format!(
                        "replace its rule of that id (noncurrent versions expire after {had} \
                         days) by"
                    ),
                    (_, None) => "replace its rule of that id by".to_owned(),
                };
                format!(
                    "would {verb} {} on bucket {bucket} (PutBucketLifecycleConfiguration{})",
                    rule_text(*days),
                    rules_kept(*others)
                )
            }
        }
    }

    /// The INFO line once the step is done.
    pub fn done(&self, bucket: &str) -> String {
        match self {
            Step::CreateBucket => {
                format!("bucket {bucket}: created with Object Lock and versioning enabled")
            }
            Step::EnableVersioning { .. } => format!("bucket {bucket}: versioning enabled"),
            Step::EnableLock => {
                format!("bucket {bucket}: Object Lock enabled, with no default retention")
            }
            Step::PutRule {
                days, was, others, ..
            } => format!(
                "bucket {bucket}: {} {}{}",
                rule_text(*days),
                if *was == RuleState::Missing {
                    "added"
                } else {
                    "replaced"
                },
                rules_kept(*others)
            ),
        }
    }
}

impl InPlace {
    /// The line saying so (test mode and the log alike).
    pub fn text(&self, bucket: &str) -> String {
        match self {
            InPlace::Versioning => format!("bucket {bucket}: versioning is already enabled"),
            InPlace::Lock => format!("bucket {bucket}: Object Lock is already enabled"),
            InPlace::Rule { days } => format!(
                "bucket {bucket}: lifecycle rule {LIFECYCLE_RULE_ID} is already in place \
                 (noncurrent versions expire after {days} days)"
            ),
        }
    }
}

/// The WARN line about a bucket's default retention rule.
pub fn default_retention_warning(bucket: &str, mode: LockMode, days: i64) -> String {
    format!(
        "bucket {bucket} has a default retention rule ({mode}, {days} days): every object \
         stored in it is then locked for {days} days, every staged upload too (the \
         .s3napback/ objects a run deletes once it has committed them), and that storage is \
         paid for as long; s3napback locks what it keeps itself and needs no default rule \
         (left as it is)"
    )
}

/// Reads the bucket's state, its rule compared with one for `days`; nothing is changed.
/// A server without the Object Lock API is an error here, before anything could change.
pub fn inspect(store: &S3Store, days: i32) -> Result<(Found, Lifecycle)> {
    let bucket = store.bucket();
    if !store.bucket_exists()? {
        return Ok((Found::Missing, Lifecycle::default()));
    }
    let lock = store.bucket_lock()?;
    if let BucketLock::Unsupported(answer) = &lock {
        return Err(unsupported(bucket, answer));
    }
    let versioning = store.versioning()?;
    let lifecycle = store.lifecycle()?;
    let found = Found::Existing {
        versioning,
        lock,
        rule: lifecycle.our_rule(days),
        rule_days: lifecycle.our_noncurrent_days(),
        other_rules: lifecycle.other_rules(),
    };
    Ok((found, lifecycle))
}

fn unsupported(bucket: &str, answer: &str) -> anyhow::Error {
    anyhow!(
        "bucket {bucket}: the server does not support S3 Object Lock ({answer}); immutable \
         backups need a server that does"
    )
}

/// The error for a PutObjectLockConfiguration the server refused on an existing bucket
/// (permissions and servers without the API aside): what to do instead.
fn lock_refused(
    bucket: &str,
    config: &Path,
    versioning_was: Versioning,
    err: StoreError,
) -> anyhow::Error {
    let code = err.code().unwrap_or("");
    if matches!(code, "AccessDenied") {
        return anyhow!(err);
    }
    if matches!(code, "NotImplemented" | "MethodNotAllowed") {
        return unsupported(bucket, &err.to_string());
    }
    let versioning = if versioning_was == Versioning::Enabled {
        "was enabled already"
    } else {
        "was enabled by this run"
    };
    anyhow!(
        "bucket {bucket}: the server refused to enable Object Lock on this existing bucket \
         ({err}); some servers enable it only on a new (or empty) bucket, so create a new \
         one instead: set `Bucket` in {config} to a name that does not exist yet and run \
         `s3napback prepare-bucket -c {config}` again (it creates the bucket with Object Lock \
         enabled); versioning on {bucket} {versioning} and stays so",
        config = config.display()
    )
}

/// Runs `prepare-bucket`; returns the exit status.
pub fn run(args: &PrepareArgs, config: Option<&Path>) -> Result<u8> {
    let path = config.ok_or_else(|| anyhow!(Fatal("prepare-bucket needs -c FILE".into())))?;
    let settings = load_settings_or_fatal(path)?;
    for w in settings.warnings.iter().chain(&settings.secret_warnings) {
        log::warn!(target: Category::Main.target(), "{w}");
    }
    let grace = match settings.object_lock {
        Some(lock) => lock.grace_days,
        None => {
            log::warn!(
                target: Category::Main.target(),
                "{}: ObjectLockMode is not set: the bucket is prepared, but backup runs lock nothing until it is",
                settings.path.display()
            );
            DEFAULT_LOCK_GRACE_DAYS
        }
    };
    let days = longest_retention(&settings, grace).ok_or_else(|| {
        Fatal(format!(
            "{}: no items: the lifecycle rule's days come from the items' cycles",
            settings.path.display()
        ))
    })?;
    let days = i32::try_from(days)
        .map_err(|_| Fatal(format!("a lock of {days} days is longer than S3 takes")))?;
    let bucket = settings.bucket.as_str();
    let wanted_policy = match &args.deny_all_but {
        Some(arn) => Some(bucket_policy::for_bucket(bucket, arn).map_err(Fatal)?),
        None => None,
    };
    let store = S3Store::connect(crate::store::open::s3_config(&settings)?)
        .with_context(|| format!("bucket {bucket}"))?;
    let (found, lifecycle) = inspect(&store, days)?;
    let lines = plan(&found, days);
    let policy = match (&wanted_policy, &found) {
        (None, _) => None,
        (Some(_), Found::Missing) => Some(PolicyState::Missing),
        (Some(wanted), Found::Existing { .. }) => Some(bucket_policy::compare(
            store.bucket_policy()?.as_deref(),
            wanted,
        )),
    };
    if policy == Some(PolicyState::Other) {
        return Err(anyhow!(Fatal(format!(
            "bucket {bucket} has a bucket policy that is not the one --deny-all-but installs; \
             nothing was changed: merge the statement of \
             contrib/iam/s3napback-bucket-policy.json into it by hand, or delete it and run \
             prepare-bucket again"
        ))));
    }
    let say = |text: &str| {
        if args.test {
            println!("{text}");
        } else {
            log::info!(target: Category::Main.target(), "{text}");
        }
    };
    say(&format!(
        "bucket {bucket}: the items of {} stay locked at most {days} days (ObjectLockGrace \
         {grace} included)",
        settings.path.display()
    ));
    let mut changed = false;
    for line in &lines {
        match line {
            Line::Have(what) => say(&what.text(bucket)),
            Line::DefaultRetention(mode, days) => {
                let text = default_retention_warning(bucket, *mode, *days);
                if args.test {
                    println!("warning: {text}");
                } else {
                    log::warn!(target: Category::Main.target(), "{text}");
                }
            }
            Line::Do(step) if args.test => say(&step.would(bucket)),
            Line::Do(step) => {
                apply(&store, step, &lifecycle, &found, path)?;
                changed = true;
                say(&step.done(bucket));
            }
        }
    }
    match (policy, &wanted_policy) {
        (Some(PolicyState::Same), _) => say(&format!(
            "bucket {bucket}: its policy already denies all but {} what could weaken it",
            args.deny_all_but.as_deref().unwrap_or_default()
        )),
        (Some(PolicyState::Missing), Some(wanted)) => {
            let arn = args.deny_all_but.as_deref().unwrap_or_default();
            if args.test {
                say(&format!(
                    "would put the bucket policy denying all but {arn} what could weaken \
                     bucket {bucket} (PutBucketPolicy)"
                ));
            } else {
                store.put_bucket_policy(wanted)?;
                changed = true;
                say(&format!(
                    "bucket {bucket}: bucket policy put: all but {arn} are denied what could \
                     weaken it"
                ));
            }
        }
        _ => {}
    }
    let would_change = policy == Some(PolicyState::Missing);
    if !would_change && !lines.iter().any(|l| matches!(l, Line::Do(_))) {
        say(&format!(
            "bucket {bucket}: everything is in place; nothing {}",
            if args.test { "would change" } else { "changed" }
        ));
    } else if changed {
        say(&format!("bucket {bucket}: ready for Object Lock"));
    }
    Ok(EXIT_OK)
}

/// Does one step.
fn apply(
    store: &S3Store,
    step: &Step,
    lifecycle: &Lifecycle,
    found: &Found,
    config: &Path,
) -> Result<()> {
    let bucket = store.bucket();
    match step {
        Step::CreateBucket => {
            store.create_locked_bucket()?;
            // A server that ignores ObjectLockEnabledForBucket creates a plain bucket.
            match store.bucket_lock()? {
                BucketLock::Enabled { .. } => {}
                BucketLock::Unsupported(answer) => {
                    return Err(unsupported(bucket, &answer)
                        .context(format!("bucket {bucket} was created without Object Lock")));
                }
                BucketLock::NotEnabled => {
                    return Err(anyhow!(
                        "bucket {bucket}: created, but the server did not enable Object Lock \
                         on it (GetObjectLockConfiguration: not enabled)"
                    ));
                }
            }
        }
        Step::EnableVersioning { .. } => store.enable_versioning()?,
        Step::EnableLock => {
            let versioning = match found {
                Found::Existing { versioning, .. } => *versioning,
                Found::Missing => Versioning::Off,
            };
            store
                .enable_object_lock()
                .map_err(|e| lock_refused(bucket, config, versioning, e))?;
        }
        Step::PutRule { days, .. } => store.put_lifecycle_rule(lifecycle, *days)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;

    fn settings(body: &str) -> Settings {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "DiffDir {}\nBucket b\nChunkSize 1000\n{body}",
            dir.path().display()
        );
        let doc = parse_str(&dir.path().join("s3napback.conf"), &text).unwrap();
        Settings::from_document(&doc).unwrap()
    }

    #[test]
    fn the_longest_lock_is_the_longest_of_the_items() {
        let daily = settings("Diffs 6\nFulls 2\nDirectory /etc\nMySQL all\n");
        // the Directory: 15 days to the rewrite, 6 for the chain, 2 of margin, grace 7
        assert_eq!(longest_retention(&daily, 7), Some(30));
        assert_eq!(
            longest_retention(&daily, 0),
            Some(longest_days(&daily.scopes[0].items[0].cycle, true, 0))
        );
        let dbs = settings("Diffs 6\nFulls 2\nMySQL all\n");
        assert_eq!(longest_retention(&dbs, 0), Some(3 + 2));
        // a <Cycle> of its own counts
        let cycles = settings(
            "Diffs 6\nFulls 2\nMySQL all\n<Cycle weekly>\nFrequency 7\nDiffs 6\nFulls 2\n\
             Directory /home\n</Cycle>\n",
        );
        let weekly = &cycles.scopes[1].items[0].cycle;
        assert_eq!(
            longest_retention(&cycles, 7),
            Some(longest_days(weekly, true, 7))
        );
        assert_eq!(longest_retention(&settings(""), 7), None);
    }

    fn existing(versioning: Versioning, lock: BucketLock, rule: RuleState) -> Found {
        Found::Existing {
            versioning,
            lock,
            rule,
            rule_days: (rule != RuleState::Missing).then_some(20),
            other_rules: 2,
        }
    }

    #[test]
    fn a_missing_bucket_is_created_locked_and_gets_the_rule() {
        assert_eq!(
            plan(&Found::Missing, 30),
            [
                Line::Do(Step::CreateBucket),
                Line::Do(Step::PutRule {
                    days: 30,
                    was: RuleState::Missing,
                    had: None,
                    others: 0
                })
            ]
        );
    }

    #[test]
    fn a_plain_bucket_gets_versioning_then_the_lock_then_the_rule() {
        let lines = plan(
            &existing(Versioning::Off, BucketLock::NotEnabled, RuleState::Missing),
            30,
        );
        assert_eq!(
            lines,
            [
                Line::Do(Step::EnableVersioning {
                    from: Versioning::Off
                }),
                Line::Do(Step::EnableLock),
                Line::Do(Step::PutRule {
                    days: 30,
                    was: RuleState::Missing,
                    had: None,
                    others: 2
                })
            ]
        );
        let Line::Do(step) = lines[2] else { panic!() };
        assert_eq!(
            step.would("b"),
            "would add lifecycle rule s3napback-noncurrent (noncurrent versions expire after \
             30 days, incomplete multipart uploads are aborted after 1 day, expired delete \
             markers are removed) on bucket b (PutBucketLifecycleConfiguration; the 2 other \
             rules are kept)"
        );
    }

    #[test]
    fn a_prepared_bucket_needs_nothing_and_a_default_rule_is_warned_about() {
        let ready = existing(
            Versioning::Enabled,
            BucketLock::Enabled { default: None },
            RuleState::Same,
        );
        assert_eq!(
            plan(&ready, 30),
            [
                Line::Have(InPlace::Versioning),
                Line::Have(InPlace::Lock),
                Line::Have(InPlace::Rule { days: 30 })
            ]
        );
        let defaulted = existing(
            Versioning::Enabled,
            BucketLock::Enabled {
                default: Some((LockMode::Governance, 5)),
            },
            RuleState::Differs,
        );
        let lines = plan(&defaulted, 30);
        assert_eq!(lines[2], Line::DefaultRetention(LockMode::Governance, 5));
        assert_eq!(
            lines[3],
            Line::Do(Step::PutRule {
                days: 30,
                was: RuleState::Differs,
                had: Some(20),
                others: 2
            })
        );
        let Line::Do(step) = lines[3] else { panic!() };
        assert!(
            step.would("b").starts_with(
                "would replace its rule of that id (noncurrent versions expire after 20 days) \
                 by lifecycle rule s3napback-noncurrent (noncurrent versions expire after 30"
            ),
            "{}",
            step.would("b")
        );
        let warning = default_retention_warning("b", LockMode::Governance, 5);
        assert!(
            warning.starts_with("bucket b has a default retention rule (GOVERNANCE, 5 days)"),
            "{warning}"
        );
    }

    #[test]
    fn a_suspended_versioning_is_enabled_again() {
        let lines = plan(
            &existing(
                Versioning::Suspended,
                BucketLock::NotEnabled,
                RuleState::Same,
            ),
            30,
        );
        let Line::Do(step) = lines[0] else { panic!() };
        assert_eq!(
            step.would("b"),
            "would enable versioning on bucket b, suspended now (PutBucketVersioning)"
        );
    }
}
