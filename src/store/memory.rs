//! An in-memory [`Store`] for tests: keys spelled as a chosen [`KeyStyle`] (as Garage or
//! MinIO spell them when told so), and fault injection (fail the Nth call of an
//! operation, fail every call on one key, slow PUTs that are counted while in flight).
//!
//! It behaves as the S3 servers the conformance suite (`tests/it/conformance.rs`) checks:
//! every key passed in is stored, read, listed by and deleted in the server's spelling
//! (`KeyStyle::apply`), listings are sorted by key bytes, ETags are the MD5 of the body,
//! deleting a missing key is not an error, and every error names the bucket and the key.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use bytes::Bytes;
use time::OffsetDateTime;

use super::keys::KeyStyle;
use super::lock::Retention;
use super::multipart::{OpenUpload, UploadedPart};
use super::{ObjectInfo, ReadStore, Store, StoreError, md5_hex};

/// The store operations faults can be injected into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// [`ReadStore::list`].
    List,
    /// [`Store::put`].
    Put,
    /// [`ReadStore::get`].
    Get,
    /// [`Store::copy`] (the target key counts for `fail_key`).
    Copy,
    /// [`Store::delete`].
    Delete,
}

impl Op {
    /// The S3 request name the error messages use, as the S3 store's do.
    pub fn request_name(self) -> &'static str {
        match self {
            Op::List => "ListObjectsV2",
            Op::Put => "PutObject",
            Op::Get => "GetObject",
            Op::Copy => "CopyObject",
            Op::Delete => "DeleteObjects",
        }
    }
}

/// One stored object.
#[derive(Debug, Clone)]
struct Stored {
    body: Bytes,
    last_modified: OffsetDateTime,
}

/// A multipart upload in progress: its physical key and its parts by number.
type OpenParts = (String, BTreeMap<i32, Bytes>);

/// What to break, and how the store has been used so far.
#[derive(Debug, Default)]
struct Faults {
    /// (operation, 1-based call number) pairs that fail.
    nth: Vec<(Op, usize)>,
    /// (operation, physical key) pairs that fail on every call.
    keys: Vec<(Op, String)>,
    /// Operations that fail on every call.
    always: Vec<Op>,
    /// Physical keys every listing leaves out (a listing that lags behind writes).
    unlisted: Vec<String>,
    /// Calls made so far per operation (failed ones included).
    calls: HashMap<Op, usize>,
}

/// A bucket held in memory. Safe to share between threads (`&MemoryStore` is `Sync`).
#[derive(Debug)]
pub struct MemoryStore {
    bucket: String,
    key_style: Mutex<KeyStyle>,
    objects: Mutex<BTreeMap<String, Stored>>,
    faults: Mutex<Faults>,
    clock: Mutex<Option<OffsetDateTime>>,
    put_delay: Mutex<Duration>,
    puts_in_flight: AtomicUsize,
    max_puts_in_flight: AtomicUsize,
    /// While Some(n): PUTs wait until n of them are in flight at once (then it opens).
    put_gate: Mutex<Option<usize>>,
    put_gate_opened: Condvar,
    /// Multipart uploads in progress: id -> (physical key, parts by number).
    uploads: Mutex<BTreeMap<String, OpenParts>>,
    next_upload: AtomicUsize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new("mem")
    }
}

impl MemoryStore {
    /// An empty bucket `bucket` that keeps keys exactly as written ([`KeyStyle::Faithful`]).
    pub fn new(bucket: impl Into<String>) -> MemoryStore {
        MemoryStore {
            bucket: bucket.into(),
            key_style: Mutex::new(KeyStyle::Faithful),
            objects: Mutex::default(),
            faults: Mutex::default(),
            clock: Mutex::default(),
            put_delay: Mutex::default(),
            puts_in_flight: AtomicUsize::new(0),
            max_puts_in_flight: AtomicUsize::new(0),
            put_gate: Mutex::default(),
            put_gate_opened: Condvar::new(),
            uploads: Mutex::default(),
            next_upload: AtomicUsize::new(0),
        }
    }

    /// The same store spelling keys as `style` (e.g. [`KeyStyle::StripLeadingSlashes`]
    /// for a store that behaves like Garage).
    pub fn with_key_style(self, style: KeyStyle) -> MemoryStore {
        self.set_key_style(style);
        self
    }

    /// Changes how keys are spelled from now on (objects already stored keep their keys).
    pub fn set_key_style(&self, style: KeyStyle) {
        *lock(&self.key_style) = style;
    }

    /// How this store spells keys.
    pub fn key_style(&self) -> KeyStyle {
        *lock(&self.key_style)
    }

