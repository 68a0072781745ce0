//! Least privilege (issue 17, `contrib/iam/`): every request a command sends, as the
//! test proxy sees it, is one the policy meant for it allows (`support::iam` maps each
//! request to its IAM actions and to the resource they are granted on). The nightly run
//! holds `s3napback-backup.json`, the read commands `s3napback-restore.json`;
//! `prepare-bucket` (`s3napback-admin.json`) is checked in `prepare_bucket.rs`. And the
//! policies themselves grant nothing that could destroy a locked backup.

use crate::backup::harness::{Site, make_tree};
use crate::support::clock::{DAY_1, DAY_2, DAY_3};
use crate::support::iam::{assert_allowed, policy_actions, policy_file, refused};
use crate::support::proxy::FaultProxy;
use crate::support::s3::moto;

const BACKUP: &str = "s3napback-backup.json";
const RESTORE: &str = "s3napback-restore.json";
const ADMIN: &str = "s3napback-admin.json";

#[test]
fn the_policies_grant_nothing_beyond_their_job() {
    let backup = policy_actions(&policy_file(BACKUP));
    for never in [
        "s3:DeleteObjectVersion",
        "s3:BypassGovernanceRetention",
        "s3:PutBucketVersioning",
        "s3:PutBucketPolicy",
        "s3:PutLifecycleConfiguration",
        "s3:PutBucketObjectLockConfiguration",
        "s3:CreateBucket",
        "s3:DeleteBucket",
        "s3:PutObjectLegalHold",
        "s3:*",
    ] {
        assert!(!backup.contains(never), "{BACKUP} grants {never}");
    }
    let restore = policy_actions(&policy_file(RESTORE));
    for action in &restore {
        assert!(
            action.starts_with("s3:Get") || action.starts_with("s3:List"),
            "{RESTORE} is read-only, but grants {action}"
        );
    }
    let admin = policy_actions(&policy_file(ADMIN));
    for never in [
        "s3:DeleteObjectVersion",
        "s3:BypassGovernanceRetention",
        "s3:DeleteObject",
        "s3:PutObject",
        "s3:GetObject",
    ] {
        assert!(!admin.contains(never), "{ADMIN} grants {never}");
    }
}

#[test]
fn each_command_sends_only_what_its_policy_allows() {
    let server = moto();
    let proxy = FaultProxy::start(&server.endpoint);
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let name = src.display().to_string();
    let body = format!("ObjectLockMode COMPLIANCE\nDiffs 6\nFulls 2\nDirectory {name}\n");
    let conf = site.config_via(&server, &proxy.endpoint, 1000, true, &body);
    let conf = conf.to_str().unwrap();
    let into = site.path("restored").display().to_string();
    let into2 = site.path("restored-at").display().to_string();

    // the bucket as the admin leaves it (the backup runs lock: ObjectLockMode)
    let prepared = site.run(&["prepare-bucket", "-c", conf], DAY_1);
    assert_eq!(prepared.status, 0, "{}", prepared.log);

    // (what, the command line, when, the policy it runs with): extend as commands grow
    let full = format!("{name}-7-FULL");
    let table: Vec<(&str, Vec<&str>, &str, &str)> = vec![
        ("backup run (a FULL)", vec!["-c", conf], DAY_1, BACKUP),
        ("backup run (a DIFF)", vec!["-c", conf], DAY_2, BACKUP),
        ("backup run (another DIFF)", vec!["-c", conf], DAY_3, BACKUP),
        ("list", vec!["list", "-c", conf], DAY_3, RESTORE),
        (
            "list --versions",
            vec!["list", "--versions", "-c", conf],
            DAY_3,
            RESTORE,
        ),
        ("status", vec!["status", "-c", conf], DAY_3, RESTORE),
        (
            "verify --deep",
            vec!["verify", "--deep", "-c", conf],
            DAY_3,
            RESTORE,
        ),
        (
            "restore",
            vec!["restore", "-c", conf, "--into", &into, &name],
            DAY_3,
            RESTORE,
        ),
        (
            "restore --at",
            vec![
                "restore",
                "-c",
                conf,
                "--at",
                "2026-11-13",
                "--into",
                &into2,
                &name,
            ],
            DAY_3,
            RESTORE,
        ),
        ("cat", vec!["cat", "-c", conf, &full], DAY_3, RESTORE),
    ];
    for (what, args, now, policy) in table {
        let mark = proxy.seen().len();
        let run = site.run(&args, now);
        assert_eq!(run.status, 0, "{what}: {}", run.log);
        let seen = proxy.seen()[mark..].to_vec();
        assert!(!seen.is_empty(), "{what} sent nothing through the proxy");
        assert_allowed(what, &seen, policy);
        // the check bites: the read-only policy refuses what a backup run writes
        if policy == BACKUP {
            let writes = refused(&seen, RESTORE);
            assert!(
                writes
                    .iter()
                    .any(|r| r.starts_with("s3:PutObject on its objects")),
                "{what}: {writes:#?}"
            );
        }
    }
}
