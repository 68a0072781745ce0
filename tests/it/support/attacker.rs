//! A plain S3 client with the backup run's own credentials, for what the tool never does:
//! create a bucket with Object Lock (as an administrator would), and attack a bucket (as
//! whoever stole the host's key would): overwrite, delete, delete every version.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;

use super::s3::S3Server;

/// A client of one server's test bucket.
pub struct Attacker {
    rt: tokio::runtime::Runtime,
    client: Client,
    bucket: String,
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

impl Attacker {
    pub fn new(server: &S3Server) -> Attacker {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let conf = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(server.region.clone()))
            .endpoint_url(&server.endpoint)
            .force_path_style(true)
            .credentials_provider(Credentials::new(
                &server.key,
                &server.secret,
                None,
                None,
                "test",
            ))
            .build();
        Attacker {
            rt,
            client: Client::from_conf(conf),
            bucket: server.bucket.clone(),
        }
    }

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

    /// Gives the bucket a default retention (what `prepare-bucket` never sets).
    pub fn set_default_retention(&self, days: i32) {
        use aws_sdk_s3::types::{
            DefaultRetention, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRetentionMode,
            ObjectLockRule,
        };
        let rule = ObjectLockRule::builder()
            .default_retention(
                DefaultRetention::builder()
                    .mode(ObjectLockRetentionMode::Governance)
                    .days(days)
                    .build(),
            )
            .build();
        let config = ObjectLockConfiguration::builder()
            .object_lock_enabled(ObjectLockEnabled::Enabled)
            .rule(rule)
            .build();
        self.rt
            .block_on(
                self.client
                    .put_object_lock_configuration()
                    .bucket(&self.bucket)
                    .object_lock_configuration(config)
                    .send(),
            )
            .expect("PutObjectLockConfiguration");
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
            self.rt
                .block_on(
                    self.client
                        .delete_object()
                        .bucket(&self.bucket)
                        .key(key)
                        .send(),
                )
                .expect("the attacker's DeleteObject");
        }
        keys.len()
    }
}
