//! Bad nights on the S3 link, made by a fault-injecting proxy (`support::proxy`) between
//! the tool and moto: transient errors are retried (each retry in the log), persistent
//! ones fail the item without losing what the bucket held, a slow server still
//! completes, a GET body cut mid-transfer is fetched again, and a body longer than
//! listed is refused.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use s3napback::store::s3::S3Store;

use crate::backup::harness::{Run, Site, bucket, chunks, make_tree, prefixes, restored, tree};
use crate::support::clock::DAY_1;
use crate::support::proxy::{Fault, FaultProxy, Rule};
use crate::support::s3::{S3Server, moto};

/// A directory item backed up through a proxy in front of moto.
struct Bench {
    server: S3Server,
    /// Straight to moto, for checking what the bucket holds.
    store: S3Store,
    proxy: FaultProxy,
    site: Site,
    src: PathBuf,
    conf: PathBuf,
}

impl Bench {
    /// ChunkSize 1000 (about 21 chunks for the tree), no encryption, the tool talking
    /// to the proxy with `extra` settings appended.
    fn new(extra: &str) -> Bench {
        let server = moto();
        let store = server.store();
        let proxy = FaultProxy::start(&server.endpoint);
        let site = Site::new();
        let src = site.path("src/tree");
        make_tree(&src);
        let body = format!("Directory {}\n{extra}", src.display());
        let conf = site.config_via(&server, &proxy.endpoint, 1000, false, &body);
        Bench {
            server,
            store,
            proxy,
            site,
            src,
            conf,
        }
    }

    /// Runs the tool with ARGS and `-c CONF` on [`DAY_1`], a FULL day: every backup run
    /// of a test stores the whole tree, however many there are.
    fn run(&self, args: &[&str]) -> Run {
        let mut all = args.to_vec();
        all.extend(["-c", self.conf.to_str().unwrap()]);
        self.site.run(&all, DAY_1)
    }

    /// Restores the item's newest state into a fresh directory; returns the run and the
    /// restored tree.
    fn restore(&self, name: &str) -> (Run, BTreeMap<String, Vec<u8>>) {
        let out = self.site.path(name);
        let src = self.src.display().to_string();
        let run = self.run(&["restore", "--into", out.to_str().unwrap(), &src]);
        let dir = restored(&out, &self.src);
        let got = if dir.is_dir() {
            tree(&dir)
        } else {
            BTreeMap::new()
        };
        (run, got)
    }

    /// The item's snapshot file in DiffDir.
    fn snapshot(&self) -> PathBuf {
        self.site.diff_dir().join(format!(
            "{}.diff",
            self.src.display().to_string().replace('/', "_")
        ))
    }
}

/// The one slot in the bucket and its chunk count.
fn only_slot(store: &S3Store) -> (String, usize) {
    let p = prefixes(store);
    assert_eq!(p.len(), 1, "{p:?}");
    let n = chunks(store, &p[0]).len();
    (p[0].clone(), n)
}

/// `bucket:KEY` of chunk `index` as this run staged it for slot `prefix`: chunks are
/// uploaded under the slot's staging prefix (`.s3napback/staging/PREFIX/RUN-ID`, the run
/// id read from the log), then copied into the slot.
fn staged_chunk(run: &Run, prefix: &str, index: u64) -> String {
    let staged = format!(
        "s3napback-test:{}",
        s3napback::store::keys::staging_dir(prefix)
    );
    let run_id = run
        .log
        .split(&staged)
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("no staged chunk in the log:\n{}", run.log));
    format!("{staged}{run_id}:{index:020}")
}

