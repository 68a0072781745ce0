//! Which IAM permissions an S3 request needs, so that a test can hold what a command sent
//! (as the fault proxy saw it, [`super::proxy::FaultProxy::seen`]) against a policy of
//! `contrib/iam/`.
//!
//! A permission is an action on a kind of resource: bucket actions are granted on
//! `arn:aws:s3:::BUCKET`, object actions on `arn:aws:s3:::BUCKET/*`, and a policy that
//! names an action on the wrong one grants nothing. The mapping follows the S3 API
//! reference's "Permissions" of each request (path-style requests: `/BUCKET` is the
//! bucket, `/BUCKET/KEY` an object). A request it does not know is an error, never
//! silently nothing.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use super::proxy::Seen;

/// What an action is granted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum On {
    /// `arn:aws:s3:::BUCKET`.
    Bucket,
    /// `arn:aws:s3:::BUCKET/*`.
    Objects,
}

/// One permission: an action (`s3:GetObject`) on a kind of resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission {
    pub action: String,
    pub on: On,
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on = match self.on {
            On::Bucket => "the bucket",
            On::Objects => "its objects",
        };
        write!(f, "{} on {on}", self.action)
    }
}

fn bucket(action: &str) -> Permission {
    Permission {
        action: action.to_owned(),
        on: On::Bucket,
    }
}

fn objects(action: &str) -> Permission {
    Permission {
        action: action.to_owned(),
        on: On::Objects,
    }
}

/// The names of the query parameters (`versionId`, `list-type`, `delete`, ...).
fn params(query: &str) -> Vec<&str> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split('=').next().unwrap_or(p))
        .collect()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The permissions one request needs: `method`, `path` with its query string, the
