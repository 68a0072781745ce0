//! What only the S3 store does (key style detection from a listing, bucket creation), and
//! the chunker against real servers. The `Store` behaviour every store shares is checked
//! case by case in `conformance.rs`.

use std::io::{self, Read};
use std::time::Duration;

use bytes::Bytes;
use s3napback::chunker::{UploadError, upload_stream};
use s3napback::store::Store;
use s3napback::store::keys::{check_complete, chunk_key, group_slots};
use s3napback::store::s3::{KeyStyle, S3Store};

use crate::support::s3::{garage, moto};

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
        check_complete(&slot, CS).unwrap();
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
    assert!(check_complete(&slot, 1000).is_err());
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
