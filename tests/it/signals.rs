//! A backup interrupted by SIGTERM/SIGINT or killed by SIGKILL, two runs on one DiffDir,
//! and the UseTempFile buffer (issue 7), with the real binary, real tar and gpg, and moto.
//!
//! Interrupting "mid-upload" is made deterministic by a slow link: a TCP proxy in front of
//! the S3 server passing the tool's bytes at a fixed rate. The test waits until the first
//! chunk of the slot is in the bucket (the pipeline is running and the upload under way,
//! with seconds of it left), then signals.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use s3napback::store::ReadStore;
use s3napback::store::s3::S3Store;

use crate::backup::harness::{Site, bucket, chunks, make_tree, noise, prefixes, restored, tree};
use crate::support::proxy::{Fault, FaultProxy, Gate, Rule};
use crate::support::s3::{S3Server, moto};

/// Chunk size of these tests: the slow link stores one in about a quarter second.
const CHUNK: u64 = 128 * 1024;
/// Bytes per second the slow link passes from the tool to the server.
const RATE: usize = 512 * 1024;
/// 2026-11-12 is a FULL day (slot 7) of this cycle, 2026-11-13 a DIFF day (slot 8).
const FULL_DAY: &str = "2026-11-12 03:00:00";
const DIFF_DAY: &str = "2026-11-13 03:00:00";

/// A TCP proxy that passes the client's bytes to `upstream` at [`RATE`] bytes per second
/// over all connections together, and the server's answers at full speed.
struct SlowLink {
    endpoint: String,
}

impl SlowLink {
    fn to(server: &S3Server) -> SlowLink {
        let upstream = server.endpoint.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let turn = Arc::new(Mutex::new(()));
        // The thread ends with the test binary; a test's link is simply no longer used.
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let turn = turn.clone();
                let (mut from_client, mut to_client) = (client.try_clone().unwrap(), client);
                let (mut to_server, mut from_server) = (server.try_clone().unwrap(), server);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from_server, &mut to_client);
                    let _ = to_client.shutdown(std::net::Shutdown::Both);
                });
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 16 * 1024];
                    while let Ok(n @ 1..) = from_client.read(&mut buf) {
                        {
                            let _turn = turn.lock().unwrap();
                            std::thread::sleep(Duration::from_secs_f64(n as f64 / RATE as f64));
                        }
                        if to_server.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to_server.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        SlowLink { endpoint }
    }
}

/// A copy of `conf` at `name` that reaches the server through `link`.
fn through(conf: &Path, server: &S3Server, link: &SlowLink, name: &str) -> PathBuf {
    let text = fs::read_to_string(conf).unwrap();
    let slow = conf.with_file_name(name);
    fs::write(&slow, text.replace(&server.endpoint, &link.endpoint)).unwrap();
    slow
}

/// moto, a slow link to it, a site with a tree `src/tree` and its config: `conf` reaches
/// moto directly, `slow` the same through the link.
struct Scene {
    server: S3Server,
    store: S3Store,
    site: Site,
    src: PathBuf,
    conf: PathBuf,
    slow: PathBuf,
}

impl Scene {
    /// The cycle of [`cycle`] with `extra` settings.
    fn new(extra: &str) -> Scene {
        let server = moto();
        let store = server.store();
        let link = SlowLink::to(&server);
        let site = Site::new();
        let src = site.path("src/tree");
        make_tree(&src);
        let conf = site.config(&server, CHUNK, true, &cycle(&src, extra));
        let slow = through(&conf, &server, &link, "slow.conf");
        Scene {
            server,
            store,
            site,
            src,
            conf,
            slow,
        }
    }

    /// Adds a file of `len` incompressible bytes to the tree.
    fn grow(&self, name: &str, len: usize, seed: u32) {
        fs::write(self.src.join(name), noise(len, seed)).unwrap();
    }

    /// The prefix of the tree's slot `slot`, e.g. `7-FULL`.
    fn prefix(&self, slot: &str) -> String {
        format!("{}-{slot}", self.src.display())
    }

    fn conf(&self) -> &str {
        self.conf.to_str().unwrap()
    }
}

