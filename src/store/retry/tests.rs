use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use super::*;

/// A store whose calls fail with the queued errors first, then succeed.
struct Flaky {
    failures: Mutex<Vec<StoreError>>,
    calls: AtomicU32,
}

impl Flaky {
    fn new(mut failures: Vec<StoreError>) -> Flaky {
        failures.reverse();
        Flaky {
            failures: Mutex::new(failures),
            calls: AtomicU32::new(0),
        }
    }

    fn next(&self) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match self.failures.lock().unwrap().pop() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl ReadStore for Flaky {
    fn bucket(&self) -> &str {
        "b"
    }
    fn list(&self, _: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        self.next().map(|_| Vec::new())
    }
    fn get(&self, _: &str) -> Result<Bytes, StoreError> {
        self.next().map(|_| Bytes::from_static(b"data"))
    }
    fn physical_key(&self, logical: &str) -> String {
        logical.into()
    }
    fn tag_of(&self, _: &str) -> Result<Option<String>, StoreError> {
        self.next().map(|_| None)
    }
}

impl Store for Flaky {
    fn put(&self, _: &str, _: Bytes) -> Result<(), StoreError> {
        self.next()
    }
    fn copy(&self, _: &str, _: &str, _: Option<&Retention>) -> Result<Option<String>, StoreError> {
        self.next().map(|_| None)
    }
    fn delete(&self, _: &[String]) -> Result<(), StoreError> {
        self.next()
    }
    fn ensure_bucket(&self) -> Result<(), StoreError> {
        self.next()
    }
    fn key_style(&self) -> Result<KeyStyle, StoreError> {
        self.next().map(|_| KeyStyle::Faithful)
    }
}

fn answer(status: u16, code: &str) -> StoreError {
    StoreError::Request {
        op: "PutObject",
        bucket: "b".into(),
        key: "/k:0".into(),
        summary: format!("{code} (HTTP {status})"),
        code: Some(code.into()),
        permanent: crate::store::is_permanent_answer(Some(status), Some(code)),
        source: None,
    }
}

fn broken_body() -> StoreError {
    StoreError::BodySize {
        bucket: "b".into(),
        key: "/k:0".into(),
        expected: 4,
        received: 2,
    }
}

fn fast(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        initial_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
        max_elapsed: Duration::from_secs(60),
    }
}

#[test]
fn transient_errors_are_retried_to_success() {
    let store = RetryStore::new(
        Flaky::new(vec![
            answer(503, "SlowDown"),
            answer(500, "InternalError"),
            broken_body(),
        ]),
        fast(3),
    );
    assert_eq!(store.get("/k:0").unwrap(), Bytes::from_static(b"data"));
    assert_eq!(store.inner().calls.load(Ordering::SeqCst), 4);
}

#[test]
fn permanent_errors_are_not_retried() {
    for code in [
        "AccessDenied",
        "NoSuchBucket",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
    ] {
        let store = RetryStore::new(Flaky::new(vec![answer(403, code)]), fast(5));
        let err = store.put("/k:0", Bytes::new()).unwrap_err();
        assert_eq!(err.code(), Some(code));
        assert_eq!(store.inner().calls.load(Ordering::SeqCst), 1, "{code}");
    }
    let missing = StoreError::NotFound {
        bucket: "b".into(),
        key: "/k:0".into(),
    };
    let store = RetryStore::new(Flaky::new(vec![missing]), fast(5));
    assert!(matches!(
        store.get("/k:0"),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.inner().calls.load(Ordering::SeqCst), 1);
}

#[test]
fn retries_are_bounded_in_number_and_time() {
    let store = RetryStore::new(
        Flaky::new((0..10).map(|_| answer(503, "SlowDown")).collect()),
        fast(2),
    );
    let err = store.list("").unwrap_err();
    assert_eq!(err.code(), Some("SlowDown"));
    assert_eq!(store.inner().calls.load(Ordering::SeqCst), 3);

    let no_time = RetryPolicy {
        max_elapsed: Duration::ZERO,
        ..fast(5)
    };
    let store = RetryStore::new(Flaky::new(vec![answer(503, "SlowDown")]), no_time);
    assert!(store.delete(&["/k:0".into()]).is_err());
    assert_eq!(store.inner().calls.load(Ordering::SeqCst), 1);

    let disabled = RetryStore::new(Flaky::new(vec![answer(503, "SlowDown")]), fast(0));
    assert!(disabled.put("/k:0", Bytes::new()).is_err());
    assert_eq!(disabled.inner().calls.load(Ordering::SeqCst), 1);
}

#[test]
fn backoff_doubles_up_to_the_cap_with_jitter_below_it() {
    let p = RetryPolicy::default();
    let secs: Vec<u64> = (1..=8).map(|r| p.backoff(r).as_secs()).collect();
    assert_eq!(secs, vec![1, 2, 4, 8, 16, 32, 60, 60]);
    assert_eq!(p.backoff(200), p.max_delay, "no overflow");
    assert_eq!(p.delay(3, 0.0), Duration::from_secs(4));
    assert_eq!(p.delay(3, 1.0), Duration::from_secs(2));
    for _ in 0..100 {
        let r = random_unit();
        assert!((0.0..1.0).contains(&r));
        let d = p.delay(4, r);
        assert!(
            d >= Duration::from_secs(4) && d <= Duration::from_secs(8),
            "{d:?}"
        );
    }
    assert!(p.allows(6, Duration::from_secs(100), Duration::from_secs(60)));
    assert!(!p.allows(7, Duration::ZERO, Duration::ZERO));
    assert!(!p.allows(1, Duration::from_secs(899), Duration::from_secs(2)));
}
