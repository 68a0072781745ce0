//! What only the S3 store does (key style detection from a listing, bucket creation), and
//! the chunker against real servers. The `Store` behaviour every store shares is checked
//! case by case in `conformance.rs`.

use std::io::{self, Read};
use std::time::Duration;

use bytes::Bytes;
use s3napback::backup::chunker::{UploadError, upload_stream};
use s3napback::store::keys::KeyStyle;
use s3napback::store::keys::{SlotProblem, check_complete, chunk_key, group_slots};
use s3napback::store::retry::{RetryPolicy, RetryStore};
use s3napback::store::s3::S3Store;
use s3napback::store::{ReadStore, Store, StoreError};

use crate::support::proxy::{Fault, FaultProxy, Rule};
use crate::support::s3::{S3Server, garage, moto};

#[test]
fn key_style_is_read_from_an_existing_listing() {
    // On moto a bucket already holding `/…` keys is recognised without a probe.
    let server = moto();
    let store = server.store();
    store
        .put("/etc-1-FULL:00000000000000000000", Bytes::new())
        .unwrap();
    let fresh = S3Store::connect(server.config()).unwrap();
    assert_eq!(fresh.key_style().unwrap(), KeyStyle::Faithful);
    assert_eq!(fresh.list("").unwrap().len(), 1, "no probe object left");
}

#[test]
fn errors_name_bucket_and_key_and_ensure_bucket_creates_it() {
    let server = moto();
    let store = S3Store::connect(server.config().with_credentials("testing", "testing")).unwrap();
    // the bucket does not exist yet: the error names bucket and key
    let err = store
        .put("/x-1-FULL:00000000000000000000", Bytes::from("a"))
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("s3napback-test") && text.contains("/x-1-FULL:00000000000000000000"),
        "{text}"
    );
    store.ensure_bucket().unwrap();
    store.ensure_bucket().unwrap();
    store
        .put("/x-1-FULL:00000000000000000000", Bytes::from("a"))
        .unwrap();
}

/// Chunk sizes as the server lists them, in index order.
fn chunk_sizes(store: &dyn Store, prefix: &str) -> Vec<u64> {
    let slots = group_slots(store.list(prefix).unwrap());
    assert_eq!(slots.len(), 1, "one slot for {prefix}");
    slots[0].chunks.iter().map(|c| c.size).collect()
}

fn download(store: &dyn Store, prefix: &str) -> Vec<u8> {
    let slots = group_slots(store.list(prefix).unwrap());
    let mut out = Vec::new();
    for c in &slots[0].chunks {
        out.extend_from_slice(&store.get(&c.key).unwrap());
    }
    out
}

fn chunker_layouts(store: &dyn Store) {
    const CS: u64 = 1000;
    for (len, want) in [
        (0u64, vec![0u64]),
        (CS - 1, vec![CS - 1]),
        (CS, vec![CS, 0]),
        (CS + 1, vec![CS, 1]),
        (3 * CS, vec![CS, CS, CS, 0]),
    ] {
        let prefix = format!("/layout-{len}-FULL");
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let sum = upload_stream(store, &prefix, &data[..], CS, 3).unwrap();
        assert_eq!(sum.bytes, len);
        assert_eq!(sum.chunks, want.len() as u64);
        assert_eq!(
            sum.keys,
            (0..want.len() as u64)
                .map(|i| chunk_key(&prefix, i))
                .collect::<Vec<_>>()
        );
        assert_eq!(chunk_sizes(store, &prefix), want, "{len} bytes");
        let slot = group_slots(store.list(&prefix).unwrap()).remove(0);
        check_complete(&slot).unwrap();
        assert_eq!(download(store, &prefix), data);
    }
}

#[test]
fn chunker_writes_js3tream_layout_on_moto() {
    let server = moto();
    let store = server.store();
    chunker_layouts(&store);
    // the exact keys js3tream wrote, with their leading slash
    let keys: Vec<String> = store
        .list("/layout-1000-FULL")
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(
        keys,
        vec![
            "/layout-1000-FULL:00000000000000000000",
            "/layout-1000-FULL:00000000000000000001"
        ]
    );
}

#[test]
fn chunker_writes_js3tream_layout_on_garage() {
    let server = garage();
    let store = server.store();
    chunker_layouts(&store);
}

