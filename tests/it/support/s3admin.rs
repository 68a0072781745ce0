//! A plain aws-sdk-s3 client on a test server, independent of the tool's store: to set a
//! bucket up as a test needs it (a plain bucket, a locked bucket, a lifecycle rule of
//! someone else, a default retention), to read back what the tool did (versioning, Object
//! Lock, lifecycle rules) without trusting the tool's own reading of it, and to attack a
//! bucket with the run's own credentials (overwrite, delete, delete every version).

#![allow(dead_code)]

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, DefaultRetention, LifecycleRule, ObjectLockConfiguration,
    ObjectLockEnabled, ObjectLockRetentionMode, ObjectLockRule,
};
use tokio::runtime::Runtime;

use super::s3::S3Server;

/// A client on one bucket of a test server.
pub struct Admin {
    rt: Runtime,
    client: Client,
    /// The bucket it works on.
    pub bucket: String,
}

impl Admin {
    /// A client on `server`'s own bucket.
    pub fn new(server: &S3Server) -> Admin {
        Admin::on(server, &server.bucket)
    }

    /// A client on `bucket` of `server`.
    pub fn on(server: &S3Server, bucket: &str) -> Admin {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let shared = rt.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .region(Region::new(server.region.clone()))
                .endpoint_url(&server.endpoint)
                .credentials_provider(Credentials::new(
                    &server.key,
                    &server.secret,
                    None,
                    None,
                    "test",
                ))
                .load(),
        );
        let conf = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(true)
            .build();
        Admin {
            rt,
            client: Client::from_conf(conf),
            bucket: bucket.to_owned(),
        }
    }

    /// Whether the bucket exists (HeadBucket).
    pub fn exists(&self) -> bool {
        let answer = self
            .rt
            .block_on(self.client.head_bucket().bucket(&self.bucket).send());
        match answer {
            Ok(_) => true,
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => false,
            Err(e) => panic!("HeadBucket {}: {e:?}", self.bucket),
        }
    }

    /// Creates the bucket without Object Lock (and without versioning).
    pub fn create_plain(&self) {
        self.rt
            .block_on(self.client.create_bucket().bucket(&self.bucket).send())
            .unwrap_or_else(|e| panic!("CreateBucket {}: {e:?}", self.bucket));
    }

    /// Stores `body` at `key`.
    pub fn put(&self, key: &str, body: &[u8]) {
        self.rt
            .block_on(
                self.client
                    .put_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .body(ByteStream::from(body.to_vec()))
                    .send(),
            )
            .unwrap_or_else(|e| panic!("PutObject {key}: {e:?}"));
    }

    /// Stores `body` at `key` with user metadata `metadata` (name, value).
    pub fn put_with_metadata(&self, key: &str, body: &[u8], metadata: &[(&str, &str)]) {
        let mut req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body.to_vec()));
        for (name, value) in metadata {
            req = req.metadata(*name, *value);
        }
        self.rt
            .block_on(req.send())
            .unwrap_or_else(|e| panic!("PutObject {key}: {e:?}"));
    }

    /// The user metadata and the ETag of `key` (HeadObject).
    pub fn head(&self, key: &str) -> (std::collections::HashMap<String, String>, String) {
        let out = self
            .rt
            .block_on(
                self.client
                    .head_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .send(),
            )
            .unwrap_or_else(|e| panic!("HeadObject {key}: {e:?}"));
        (
            out.metadata().cloned().unwrap_or_default(),
            out.e_tag().unwrap_or_default().trim_matches('"').to_owned(),
        )
    }

    /// Starts a multipart upload of `key` and stores `part` as its part 1, as a run
    /// killed in the middle of a large chunk leaves it.
    pub fn start_upload(&self, key: &str, part: &[u8]) {
        let id = self
            .rt
            .block_on(
                self.client
                    .create_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .send(),
            )
            .unwrap_or_else(|e| panic!("CreateMultipartUpload {key}: {e:?}"))
            .upload_id()
            .expect("an upload id")
            .to_owned();
        self.rt
            .block_on(
                self.client
                    .upload_part()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(id)
                    .part_number(1)
                    .body(ByteStream::from(part.to_vec()))
                    .send(),
            )
            .unwrap_or_else(|e| panic!("UploadPart {key}: {e:?}"));
    }

    /// The keys of the multipart uploads open in the bucket (ListMultipartUploads).
    pub fn open_uploads(&self) -> Vec<String> {
        let out = self
            .rt
            .block_on(
                self.client
                    .list_multipart_uploads()
                    .bucket(&self.bucket)
                    .send(),
            )
            .expect("ListMultipartUploads");
        out.uploads()
            .iter()
            .filter_map(|u| u.key().map(str::to_owned))
            .collect()
    }

    /// The versioning status (`Enabled`, `Suspended`), `None` when never enabled.
    pub fn versioning(&self) -> Option<String> {
        let out = self
            .rt
            .block_on(
                self.client
                    .get_bucket_versioning()
                    .bucket(&self.bucket)
                    .send(),
            )
            .unwrap_or_else(|e| panic!("GetBucketVersioning {}: {e:?}", self.bucket));
        out.status().map(|s| s.as_str().to_owned())
    }

    /// The Object Lock configuration, `None` when the bucket has none.
    pub fn object_lock(&self) -> Option<ObjectLockConfiguration> {
        let answer = self.rt.block_on(
            self.client
                .get_object_lock_configuration()
                .bucket(&self.bucket)
                .send(),
        );
        match answer {
            Ok(out) => out.object_lock_configuration().cloned(),
            Err(e)
                if e.as_service_error()
                    .and_then(aws_sdk_s3::error::ProvideErrorMetadata::code)
                    == Some("ObjectLockConfigurationNotFoundError") =>
            {
                None
            }
            Err(e) => panic!("GetObjectLockConfiguration {}: {e:?}", self.bucket),
        }
    }

    /// Object Lock is enabled on the bucket.
    pub fn lock_enabled(&self) -> bool {
        self.object_lock()
            .is_some_and(|c| c.object_lock_enabled() == Some(&ObjectLockEnabled::Enabled))
    }

    /// Sets a default retention rule of `days` in `mode` (Object Lock enabled).
    pub fn set_default_retention(&self, mode: &str, days: i32) {
        let config = ObjectLockConfiguration::builder()
            .object_lock_enabled(ObjectLockEnabled::Enabled)
            .rule(
                ObjectLockRule::builder()
                    .default_retention(
                        DefaultRetention::builder()
                            .mode(ObjectLockRetentionMode::from(mode))
                            .days(days)
                            .build(),
                    )
                    .build(),
            )
            .build();
        self.rt
            .block_on(
                self.client
                    .put_object_lock_configuration()
                    .bucket(&self.bucket)
                    .object_lock_configuration(config)
                    .send(),
            )
            .unwrap_or_else(|e| panic!("PutObjectLockConfiguration {}: {e:?}", self.bucket));
    }

    /// The lifecycle rules (none when the bucket has no configuration).
    pub fn lifecycle(&self) -> Vec<LifecycleRule> {
        let answer = self.rt.block_on(
            self.client
                .get_bucket_lifecycle_configuration()
                .bucket(&self.bucket)
                .send(),
        );
        match answer {
            Ok(out) => out.rules().to_vec(),
            Err(e)
                if e.as_service_error()
                    .and_then(aws_sdk_s3::error::ProvideErrorMetadata::code)
                    == Some("NoSuchLifecycleConfiguration") =>
            {
                Vec::new()
            }
            Err(e) => panic!("GetBucketLifecycleConfiguration {}: {e:?}", self.bucket),
        }
    }

    /// Replaces the lifecycle configuration by `rules`.
    pub fn put_lifecycle(&self, rules: Vec<LifecycleRule>) {
        let config = BucketLifecycleConfiguration::builder()
            .set_rules(Some(rules))
            .build()
            .expect("a lifecycle configuration");
        self.rt
            .block_on(
                self.client
                    .put_bucket_lifecycle_configuration()
                    .bucket(&self.bucket)
                    .lifecycle_configuration(config)
                    .send(),
            )
            .unwrap_or_else(|e| panic!("PutBucketLifecycleConfiguration {}: {e:?}", self.bucket));
    }

    // ---- what the tool never does: an administrator's locked bucket, an attack ----

    /// Creates the test bucket with Object Lock (and so versioning) enabled.
    pub fn create_locked_bucket(&self) {
        self.rt
            .block_on(
                self.client
                    .create_bucket()
                    .bucket(&self.bucket)
                    .object_lock_enabled_for_bucket(true)
                    .send(),
            )
            .expect("CreateBucket with Object Lock");
    }

    /// Every current key (ListObjectsV2).
    pub fn keys(&self) -> Vec<String> {
        let out = self
            .rt
            .block_on(self.client.list_objects_v2().bucket(&self.bucket).send())
            .expect("ListObjectsV2");
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    }

    /// Every version and delete marker: (key, version id, is a delete marker).
    pub fn versions(&self) -> Vec<(String, String, bool)> {
        let out = self
            .rt
            .block_on(
                self.client
                    .list_object_versions()
                    .bucket(&self.bucket)
                    .send(),
            )
            .expect("ListObjectVersions");
        let data = out
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id(), false));
        let markers = out
            .delete_markers()
            .iter()
            .map(|m| (m.key(), m.version_id(), true));
        data.chain(markers)
            .filter_map(|(k, v, dm)| Some((k?.to_owned(), v?.to_owned(), dm)))
            .collect()
    }

    /// The attack: every current object overwritten with garbage, every key deleted,
    /// then the deletion of every version stored before the attack tried (the attacker
    /// keeps their own garbage and delete markers current).
    pub fn destroy_everything(&self) -> Damage {
        let before = self.versions();
        let keys = self.overwrite_and_delete();
        let mut damage = Damage {
            keys,
            ..Damage::default()
        };
        for (key, version, _) in before {
            let answer = self.rt.block_on(
                self.client
                    .delete_object()
                    .bucket(&self.bucket)
                    .key(&key)
                    .version_id(&version)
                    .send(),
            );
            match answer {
                Ok(_) => damage.versions_deleted += 1,
                Err(_) => damage.versions_refused += 1,
            }
        }
        damage
    }

    /// Overwrites every current object with garbage and deletes every key (no version
    /// deletions: what `status` must see).
    pub fn overwrite_and_delete(&self) -> usize {
        let keys = self.keys();
        for key in &keys {
            self.rt
                .block_on(
                    self.client
                        .put_object()
                        .bucket(&self.bucket)
                        .key(key)
                        .body(ByteStream::from_static(b"garbage"))
                        .send(),
                )
                .expect("the attacker's PutObject");
        }
        for key in &keys {
            self.delete(key);
        }
        keys.len()
    }

    /// Deletes `key` (a delete marker on a versioned bucket).
    pub fn delete(&self, key: &str) {
        self.rt
            .block_on(
                self.client
                    .delete_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .send(),
            )
            .expect("DeleteObject");
    }

    /// Sets the retention of `key`'s version `version` to `mode` until `until` (RFC 3339),
    /// or removes it (`None`), bypassing a GOVERNANCE lock as its holder of
    /// `s3:BypassGovernanceRetention` may.
    pub fn set_retention_bypassing(&self, key: &str, version: &str, lock: Option<(&str, &str)>) {
        use aws_sdk_s3::primitives::DateTime;
        use aws_sdk_s3::types::ObjectLockRetention;
        let retention = match lock {
            Some((mode, until)) => ObjectLockRetention::builder()
                .mode(ObjectLockRetentionMode::from(mode))
                .retain_until_date(
                    DateTime::from_str(until, aws_sdk_s3::primitives::DateTimeFormat::DateTime)
                        .expect("an RFC 3339 date"),
                )
                .build(),
            None => ObjectLockRetention::builder().build(),
        };
        self.rt
            .block_on(
                self.client
                    .put_object_retention()
                    .bucket(&self.bucket)
                    .key(key)
                    .version_id(version)
                    .bypass_governance_retention(true)
                    .retention(retention)
                    .send(),
            )
            .expect("PutObjectRetention");
    }
}

/// What an attack achieved.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Damage {
    /// Keys overwritten with garbage, then deleted.
    pub keys: usize,
    /// Versions (and delete markers) whose DeleteObject by version id succeeded.
    pub versions_deleted: usize,
    /// Versions whose deletion was refused (locked).
    pub versions_refused: usize,
}