#[test]
fn transient_5xx_is_retried_to_success_and_logged() {
    let bench = Bench::new("S3Retries 3\n");
    // Chunk 2 gets 503 SlowDown twice, chunk 4 a 500 once.
    bench
        .proxy
        .add(Rule::chunk("PUT", 2, Fault::Status(503, "SlowDown")).times(2));
    bench
        .proxy
        .add(Rule::chunk("PUT", 4, Fault::Status(500, "InternalError")).times(1));
    let run = bench.run(&[]);
    assert_eq!(run.status, 0, "{}", run.log);
    assert_eq!(bench.proxy.faults(), 3);
    let (prefix, n) = only_slot(&bench.store);
    assert!(n > 4, "{n} chunks");
    let chunk2 = staged_chunk(&run, &prefix, 2);
    run.expect(&format!(
        "Backup.S3napback.S3 WARN PutObject {chunk2}: attempt 1 of 4 failed: SlowDown: injected by the test proxy (HTTP 503)"
    ))
    .expect("; retrying in ")
    .expect(&format!("WARN PutObject {chunk2}: attempt 2 of 4 failed"))
    .expect(&format!(
        "Backup.S3napback.S3 INFO PutObject {chunk2} succeeded after 2 retries"
    ))
    .expect("InternalError: injected by the test proxy (HTTP 500)")
    .expect("succeeded after 1 retry");
    let chunk_list = chunks(&bench.store, &prefix);
    assert!(
        chunk_list.iter().enumerate().all(|(i, c)| c.0 == i as u64),
        "{chunk_list:?}"
    );
    let (restore, got) = bench.restore("out");
    assert_eq!(restore.status, 0, "{}", restore.log);
    assert_eq!(got, tree(&bench.src));
}

/// A night on which every chunk PUT after the first gets `fault`: the item fails and
/// loses nothing; the next night (the fault gone) stores the slot.
fn failing_night(fault: Fault, names: &str) {
    let bench = Bench::new("S3Retries 2\n");
    let first = bench.run(&[]);
    assert_eq!(first.status, 0, "{}", first.log);
    let (prefix, _) = only_slot(&bench.store);
    let before = bucket(&bench.store);
    let snapshot = fs::read(bench.snapshot()).unwrap();
    fs::write(bench.src.join("new.txt"), "written after the first run\n").unwrap();

    bench.proxy.add(Rule::chunks("PUT", fault.clone()).after(1));
    let failed = bench.run(&["-f"]);
    assert_eq!(failed.status, 1, "{}", failed.log);
    failed
        .expect(&format!(
            "Backup.S3napback.Directory ERROR Backup of Directory {}",
            bench.src.display()
        ))
        .expect(names)
        .expect("attempt 1 of 3 failed")
        .expect("giving up after 3 attempts")
        // failed while staging: before the commit marker, so nothing is left to finish
        .expect("the objects it had stored were deleted and");
    assert!(bench.proxy.faults() >= 3, "{:?}", bench.proxy.seen());
    assert_eq!(
        fs::read(bench.snapshot()).unwrap(),
        snapshot,
        "snapshot file unchanged"
    );
    // The older slot under that name byte for byte, and no partial objects (this needs
    // the staged slot rewrite of issue 7).
    let after = bucket(&bench.store);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "exactly the objects of the older slot {prefix}"
    );
    assert!(after == before, "the older slot {prefix} changed");

    bench.proxy.clear();
    let rerun = bench.run(&["-f"]);
    assert_eq!(rerun.status, 0, "{}", rerun.log);
    let (restore, got) = bench.restore("out");
    assert_eq!(restore.status, 0, "{}", restore.log);
    assert_eq!(got, tree(&bench.src));
    drop(bench.server);
}

#[test]
fn persistent_5xx_mid_slot_fails_the_item_and_keeps_the_older_slot() {
    failing_night(
        Fault::Status(503, "ServiceUnavailable"),
        "ServiceUnavailable: injected by the test proxy (HTTP 503)",
    );
}

#[test]
fn dropped_connections_mid_slot_fail_the_item_and_keep_the_older_slot() {
    failing_night(Fault::DropRequestAfter(300), "the connection failed");
}

#[test]
fn a_slow_server_still_completes() {
    let bench = Bench::new("S3Timeout 20\n");
    bench.proxy.delay(Duration::from_millis(400));
    let run = bench.run(&[]);
    assert_eq!(run.status, 0, "{}", run.log);
    assert!(!run.log.contains("WARN"), "{}", run.log);
    let (_, n) = only_slot(&bench.store);
    assert!(n > 10);
    let (restore, got) = bench.restore("out");
    assert_eq!(restore.status, 0, "{}", restore.log);
    assert_eq!(got, tree(&bench.src));
}