    /// Stamps objects stored from now on with `now` as LastModified (default: the
    /// current UTC time at each PUT).
    pub fn set_now(&self, now: OffsetDateTime) {
        *lock(&self.clock) = Some(now);
    }

    /// Makes every PUT take at least `delay`, so that concurrent PUTs overlap and
    /// [`MemoryStore::max_puts_in_flight`] can see them.
    pub fn set_put_delay(&self, delay: Duration) {
        *lock(&self.put_delay) = delay;
    }

    /// Holds every PUT until `n` PUTs are in flight at the same moment, then lets them
    /// all (and every later one) through: a barrier that proves, without any timing, that
    /// `n` PUTs run at once. A caller that never has `n` PUTs in flight waits for ever.
    pub fn hold_puts_until_in_flight(&self, n: usize) {
        *lock(&self.put_gate) = Some(n);
    }

    /// Makes the `n`th call (1-based, counted from the store's creation) of `op` fail.
    pub fn fail_nth(&self, op: Op, n: usize) {
        lock(&self.faults).nth.push((op, n));
    }

    /// Makes every call of `op` that concerns `key` (logical or physical spelling) fail.
    /// For [`Op::List`] the key is the prefix asked for; for [`Op::Delete`] any of the keys.
    pub fn fail_key(&self, op: Op, key: &str) {
        let physical = self.physical_key(key);
        lock(&self.faults).keys.push((op, physical));
    }

    /// Makes every call of `op` fail (a store whose bucket is gone, say).
    pub fn fail_always(&self, op: Op) {
        lock(&self.faults).always.push(op);
    }

    /// Makes every listing leave out `key` (logical or physical spelling), as a listing
    /// that lags behind the writes does; the object itself stays readable.
    pub fn leave_out_of_listings(&self, key: &str) {
        let physical = self.physical_key(key);
        lock(&self.faults).unlisted.push(physical);
    }

    /// Removes every injected fault (call counts stay).
    pub fn heal(&self) {
        let mut faults = lock(&self.faults);
        faults.nth.clear();
        faults.keys.clear();
        faults.always.clear();
        faults.unlisted.clear();
    }

    /// How many times `op` was called so far, failed calls included.
    pub fn calls(&self, op: Op) -> usize {
        lock(&self.faults).calls.get(&op).copied().unwrap_or(0)
    }

    /// The most PUTs that were running at the same moment.
    pub fn max_puts_in_flight(&self) -> usize {
        self.max_puts_in_flight.load(Ordering::SeqCst)
    }

    /// Every stored key (as the server spells it) with its body, sorted by key.
    pub fn objects(&self) -> Vec<(String, Bytes)> {
        lock(&self.objects)
            .iter()
            .map(|(k, o)| (k.clone(), o.body.clone()))
            .collect()
    }

    /// Counts a PUT (or part upload) in flight while the result lives, after the gate
    /// ([`MemoryStore::hold_puts_until_in_flight`]) and the delay.
    fn enter_put(&self) -> InFlight<'_> {
        let now = self.puts_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let in_flight = InFlight(&self.puts_in_flight);
        self.max_puts_in_flight.fetch_max(now, Ordering::SeqCst);
        {
            let mut gate = lock(&self.put_gate);
            if gate.is_some_and(|n| now >= n) {
                *gate = None;
                self.put_gate_opened.notify_all();
            }
            while gate.is_some() {
                gate = self
                    .put_gate_opened
                    .wait(gate)
                    .unwrap_or_else(|e| e.into_inner());
            }
        }
        let delay = *lock(&self.put_delay);
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        in_flight
    }

    /// The multipart uploads in progress: (physical key, upload id, part sizes).
    pub fn open_uploads(&self) -> Vec<(String, String, Vec<usize>)> {
        lock(&self.uploads)
            .iter()
            .map(|(id, (k, parts))| {
                (
                    k.clone(),
                    id.clone(),
                    parts.values().map(Bytes::len).collect(),
                )
            })
            .collect()
    }

    fn no_upload(&self, key: &str, upload_id: &str) -> StoreError {
        StoreError::Request {
            op: "UploadPart",
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            summary: format!("NoSuchUpload: no upload {upload_id}"),
            code: Some("NoSuchUpload".into()),
            permanent: true,
            source: None,
        }
    }

    /// Counts the call and fails it when a fault says so. `keys` are physical.
    fn check(&self, op: Op, keys: &[String]) -> Result<(), StoreError> {
        let mut faults = lock(&self.faults);
        let n = {
            let calls = faults.calls.entry(op).or_insert(0);
            *calls += 1;
            *calls
        };
        let by_key = keys
            .iter()
            .find(|k| faults.keys.iter().any(|(o, f)| *o == op && f == *k));
        let by_count = faults.nth.contains(&(op, n)) || faults.always.contains(&op);
        if by_key.is_none() && !by_count {
            return Ok(());
        }
        let key = by_key.or(keys.first()).cloned().unwrap_or_default();
        Err(StoreError::Request {
            op: op.request_name(),
            bucket: self.bucket.clone(),
            key,
            summary: format!("injected fault (call {n} of {op:?})"),
            code: None,
            permanent: true,
            source: None,
        })
    }
}

