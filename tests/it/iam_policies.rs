//! Least privilege (issues 17, 23 and 25, `contrib/iam/`), judged by a real policy
//! evaluator: moto's server with IAM enforced (`support/moto_iam.py`), one IAM user per
//! policy of `contrib/iam/`, each running the real commands with its own access key. The
//! admin prepares the bucket (and installs the bucket policy), the backup user's runs
//! store, lock (GOVERNANCE), extend locks and, with chunks above 32 MiB, upload in parts
//! and abort what a killed run left; the restore user's read commands restore. Every
//! request that could destroy or weaken a locked backup is refused for the backup and
//! the restore user alike, and the locked version stays as it was. What moto does not
//! evaluate (Condition blocks, bucket policies) is listed in `contrib/iam/README.md`.
//!
//! And the policies themselves grant nothing beyond their job, wildcards included.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use s3napback::store::ReadStore;
use s3napback::store::keys::{chunk_key, staging_prefix};
use serde_json::Value;

use crate::backup::harness::{Site, make_tree, noise, restored, tree};
use crate::support::clock::{DAY_1, DAY_2, DAY_3};
use crate::support::s3::{S3Server, moto_iam_script, moto_python, moto_with_iam};
use crate::support::s3admin::Admin;

const BACKUP: &str = "s3napback-backup.json";
const RESTORE: &str = "s3napback-restore.json";
const ADMIN: &str = "s3napback-admin.json";
const BUCKET_POLICY: &str = "s3napback-bucket-policy.json";

/// What could destroy or weaken a locked backup: no policy but the admin's may allow any.
const DESTRUCTIVE: [&str; 11] = [
    "s3:DeleteObjectVersion",
    "s3:BypassGovernanceRetention",
    "s3:PutBucketVersioning",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutReplicationConfiguration",
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:PutObjectLegalHold",
];