fn cycle(src: &Path, extra: &str) -> String {
    format!(
        "<Cycle daily>\n\tFrequency 1\n\tDiffs 6\n\tFulls 2\n{extra}\tDirectory {}\n</Cycle>\n",
        src.display()
    )
}

/// `DIFFDIR/NAME.diff` of a directory item.
fn snapshot_of(site: &Site, src: &Path) -> PathBuf {
    site.diff_dir().join(format!(
        "{}.diff",
        src.display().to_string().replace('/', "_")
    ))
}

/// A run of the tool started in the background, its output going to a file.
struct Started {
    child: Child,
    log: PathBuf,
}

impl Started {
    fn new(site: &Site, conf: &Path, now: &str, log_name: &str) -> Started {
        let log = site.path(log_name);
        let out = File::create(&log).unwrap();
        let child = site
            .command(&["-c", conf.to_str().unwrap()], now)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start s3napback");
        Started { child, log }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child.
        assert_eq!(unsafe { libc::kill(self.pid(), signal) }, 0);
    }

    /// Waits until `ready` holds, panicking with the log when the run ends first or a
    /// minute passes.
    fn wait_until(&mut self, what: &str, mut ready: impl FnMut(&Started) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ready(self) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the run ended ({status}) before {what}:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "no {what} within a minute:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the run to end (at most two minutes).
    fn finish(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the run did not end within two minutes:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A process seen in /proc: pid, parent pid, process group, command name.
#[derive(Debug, Clone)]
struct Proc {
    pid: i32,
    ppid: i32,
    pgrp: i32,
    comm: String,
}

/// `/proc/PID/stat`, unless the process is gone or a zombie (dead, not yet reaped).
fn living(pid: i32) -> Option<Proc> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_string();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.first() == Some(&"Z") || fields.first() == Some(&"X") {
        return None;
    }
    Some(Proc {
        pid,
        ppid: fields.get(1)?.parse().ok()?,
        pgrp: fields.get(2)?.parse().ok()?,
        comm,
    })
}

/// Every living descendant of `root`.
fn descendants(root: i32) -> Vec<Proc> {
    let all: Vec<Proc> = fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter_map(living)
        .collect();
    let mut found: Vec<Proc> = Vec::new();
    let mut parents = vec![root];
    while let Some(parent) = parents.pop() {
        for p in all.iter().filter(|p| p.ppid == parent) {
            parents.push(p.pid);
            found.push(p.clone());
        }
    }
    found
}

/// Panics unless every process of `procs` has died within ten seconds.
fn assert_all_die(procs: &[Proc]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alive: Vec<Proc> = procs.iter().filter_map(|p| living(p.pid)).collect();
        if alive.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still running after the tool ended: {alive:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The stages of the running pipeline (tar and gpg at least), in a process group of their
/// own, not the tool's.
fn pipeline_of(run: &Started) -> Vec<Proc> {
    let procs = descendants(run.pid());
    for name in ["tar", "gpg"] {
        let stage = procs
            .iter()
            .find(|p| p.comm == name && p.ppid == run.pid())
            .unwrap_or_else(|| panic!("no {name} child of the tool: {procs:?}"));
        assert_ne!(stage.pgrp, run.pid(), "{name} is in the tool's group");
    }
    procs
}

/// The files in `dir`.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect()
}

/// A FULL (fast), then a big DIFF through the slow link, interrupted by `signal` once its
/// first chunk is stored; then everything the brief promises, and a rerun that restores.
fn interrupted_mid_upload(signal: i32, status: i32, name: &str) {
    let scene = Scene::new("");
    let (site, store, src) = (&scene.site, &scene.store, &scene.src);
    let full = site.run(&["-c", scene.conf()], FULL_DAY);
    assert_eq!(full.status, 0, "{}", full.log);
    let full_prefix = scene.prefix("7-FULL");
    let full_chunks = chunks(store, &full_prefix);
    let snapshot = snapshot_of(site, src);
    let snapshot_before = fs::read(&snapshot).unwrap();

    scene.grow("big.bin", 4 << 20, 7);
    let diff_prefix = scene.prefix("8-DIFF");
    let mut run = Started::new(site, &scene.slow, DIFF_DAY, "interrupted.log");
    run.wait_until("the first chunk", |_| stored(store, &diff_prefix));
    let stages = pipeline_of(&run);
    run.signal(signal);
    let exit = run.finish();
    let log = run.log();

    assert_eq!(exit.code(), Some(status), "{log}");
    assert!(
        log.contains(&format!(
            "Backup.S3napback.Directory ERROR Backup of Directory {}",
            src.display()
        )) && log.contains(&format!("interrupted by {name}")),
        "{log}"
    );
    // The handler stopped the pipeline's process group (the error names the stage it
    // killed, or the next PUT, which no longer starts), and every stage is gone.
    assert!(
        log.contains("killed by signal 15")
            || log.contains(&format!("not started: interrupted by {name}")),
        "{log}"
    );
    assert_all_die(&stages);
    assert!(!stored(store, &diff_prefix), "partial slot left");
    assert_eq!(chunks(store, &full_prefix), full_chunks);
    assert_eq!(fs::read(&snapshot).unwrap(), snapshot_before);
    assert!(files_in(&site.path("tmp")).is_empty());
    // The lock was released: a rerun starts at once (it would wait otherwise).
    let rerun = site.run(&["-c", scene.conf()], DIFF_DAY);
    assert_eq!(rerun.status, 0, "{}", rerun.log);
    assert!(!rerun.log.contains("waiting up to"), "{}", rerun.log);
    assert!(stored(store, &diff_prefix));
    let out = site.path("out");
    let restore = site.run(
        &[
            "restore",
            "-c",
            scene.conf(),
            "--into",
            out.to_str().unwrap(),
            &src.display().to_string(),
        ],
        DIFF_DAY,
    );
    assert_eq!(restore.status, 0, "{}", restore.log);
    assert_eq!(tree(&restored(&out, src)), tree(src));
}

#[test]
fn sigterm_mid_upload_deletes_the_partial_slot_and_exits_143() {
    interrupted_mid_upload(libc::SIGTERM, 143, "SIGTERM");
}

#[test]
fn sigint_mid_upload_deletes_the_partial_slot_and_exits_130() {
    interrupted_mid_upload(libc::SIGINT, 130, "SIGINT");
}

/// SIGTERM once the pipeline has ended but before its chunks are all stored (issue 16,
/// item 6): the PUTs already in flight end, but no new request other than the clean-up
/// starts (not the final chunk, not the commit marker, not a copy); the item fails
/// through the ordinary failure path: exit 143, the old slot byte for byte, nothing
/// staged left, the snapshot file unchanged.
#[test]
fn sigterm_after_the_pipeline_ended_starts_no_new_request() {
    let server = moto();
    let store = server.store();
    let proxy = FaultProxy::start(&server.endpoint);
    let site = Site::new();
    let src = site.path("src/tree");
    fs::create_dir_all(&src).unwrap();
    // a stream of two full chunks and a short one (incompressible bytes)
    fs::write(src.join("data.bin"), noise(2_500, 5)).unwrap();
    let conf = site.config_via(&server, &proxy.endpoint, 1000, true, &cycle(&src, ""));
    let conf = conf.to_str().unwrap();
    let full = site.run(&["-c", conf], FULL_DAY);
    assert_eq!(full.status, 0, "{}", full.log);
    let before = bucket(&store);
    let snapshot = snapshot_of(&site, &src);
    let snapshot_before = fs::read(&snapshot).unwrap();

    // A forced rerun the same day replaces the FULL; its two full chunks are held at the
    // proxy, so the tool has read the whole stream and the pipeline has ended while they
    // are in flight.
    fs::write(src.join("data.bin"), noise(2_500, 6)).unwrap();
    let gate = Gate::default();
    for index in [0, 1] {
        proxy.add(Rule::chunk("PUT", index, Fault::Hold(gate.clone())));
    }
    let mark = proxy.seen().len();
    let log = site.path("after-pipeline.log");
    let out = File::create(&log).unwrap();
    let mut run = Started {
        child: site
            .command(&["-f", "-c", conf], FULL_DAY)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap(),
        log,
    };
    run.wait_until("both chunks held and the pipeline ended", |r| {
        gate.waiting() == 2 && descendants(r.pid()).is_empty()
    });
    run.signal(libc::SIGTERM);
    gate.open();
    let exit = run.finish();
    let log = run.log();
    assert_eq!(exit.code(), Some(143), "{log}");
    assert!(
        log.contains(&format!(
            "Backup.S3napback.Directory ERROR Backup of Directory {}",
            src.display()
        )) && log.contains("interrupted by SIGTERM"),
        "{log}"
    );
    // after the signal: no PUT of the final chunk, no marker, no copy
    let requests: Vec<String> = proxy.seen()[mark..]
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    let puts: Vec<&String> = requests.iter().filter(|r| r.starts_with("PUT ")).collect();
    assert_eq!(
        puts.len(),
        2,
        "only the two held chunks were PUT: {requests:#?}"
    );
    assert!(
        !requests.iter().any(|r| r.contains(".s3napback/commit")
            && !r.starts_with("DELETE")
            && !r.starts_with("POST")),
        "{requests:#?}"
    );
    assert!(bucket(&store) == before, "the bucket changed:\n{log}");
    assert_eq!(fs::read(&snapshot).unwrap(), snapshot_before);
}

#[test]
fn a_second_signal_ends_the_tool_at_once() {
    let scene = Scene::new("");
    scene.grow("big.bin", 4 << 20, 13);
    let prefix = scene.prefix("7-FULL");
    let mut run = Started::new(&scene.site, &scene.slow, FULL_DAY, "twice.log");
    run.wait_until("the first chunk", |_| stored(&scene.store, &prefix));
    let stages = pipeline_of(&run);
    run.signal(libc::SIGTERM);
    // The first signal is handled once the handler has stopped the pipeline; the PUTs in
    // flight on the slow link keep the clean-up busy after that.
    run.wait_until("the pipeline stopped by the first signal", |_| {
        stages
            .iter()
            .all(|p| living(p.pid).is_none() || p.comm == "s3napback")
    });
    run.signal(libc::SIGTERM);
    let exit = run.finish();
    // Ended by the signal itself (not exit 143 after the clean-up) ...
    assert_eq!(exit.signal(), Some(libc::SIGTERM), "{exit}: {}", run.log());
    assert_all_die(&stages);
    // ... without the clean-up: no ERROR for the item, its staged chunks still there
    // (the next run deletes them).
    assert!(!run.log().contains("ERROR Backup of"), "{}", run.log());
    assert!(
        stored(&scene.store, &prefix),
        "the clean-up ran:\n{}",
        run.log()
    );
}

#[test]
fn sigkill_of_the_tool_takes_its_pipeline_along() {
    let scene = Scene::new("");
    scene.grow("big.bin", 4 << 20, 11);
    let prefix = scene.prefix("7-FULL");
    // Orphans come to this process rather than to init: their process group is then not
    // orphaned (no SIGHUP from the kernel), and their end can be read with waitpid.
    set_subreaper(true);
    let mut run = Started::new(&scene.site, &scene.slow, FULL_DAY, "killed.log");
    run.wait_until("the first chunk", |_| stored(&scene.store, &prefix));
    let procs = pipeline_of(&run);
    let stages: Vec<&Proc> = procs.iter().filter(|p| p.ppid == run.pid()).collect();
    // Stopped, the stages cannot die of a broken pipe or an end of input: only
    // PR_SET_PDEATHSIG's SIGKILL, which a stopped process does not survive, ends them.
    for stage in &stages {
        // SAFETY: kill(2) on processes this test started.
        unsafe { libc::kill(stage.pid, libc::SIGSTOP) };
    }
    run.signal(libc::SIGKILL);
    run.finish();
    let ends: Vec<Option<i32>> = stages.iter().map(|p| killed_by(p.pid)).collect();
    // Whatever the outcome, nothing is left behind.
    for p in &procs {
        // SAFETY: as above.
        unsafe { libc::kill(p.pid, libc::SIGKILL) };
        killed_by(p.pid);
    }
    set_subreaper(false);
    for (stage, end) in stages.iter().zip(ends) {
        assert_eq!(
            end,
            Some(libc::SIGKILL),
            "{stage:?} did not die with the tool"
        );
    }
}

/// Makes this process the reaper of its descendants' orphans (or not).
fn set_subreaper(on: bool) {
    // SAFETY: a prctl without pointers.
    let r = unsafe {
        libc::prctl(
            libc::PR_SET_CHILD_SUBREAPER,
            libc::c_ulong::from(on),
            0,
            0,
            0,
        )
    };
    assert_eq!(r, 0, "PR_SET_CHILD_SUBREAPER");
}

/// Reaps `pid` (an orphan adopted by this process, once the tool is gone) within ten
/// seconds; the signal that killed it, or None when it did not end, ended by exiting or is
/// not a child of this process.
fn killed_by(pid: i32) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let mut status = 0;
        // SAFETY: waitpid with a valid pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status));
        }
        if r == -1 {
            return None; // not (or no longer) a child of this process
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn two_runs_on_one_diffdir_both_complete_one_after_the_other() {
    // Two cron lines: two configs that share DiffDir (and the bucket); the first one's
    // upload is slow.
    let scene = Scene::new("");
    let (site, store) = (&scene.site, &scene.store);
    scene.grow("big.bin", 1 << 20, 3);
    let first_conf = &scene.slow;
    let second_src = site.path("src/second");
    make_tree(&second_src);
    let second_conf = site.config(&scene.server, CHUNK, true, &cycle(&second_src, ""));

    let first_prefix = scene.prefix("7-FULL");
    let second_prefix = format!("{}-7-FULL", second_src.display());
    let mut first = Started::new(site, first_conf, FULL_DAY, "first.log");
    first.wait_until("the first chunk", |_| stored(store, &first_prefix));
    let mut second = Started::new(site, &second_conf, FULL_DAY, "second.log");
    let lock = site.diff_dir().join(".s3napback.lock");
    second.wait_until("the waiting message", |r| r.log().contains("waiting up to"));
    assert!(
        !stored(store, &second_prefix),
        "the second run did not wait"
    );
    assert!(
        second.log().contains(&format!(
            "Backup.S3napback INFO Another s3napback run is using {} (it holds {}); waiting up to 60 minutes",
            site.diff_dir().display(),
            lock.display()
        )),
        "{}",
        second.log()
    );
    assert_eq!(first.finish().code(), Some(0), "{}", first.log());
    assert_eq!(second.finish().code(), Some(0), "{}", second.log());
    assert!(second.log().contains("Got the lock"), "{}", second.log());
    assert!(!first.log().contains("waiting up to"), "{}", first.log());
    for prefix in [&first_prefix, &second_prefix] {
        assert!(stored(store, prefix), "{prefix} not stored");
    }
}

#[test]
fn a_signal_ends_the_wait_for_the_lock_and_lockwait_limits_it() {
    let scene = Scene::new("");
    let site = &scene.site;
    let lock_path = site.diff_dir().join(".s3napback.lock");
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .unwrap();
    lock.lock().unwrap();

    // The default wait (an hour) ends early on SIGTERM.
    let mut waiting = Started::new(site, &scene.conf, FULL_DAY, "waiting.log");
    waiting.wait_until("the waiting message", |r| {
        r.log().contains("waiting up to 60 minutes")
    });
    waiting.signal(libc::SIGTERM);
    assert_eq!(waiting.finish().code(), Some(143), "{}", waiting.log());
    assert!(
        waiting.log().contains(&format!(
            "ERROR interrupted by SIGTERM while waiting for the lock {}",
            lock_path.display()
        )),
        "{}",
        waiting.log()
    );

    // A lock held past LockWait fails the run.
    let body = format!("LockWait 1s\n{}", cycle(&scene.src, ""));
    let conf = site.config(&scene.server, CHUNK, true, &body);
    let run = site.run(&["-c", conf.to_str().unwrap()], FULL_DAY);
    assert_eq!(run.status, 1, "{}", run.log);
    run.expect("waiting up to 1 second for it to finish").expect(&format!(
        "Backup.S3napback ERROR another s3napback run is using {} (it holds {}) and did not finish within LockWait (1 second); nothing was done",
        site.diff_dir().display(),
        lock_path.display()
    ));
    drop(lock);
    assert!(prefixes(&scene.store).is_empty());
}

/// The legacy's predictable buffer name, which must not be used any more.
fn legacy_temp_name(server: &S3Server, prefix: &str) -> String {
    format!("{}:{prefix}.temp", server.bucket).replace('/', "_")
}

/// Waits for the buffer file of `run` in `tmp`; checks its mode and name.
fn watch_buffer(run: &mut Started, tmp: &Path, legacy: &str) -> PathBuf {
    let mut found = None;
    run.wait_until("the buffer file", |_| {
        found = files_in(tmp).into_iter().next();
        found.is_some()
    });
    let file = found.unwrap();
    let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", file.display());
    let name = file.file_name().unwrap().to_str().unwrap().to_string();
    assert_ne!(name, legacy);
    assert!(
        name.starts_with("s3napback-") && name.ends_with(".temp"),
        "{name}"
    );
    file
}

/// Whether the slot has any object.
/// Whether any chunk of `prefix` is in the bucket: in the slot itself or staged for it
/// (`.s3napback/staging/PREFIX/...`, where a run uploads before it commits).
fn stored(store: &S3Store, prefix: &str) -> bool {
    !chunks(store, prefix).is_empty()
        || !store
            .list(&s3napback::store::keys::staging_dir(prefix))
            .expect("list the staging")
            .is_empty()
}

#[test]
fn the_temp_file_is_private_unpredictable_and_removed_on_every_path() {
    let scene = Scene::new("\tUseTempFile yes\n");
    let (site, store, server) = (&scene.site, &scene.store, &scene.server);
    let tmp = site.path("tmp");
    scene.grow("big.bin", 1 << 20, 5);
    let full_prefix = scene.prefix("7-FULL");

    // Test mode still shows the legacy name.
    let legacy = legacy_temp_name(server, &full_prefix);
    let test = site.run(&["-t", "-c", scene.conf()], FULL_DAY);
    test.expect(&format!(
        "Using temp file to buffer before streaming[ {}/{legacy} ]",
        tmp.display()
    ));

    // Success: the file exists while the upload runs, and is gone afterwards.
    let mut run = Started::new(site, &scene.slow, FULL_DAY, "success.log");
    watch_buffer(&mut run, &tmp, &legacy);
    assert_eq!(run.finish().code(), Some(0), "{}", run.log());
    assert!(stored(store, &full_prefix));
    assert!(files_in(&tmp).is_empty(), "{:?}", files_in(&tmp));

    // SIGTERM during the upload of a buffered DIFF.
    let diff_prefix = scene.prefix("8-DIFF");
    scene.grow("big2.bin", 1 << 20, 6);
    let mut run = Started::new(site, &scene.slow, DIFF_DAY, "sigterm.log");
    watch_buffer(&mut run, &tmp, &legacy_temp_name(server, &diff_prefix));
    run.wait_until("the first chunk", |_| stored(store, &diff_prefix));
    run.signal(libc::SIGTERM);
    assert_eq!(run.finish().code(), Some(143), "{}", run.log());
    assert!(files_in(&tmp).is_empty(), "{:?}", files_in(&tmp));
    assert!(!stored(store, &diff_prefix));

    // Failure: the directory is gone; the item fails and leaves no buffer behind.
    fs::rename(&scene.src, site.path("src/moved")).unwrap();
    let failed = site.run(&["-c", scene.conf()], DIFF_DAY);
    assert_eq!(failed.status, 1, "{}", failed.log);
    failed.expect("ERROR Backup of Directory");
    assert!(files_in(&tmp).is_empty(), "{:?}", files_in(&tmp));
    assert!(!stored(store, &diff_prefix));
}
