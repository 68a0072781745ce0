//! `s3napback prepare-bucket` (issue 17) against moto, through the test proxy so that
//! every request it sends is seen: a new bucket is created with Object Lock and gets the
//! lifecycle rule for the config's longest lock; a second run changes nothing; `-t`
//! changes nothing; an existing bucket gets versioning and Object Lock, its own lifecycle
//! rules kept; where the server refuses Object Lock on an existing bucket the error says
//! to create a new one; a server without the Object Lock API (Garage) is named so. That
//! its requests are ones `contrib/iam/s3napback-admin.json` allows is judged by moto's
//! IAM evaluator in `iam_policies.rs`.

use aws_sdk_s3::types::{
    ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
};
use s3napback::config::CycleSettings;
use s3napback::plan::retention::longest_days;

use crate::backup::harness::{Run, Site};
use crate::support::clock::DAY_1;
use crate::support::proxy::{FaultProxy, Seen};
use crate::support::s3::{S3Server, garage, moto};
use crate::support::s3admin::Admin;

/// The items of the configs: a daily SimpleCycle (Diffs 6, Fulls 2) with a Directory,
/// locked in COMPLIANCE mode with ObjectLockGrace left at its default.
const BODY: &str = "ObjectLockMode COMPLIANCE\nDiffs 6\nFulls 2\nDirectory /etc\n";

/// The lifecycle days [`BODY`] asks for: the longest lock of its Directory
/// (plan::retention), with the default grace of 7 days.
fn expected_days() -> i32 {
    let cycle = CycleSettings {
        frequency: 1,
        diffs: 6,
        fulls: 2,
        ..CycleSettings::default()
    };
    let days = longest_days(&cycle, true, 7);
    assert_eq!(
        days, 30,
        "15 days to a slot's rewrite, 6 of chain, 2 of margin, 7 of grace"
    );
    i32::try_from(days).unwrap()
}

/// A site whose config (of [`BODY`]) reaches `server` through a new proxy.
fn site_via_proxy(server: &S3Server) -> (Site, FaultProxy, String) {
    let proxy = FaultProxy::start(&server.endpoint);
    let site = Site::new();
    let conf = site.config_via(server, &proxy.endpoint, 1000, false, BODY);
    (site, proxy, conf.display().to_string())
}

fn prepare(site: &Site, conf: &str, test: bool) -> Run {
    let mut args = vec!["prepare-bucket", "-c", conf];
    if test {
        args.push("-t");
    }
    site.run(&args, DAY_1)
}

/// The requests that change something (anything but GET and HEAD).
/// (Paths as sent: `/BUCKET/?lifecycle`.)
fn writes(seen: &[Seen]) -> Vec<String> {
    seen.iter()
        .filter(|s| s.method != "GET" && s.method != "HEAD")
        .map(|s| format!("{} {}", s.method, s.path))
        .collect()
}

/// Panics unless the bucket's rule `s3napback-noncurrent` is the whole-bucket rule
/// expiring noncurrent versions after `days`, aborting incomplete multipart uploads after
/// a day and removing expired delete markers.
fn assert_our_rule(rules: &[LifecycleRule], days: i32) {
    let ours: Vec<&LifecycleRule> = rules
        .iter()
        .filter(|r| r.id() == Some("s3napback-noncurrent"))
        .collect();
    assert_eq!(ours.len(), 1, "{rules:#?}");
    let rule = ours[0];
    assert_eq!(*rule.status(), ExpirationStatus::Enabled, "{rule:#?}");
    assert_eq!(
        rule.filter().and_then(|f| f.prefix()).unwrap_or(""),
        "",
        "the whole bucket: {rule:#?}"
    );
    assert_eq!(
        rule.noncurrent_version_expiration()
            .and_then(|n| n.noncurrent_days()),
        Some(days),
        "{rule:#?}"
    );
    assert_eq!(
        rule.abort_incomplete_multipart_upload()
            .and_then(|a| a.days_after_initiation()),
        Some(1),
        "{rule:#?}"
    );
    assert_eq!(
        rule.expiration()
            .and_then(|e| e.expired_object_delete_marker()),
        Some(true),
        "{rule:#?}"
    );
    assert!(
        rule.expiration().and_then(|e| e.days()).is_none(),
        "current versions never expire: {rule:#?}"
    );
}