/// Locks `m`, going on with the data of a thread that panicked while holding it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Counts one PUT in flight for as long as it lives.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl ReadStore for MemoryStore {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        let physical = self.physical_key(prefix);
        self.check(Op::List, std::slice::from_ref(&physical))?;
        let unlisted = lock(&self.faults).unlisted.clone();
        Ok(lock(&self.objects)
            .range(physical.clone()..)
            .take_while(|(k, _)| k.starts_with(&physical))
            .filter(|(k, _)| !unlisted.contains(k))
            .map(|(k, o)| ObjectInfo {
                key: k.clone(),
                size: o.body.len() as u64,
                last_modified: o.last_modified,
                etag: Some(md5_hex(&o.body)),
            })
            .collect())
    }

    fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        let physical = self.physical_key(key);
        self.check(Op::Get, std::slice::from_ref(&physical))?;
        lock(&self.objects)
            .get(&physical)
            .map(|o| o.body.clone())
            .ok_or_else(|| StoreError::NotFound {
                bucket: self.bucket.clone(),
                key: key.to_owned(),
            })
    }

    fn physical_key(&self, logical: &str) -> String {
        self.key_style().apply(logical)
    }

    /// No user metadata is kept.
    fn tag_of(&self, _key: &str) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
}

impl Store for MemoryStore {
    fn put(&self, key: &str, body: Bytes) -> Result<(), StoreError> {
        let _in_flight = self.enter_put();
        let physical = self.physical_key(key);
        self.check(Op::Put, std::slice::from_ref(&physical))?;
        let last_modified = lock(&self.clock).unwrap_or_else(OffsetDateTime::now_utc);
        lock(&self.objects).insert(
            physical,
            Stored {
                body,
                last_modified,
            },
        );
        Ok(())
    }

    fn copy(
        &self,
        from: &str,
        to: &str,
        _lock: Option<&Retention>,
    ) -> Result<Option<String>, StoreError> {
        let target = self.physical_key(to);
        self.check(Op::Copy, std::slice::from_ref(&target))?;
        let body = lock(&self.objects)
            .get(&self.physical_key(from))
            .map(|o| o.body.clone())
            .ok_or_else(|| StoreError::NotFound {
                bucket: self.bucket.clone(),
                key: from.to_owned(),
            })?;
        let last_modified = lock(&self.clock).unwrap_or_else(OffsetDateTime::now_utc);
        lock(&self.objects).insert(
            target,
            Stored {
                body,
                last_modified,
            },
        );
        Ok(None)
    }

    /// Part uploads count as PUTs (faults, the gate, the in-flight count).
    fn create_multipart(&self, key: &str) -> Result<String, StoreError> {
        let id = format!("upload-{}", self.next_upload.fetch_add(1, Ordering::SeqCst));
        lock(&self.uploads).insert(id.clone(), (self.physical_key(key), BTreeMap::new()));
        Ok(id)
    }

    fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        body: Bytes,
    ) -> Result<UploadedPart, StoreError> {
        let _in_flight = self.enter_put();
        let physical = self.physical_key(key);
        self.check(Op::Put, std::slice::from_ref(&physical))?;
        let etag = format!("\"{}\"", md5_hex(&body));
        match lock(&self.uploads).get_mut(upload_id) {
            Some((_, parts)) => parts.insert(number, body),
            None => return Err(self.no_upload(key, upload_id)),
        };
        Ok(UploadedPart { number, etag })
    }

    fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> Result<(), StoreError> {
        let Some((physical, stored)) = lock(&self.uploads).remove(upload_id) else {
            return Err(self.no_upload(key, upload_id));
        };
        let mut body = Vec::new();
        for p in parts {
            let part = stored
                .get(&p.number)
                .ok_or_else(|| self.no_upload(key, upload_id))?;
            body.extend_from_slice(part);
        }
        let last_modified = lock(&self.clock).unwrap_or_else(OffsetDateTime::now_utc);
        lock(&self.objects).insert(
            physical,
            Stored {
                body: body.into(),
                last_modified,
            },
        );
        Ok(())
    }

    /// No user metadata is kept: only checks that the object exists.
    fn store_md5(&self, key: &str, _md5: &str) -> Result<(), StoreError> {
        self.get(key).map(|_| ())
    }

    fn abort_multipart(&self, _key: &str, upload_id: &str) -> Result<(), StoreError> {
        lock(&self.uploads).remove(upload_id);
        Ok(())
    }

    fn list_multipart(&self, prefix: &str) -> Result<Vec<OpenUpload>, StoreError> {
        let physical = self.physical_key(prefix);
        Ok(lock(&self.uploads)
            .iter()
            .filter(|(_, (k, _))| k.starts_with(&physical))
            .map(|(id, (k, _))| OpenUpload {
                key: k.clone(),
                upload_id: id.clone(),
            })
            .collect())
    }

    fn delete(&self, keys: &[String]) -> Result<(), StoreError> {
        let physical: Vec<String> = keys.iter().map(|k| self.physical_key(k)).collect();
        self.check(Op::Delete, &physical)?;
        let mut objects = lock(&self.objects);
        for k in &physical {
            objects.remove(k);
        }
        Ok(())
    }

    /// The bucket always exists.
    fn ensure_bucket(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn key_style(&self) -> Result<KeyStyle, StoreError> {
        Ok(MemoryStore::key_style(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(store: &MemoryStore, key: &str, body: &'static str) -> Result<(), StoreError> {
        store.put(key, Bytes::from_static(body.as_bytes()))
    }

    #[test]
    fn a_garage_like_store_strips_leading_slashes_everywhere() {
        let store = MemoryStore::new("b").with_key_style(KeyStyle::StripLeadingSlashes);
        put(&store, "/etc-3-FULL:00000000000000000000", "x").unwrap();
        let listed: Vec<String> = store
            .list("/etc-3")
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(listed, ["etc-3-FULL:00000000000000000000"]);
        assert_eq!(
            store.get("/etc-3-FULL:00000000000000000000").unwrap(),
            "x".as_bytes()
        );
        assert_eq!(
            store.get("etc-3-FULL:00000000000000000000").unwrap(),
            "x".as_bytes()
        );
        store
            .delete(&["/etc-3-FULL:00000000000000000000".to_owned()])
            .unwrap();
        assert!(store.objects().is_empty());
    }

    #[test]
    fn the_nth_call_fails_naming_bucket_and_key() {
        let store = MemoryStore::new("b");
        store.fail_nth(Op::Put, 2);
        put(&store, "/a", "1").unwrap();
        let err = put(&store, "/b", "2").unwrap_err().to_string();
        assert_eq!(err, "PutObject b:/b: injected fault (call 2 of Put)");
        put(&store, "/c", "3").unwrap();
        assert_eq!(store.calls(Op::Put), 3);
        let keys: Vec<String> = store.objects().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["/a", "/c"]);
    }

    #[test]
    fn a_failing_key_fails_every_call_until_healed() {
        let store = MemoryStore::new("b");
        put(&store, "/k", "old").unwrap();
        store.fail_key(Op::Get, "/k");
        store.fail_key(Op::Delete, "/k");
        for _ in 0..2 {
            let err = store.get("/k").unwrap_err().to_string();
            assert!(err.starts_with("GetObject b:/k: injected fault"), "{err}");
        }
        let err = store
            .delete(&["/other".to_owned(), "/k".to_owned()])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("DeleteObjects b:/k: "), "{err}");
        assert_eq!(store.objects().len(), 1, "a failed delete removes nothing");
        store.heal();
        assert_eq!(store.get("/k").unwrap(), "old".as_bytes());
    }

    #[test]
    fn concurrent_puts_are_counted() {
        let store = MemoryStore::new("b");
        // the three PUTs are held until all three run at once
        store.hold_puts_until_in_flight(3);
        std::thread::scope(|s| {
            for i in 0..3 {
                let store = &store;
                s.spawn(move || store.put(&format!("/k{i}"), Bytes::new()).unwrap());
            }
        });
        assert_eq!(store.max_puts_in_flight(), 3);
        assert_eq!(store.calls(Op::Put), 3);
        store.put("/k9", Bytes::new()).unwrap();
        assert_eq!(store.puts_in_flight.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn objects_carry_the_set_clock_and_their_md5() {
        let store = MemoryStore::new("b");
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        store.set_now(t);
        put(&store, "/a", "abc").unwrap();
        let info = store.list("").unwrap().remove(0);
        assert_eq!(info.last_modified, t);
        assert_eq!(info.size, 3);
        assert_eq!(
            info.etag.as_deref(),
            Some("900150983cd24fb0d6963f7d28e17f72")
        );
    }
}