/// The text of `contrib/iam/NAME`.
fn policy_text(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("contrib/iam")
        .join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `contrib/iam/NAME` for `bucket`, its lock mode `mode` (and admin `admin`).
fn policy_for(name: &str, bucket: &str, mode: &str, admin: &str) -> Value {
    let text = policy_text(name)
        .replace("BUCKET-NAME", bucket)
        .replace("LOCK-MODE", mode)
        .replace("ADMIN-ARN", admin);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Whether an IAM action pattern (`s3:Get*`, `*`) matches `action` (case-insensitive,
/// as IAM compares actions).
fn matches(pattern: &str, action: &str) -> bool {
    fn go(p: &[u8], a: &[u8]) -> bool {
        match (p.first(), a.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], a) || (!a.is_empty() && go(p, &a[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &a[1..]),
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => go(&p[1..], &a[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), action.as_bytes())
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether any Allow statement of `policy` could grant `action`: its `Action` matches
/// it (wildcards too), or it has a `NotAction` that does not name it.
fn grants(policy: &Value, action: &str) -> bool {
    let statements = match &policy["Statement"] {
        Value::Array(s) => s.clone(),
        single => vec![single.clone()],
    };
    statements
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .any(|s| match (s.get("Action"), s.get("NotAction")) {
            (Some(actions), _) => strings(actions).iter().any(|p| matches(p, action)),
            (None, Some(not)) => !strings(not).iter().any(|p| matches(p, action)),
            (None, None) => false,
        })
}

/// What of `actions` `policy` grants.
fn granted<'a>(policy: &Value, actions: &[&'a str]) -> Vec<&'a str> {
    actions
        .iter()
        .copied()
        .filter(|a| grants(policy, a))
        .collect()
}

#[test]
fn the_policies_grant_nothing_beyond_their_job() {
    let backup = policy_for(BACKUP, "b", "GOVERNANCE", "");
    assert_eq!(
        granted(&backup, &DESTRUCTIVE),
        Vec::<&str>::new(),
        "{BACKUP}"
    );
    let restore = policy_for(RESTORE, "b", "GOVERNANCE", "");
    for action in [
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:PutObjectRetention",
        "s3:AbortMultipartUpload",
    ]
    .iter()
    .chain(&DESTRUCTIVE)
    {
        assert!(!grants(&restore, action), "{RESTORE} grants {action}");
    }
    let admin = policy_for(ADMIN, "b", "GOVERNANCE", "");
    for never in [
        "s3:DeleteObjectVersion",
        "s3:BypassGovernanceRetention",
        "s3:DeleteObject",
        "s3:PutObject",
        "s3:GetObject",
        "s3:PutObjectRetention",
    ] {
        assert!(!grants(&admin, never), "{ADMIN} grants {never}");
    }
    // the bucket policy only denies
    let bucket = policy_for(BUCKET_POLICY, "b", "", "arn:aws:iam::1:user/a");
    for action in DESTRUCTIVE.iter().chain(&["s3:GetObject", "s3:PutObject"]) {
        assert!(!grants(&bucket, action), "{BUCKET_POLICY} grants {action}");
    }
}

/// The check above bites on wildcards: a policy holding `s3:*` (or `s3:Delete*`, `*`,
/// or a `NotAction`) grants what it must not.
#[test]
fn a_wildcard_grant_is_caught() {
    let with = |statement: Value| {
        let mut policy = policy_for(BACKUP, "b", "GOVERNANCE", "");
        policy["Statement"].as_array_mut().unwrap().push(statement);
        policy
    };
    for (what, statement) in [
        (
            "s3:*",
            serde_json::json!({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
        ),
        (
            "s3:Delete*",
            serde_json::json!({"Effect": "Allow", "Action": ["s3:Delete*"], "Resource": "*"}),
        ),
        (
            "*",
            serde_json::json!({"Effect": "Allow", "Action": "*", "Resource": "*"}),
        ),
        (
            "NotAction",
            serde_json::json!({"Effect": "Allow", "NotAction": "s3:GetObject", "Resource": "*"}),
        ),
    ] {
        let policy = with(statement);
        assert!(
            grants(&policy, "s3:DeleteObjectVersion"),
            "{what} not caught"
        );
    }
    // a Deny of everything grants nothing
    let deny = with(serde_json::json!({"Effect": "Deny", "Action": "s3:*", "Resource": "*"}));
    assert_eq!(granted(&deny, &DESTRUCTIVE), Vec::<&str>::new());
}

/// An IAM user of the moto server: its ARN and access key.
#[derive(Debug, Clone)]
struct User {
    arn: String,
    key: String,
    secret: String,
}

/// Runs `moto_iam.py ARGS` with moto's Python; its stdout as JSON.
fn moto_iam(args: &[&str]) -> Value {
    let out = Command::new(moto_python())
        .arg(moto_iam_script())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("moto_iam.py {args:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "moto_iam.py {args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

/// Creates one IAM user per (name, policy) with the server's root key; returns them.
fn create_users(server: &S3Server, users: &[(&str, Value)]) -> BTreeMap<String, User> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.json");
    let map: serde_json::Map<String, Value> = users
        .iter()
        .map(|(name, policy)| ((*name).to_owned(), policy.clone()))
        .collect();
    fs::write(&file, Value::Object(map).to_string()).unwrap();
    let made = moto_iam(&["setup", &server.endpoint, file.to_str().unwrap()]);
    users
        .iter()
        .map(|(name, _)| {
            let u = &made[*name];
            let field = |f: &str| u[f].as_str().unwrap_or_else(|| panic!("{made}")).to_owned();
            (
                (*name).to_owned(),
                User {
                    arn: field("arn"),
                    key: field("key"),
                    secret: field("secret"),
                },
            )
        })
        .collect()
}

/// The site's runs use `user`'s access key from now on.
fn use_key(site: &Site, user: &User) {
    fs::write(
        site.path("key.txt"),
        format!("key={}\nsecret={}\n", user.key, user.secret),
    )
    .unwrap();
}

/// The body of a config locking `src` in GOVERNANCE mode, daily.
fn body(src: &Path) -> String {
    format!(
        "ObjectLockMode GOVERNANCE\nS3Retries 1\nDiffs 6\nFulls 2\nDirectory {}\n",
        src.display()
    )
}

/// Runs `args` at `now`; panics with the log unless it exits 0 without an ERROR.
fn ok(site: &Site, what: &str, args: &[&str], now: &str) -> String {
    let run = site.run(args, now);
    assert_eq!(run.status, 0, "{what}: {}", run.log);
    assert!(!run.log.contains("ERROR"), "{what}: {}", run.log);
    run.log
}

/// Sends every destructive request as `user`; panics unless each was refused with
/// AccessDenied and the locked version kept its lock.
fn assert_refused(server: &S3Server, user: &User, who: &str) {
    let got = moto_iam(&[
        "attack",
        &server.endpoint,
        &server.bucket,
        &user.key,
        &user.secret,
    ]);
    let answers = got["answers"]
        .as_object()
        .unwrap_or_else(|| panic!("{got}"));
    assert_eq!(answers.len(), 11, "{got}");
    for (request, answer) in answers {
        assert_eq!(
            answer, "AccessDenied",
            "{who}: {request} was not refused: {got}"
        );
    }
    assert_eq!(got["lock_before"], got["lock_after"], "{who}: {got}");
    assert_eq!(got["lock_before"][0], "GOVERNANCE", "{who}: {got}");
}

#[test]
fn each_command_runs_under_its_policy_and_nothing_destructive_does() {
    let server = moto_with_iam();
    let bucket = server.bucket.clone();
    let existing = "s3napback-existing";
    // an existing plain bucket, for prepare-bucket's other path
    Admin::on(&server, existing).create_plain();
    let users = create_users(
        &server,
        &[
            ("s3napback-admin", policy_for(ADMIN, &bucket, "", "")),
            (
                "s3napback-admin-existing",
                policy_for(ADMIN, existing, "", ""),
            ),
            (
                "s3napback-backup",
                policy_for(BACKUP, &bucket, "GOVERNANCE", ""),
            ),
            ("s3napback-restore", policy_for(RESTORE, &bucket, "", "")),
        ],
    );
    let (admin, backup, reader) = (
        &users["s3napback-admin"],
        &users["s3napback-backup"],
        &users["s3napback-restore"],
    );
    moto_iam(&["enforce", &server.endpoint]);
    // from now on the root key is refused: every request is judged by a user's policy
    let root = moto_iam(&["policy", &server.endpoint, &bucket, "testing", "testing"]);
    assert_eq!(root["code"], "InvalidAccessKeyId", "{root}");

    // the admin prepares the bucket and installs the bucket policy, twice (idempotent)
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let name = src.display().to_string();
    let conf = site.config(&server, 1000, true, &body(&src));
    let conf = conf.to_str().unwrap();
    use_key(&site, admin);
    let prepare = ["prepare-bucket", "-c", conf, "--deny-all-but", &admin.arn];
    ok(&site, "prepare-bucket", &prepare, DAY_1);
    let again = ok(&site, "prepare-bucket again", &prepare, DAY_1);
    assert!(again.contains("everything is in place"), "{again}");
    let installed = moto_iam(&[
        "policy",
        &server.endpoint,
        &bucket,
        &admin.key,
        &admin.secret,
    ]);
    assert_eq!(
        installed["policy"],
        policy_for(BUCKET_POLICY, &bucket, "", &admin.arn),
        "{installed}"
    );
    // ... and an existing plain bucket: versioning and Object Lock enabled
    let other = Site::new();
    let other_conf = other.config(&server, 1000, true, &body(&src));
    let text = fs::read_to_string(&other_conf).unwrap().replace(
        &format!("Bucket {bucket}\n"),
        &format!("Bucket {existing}\n"),
    );
    fs::write(&other_conf, text).unwrap();
    use_key(&other, &users["s3napback-admin-existing"]);
    let log = ok(
        &other,
        "prepare-bucket on an existing bucket",
        &["prepare-bucket", "-c", other_conf.to_str().unwrap()],
        DAY_1,
    );
    assert!(log.contains("versioning enabled"), "{log}");
    assert!(log.contains("Object Lock enabled"), "{log}");

    // the backup user: a chunk above 32 MiB (multipart), and the open upload a killed
    // run left aborted (ListBucketMultipartUploads, AbortMultipartUpload)
    let large = Site::new();
    let big_src = large.path("src/big");
    make_tree(&big_src);
    fs::write(big_src.join("noise.bin"), noise(34_000_000, 7)).unwrap();
    let large_conf = large.config(&server, 36_000_000, true, &body(&big_src));
    let large_conf = large_conf.to_str().unwrap();
    use_key(&large, backup);
    let big_slot = format!("{}-7-FULL", big_src.display());
    let left = chunk_key(&staging_prefix(&big_slot, "1790000000-4242"), 0);
    moto_iam(&[
        "plant-upload",
        &server.endpoint,
        &bucket,
        &backup.key,
        &backup.secret,
        &left,
    ]);
    let log = ok(
        &large,
        "backup run, large chunks",
        &["-c", large_conf],
        DAY_1,
    );
    assert!(
        log.contains("aborted 1 multipart uploads a killed run had left"),
        "{log}"
    );
    let store = server.store_as(&backup.key, &backup.secret);
    let parts = store.list(&format!("{big_slot}:")).unwrap();
    assert_eq!(parts.len(), 1, "{parts:?}");
    assert!(parts[0].size > 32 << 20, "{parts:?}");

    // ... and small chunks: a FULL, then DIFFs extending the FULL's locks
    use_key(&site, backup);
    for (what, now) in [("FULL", DAY_1), ("DIFF", DAY_2), ("another DIFF", DAY_3)] {
        ok(&site, &format!("backup run ({what})"), &["-c", conf], now);
    }

    // the restore user: every read command
    use_key(&site, reader);
    use_key(&large, reader);
    let into = site.path("restored").display().to_string();
    let into_at = site.path("restored-at").display().to_string();
    let full = format!("{name}-7-FULL");
    let reads: [(&str, Vec<&str>); 7] = [
        ("list", vec!["list", "-c", conf]),
        ("list --versions", vec!["list", "--versions", "-c", conf]),
        ("status", vec!["status", "-c", conf]),
        ("verify --deep", vec!["verify", "--deep", "-c", conf]),
        (
            "restore",
            vec!["restore", "-c", conf, "--into", &into, &name],
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
                &into_at,
                &name,
            ],
        ),
        ("cat", vec!["cat", "-c", conf, &full]),
    ];
    for (what, args) in &reads {
        ok(&site, what, args, DAY_3);
    }
    assert_eq!(tree(&restored(Path::new(&into), &src)), tree(&src));
    let big_into = large.path("restored").display().to_string();
    let big_name = big_src.display().to_string();
    ok(
        &large,
        "restore of the large chunk",
        &["restore", "-c", large_conf, "--into", &big_into, &big_name],
        DAY_3,
    );
    assert_eq!(
        tree(&restored(Path::new(&big_into), &big_src)),
        tree(&big_src)
    );

    // nothing destructive, for the backup user nor the restore user
    assert_refused(&server, backup, "the backup user");
    assert_refused(&server, reader, "the restore user");
    // the restore user writes nothing either
    let writes = moto_iam(&[
        "plant-upload",
        &server.endpoint,
        &bucket,
        &reader.key,
        &reader.secret,
        "planted",
    ]);
    assert_eq!(writes["code"], "AccessDenied", "{writes}");
}
