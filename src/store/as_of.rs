//! The bucket as it was at a date, on a versioned bucket: every reader (restore, cat,
//! list, verify) works on [`AsOf`] as on the bucket itself.
//!
//! For each key the view holds the newest version stored on or before the date that this
//! tool wrote; a delete marker there means the key was absent. Which versions the tool
//! wrote is told by the records of locked commits (`store::commit::Record`): for a slot
//! with records, a version no record names counts only when it is older than the slot's
//! first record (a backup from before Object Lock, js3tream-era ones included). So after
//! an attacker overwrote or deleted every key, the view at a date before the attack is
//! that day's bucket exactly, and even a forged version dated earlier is left out.

use std::collections::{BTreeMap, HashMap, HashSet};

use bytes::Bytes;
use time::OffsetDateTime;

use super::commit::Record;
use super::keys::{RECORD_NAMESPACE, parse_chunk_key};
use super::lock::VersionInfo;
use super::{Fetched, ObjectInfo, ReadStore, StoreError};

/// Which versions of which keys the tool's records name, and when each slot's first
/// record was written.
#[derive(Debug, Default)]
pub struct Written {
    /// Version ids named by a record, by key as listed.
    pub versions: HashMap<String, HashSet<String>>,
    /// The date of each slot's oldest record (slot prefix as listed).
    pub first_record: HashMap<String, OffsetDateTime>,
}

impl Written {
    /// Reads every version of every record in `versions` (the bucket's version listing).
    pub fn read(store: &dyn ReadStore, versions: &[VersionInfo]) -> Result<Written, StoreError> {
        let mut written = Written::default();
        let physical_ns = store.physical_key(RECORD_NAMESPACE);
        for v in versions {
            if v.delete_marker {
                continue;
            }
            let Some(listed_slot) = v
                .key
                .strip_prefix(&physical_ns)
                .or(v.key.strip_prefix(RECORD_NAMESPACE))
            else {
                continue;
            };
            // an oversized object is no record (status reports it), and is not read
            if v.size > super::commit::MAX_RECORD_BYTES {
                continue;
            }
            let body = store.get_version(&v.key, &v.version_id, v.size)?;
            // a record that does not parse names nothing (status reports it)
            let Ok(record) = serde_json::from_slice::<Record>(&body.data) else {
                continue;
            };
            let slot = store.physical_key(&record.slot);
            if slot.trim_start_matches('/') != listed_slot.trim_start_matches('/') {
                continue;
            }
            let first = written
                .first_record
                .entry(slot.clone())
                .or_insert(v.last_modified);
            *first = (*first).min(v.last_modified);
            for (i, id) in record.versions.iter().enumerate() {
                if let Some(id) = id {
                    written
                        .versions
                        .entry(super::keys::chunk_key(&slot, i as u64))
                        .or_default()
                        .insert(id.clone());
                }
            }
        }
        Ok(written)
    }

    /// Whether this tool wrote version `v` (see the module docs).
    pub fn wrote(&self, v: &VersionInfo) -> bool {
        let Some((slot, _)) = parse_chunk_key(&v.key) else {
            return true;
        };
        match self.first_record.get(slot) {
            None => true,
            Some(first) => {
                v.last_modified < *first
                    || self
                        .versions
                        .get(&v.key)
                        .is_some_and(|ids| ids.contains(&v.version_id))
            }
        }
    }
}

/// A read-only view of the bucket as of a date (see the module docs).
pub struct AsOf {
    inner: Box<dyn ReadStore>,
    /// The version each present key has in the view, by key as listed.
    view: BTreeMap<String, VersionInfo>,
}

impl AsOf {
    /// The bucket as of `at` (exclusive), from its versions (already listed).
    pub fn new(
        inner: Box<dyn ReadStore>,
        versions: &[VersionInfo],
        at: OffsetDateTime,
    ) -> Result<AsOf, StoreError> {
        let written = Written::read(inner.as_ref(), versions)?;
        Ok(AsOf {
            view: view_at(versions, at, &written),
            inner,
        })
    }
}

