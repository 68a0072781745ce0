//! `prepare-bucket --deny-all-but ADMIN_ARN`: the bucket policy of
//! `contrib/iam/s3napback-bucket-policy.json`, which denies every principal but the admin
//! what could weaken the bucket's protection (bypassing governance retention, deleting
//! versions, changing versioning, Object Lock, lifecycle, replication or the policy
//! itself), for the bucket and the ARN given.

use serde_json::Value;

/// The shipped bucket policy, with `BUCKET-NAME` and `ADMIN-ARN` to substitute.
pub const TEMPLATE: &str = include_str!("../../contrib/iam/s3napback-bucket-policy.json");

/// The policy for `bucket` and the admin `arn`, or why the ARN cannot be one
/// (`arn:PARTITION:iam::ACCOUNT:...` or `arn:PARTITION:sts::ACCOUNT:...`, no quotes or
/// spaces).
pub fn for_bucket(bucket: &str, arn: &str) -> Result<String, String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let valid = parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && matches!(parts[2], "iam" | "sts")
        && !parts[4].is_empty()
        && !parts[5].is_empty()
        && !arn.contains(|c: char| c == '"' || c == '\\' || c.is_whitespace());
    if !valid {
        return Err(format!(
            "--deny-all-but {arn:?} is not the ARN of an IAM user or role \
             (arn:aws:iam::ACCOUNT:user/NAME or arn:aws:iam::ACCOUNT:role/NAME)"
        ));
    }
    Ok(TEMPLATE
        .replace("BUCKET-NAME", bucket)
        .replace("ADMIN-ARN", arn))
}

/// What the bucket's policy is, compared with the one wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyState {
    /// It has none: ours is put.
    Missing,
    /// It is ours, as wanted (the same JSON, whatever its spacing).
    Same,
    /// It has another policy: left as it is, the run fails (merging is the admin's).
    Other,
}

/// PURE: how `current` (the bucket's policy, if any) compares with `wanted`.
pub fn compare(current: Option<&str>, wanted: &str) -> PolicyState {
    let Some(current) = current else {
        return PolicyState::Missing;
    };
    let parse = |text: &str| serde_json::from_str::<Value>(text).ok();
    match (parse(current), parse(wanted)) {
        (Some(a), Some(b)) if a == b => PolicyState::Same,
        _ => PolicyState::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN: &str = "arn:aws:iam::123456789012:user/s3napback-admin";

    #[test]
    fn the_policy_names_the_bucket_and_the_admin_and_denies_the_rest() {
        let text = for_bucket("backups.example.com", ADMIN).unwrap();
        let policy: Value = serde_json::from_str(&text).unwrap();
        let statement = &policy["Statement"][0];
        assert_eq!(statement["Effect"], "Deny");
        assert_eq!(statement["Principal"], "*");
        assert_eq!(
            statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"],
            ADMIN
        );
        assert_eq!(
            statement["Resource"],
            serde_json::json!([
                "arn:aws:s3:::backups.example.com",
                "arn:aws:s3:::backups.example.com/*"
            ])
        );
        let actions: Vec<&str> = statement["Action"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        for denied in [
            "s3:BypassGovernanceRetention",
            "s3:DeleteObjectVersion",
            "s3:PutBucketVersioning",
            "s3:PutBucketObjectLockConfiguration",
            "s3:PutLifecycleConfiguration",
            "s3:PutBucketPolicy",
            "s3:DeleteBucketPolicy",
            "s3:PutReplicationConfiguration",
        ] {
            assert!(
                actions.contains(&denied),
                "{denied} is not denied: {actions:?}"
            );
        }
        assert!(!text.contains("BUCKET-NAME") && !text.contains("ADMIN-ARN"));
    }

    #[test]
    fn anything_but_an_iam_arn_is_refused() {
        for bad in [
            "",
            "admin",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::123456789012",
            "arn:aws:iam::123456789012:user/a\"b",
            "arn:aws:iam::123456789012:user/a b",
        ] {
            let err = for_bucket("b", bad).unwrap_err();
            assert!(err.contains("--deny-all-but"), "{bad:?}: {err}");
        }
        assert!(for_bucket("b", "arn:aws:sts::123456789012:assumed-role/admin/me").is_ok());
    }

    #[test]
    fn a_policy_is_ours_by_its_json_not_its_spacing() {
        let wanted = for_bucket("b", ADMIN).unwrap();
        let compact =
            serde_json::to_string(&serde_json::from_str::<Value>(&wanted).unwrap()).unwrap();
        assert_eq!(compare(None, &wanted), PolicyState::Missing);
        assert_eq!(compare(Some(&compact), &wanted), PolicyState::Same);
        let other = wanted.replace("s3:PutBucketPolicy", "s3:GetObject");
        assert_eq!(compare(Some(&other), &wanted), PolicyState::Other);
        assert_eq!(compare(Some("not json"), &wanted), PolicyState::Other);
    }
}