#[test]
fn a_new_bucket_is_created_locked_with_the_rule_and_a_second_run_changes_nothing() {
    let server = moto();
    let (site, proxy, conf) = site_via_proxy(&server);
    let admin = Admin::new(&server);
    let days = expected_days();
    let bucket = &server.bucket;

    // -t on a bucket that does not exist: the two steps, nothing created
    let test = prepare(&site, &conf, true);
    assert_eq!(test.status, 0, "{}", test.log);
    test.expect(&format!(
        "would create bucket {bucket} with Object Lock enabled, and so versioning (CreateBucket)\n"
    ))
    .expect(&format!(
        "would add lifecycle rule s3napback-noncurrent (noncurrent versions expire after {days} \
         days, incomplete multipart uploads are aborted after 1 day, expired delete markers are \
         removed) on bucket {bucket} (PutBucketLifecycleConfiguration)\n"
    ));
    assert!(!admin.exists(), "-t created the bucket:\n{}", test.log);
    assert_eq!(writes(&proxy.seen()), Vec::<String>::new(), "{}", test.log);

    // the real run creates it
    let mark = proxy.seen().len();
    let run = prepare(&site, &conf, false);
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect(&format!(
        "Backup.S3napback INFO bucket {bucket}: created with Object Lock and versioning enabled\n"
    ))
    .expect(&format!(
        "Backup.S3napback INFO bucket {bucket}: lifecycle rule s3napback-noncurrent \
         (noncurrent versions expire after {days} days"
    ))
    .expect(&format!("INFO bucket {bucket}: ready for Object Lock\n"));
    assert!(admin.lock_enabled(), "{:?}", admin.object_lock());
    assert!(
        admin.object_lock().unwrap().rule().is_none(),
        "no default retention: {:?}",
        admin.object_lock()
    );
    assert_eq!(admin.versioning().as_deref(), Some("Enabled"));
    assert_our_rule(&admin.lifecycle(), days);
    let first = proxy.seen()[mark..].to_vec();
    // CreateBucket, then PutBucketLifecycleConfiguration
    let changes = writes(&first);
    assert!(
        changes.len() == 2
            && changes[0] == format!("PUT /{bucket}/")
            && changes[1] == format!("PUT /{bucket}/?lifecycle"),
        "{changes:#?}"
    );

    // a second run finds everything in place and sends no PUT
    let mark = proxy.seen().len();
    let again = prepare(&site, &conf, false);
    assert_eq!(again.status, 0, "{}", again.log);
    again
        .expect(&format!(
            "INFO bucket {bucket}: versioning is already enabled\n"
        ))
        .expect(&format!(
            "INFO bucket {bucket}: Object Lock is already enabled\n"
        ))
        .expect(&format!(
            "INFO bucket {bucket}: lifecycle rule s3napback-noncurrent is already in place \
             (noncurrent versions expire after {days} days)\n"
        ))
        .expect(&format!(
            "INFO bucket {bucket}: everything is in place; nothing changed\n"
        ));
    let second = proxy.seen()[mark..].to_vec();
    assert_eq!(writes(&second), Vec::<String>::new(), "{}", again.log);
    assert!(!again.log.contains("WARN"), "{}", again.log);

    // -t on the prepared bucket: what is in place, and that nothing would change
    let test = prepare(&site, &conf, true);
    assert_eq!(test.status, 0, "{}", test.log);
    test.expect(&format!(
        "bucket {bucket}: Object Lock is already enabled\n"
    ))
    .expect(&format!(
        "bucket {bucket}: everything is in place; nothing would change\n"
    ));
}

