//! The `Store` conformance suite (restic's `internal/backend/test` is the model): every
//! case is a plain function of a [`Fixture`], and [`suite!`] turns each (store, case)
//! pair into its own `#[test]`, `conformance::moto::delete_is_idempotent` and so on, so
//! one broken behaviour fails one named test and hides nothing else.
//!
//! Stores: the in-memory store in each key style (as written, as Garage spells keys, with
//! `//` collapsed too), moto (keeps keys as AWS does) and Garage (strips leading `/`).
//! Each test gets a fresh server with an empty bucket.
//!
//! To add a case (e.g. for a new trait method such as `copy` or `get_sized`): write
//! `fn new_case(f: &Fixture)` below using only `Store` methods and add its name to the
//! list in the `all_stores!` invocation at the end.

use bytes::Bytes;
use md5::{Digest, Md5};
use s3napback::store::keys::KeyStyle;
use s3napback::store::keys::chunk_key;
use s3napback::store::memory::{MemoryStore, Op};
use s3napback::store::s3::S3Store;
use s3napback::store::{Store, StoreError};

use crate::support::s3::{S3Server, garage, moto};

/// One store under test, and what the suite needs to know about it.
pub struct Fixture {
    /// Which store this is, for messages.
    kind: &'static str,
    /// The store, its bucket empty.
    store: Box<dyn Store>,
    /// A store on the same server whose every request fails (its bucket does not exist).
    broken: Box<dyn Store>,
    /// The bucket name `store` must report.
    bucket: String,
    /// How this server spells `/etc-3-FULL:00000000000000000000`, `MySQL//run/x.sock/db-4`.
    style: KeyStyle,
    /// Keeps the server running for as long as the test.
    _server: Option<S3Server>,
}

impl Fixture {
    fn memory(style: KeyStyle, kind: &'static str) -> Fixture {
        let broken = MemoryStore::new("s3napback-missing");
        for op in [Op::List, Op::Put, Op::Get, Op::Delete] {
            broken.fail_always(op);
        }
        Fixture {
            kind,
            store: Box::new(MemoryStore::new("s3napback-test").with_key_style(style)),
            broken: Box::new(broken),
            bucket: "s3napback-test".into(),
            style,
            _server: None,
        }
    }

    fn server(server: S3Server, style: KeyStyle) -> Fixture {
        let mut missing = server.config();
        missing.bucket = "s3napback-missing".into();
        // the style is known: a broken store must fail on its own request, not on a probe
        missing.key_style = Some(style);
        let broken = S3Store::connect(missing).expect("connect");
        Fixture {
            kind: server.kind,
            store: Box::new(server.store()),
            broken: Box::new(broken),
            bucket: server.bucket.clone(),
            style,
            _server: Some(server),
        }
    }
}

/// Legacy slot prefixes of every kind (LEGACY.md §6): directories (leading `/`, spaces),
/// MySQL over a socket (`//`), all databases, PostgreSQL without a database.
const PREFIXES: &[&str] = &[
    "/etc-3-FULL",
    "/home/my docs-1-DIFF",
    "MySQL//var/run/mysqld/mysqld.sock/shop-4",
    "MySQL/--all-databases-5",
    "PostgreSQL/-3",
];

fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Bytes that do not compress or repeat.
fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8
        })
        .collect()
}

fn keys_of(listed: Vec<s3napback::store::ObjectInfo>) -> Vec<String> {
    listed.into_iter().map(|o| o.key).collect()
}

/// Writes two chunks under every prefix in [`PREFIXES`]; returns (key, body) in order.
fn write_slots(f: &Fixture) -> Vec<(String, Bytes)> {
    let mut written = Vec::new();
    for (n, prefix) in PREFIXES.iter().enumerate() {
        for i in 0..2u64 {
            let key = chunk_key(prefix, i);
            let body = Bytes::from(noise(10 + n * 7 + i as usize, n as u32));
            f.store.put(&key, body.clone()).unwrap();
            written.push((key, body));
        }
    }
    written
}