/// request's headers and (for a POST) its body. An unknown request is an error.
pub fn permissions(
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Vec<Permission>, String> {
    let (path_part, query) = path.split_once('?').unwrap_or((path, ""));
    let q = params(query);
    let has = |name: &str| q.contains(&name);
    let rest = path_part.trim_start_matches('/');
    let is_object = rest.split_once('/').is_some_and(|(_, key)| !key.is_empty());
    let with_header = |name: &str| header(headers, name).is_some();
    let bypass = header(headers, "x-amz-bypass-governance-retention")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let unknown = || Err(format!("no IAM action known for {method} {path}"));
    let mut out = Vec::new();
    if is_object {
        let versioned = has("versionId");
        let read = if versioned {
            "s3:GetObjectVersion"
        } else {
            "s3:GetObject"
        };
        match method {
            "GET" if has("retention") => out.push(objects("s3:GetObjectRetention")),
            "GET" if has("legal-hold") => out.push(objects("s3:GetObjectLegalHold")),
            "GET" if has("tagging") => out.push(objects(if versioned {
                "s3:GetObjectVersionTagging"
            } else {
                "s3:GetObjectTagging"
            })),
            "GET" if has("acl") => out.push(objects(if versioned {
                "s3:GetObjectVersionAcl"
            } else {
                "s3:GetObjectAcl"
            })),
            "GET" if has("uploadId") => out.push(objects("s3:ListMultipartUploadParts")),
            "GET" | "HEAD" => out.push(objects(read)),
            "PUT" if has("retention") => out.push(objects("s3:PutObjectRetention")),
            "PUT" if has("legal-hold") => out.push(objects("s3:PutObjectLegalHold")),
            "PUT" if has("tagging") => out.push(objects("s3:PutObjectTagging")),
            // PutObject, CopyObject, UploadPart, UploadPartCopy
            "PUT" => {
                out.push(objects("s3:PutObject"));
                if let Some(source) = header(headers, "x-amz-copy-source") {
                    out.push(objects(if source.contains("versionId=") {
                        "s3:GetObjectVersion"
                    } else {
                        "s3:GetObject"
                    }));
                }
                if with_header("x-amz-object-lock-mode")
                    || with_header("x-amz-object-lock-retain-until-date")
                {
                    out.push(objects("s3:PutObjectRetention"));
                }
                if with_header("x-amz-object-lock-legal-hold") {
                    out.push(objects("s3:PutObjectLegalHold"));
                }
                if with_header("x-amz-tagging") {
                    out.push(objects("s3:PutObjectTagging"));
                }
            }
            // CreateMultipartUpload, CompleteMultipartUpload
            "POST" if has("uploads") || has("uploadId") => out.push(objects("s3:PutObject")),
            "DELETE" if has("uploadId") => out.push(objects("s3:AbortMultipartUpload")),
            "DELETE" if has("tagging") => out.push(objects("s3:DeleteObjectTagging")),
            "DELETE" => out.push(objects(if versioned {
                "s3:DeleteObjectVersion"
            } else {
                "s3:DeleteObject"
            })),
            _ => return unknown(),
        }
    } else {
        match method {
            "GET" if has("versions") => out.push(bucket("s3:ListBucketVersions")),
            "GET" if has("object-lock") => out.push(bucket("s3:GetBucketObjectLockConfiguration")),
            "GET" if has("versioning") => out.push(bucket("s3:GetBucketVersioning")),
            "GET" if has("lifecycle") => out.push(bucket("s3:GetLifecycleConfiguration")),
            "GET" if has("location") => out.push(bucket("s3:GetBucketLocation")),
            "GET" if has("uploads") => out.push(bucket("s3:ListBucketMultipartUploads")),
            "GET" if has("policy") => out.push(bucket("s3:GetBucketPolicy")),
            "GET" if has("acl") => out.push(bucket("s3:GetBucketAcl")),
            "GET" if has("tagging") => out.push(bucket("s3:GetBucketTagging")),
            // ListObjectsV2 (`list-type=2`) and ListObjects: only listing parameters
            "GET"
                if q.iter().all(|p| {
                    [
                        "list-type",
                        "prefix",
                        "delimiter",
                        "max-keys",
                        "continuation-token",
                        "start-after",
                        "marker",
                        "encoding-type",
                        "fetch-owner",
                        "x-id",
                    ]
                    .contains(p)
                }) =>
            {
                out.push(bucket("s3:ListBucket"))
            }
            // HeadBucket
            "HEAD" if q.is_empty() => out.push(bucket("s3:ListBucket")),
            "PUT" if has("versioning") => out.push(bucket("s3:PutBucketVersioning")),
            "PUT" if has("lifecycle") => out.push(bucket("s3:PutLifecycleConfiguration")),
            "PUT" if has("object-lock") => out.push(bucket("s3:PutBucketObjectLockConfiguration")),
            "PUT" if has("policy") => out.push(bucket("s3:PutBucketPolicy")),
            "PUT" if has("tagging") => out.push(bucket("s3:PutBucketTagging")),
            "PUT" if q.iter().all(|p| *p == "x-id") => {
                out.push(bucket("s3:CreateBucket"));
                // CreateBucket with ObjectLockEnabledForBucket needs these too
                if header(headers, "x-amz-bucket-object-lock-enabled")
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"))
                {
                    out.push(bucket("s3:PutBucketObjectLockConfiguration"));
                    out.push(bucket("s3:PutBucketVersioning"));
                }
            }
            // DeleteObjects: a version id in the list deletes that version
            "POST" if has("delete") => {
                out.push(objects("s3:DeleteObject"));
                if String::from_utf8_lossy(body).contains("<VersionId>") {
                    out.push(objects("s3:DeleteObjectVersion"));
                }
            }
            // DeleteBucketLifecycle is granted by s3:PutLifecycleConfiguration
            "DELETE" if has("lifecycle") => out.push(bucket("s3:PutLifecycleConfiguration")),
            "DELETE" if has("policy") => out.push(bucket("s3:DeleteBucketPolicy")),
            "DELETE" if q.iter().all(|p| *p == "x-id") => out.push(bucket("s3:DeleteBucket")),
            _ => return unknown(),
        }
    }
    if bypass {
        out.push(objects("s3:BypassGovernanceRetention"));
    }
    Ok(out)
}

/// The permissions one request the proxy saw needs.
pub fn permissions_of(seen: &Seen) -> Result<Vec<Permission>, String> {
    permissions(&seen.method, &seen.path, &seen.headers, &seen.body)
}

/// Every permission the requests need; panics naming a request it does not know.
pub fn used(seen: &[Seen]) -> BTreeSet<Permission> {
    seen.iter()
        .flat_map(|s| permissions_of(s).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// The permissions a policy file allows: each action of an `Allow` statement on each
/// of its resources (`arn:aws:s3:::BUCKET-NAME` the bucket, `.../*` its objects).
pub fn policy(path: &Path) -> BTreeSet<Permission> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let list = |v: &serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => a
                .iter()
                .map(|s| s.as_str().expect("a string").to_owned())
                .collect(),
            other => panic!("{}: not a string or list: {other}", path.display()),
        }
    };
    let mut out = BTreeSet::new();
    for statement in doc["Statement"].as_array().expect("a Statement list") {
        if statement["Effect"] != "Allow" {
            continue;
        }
        for resource in list(&statement["Resource"]) {
            let on = if resource.ends_with("/*") {
                On::Objects
            } else {
                On::Bucket
            };
            for action in list(&statement["Action"]) {
                out.insert(Permission {
                    action: action.clone(),
                    on,
                });
            }
        }
    }
    out
}

/// Every action a policy file names (on whatever resource).
pub fn policy_actions(path: &Path) -> BTreeSet<String> {
    policy(path).into_iter().map(|p| p.action).collect()
}

/// A policy file of `contrib/iam/` (`s3napback-backup.json`, ...).
pub fn policy_file(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("contrib/iam")
        .join(name)
}

/// What the policy file `name` does not allow of the requests in `seen`: each
/// permission with the request that needed it (panics on a request it does not know).
pub fn refused(seen: &[Seen], name: &str) -> Vec<String> {
    let allowed = policy(&policy_file(name));
    let mut refused = Vec::new();
    for s in seen {
        for p in permissions_of(s).unwrap_or_else(|e| panic!("{e}")) {
            if !allowed.contains(&p) {
                refused.push(format!("{p} ({} {})", s.method, s.path));
            }
        }
    }
    refused
}