#[test]
fn an_existing_empty_bucket_gets_versioning_and_the_lock_and_keeps_its_own_rules() {
    let server = moto();
    let (site, proxy, conf) = site_via_proxy(&server);
    let admin = Admin::new(&server);
    admin.create_plain();
    let theirs = LifecycleRule::builder()
        .id("logs")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("logs/").build())
        .expiration(LifecycleExpiration::builder().days(9).build())
        .build()
        .unwrap();
    admin.put_lifecycle(vec![theirs.clone()]);
    let bucket = &server.bucket;
    let days = expected_days();

    let test = prepare(&site, &conf, true);
    assert_eq!(test.status, 0, "{}", test.log);
    test.expect(&format!(
        "would enable versioning on bucket {bucket}, never enabled now (PutBucketVersioning)\n\
         would enable Object Lock on bucket {bucket}, with no default retention \
         (PutObjectLockConfiguration)\n\
         would add lifecycle rule s3napback-noncurrent"
    ))
    .expect("(PutBucketLifecycleConfiguration; the 1 other rule is kept)\n");
    assert_eq!(writes(&proxy.seen()), Vec::<String>::new(), "{}", test.log);
    assert_eq!(admin.versioning(), None);

    let run = prepare(&site, &conf, false);
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect(&format!("INFO bucket {bucket}: versioning enabled\n"))
        .expect(&format!(
            "INFO bucket {bucket}: Object Lock enabled, with no default retention\n"
        ))
        .expect("; the 1 other rule is kept\n");
    assert_eq!(admin.versioning().as_deref(), Some("Enabled"));
    assert!(admin.lock_enabled(), "{:?}", admin.object_lock());
    let rules = admin.lifecycle();
    assert_our_rule(&rules, days);
    let kept: Vec<&LifecycleRule> = rules.iter().filter(|r| r.id() == Some("logs")).collect();
    assert_eq!(kept.len(), 1, "{rules:#?}");
    assert_eq!(
        kept[0].expiration().and_then(|e| e.days()),
        Some(9),
        "{rules:#?}"
    );
    assert_eq!(
        kept[0].filter().and_then(|f| f.prefix()),
        Some("logs/"),
        "{rules:#?}"
    );

    // a default retention rule set by someone else: a WARN, and left as it is
    admin.set_default_retention("GOVERNANCE", 5);
    let mark = proxy.seen().len();
    let warned = prepare(&site, &conf, false);
    assert_eq!(warned.status, 0, "{}", warned.log);
    warned
        .expect(&format!(
            "WARN bucket {bucket} has a default retention rule (GOVERNANCE, 5 days): every \
             object stored in it is then locked for 5 days, every staged upload too"
        ))
        .expect("nothing changed\n");
    assert_eq!(
        writes(&proxy.seen()[mark..]),
        Vec::<String>::new(),
        "{}",
        warned.log
    );
    let lock = admin.object_lock().unwrap();
    assert_eq!(
        lock.rule()
            .and_then(|r| r.default_retention())
            .and_then(|d| d.days()),
        Some(5),
        "left as it is: {lock:?}"
    );
}

#[test]
fn a_bucket_that_cannot_take_the_lock_is_told_to_be_replaced_by_a_new_one() {
    // moto, like some servers, enables Object Lock only on an empty bucket (AWS on any
    // versioned one): a bucket holding backups is refused
    let server = moto();
    let (site, proxy, conf) = site_via_proxy(&server);
    let admin = Admin::new(&server);
    admin.create_plain();
    admin.put("/etc-7-FULL:00000000000000000000", b"an old backup");
    let bucket = &server.bucket;

    let run = prepare(&site, &conf, false);
    assert_eq!(run.status, 1, "{}", run.log);
    run.expect(&format!("INFO bucket {bucket}: versioning enabled\n"))
        .expect(&format!(
            "bucket {bucket}: the server refused to enable Object Lock on this existing bucket \
             (PutObjectLockConfiguration {bucket}: "
        ))
        .expect(&format!(
            "create a new one instead: set `Bucket` in {conf} to a name that does not exist \
             yet and run `s3napback prepare-bucket -c {conf}` again (it creates the bucket \
             with Object Lock enabled); versioning on {bucket} was enabled by this run and \
             stays so\n"
        ));
    assert!(!admin.lock_enabled());
    assert_eq!(admin.versioning().as_deref(), Some("Enabled"));
    assert!(admin.lifecycle().is_empty(), "no step after the refusal");
    assert!(
        !proxy
            .seen()
            .iter()
            .any(|s| s.path.contains("lifecycle") && s.method == "PUT"),
        "no step after the refusal"
    );

    // doing what it says works
    let text = std::fs::read_to_string(&conf)
        .unwrap()
        .replace(&format!("Bucket {bucket}\n"), "Bucket s3napback-new\n");
    std::fs::write(&conf, text).unwrap();
    let run = prepare(&site, &conf, false);
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect("INFO bucket s3napback-new: created with Object Lock and versioning enabled\n");
    let new = Admin::on(&server, "s3napback-new");
    assert!(new.lock_enabled());
    assert_our_rule(&new.lifecycle(), expected_days());
}

#[test]
fn a_server_without_object_lock_is_named_and_nothing_changes() {
    let server = garage();
    let (site, proxy, conf) = site_via_proxy(&server);
    let run = prepare(&site, &conf, false);
    assert_eq!(run.status, 1, "{}", run.log);
    run.expect(&format!(
        "bucket {bucket}: the server does not support S3 Object Lock \
         (GetObjectLockConfiguration {bucket}: NotImplemented: ",
        bucket = server.bucket
    ));
    assert_eq!(writes(&proxy.seen()), Vec::<String>::new(), "{}", run.log);
}