fn bucket_is_the_configured_one(f: &Fixture) {
    assert_eq!(f.store.bucket(), f.bucket, "{}", f.kind);
}

fn put_get_round_trip(f: &Fixture) {
    for (i, len) in [0usize, 1, 1000, 300_000].into_iter().enumerate() {
        let key = chunk_key("/etc-3-FULL", i as u64);
        let body = Bytes::from(noise(len, i as u32));
        f.store.put(&key, body.clone()).unwrap();
        assert_eq!(f.store.get(&key).unwrap(), body, "{}: {len} bytes", f.kind);
    }
}

fn get_by_the_physical_key(f: &Fixture) {
    for (key, body) in write_slots(f) {
        let physical = f.store.physical_key(&key);
        assert_eq!(
            f.store.get(&physical).unwrap(),
            body,
            "{}: {physical}",
            f.kind
        );
    }
}

fn overwrite_replaces_the_object(f: &Fixture) {
    let key = chunk_key("/etc-3-FULL", 0);
    f.store.put(&key, Bytes::from("old, longer body")).unwrap();
    f.store.put(&key, Bytes::from("new")).unwrap();
    assert_eq!(f.store.get(&key).unwrap(), "new".as_bytes(), "{}", f.kind);
    let listed = f.store.list("").unwrap();
    assert_eq!(listed.len(), 1, "{}: {listed:?}", f.kind);
    assert_eq!(listed[0].size, 3, "{}", f.kind);
}

fn list_by_logical_prefix(f: &Fixture) {
    write_slots(f);
    // a sibling whose name starts like a slot's, to show the prefix is taken literally
    f.store
        .put(&chunk_key("/etc-30-FULL", 0), Bytes::from("x"))
        .unwrap();
    for prefix in PREFIXES {
        let want: Vec<String> = (0..2)
            .map(|i| f.store.physical_key(&chunk_key(prefix, i)))
            .collect();
        let slot = format!("{prefix}:");
        assert_eq!(
            keys_of(f.store.list(&slot).unwrap()),
            want,
            "{}: list {slot:?}",
            f.kind
        );
    }
    assert_eq!(
        keys_of(f.store.list("/etc-3").unwrap()),
        [
            chunk_key("/etc-3-FULL", 0),
            chunk_key("/etc-3-FULL", 1),
            chunk_key("/etc-30-FULL", 0)
        ]
        .map(|k| f.store.physical_key(&k)),
        "{}: a prefix matches every key that starts with it",
        f.kind
    );
    assert!(
        f.store.list("/nothing-here").unwrap().is_empty(),
        "{}",
        f.kind
    );
}

fn physical_key_equals_listing(f: &Fixture) {
    let written = write_slots(f);
    let mut want: Vec<String> = written
        .iter()
        .map(|(k, _)| f.store.physical_key(k))
        .collect();
    want.sort();
    assert_eq!(keys_of(f.store.list("").unwrap()), want, "{}", f.kind);
}

fn physical_key_is_the_servers_spelling(f: &Fixture) {
    let etc = "/etc-3-FULL:00000000000000000000";
    let socket = "MySQL//run/x.sock/db-4:00000000000000000000";
    let (want_etc, want_socket) = match f.style {
        KeyStyle::Faithful => (etc, socket),
        KeyStyle::StripLeadingSlashes => ("etc-3-FULL:00000000000000000000", socket),
        KeyStyle::StripAndCollapseSlashes => (
            "etc-3-FULL:00000000000000000000",
            "MySQL/run/x.sock/db-4:00000000000000000000",
        ),
    };
    assert_eq!(f.store.physical_key(etc), want_etc, "{}", f.kind);
    assert_eq!(f.store.physical_key(socket), want_socket, "{}", f.kind);
    assert!(
        f.store.list("").unwrap().is_empty(),
        "{}: no probe object left behind",
        f.kind
    );
}