/// Returns at most `step` bytes per read, pausing between reads.
struct SlowReader {
    data: Vec<u8>,
    pos: usize,
    step: usize,
}

impl Read for SlowReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        std::thread::sleep(Duration::from_millis(1));
        let n = self.step.min(buf.len()).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Gives `good` bytes, then fails like a broken pipeline.
struct FailingReader {
    good: usize,
    given: usize,
}

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.given >= self.good {
            return Err(io::Error::other("gzip: stdin: unexpected end of file"));
        }
        let n = buf.len().min(self.good - self.given).min(300);
        buf[..n].fill(b'z');
        self.given += n;
        Ok(n)
    }
}

#[test]
fn chunker_fills_chunks_from_a_slow_reader_and_reports_read_errors() {
    let server = moto();
    let store = server.store();
    let data: Vec<u8> = (0..2500u32).map(|i| i as u8).collect();
    let reader = SlowReader {
        data: data.clone(),
        pos: 0,
        step: 7,
    };
    let sum = upload_stream(&store, "MySQL/--all-databases-5", reader, 1000, 2).unwrap();
    assert_eq!(sum.chunks, 3);
    assert_eq!(
        chunk_sizes(&store, "MySQL/--all-databases-5"),
        vec![1000, 1000, 500]
    );
    assert_eq!(download(&store, "MySQL/--all-databases-5"), data);

    let err = upload_stream(
        &store,
        "/broken-1-FULL",
        FailingReader {
            good: 2300,
            given: 0,
        },
        1000,
        2,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            UploadError::Read {
                index: 2,
                offset: 2300,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("gzip: stdin: unexpected end of file"),
        "{text}"
    );
    assert!(text.contains("/broken-1-FULL"), "{text}");
    // only full chunks were written: the slot is detectably incomplete
    let slot = group_slots(store.list("/broken-1-FULL").unwrap()).remove(0);
    // (a chunk handed over before the error may or may not have been sent)
    let sizes = chunk_sizes(&store, "/broken-1-FULL");
    assert!(
        !sizes.is_empty() && sizes.len() <= 2 && sizes.iter().all(|&s| s == 1000),
        "{sizes:?}"
    );
    // Judged from the slot alone, one full-size chunk is its own final chunk (it looks
    // complete); from two on the missing short chunk shows (backups never leave partial
    // slots: they stage).
    match sizes.len() {
        1 => assert_eq!(check_complete(&slot), Ok(()), "{slot:?}"),
        _ => assert_eq!(
            check_complete(&slot),
            Err(SlotProblem::NoFinalShortChunk { last_index: 1 }),
            "{slot:?}"
        ),
    }
}

#[test]
fn chunker_put_failure_names_the_chunk() {
    let server = moto();
    // no bucket: the first PUT fails
    let store = S3Store::connect(server.config()).unwrap();
    let data = vec![1u8; 5000];
    let err = upload_stream(&store, "/etc-3-FULL", &data[..], 1000, 2).unwrap_err();
    assert!(matches!(err, UploadError::Put { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("chunk ") && text.contains("/etc-3-FULL:0000"),
        "{text}"
    );
}

/// A store reaching `server` through `proxy`.
fn proxied(server: &S3Server, proxy: &FaultProxy) -> S3Store {
    S3Store::connect(server.config().with_endpoint(&proxy.endpoint)).unwrap()
}

#[test]
fn errors_keep_code_permanence_and_source() {
    let server = moto();
    let proxy = FaultProxy::start(&server.endpoint);
    // no bucket yet: NoSuchBucket is permanent and not retried
    let retried = RetryStore::new(proxied(&server, &proxy), RetryPolicy::with_retries(3));
    let err = retried.list("/etc").unwrap_err();
    assert_eq!(err.code(), Some("NoSuchBucket"), "{err}");
    assert!(err.is_permanent());
    assert!(
        std::error::Error::source(&err).is_some(),
        "the SDK error is kept"
    );
    let text = err.to_string();
    assert!(
        text == "ListObjectsV2 s3napback-test: NoSuchBucket: The specified bucket does not exist (HTTP 404)",
        "{text}"
    );
    assert_eq!(proxy.seen().len(), 1, "{:?}", proxy.seen());

    server.store();
    let store = proxied(&server, &proxy);
    let key = "/x-1-FULL:00000000000000000000";
    proxy.add(Rule::chunks("PUT", Fault::Status(503, "SlowDown")).times(1));
    let err = store.put(key, Bytes::from("a")).unwrap_err();
    assert_eq!(err.code(), Some("SlowDown"));
    assert!(!err.is_permanent());
    assert_eq!(
        err.to_string(),
        format!("PutObject s3napback-test:{key}: SlowDown: injected by the test proxy (HTTP 503)")
    );
    let full = format!("{:#}", anyhow::Error::from(err));
    assert_eq!(full.matches("PutObject").count(), 1, "{full}");

    // a dropped connection is transient and says so, its cause in the chain
    proxy.add(Rule::chunks("PUT", Fault::DropRequestAfter(0)).times(1));
    let err = store.put(key, Bytes::from("a")).unwrap_err();
    assert!(!err.is_permanent() && err.code().is_none());
    let chain = s3napback::store::error_chain(&err);
    assert!(
        chain.starts_with(&format!(
            "PutObject s3napback-test:{key}: the connection failed: "
        )),
        "{chain}"
    );
}

#[test]
fn the_etag_is_checked_only_when_it_can_be_an_md5() {
    let server = moto();
    server.store();
    let proxy = FaultProxy::start(&server.endpoint);
    let store = proxied(&server, &proxy);
    let key = "/x-1-FULL:00000000000000000000";
    // SSE-KMS answers carry an ETag that is no MD5: not compared
    proxy.add(Rule::chunks("PUT", Fault::ForgeEtag(Some("aws:kms"))).times(1));
    store.put(key, Bytes::from("kms")).unwrap();
    // without encryption, a wrong ETag is a (transient) mismatch ...
    proxy.add(Rule::chunks("PUT", Fault::ForgeEtag(None)).times(1));
    let err = store.put(key, Bytes::from("plain")).unwrap_err();
    assert!(
        matches!(err, StoreError::EtagMismatch { .. }) && !err.is_permanent(),
        "{err}"
    );
    // ... which the retry wrapper repeats
    proxy.add(Rule::chunks("PUT", Fault::ForgeEtag(None)).times(1));
    let retried = RetryStore::new(store, RetryPolicy::with_retries(2));
    retried.put(key, Bytes::from("plain")).unwrap();
    assert_eq!(retried.get(key).unwrap(), Bytes::from("plain"));
}

#[test]
fn sized_gets_refuse_longer_bodies_and_report_short_ones() {
    let server = moto();
    let direct = server.store();
    let key = "/x-1-FULL:00000000000000000000";
    direct.put(key, Bytes::from(vec![7u8; 5000])).unwrap();
    assert_eq!(direct.get_sized(key, 5000).unwrap().len(), 5000);
    // the listing said less than the server sends: refused, permanent
    let err = direct.get_sized(key, 4000).unwrap_err();
    assert!(
        matches!(err, StoreError::BodySize { expected: 4000, .. }) && err.is_permanent(),
        "{err}"
    );
    // the body is shorter than listed: an error worth a retry
    let err = direct.get_sized(key, 6000).unwrap_err();
    assert!(!err.is_permanent(), "{err}");
    assert!(
        err.to_string().contains("ended after 5000 of 6000 bytes"),
        "{err}"
    );
    // a body cut mid-transfer is a transient error naming the key
    let proxy = FaultProxy::start(&server.endpoint);
    proxy.add(Rule::chunks("GET", Fault::DropResponseAfter(1000)).times(1));
    let store = proxied(&server, &proxy);
    let err = store.get_sized(key, 5000).unwrap_err();
    assert!(!err.is_permanent(), "{err}");
    assert!(
        err.to_string().contains(&format!(
            "GetObject s3napback-test:{key}: the body broke after"
        )),
        "{err}"
    );
    assert_eq!(store.get_sized(key, 5000).unwrap().len(), 5000);
    // a body corrupted on the way does not match its ETag: transient, fetched again
    proxy.add(Rule::chunks("GET", Fault::CorruptResponse).times(1));
    let err = store.get_sized(key, 5000).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::EtagMismatch {
                op: "GetObject",
                ..
            }
        ) && !err.is_permanent(),
        "{err}"
    );
    proxy.add(Rule::chunks("GET", Fault::CorruptResponse).times(1));
    let retried = RetryStore::new(store, RetryPolicy::with_retries(1));
    assert_eq!(retried.get_sized(key, 5000).unwrap().data, vec![7u8; 5000]);
}
