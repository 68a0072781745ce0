//! Issue 27, runs that must end: a server that takes a request and never answers, or
//! stops reading a body half-way, costs one attempt of `S3Timeout` (then the attempt is
//! retried, logged), not the whole chunk's attempt timeout; `RunTimeout` stops a run
//! the way SIGTERM does, whatever the server does; `status` names a run that holds the
//! DiffDir lock past it. Real tar, gzip, moto and Garage behind the fault proxy.
//!
//! Every run is a child process waited for with a generous cap ([`CAP`]): a run that
//! hangs fails the test instead of hanging it.

use std::fs;
use std::io::Read;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use s3napback::store::s3::S3Store;

use crate::backup::harness::{Run, Site, bucket, chunks, make_tree, noise, prefixes};
use crate::support::clock::DAY_1;
use crate::support::proxy::{Fault, FaultProxy, Gate, Rule};
use crate::support::s3::{S3Server, garage, moto};

/// How long a run may take before the test calls it hung (the runs here take seconds;
/// the timeouts the fix replaced were minutes to hours).
const CAP: Duration = Duration::from_secs(150);

/// Above the 32 MiB multipart threshold: parts of 16 MiB, 16 MiB and 2.3 MiB.
const BIG_CHUNK: u64 = 36_000_000;

/// A Directory item with a tree of `noise_bytes` incompressible bytes, backed up through
/// a fault proxy with `ChunkSize chunk_size` and `settings`.
struct Bench {
    server: S3Server,
    store: S3Store,
    proxy: FaultProxy,
    site: Site,
    src: PathBuf,
    conf: PathBuf,
}

impl Bench {
    fn new(server: S3Server, chunk_size: u64, noise_bytes: usize, settings: &str) -> Bench {
        let store = server.store();
        let proxy = FaultProxy::start(&server.endpoint);
        let site = Site::new();
        let src = site.path("src/tree");
        make_tree(&src);
        if noise_bytes > 0 {
            fs::write(src.join("big.bin"), noise(noise_bytes, 27)).unwrap();
        }
        let body = format!("{settings}Directory {}\n", src.display());
        let conf = site.config_via(&server, &proxy.endpoint, chunk_size, false, &body);
        Bench {
            server,
            store,
            proxy,
            site,
            src,
            conf,
        }
    }

    /// Runs the tool with ARGS and `-c CONF` at `now`, waiting at most [`CAP`].
    fn run_at(&self, args: &[&str], now: &str) -> Run {
        let mut all = args.to_vec();
        all.extend(["-c", self.conf.to_str().unwrap()]);
        let mut child = self
            .site
            .command(&all, now)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start s3napback");
        let mut pipes = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let out = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipes.0.read_to_string(&mut text);
            let _ = pipes.1.read_to_string(&mut text);
            text
        });
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > CAP {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the run did not end within {CAP:?}:\n{}",
                    out.join().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        Run {
            status: status.code().unwrap_or(-1),
            log: out.join().unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_at(args, DAY_1)
    }

    /// The item's snapshot file in DiffDir.
    fn snapshot(&self) -> PathBuf {
        self.site.diff_dir().join(format!(
            "{}.diff",
            self.src.display().to_string().replace('/', "_")
        ))
    }

    fn slot(&self) -> String {
        let p = prefixes(&self.store);
        assert_eq!(p.len(), 1, "{p:?}");
        p[0].clone()
    }
}

/// The final chunk's short last part is taken and never answered: the attempt ends
/// after S3Timeout, is retried, and the run stores the slot. Before issue 27 the attempt
/// waited `S3Timeout + ChunkSize / 128 KiB/s` (276 s here; 2.1 hours for the reported
/// ChunkSize of 1 GB) with nothing moving.
fn final_short_part_never_answered(server: S3Server) {
    // chunk 0: 36 MB in three parts; chunk 1 (the final one): 16 MiB + a short part
    let bench = Bench::new(
        server,
        BIG_CHUNK,
        BIG_CHUNK as usize + 20_000_000,
        "S3Retries 1\nS3Timeout 2\n",
    );
    bench
        .proxy
        .add(Rule::part(1, 2, Fault::NeverAnswer).times(1));
    let run = bench.run(&[]);
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect("UploadPart")
        .expect("attempt 1 of 2 failed: the attempt timed out: nothing sent or received for 2")
        .expect("succeeded after 1 retry");
    assert_eq!(bench.proxy.faults(), 1, "{:?}", bench.proxy.seen());
    let layout = chunks(&bench.store, &bench.slot());
    assert_eq!(layout.len(), 2, "{layout:?}");
    assert_eq!(layout[0], (0, BIG_CHUNK));
    assert!(layout[1].1 > 16 << 20, "{layout:?}");
}

#[test]
fn the_final_short_part_never_answered_is_retried_after_s3timeout_on_moto() {
    final_short_part_never_answered(moto());
}

#[test]
fn the_final_short_part_never_answered_is_retried_after_s3timeout_on_garage() {
    final_short_part_never_answered(garage());
}