/// For each key, its newest version before `at` that the tool wrote (delete markers
/// count as written: they only hide); keys whose newest such entry is a delete marker
/// are absent.
pub fn view_at(
    versions: &[VersionInfo],
    at: OffsetDateTime,
    written: &Written,
) -> BTreeMap<String, VersionInfo> {
    let mut newest: BTreeMap<String, &VersionInfo> = BTreeMap::new();
    for v in versions {
        if v.last_modified >= at || (!v.delete_marker && !written.wrote(v)) {
            continue;
        }
        match newest.get(&v.key) {
            Some(old) if (old.last_modified, old.is_latest) > (v.last_modified, v.is_latest) => {}
            _ => {
                newest.insert(v.key.clone(), v);
            }
        }
    }
    newest
        .into_iter()
        .filter(|(_, v)| !v.delete_marker)
        .map(|(k, v)| (k, v.clone()))
        .collect()
}

impl ReadStore for AsOf {
    fn bucket(&self) -> &str {
        self.inner.bucket()
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        let physical = self.inner.physical_key(prefix);
        Ok(self
            .view
            .values()
            .filter(|v| v.key.starts_with(&physical) || v.key.starts_with(prefix))
            .map(|v| ObjectInfo {
                key: v.key.clone(),
                size: v.size,
                last_modified: v.last_modified,
                etag: v.etag.clone(),
            })
            .collect())
    }

    fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        let size = self.version(key)?.size;
        self.get_sized(key, size).map(|f| f.data)
    }

    fn get_sized(&self, key: &str, expected: u64) -> Result<Fetched, StoreError> {
        let v = self.version(key)?;
        self.inner.get_version(&v.key, &v.version_id, expected)
    }

    fn get_range(
        &self,
        key: &str,
        _version: Option<&str>,
        start: u64,
        len: u64,
    ) -> Result<Fetched, StoreError> {
        let v = self.version(key)?;
        self.inner
            .get_range(&v.key, Some(&v.version_id), start, len)
    }

    fn physical_key(&self, logical: &str) -> String {
        self.inner.physical_key(logical)
    }

    fn tag_of(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.inner.tag_of(key)
    }

    fn list_versions(&self, prefix: &str) -> Result<Vec<VersionInfo>, StoreError> {
        self.inner.list_versions(prefix)
    }
}

impl AsOf {
    /// The version of `key` (logical or as listed) in the view.
    fn version(&self, key: &str) -> Result<&VersionInfo, StoreError> {
        self.view
            .get(key)
            .or_else(|| self.view.get(&self.inner.physical_key(key)))
            .ok_or_else(|| StoreError::NotFound {
                bucket: self.inner.bucket().to_owned(),
                key: key.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(key: &str, id: &str, at: i64, dm: bool) -> VersionInfo {
        VersionInfo {
            key: key.into(),
            version_id: id.into(),
            last_modified: OffsetDateTime::from_unix_timestamp(1_790_000_000 + at).unwrap(),
            size: 3,
            etag: None,
            is_latest: false,
            delete_marker: dm,
        }
    }

    const K: &str = "/etc-3-FULL:00000000000000000000";

    #[test]
    fn the_view_takes_the_newest_written_version_before_the_date() {
        let versions = vec![
            v(K, "a", 0, false),
            v(K, "b", 100, false),
            v(K, "forged", 150, false),
            v(K, "garbage", 300, false),
            v(K, "dm", 400, true),
        ];
        let mut written = Written::default();
        written.first_record.insert(
            "/etc-3-FULL".into(),
            OffsetDateTime::from_unix_timestamp(1_790_000_050).unwrap(),
        );
        written.versions.insert(K.into(), ["b".to_string()].into());
        let at = |s: i64| OffsetDateTime::from_unix_timestamp(1_790_000_000 + s).unwrap();
        // "a" is older than the first record: a backup from before the lock
        assert_eq!(view_at(&versions, at(50), &written)[K].version_id, "a");
        // "forged" is newer than the first record and named by none
        assert_eq!(view_at(&versions, at(200), &written)[K].version_id, "b");
        assert_eq!(view_at(&versions, at(350), &written)[K].version_id, "b");
        // a delete marker hides the key from its date on
        assert!(!view_at(&versions, at(1000), &written).contains_key(K));
        // without records every version counts, and a delete marker hides the key
        let none = Written::default();
        assert_eq!(view_at(&versions, at(350), &none)[K].version_id, "garbage");
        assert!(!view_at(&versions, at(1000), &none).contains_key(K));
    }
}