#[test]
fn a_timed_out_put_and_a_stalled_get_are_retried() {
    // S3Timeout 3 with ChunkSize 1000: one attempt may take 3 s, a body may stall 3 s
    // (wide enough that an answer of the loaded server in a busy CI run stays within it;
    // the faults last 10 s).
    let bench = Bench::new("S3Timeout 3\n");
    bench
        .proxy
        .add(Rule::chunk("PUT", 2, Fault::Delay(Duration::from_secs(10))).times(1));
    let run = bench.run(&[]);
    assert_eq!(run.status, 0, "{}", run.log);
    let (prefix, _) = only_slot(&bench.store);
    let staged2 = staged_chunk(&run, &prefix, 2);
    run.expect(&format!(
        "WARN PutObject {staged2}: attempt 1 of 7 failed: the attempt timed out"
    ))
    .expect(&format!("INFO PutObject {staged2} succeeded after 1 retry"));
    let chunk2 = format!("s3napback-test:{prefix}:{:020}", 2);
    bench
        .proxy
        .add(Rule::chunk("GET", 2, Fault::StallBody(100, Duration::from_secs(10))).times(1));
    let (restore, got) = bench.restore("out");
    assert_eq!(restore.status, 0, "{}", restore.log);
    assert_eq!(got, tree(&bench.src));
    restore
        .expect(&format!(
            "WARN GetObject {chunk2}: attempt 1 of 7 failed: the body stalled for 3s after 100 bytes"
        ))
        .expect(&format!("INFO GetObject {chunk2} succeeded after 1 retry"));
}

#[test]
fn a_get_body_cut_or_corrupted_mid_transfer_is_fetched_again_and_the_restore_is_exact() {
    let bench = Bench::new("");
    assert_eq!(bench.run(&[]).status, 0);
    let (prefix, _) = only_slot(&bench.store);
    bench
        .proxy
        .add(Rule::chunk("GET", 1, Fault::DropResponseAfter(300)).times(1));
    bench
        .proxy
        .add(Rule::chunk("GET", 3, Fault::CorruptResponse).times(1));
    let (restore, got) = bench.restore("out");
    assert_eq!(restore.status, 0, "{}", restore.log);
    assert_eq!(got, tree(&bench.src));
    assert_eq!(bench.proxy.faults(), 2);
    let chunk1 = format!("s3napback-test:{prefix}:{:020}", 1);
    let chunk3 = format!("s3napback-test:{prefix}:{:020}", 3);
    restore
        .expect(&format!(
            "WARN GetObject {chunk1}: attempt 1 of 7 failed: the body broke after 300 bytes"
        ))
        .expect(&format!("INFO GetObject {chunk1} succeeded after 1 retry"))
        .expect(&format!(
            "WARN GetObject {chunk3}: attempt 1 of 7 failed: ETag "
        ))
        .expect("does not match the MD5")
        .expect(&format!("INFO GetObject {chunk3} succeeded after 1 retry"));
}

#[test]
fn a_body_longer_than_listed_is_refused() {
    let bench = Bench::new("");
    assert_eq!(bench.run(&[]).status, 0);
    let (prefix, _) = only_slot(&bench.store);
    bench
        .proxy
        .add(Rule::chunk("GET", 0, Fault::InflateResponse(1 << 20)));
    let (restore, got) = bench.restore("out");
    assert_ne!(restore.status, 0, "{}", restore.log);
    assert!(got.is_empty(), "nothing restored");
    restore.expect(&format!(
        "GetObject s3napback-test:{prefix}:{:020}: the server sent more than the 1000 bytes the listing gives; refused",
        0
    ));
    // refused at once: a hostile answer is not asked for again
    let gets = bench
        .proxy
        .seen()
        .iter()
        .filter(|s| s.method == "GET" && s.path.contains(&format!("{:020}", 0)))
        .count();
    assert_eq!(gets, 1, "{:?}", bench.proxy.seen());
    assert!(!restore.log.contains("attempt 1 of"), "{}", restore.log);
}