/// A whole-chunk PUT (30 MB, more than the socket buffers hold) whose body the server
/// stops reading after 1 MB: the upload stalls, the attempt ends after S3Timeout and
/// the retry stores the slot.
#[test]
fn a_put_body_the_server_stops_reading_is_retried_after_s3timeout() {
    let bench = Bench::new(moto(), 30_000_000, 40_000_000, "S3Retries 1\nS3Timeout 2\n");
    bench
        .proxy
        .add(Rule::chunk("PUT", 0, Fault::StopReadingAfter(1_000_000)).times(1));
    let run = bench.run(&[]);
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect("PutObject")
        .expect("attempt 1 of 2 failed: the attempt timed out: nothing sent or received for 2")
        .expect("succeeded after 1 retry");
    let layout = chunks(&bench.store, &bench.slot());
    assert_eq!(layout[0], (0, 30_000_000), "{layout:?}");
}

/// Every upload of the night is taken and never answered: each attempt ends after
/// S3Timeout, the retries give up, and the item fails cleanly: exit 1, the older slot
/// and the snapshot file as they were, nothing staged left.
#[test]
fn uploads_never_answered_fail_the_item_cleanly_in_bounded_time() {
    let bench = Bench::new(moto(), 1000, 0, "S3Retries 1\nS3Timeout 1\n");
    let first = bench.run(&[]);
    assert_eq!(first.status, 0, "{}", first.log);
    let before = bucket(&bench.store);
    let snapshot = fs::read(bench.snapshot()).unwrap();

    bench.proxy.add(Rule::chunks("PUT", Fault::NeverAnswer));
    let failed = bench.run(&["-f"]);
    assert_eq!(failed.status, 1, "{}", failed.log);
    failed
        .expect(&format!(
            "ERROR Backup of Directory {}",
            bench.src.display()
        ))
        .expect("the attempt timed out: nothing sent or received for 1")
        .expect("giving up after 2 attempts");
    assert_eq!(fs::read(bench.snapshot()).unwrap(), snapshot);
    assert!(bucket(&bench.store) == before, "the older slot changed");
}

/// `RunTimeout 0.003` (about a second) on a server that takes every upload and never
/// answers, with an S3Timeout of 10 minutes: the run stops as SIGTERM stops it (exit
/// 1, an ERROR naming the item and the timeout, nothing committed, the snapshot file as
/// it was), and releases the lock: the next run (LockWait 0) takes it and stores the slot.
#[test]
fn run_timeout_ends_a_run_the_server_never_answers() {
    let bench = Bench::new(
        moto(),
        1000,
        0,
        "S3Timeout 600\nRunTimeout 0.003\nLockWait 0\n",
    );
    let snapshot = bench.snapshot();
    let before = fs::read(&snapshot).ok();
    bench.proxy.add(Rule::chunks("PUT", Fault::NeverAnswer));
    let stopped = bench.run(&[]);
    assert_eq!(stopped.status, 1, "{}", stopped.log);
    stopped
        .expect(&format!(
            "ERROR Backup of Directory {}",
            bench.src.display()
        ))
        .expect("the run took longer than RunTimeout (0.003 hours)")
        .expect("the DiffDir state file was left as it was");
    assert!(bench.proxy.faults() >= 1, "{:?}", bench.proxy.seen());
    assert_eq!(fs::read(&snapshot).ok(), before, "snapshot file unchanged");
    assert!(
        prefixes(&bench.store).is_empty(),
        "{:?}",
        bucket(&bench.store)
    );

    bench.proxy.clear();
    // the lock was released (LockWait 0: a held lock fails at once)
    let next = bench.run(&[]);
    assert_eq!(next.status, 0, "{}", next.log);
    assert!(chunks(&bench.store, &bench.slot()).len() > 1);
    drop(bench.server);
}

/// A run that still holds the DiffDir lock past RunTimeout (here: held at the proxy,
/// its clock two hours on for `status`) is reported by `status`, which exits 1.
#[test]
fn status_names_a_run_holding_the_lock_past_run_timeout() {
    let bench = Bench::new(moto(), 1000, 0, "S3Timeout 600\nRunTimeout 1\n");
    let gate = Gate::default();
    bench
        .proxy
        .add(Rule::chunks("PUT", Fault::Hold(gate.clone())));
    let conf = bench.conf.to_str().unwrap().to_owned();
    let mut held = bench
        .site
        .command(&["-c", &conf], DAY_1)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start s3napback");
    let started = Instant::now();
    while gate.waiting() == 0 {
        assert!(started.elapsed() < CAP, "no upload reached the proxy");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = bench.run_at(&["status"], "2026-11-12 05:30:00");
    let early = bench.run_at(&["status"], "2026-11-12 03:30:00");
    gate.open();
    let _ = held.kill();
    let _ = held.wait();
    assert_eq!(status.status, 1, "{}", status.log);
    status.expect(&format!(
        "RUN TOO LONG: a backup run (pid {}) has held the lock of DiffDir {} since 2026-11-12 03:00:00, longer than RunTimeout (1 hour)",
        held.id(),
        bench.site.diff_dir().display()
    ));
    assert!(!early.log.contains("RUN TOO LONG"), "{}", early.log);
}