fn listing_reports_size_and_md5_etag(f: &Fixture) {
    for (key, body) in write_slots(f) {
        let physical = f.store.physical_key(&key);
        let listed = f.store.list(&key).unwrap();
        let info = listed
            .iter()
            .find(|o| o.key == physical)
            .unwrap_or_else(|| panic!("{}: {physical} not in {listed:?}", f.kind));
        assert_eq!(info.size, body.len() as u64, "{}: size of {key}", f.kind);
        assert_eq!(
            info.etag.as_deref(),
            Some(md5_hex(&body).as_str()),
            "{}: ETag of {key}",
            f.kind
        );
    }
}

fn missing_key_is_not_found(f: &Fixture) {
    f.store
        .put(&chunk_key("/etc-3-FULL", 0), Bytes::from("x"))
        .unwrap();
    let missing = chunk_key("/etc-3-FULL", 1);
    match f.store.get(&missing) {
        Err(StoreError::NotFound { bucket, key }) => {
            assert_eq!(bucket, f.bucket, "{}", f.kind);
            assert_eq!(key, missing, "{}", f.kind);
        }
        other => panic!("{}: get of a missing key gave {other:?}", f.kind),
    }
}

fn delete_is_idempotent(f: &Fixture) {
    write_slots(f);
    let listed = keys_of(f.store.list(PREFIXES[0]).unwrap());
    assert_eq!(listed.len(), 2, "{}", f.kind);
    f.store.delete(&listed).unwrap();
    assert!(f.store.list(PREFIXES[0]).unwrap().is_empty(), "{}", f.kind);
    f.store.delete(&listed).unwrap();
    f.store.delete(&[]).unwrap();
    f.store
        .delete(&[chunk_key("/never-written-1-FULL", 0)])
        .unwrap();
    assert_eq!(
        f.store.list("").unwrap().len(),
        2 * (PREFIXES.len() - 1),
        "{}: the other slots stay",
        f.kind
    );
}

fn delete_by_logical_keys(f: &Fixture) {
    write_slots(f);
    for prefix in PREFIXES {
        let logical: Vec<String> = (0..2).map(|i| chunk_key(prefix, i)).collect();
        f.store.delete(&logical).unwrap();
        assert!(
            f.store.list(prefix).unwrap().is_empty(),
            "{}: {prefix}",
            f.kind
        );
    }
}

fn delete_of_more_than_1000_keys(f: &Fixture) {
    // 1003 keys: one DeleteObjects request holds at most 1000, so both batches must run.
    let keys: Vec<String> = (0..1003).map(|i| chunk_key("/many-1-FULL", i)).collect();
    let stored = [0, 1, 998, 999, 1000, 1001, 1002];
    for &i in &stored {
        f.store.put(&keys[i], Bytes::from(vec![b'x'; i])).unwrap();
    }
    f.store
        .put(&chunk_key("/kept-1-FULL", 0), Bytes::from("kept"))
        .unwrap();
    assert_eq!(f.store.list("/many").unwrap().len(), stored.len());
    f.store.delete(&keys).unwrap();
    assert_eq!(
        keys_of(f.store.list("").unwrap()),
        [f.store.physical_key(&chunk_key("/kept-1-FULL", 0))],
        "{}",
        f.kind
    );
}

fn errors_name_bucket_and_key(f: &Fixture) {
    let key = chunk_key("/etc-3-FULL", 0);
    let physical = f.broken.physical_key(&key);
    let check = |what: &str, err: StoreError| {
        let text = err.to_string();
        assert!(
            text.contains("s3napback-missing") && text.contains(&physical),
            "{}: {what} error must name bucket and key: {text}",
            f.kind
        );
    };
    check("put", f.broken.put(&key, Bytes::from("x")).unwrap_err());
    check("get", f.broken.get(&key).unwrap_err());
    check("list", f.broken.list(&key).unwrap_err());
}

