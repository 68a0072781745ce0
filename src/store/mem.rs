//! An in-memory [`Store`] for unit tests: can be told to fail one key, counts PUTs in
//! flight.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use time::OffsetDateTime;

use super::{ObjectInfo, Store, StoreError};

/// Objects in a map; keys are kept as written.
#[derive(Default)]
pub struct MemStore {
    /// Every object, by key.
    pub objects: Mutex<BTreeMap<String, Bytes>>,
    /// A key whose PUT (or copy target) fails.
    pub fail_key: Option<String>,
    /// PUTs running now.
    pub in_flight: AtomicUsize,
    /// The most PUTs that ran at once.
    pub max_in_flight: AtomicUsize,
}

impl Store for MemStore {
    fn bucket(&self) -> &str {
        "mem"
    }
    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        Ok(self
            .objects
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| ObjectInfo {
                key: k.clone(),
                size: v.len() as u64,
                last_modified: OffsetDateTime::UNIX_EPOCH,
                etag: None,
            })
            .collect())
    }
    fn put(&self, key: &str, body: Bytes) -> Result<(), StoreError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(5));
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if self.fail_key.as_deref() == Some(key) {
            return Err(StoreError::Request {
                op: "PutObject",
                bucket: "mem".into(),
                key: key.into(),
                summary: "boom".into(),
                code: None,
                permanent: true,
                source: None,
            });
        }
        self.objects.lock().unwrap().insert(key.into(), body);
        Ok(())
    }
    fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        self.objects
            .lock()
            .unwrap()
            .get(key)
            .cloned()
            .ok_or(StoreError::NotFound {
                bucket: "mem".into(),
                key: key.into(),
            })
    }
    fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.check(to, "CopyObject")?;
        let body = self.get(from)?;
        self.objects.lock().unwrap().insert(to.into(), body);
        Ok(())
    }
    fn delete(&self, keys: &[String]) -> Result<(), StoreError> {
        let mut o = self.objects.lock().unwrap();
        for k in keys {
            o.remove(k);
        }
        Ok(())
    }
    fn physical_key(&self, logical: &str) -> String {
        logical.into()
    }
}

impl MemStore {
    /// The keys, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.objects.lock().unwrap().keys().cloned().collect()
    }

    fn check(&self, key: &str, op: &'static str) -> Result<(), StoreError> {
        if self.fail_key.as_deref() == Some(key) {
            return Err(StoreError::Request {
                op,
                bucket: "mem".into(),
                key: key.into(),
                summary: "boom".into(),
                code: None,
                permanent: true,
                source: None,
            });
        }
        Ok(())
    }
}
