//! Test mode (`-t`) writes nothing: not to the bucket (versioning is on, so even an object
//! written and deleted again, such as a key-style probe, leaves a version or a delete
//! marker), not to DiffDir, not to TempDir. Checked on an empty bucket (where the key
//! style is unknown) and after a real backup, on FULL and DIFF days, with and without -f.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

use super::harness::{Site, make_tree};
use crate::support::s3::{S3Server, moto, moto_python};

/// Runs a boto3 snippet against `server` (`s3` is the client, `bucket` the name).
fn boto3(server: &S3Server, body: &str) -> String {
    let script = format!(
        "import boto3\n\
         s3 = boto3.client('s3', endpoint_url='{}', region_name='{}', \
         aws_access_key_id='{}', aws_secret_access_key='{}')\n\
         bucket = '{}'\n{body}\n",
        server.endpoint, server.region, server.key, server.secret, server.bucket
    );
    let out = Command::new(moto_python())
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boto3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every version and delete marker in the bucket: key, version, size, ETag, date.
fn every_version(server: &S3Server) -> String {
    boto3(
        server,
        "r = s3.list_object_versions(Bucket=bucket)\n\
         for v in r.get('Versions', []):\n    \
             print('V', repr(v['Key']), v['VersionId'], v['Size'], v['ETag'], v['LastModified'].isoformat())\n\
         for m in r.get('DeleteMarkers', []):\n    \
             print('D', repr(m['Key']), m['VersionId'], m['LastModified'].isoformat())\n\
         assert not r.get('IsTruncated')",
    )
}

/// Every file and directory under `root`: kind, size, mtime and bytes.
fn files(root: &Path) -> BTreeMap<String, (u64, SystemTime, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, (u64, SystemTime, Vec<u8>)>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let meta = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            let bytes = if meta.is_file() {
                fs::read(&p).unwrap()
            } else {
                b"<dir>".to_vec()
            };
            out.insert(rel, (meta.len(), meta.modified().unwrap(), bytes));
            if meta.is_dir() {
                walk(base, &p, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// The state test mode must leave as it was.
#[derive(Debug, PartialEq)]
struct State {
    versions: String,
    diff_dir: BTreeMap<String, (u64, SystemTime, Vec<u8>)>,
    temp_dir: BTreeMap<String, (u64, SystemTime, Vec<u8>)>,
}

fn state(server: &S3Server, site: &Site) -> State {
    State {
        versions: every_version(server),
        diff_dir: files(&site.diff_dir()),
        temp_dir: files(&site.path("tmp")),
    }
}

#[test]
fn test_mode_leaves_bucket_diffdir_and_tempdir_exactly_as_they_were() {
    let server = moto();
    server.store();
    boto3(
        &server,
        "s3.put_bucket_versioning(Bucket=bucket, \
         VersioningConfiguration={'Status': 'Enabled'})",
    );
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let body = format!(
        "<Cycle daily>\n\tFrequency 1\n\tDiffs 6\n\tFulls 2\n\tUseTempFile yes\n\
         \tDirectory {}\n</Cycle>\n",
        src.display()
    );
    let conf = site.config(&server, 1000, true, &body);
    let conf = conf.to_str().unwrap();
    // a snapshot file of the legacy (which deleted it in test mode on FULL days) and a
    // file in TempDir
    let snapshot = site.diff_dir().join(format!(
        "{}.diff",
        src.display().to_string().replace('/', "_")
    ));
    fs::write(&snapshot, "legacy snapshot").unwrap();
    fs::write(site.path("tmp/keep.me"), "someone else's").unwrap();

    // an empty bucket: the key style is not known yet
    let before = state(&server, &site);
    assert_eq!(before.versions, "", "a fresh bucket");
    for args in [&["-t"][..], &["-t", "-f"][..]] {
        let run = site.run(&[args, &["-c", conf]].concat(), "2026-11-12 03:00:00");
        assert_eq!(run.status, 0, "{}", run.log);
        run.expect("TEST MODE ONLY, NO REAL ACTIONS WILL BE TAKEN");
        assert_eq!(state(&server, &site), before, "{args:?} on an empty bucket");
    }

    // after a real FULL: a DIFF day, the same day (already done), forced
    fs::remove_file(&snapshot).unwrap();
    let run = site.run(&["-c", conf], "2026-11-12 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let before = state(&server, &site);
    assert!(before.versions.lines().count() > 3, "{}", before.versions);
    for (args, now) in [
        (&["-t"][..], "2026-11-13 03:00:00"),
        (&["-t"][..], "2026-11-12 23:00:00"),
        (&["-t", "-f"][..], "2026-11-12 23:00:00"),
        (&["-t", "-f"][..], "2026-11-14 03:00:00"),
    ] {
        let run = site.run(&[args, &["-c", conf]].concat(), now);
        assert_eq!(run.status, 0, "{}", run.log);
        assert_eq!(state(&server, &site), before, "{args:?} at {now}");
    }
}