/// Deleting a key that is not there is fine; deleting in a bucket that is not there is
/// not (a cleanup that "succeeds" against the wrong bucket would hide the mistake).
fn delete_in_a_missing_bucket_is_an_error(f: &Fixture) {
    let key = chunk_key("/etc-3-FULL", 0);
    match f.broken.delete(std::slice::from_ref(&key)) {
        Err(err) => {
            let text = err.to_string();
            assert!(
                text.contains("s3napback-missing") && text.contains(&f.broken.physical_key(&key)),
                "{}: the error must name bucket and key: {text}",
                f.kind
            );
        }
        Ok(()) => panic!("{}: delete in a missing bucket reported success", f.kind),
    }
}

fn keys_with_slashes_colons_and_spaces(f: &Fixture) {
    let keys = [
        "/lead-1-FULL:00000000000000000000",
        "//two-leading-1-FULL:00000000000000000000",
        "MySQL//var/run/my sql.sock/a b-2:00000000000000000000",
        "/with:colons:in-1-FULL:00000000000000000000",
        "/ spaced  name -1-FULL:00000000000000000000",
    ];
    for (i, key) in keys.iter().enumerate() {
        f.store.put(key, Bytes::from(noise(50, i as u32))).unwrap();
    }
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            f.store.get(key).unwrap(),
            noise(50, i as u32),
            "{}: {key:?}",
            f.kind
        );
        assert_eq!(
            keys_of(f.store.list(key).unwrap()),
            [f.store.physical_key(key)],
            "{}: list {key:?}",
            f.kind
        );
    }
    let mut want: Vec<String> = keys.iter().map(|k| f.store.physical_key(k)).collect();
    want.sort();
    assert_eq!(keys_of(f.store.list("").unwrap()), want, "{}", f.kind);
    let all: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    f.store.delete(&all).unwrap();
    assert!(f.store.list("").unwrap().is_empty(), "{}", f.kind);
}

/// One module of tests per store: `suite!(module, fixture expression, case, ...)`.
macro_rules! suite {
    ($store:ident, $fixture:expr, $($case:ident),+ $(,)?) => {
        mod $store {
            use super::*;
            $(
                #[test]
                fn $case() {
                    let fixture: Fixture = $fixture;
                    super::$case(&fixture);
                }
            )+
        }
    };
}

/// Every case against every store.
macro_rules! all_stores {
    ($($case:ident),+ $(,)?) => {
        suite!(memory, Fixture::memory(KeyStyle::Faithful, "memory"), $($case),+);
        suite!(
            memory_garage_style,
            Fixture::memory(KeyStyle::StripLeadingSlashes, "memory (Garage style)"),
            $($case),+
        );
        suite!(
            memory_collapsing,
            Fixture::memory(KeyStyle::StripAndCollapseSlashes, "memory (collapsing //)"),
            $($case),+
        );
        suite!(moto, Fixture::server(moto(), KeyStyle::Faithful), $($case),+);
        // Garage 2.x strips leading `/` but keeps inner `//`
        suite!(garage, Fixture::server(garage(), KeyStyle::StripLeadingSlashes), $($case),+);
    };
}

all_stores!(
    bucket_is_the_configured_one,
    put_get_round_trip,
    get_by_the_physical_key,
    overwrite_replaces_the_object,
    list_by_logical_prefix,
    physical_key_equals_listing,
    physical_key_is_the_servers_spelling,
    listing_reports_size_and_md5_etag,
    missing_key_is_not_found,
    delete_is_idempotent,
    delete_by_logical_keys,
    delete_of_more_than_1000_keys,
    errors_name_bucket_and_key,
    delete_in_a_missing_bucket_is_an_error,
    keys_with_slashes_colons_and_spaces,
);