/// Panics, naming each permission and the request that needed it, unless every request
/// in `seen` is allowed by the policy file `name`. `what` names the command.
pub fn assert_allowed(what: &str, seen: &[Seen], name: &str) {
    let refused = refused(seen, name);
    assert!(
        refused.is_empty(),
        "{what} needs what contrib/iam/{name} does not allow:\n{}",
        refused.join("\n")
    );
}

/// A request (method, path, headers, body) and the permissions it needs, in words.
type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str, &'a str);

#[test]
fn requests_map_to_their_actions() {
    let h = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    };
    let actions = |method: &str, path: &str, headers: &[(String, String)], body: &str| {
        permissions(method, path, headers, body.as_bytes())
            .unwrap()
            .into_iter()
            .map(|p| format!("{p}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let none = h(&[]);
    let cases: &[Case] = &[
        (
            "GET",
            "/b?list-type=2&prefix=%2Fetc",
            &[],
            "",
            "s3:ListBucket on the bucket",
        ),
        (
            "GET",
            "/b?versions&prefix=x",
            &[],
            "",
            "s3:ListBucketVersions on the bucket",
        ),
        ("HEAD", "/b", &[], "", "s3:ListBucket on the bucket"),
        (
            "GET",
            "/b//etc-7-FULL%3A0?x-id=GetObject",
            &[],
            "",
            "s3:GetObject on its objects",
        ),
        (
            "HEAD",
            "/b//etc-7-FULL%3A0",
            &[],
            "",
            "s3:GetObject on its objects",
        ),
        (
            "GET",
            "/b/k?versionId=3&x-id=GetObject",
            &[],
            "",
            "s3:GetObjectVersion on its objects",
        ),
        (
            "PUT",
            "/b/k?x-id=PutObject",
            &[],
            "",
            "s3:PutObject on its objects",
        ),
        (
            "PUT",
            "/b/k?x-id=CopyObject",
            &[("x-amz-copy-source", "b/src")],
            "",
            "s3:PutObject on its objects, s3:GetObject on its objects",
        ),
        (
            "PUT",
            "/b/k?x-id=PutObject",
            &[("x-amz-object-lock-mode", "COMPLIANCE")],
            "",
            "s3:PutObject on its objects, s3:PutObjectRetention on its objects",
        ),
        (
            "POST",
            "/b?delete",
            &[],
            "<Object><Key>k</Key></Object>",
            "s3:DeleteObject on its objects",
        ),
        (
            "POST",
            "/b?delete",
            &[],
            "<Object><Key>k</Key><VersionId>v</VersionId></Object>",
            "s3:DeleteObject on its objects, s3:DeleteObjectVersion on its objects",
        ),
        (
            "DELETE",
            "/b/k?versionId=v&x-id=DeleteObject",
            &[],
            "",
            "s3:DeleteObjectVersion on its objects",
        ),
        (
            "GET",
            "/b?object-lock",
            &[],
            "",
            "s3:GetBucketObjectLockConfiguration on the bucket",
        ),
        (
            "PUT",
            "/b/k?retention&versionId=v",
            &[],
            "",
            "s3:PutObjectRetention on its objects",
        ),
        (
            "PUT",
            "/b/k?retention",
            &[("x-amz-bypass-governance-retention", "true")],
            "",
            "s3:PutObjectRetention on its objects, s3:BypassGovernanceRetention on its objects",
        ),
        (
            "GET",
            "/b/k?retention&versionId=v",
            &[],
            "",
            "s3:GetObjectRetention on its objects",
        ),
        (
            "GET",
            "/b?versioning",
            &[],
            "",
            "s3:GetBucketVersioning on the bucket",
        ),
        (
            "PUT",
            "/b?versioning",
            &[],
            "",
            "s3:PutBucketVersioning on the bucket",
        ),
        ("PUT", "/b", &[], "", "s3:CreateBucket on the bucket"),
        (
            "PUT",
            "/b",
            &[("x-amz-bucket-object-lock-enabled", "True")],
            "",
            "s3:CreateBucket on the bucket, s3:PutBucketObjectLockConfiguration on the bucket, \
             s3:PutBucketVersioning on the bucket",
        ),
        (
            "GET",
            "/b?lifecycle",
            &[],
            "",
            "s3:GetLifecycleConfiguration on the bucket",
        ),
        (
            "PUT",
            "/b?lifecycle",
            &[],
            "",
            "s3:PutLifecycleConfiguration on the bucket",
        ),
        (
            "PUT",
            "/b?object-lock",
            &[],
            "",
            "s3:PutBucketObjectLockConfiguration on the bucket",
        ),
    ];
    for (method, path, headers, body, want) in cases {
        assert_eq!(
            actions(method, path, &h(headers), body),
            *want,
            "{method} {path}"
        );
    }
    assert!(permissions("PATCH", "/b/k", &none, b"").is_err());
    assert!(permissions("GET", "/b?website", &none, b"").is_err());
}
