//! The soak test (issues 22 and 25): seeded random nights with random faults.
//!
//! Each seed gets its own S3 server (moto; `S3NAPBACK_SOAK_SERVER=garage` for Garage), a
//! fault proxy in front of it and a site with one Directory item (`Diffs 3`, `Fulls 2`,
//! ChunkSize 2000, so streams have several chunks, `S3Retries 1`, so faults are seen). Each
//! night, one day after the one before: random changes to the tree (files added, changed,
//! appended to, deleted, renamed; directories made, moved, moved into another directory
//! moved the same night, deleted; symlinks made and retargeted; chmod; a file replaced by a
//! directory and back), the tree's state recorded, then a run of the tool at 03:00 with
//! maybe one fault: an S3 500 on some kind of request after k passed, a dropped request, a
//! dropped answer (the server applied it), or a SIGKILL or SIGTERM while a request of that
//! kind is held at the proxy. A failed night is sometimes run again later the same day.
//!
//! After every night a restore at 06:00 into a fresh folder must give exactly a state the
//! tree had: that night's state when its last run exited 0, else one of the states no
//! older than the last night that exited 0 (a restore may fail only while no night has
//! succeeded yet). After the last night `verify --deep` exits 0.
//!
//! The default (CI) run: seeds 1 to 3, 10 nights each. `S3NAPBACK_SOAK_SEED=N` runs seed N
//! only, `S3NAPBACK_SOAK_SEEDS=K` seeds 1 to K (from `S3NAPBACK_SOAK_FIRST`, default 1),
//! `S3NAPBACK_SOAK_NIGHTS=M` M nights each; `scripts/soak.sh` runs a long one. Every seed's
//! run starts by printing its seed, every failure names the seed and the night, and the
//! test ends with a summary line (`soak total: ...`), then fails if any seed failed.
//! `S3NAPBACK_SOAK_VERBOSE=1` prints the end of every failed run's log,
//! `S3NAPBACK_SOAK_TRACE=1` every request of every run (run with `--nocapture`).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::backup::harness::{Site, noise, restored, words};
use crate::support::proxy::{Fault, FaultProxy, Gate, Rule};
use crate::support::s3::{S3Server, garage, moto};

/// Relative path -> what is there: `dir MODE`, `file MODE LEN HASH`, `link -> TARGET`.
type State = BTreeMap<String, String>;

/// splitmix64: a tiny seeded generator (no new dependency).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len())])
    }

    /// An index into `weights`, picked with those weights.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = (self.next() % u64::from(total)) as u32;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        unreachable!()
    }
}

/// FNV-1a, to keep file contents short in a [`State`].
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The state of the tree under `root` (the root itself not included).
fn state(root: &Path) -> State {
    fn walk(base: &Path, dir: &Path, out: &mut State) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            let meta = fs::symlink_metadata(&p).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&p).unwrap();
                out.insert(rel, format!("link -> {}", target.display()));
            } else if meta.is_dir() {
                out.insert(rel, format!("dir {mode:o}"));
                walk(base, &p, out);
            } else {
                let data = fs::read(&p).unwrap();
                let line = format!("file {mode:o} {} {:016x}", data.len(), fnv(&data));
                out.insert(rel, line);
            }
        }
    }
    let mut out = State::new();
    walk(root, root, &mut out);
    out
}

/// The first differences between two states, for a failure message.
fn differences(want: &State, got: &State) -> String {
    let mut lines = Vec::new();
    for (k, v) in want {
        match got.get(k) {
            None => lines.push(format!("  missing {k}: {v}")),
            Some(g) if g != v => lines.push(format!("  differs {k}: want {v}, got {g}")),
            _ => {}
        }
    }
    for (k, v) in got {
        if !want.contains_key(k) {
            lines.push(format!("  extra   {k}: {v}"));
        }
    }
    let n = lines.len();
    lines.truncate(12);
    if n > 12 {
        lines.push(format!("  ... {} more", n - 12));
    }
    lines.join("\n")
}

/// What the soak runs: which seeds, how many nights each.
struct Plan {
    seeds: Vec<u64>,
    nights: usize,
}

impl Plan {
    fn from_env() -> Plan {
        let var = |name: &str| -> Option<u64> {
            let text = std::env::var(name).ok()?;
            Some(
                text.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}={text:?} is no number")),
            )
        };
        let nights = var("S3NAPBACK_SOAK_NIGHTS").unwrap_or(10) as usize;
        let seeds = match var("S3NAPBACK_SOAK_SEED") {
            Some(seed) => vec![seed],
            None => {
                let first = var("S3NAPBACK_SOAK_FIRST").unwrap_or(1);
                let count = var("S3NAPBACK_SOAK_SEEDS").unwrap_or(3);
                (first..first + count).collect()
            }
        };
        Plan { seeds, nights }
    }
}

/// Which requests a fault hits.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// PUTs of staged chunks (`.s3napback/staging/...`).
    Staged,
    /// CopyObject into a slot's chunk keys.
    Copy,
    /// ListObjectsV2.
    Listing,
    /// PUTs of commit markers (`.s3napback/commit/...`).
    Commit,
    /// PUTs of slot stamps (`.s3napback/stamp/...`).
    Stamp,
    /// DELETE of one object or a DeleteObjects POST.
    Delete,
}

const TARGETS: [Target; 6] = [
    Target::Staged,
    Target::Copy,
    Target::Listing,
    Target::Commit,
    Target::Stamp,
    Target::Delete,
];

impl Target {
    fn rules(self, fault: Fault) -> Vec<Rule> {
        match self {
            Target::Staged => vec![Rule::path("PUT", "/.s3napback/staging/", fault)],
            Target::Copy => vec![Rule::copies(fault)],
            Target::Listing => vec![Rule::listings(fault)],
            Target::Commit => vec![Rule::path("PUT", "/.s3napback/commit/", fault)],
            Target::Stamp => vec![Rule::path("PUT", "/.s3napback/stamp/", fault)],
            Target::Delete => vec![
                Rule::path("DELETE", "/", fault.clone()),
                Rule::path("POST", "?delete", fault),
            ],
        }
    }

    /// How many of its requests a run makes, about (the fault lets up to this many pass).
    fn spread(self) -> usize {
        match self {
            Target::Staged | Target::Copy => 5,
            Target::Listing => 10,
            Target::Delete => 4,
            Target::Stamp => 2,
            Target::Commit => 1,
        }
    }
}

/// What a run gets.
#[derive(Clone, Copy, Debug)]
enum Kind {
    None,
    Status500,
    DropRequest,
    DropResponse,
    Kill,
    Term,
}

/// A run's fault: its kind, the requests it hits, how many of them pass first.
#[derive(Clone, Copy, Debug)]
struct Plot {
    kind: Kind,
    target: Target,
    after: u32,
}

impl Plot {
    fn draw(rng: &mut Rng) -> Plot {
        const KINDS: [Kind; 6] = [
            Kind::None,
            Kind::Status500,
            Kind::DropRequest,
            Kind::DropResponse,
            Kind::Kill,
            Kind::Term,
        ];
        let kind = KINDS[rng.weighted(&[30, 18, 10, 14, 14, 14])];
        let target = TARGETS[rng.weighted(&[25, 20, 15, 15, 10, 15])];
        let after = rng.below(target.spread()) as u32;
        Plot {
            kind,
            target,
            after,
        }
    }

    fn name(&self) -> String {
        match self.kind {
            Kind::None => "none".into(),
            k => format!("{k:?}/{:?}", self.target),
        }
    }
}

/// What the soak saw, for the summary.
#[derive(Default)]
struct Stats {
    nights: usize,
    runs: usize,
    ok_nights: usize,
    /// Runs by fault (kind/target), and whether the fault hit a request.
    faults: BTreeMap<String, (usize, usize)>,
    restores: usize,
    failed_restores_accepted: usize,
    moves_into_moved: usize,
}

impl Stats {
    fn add(&mut self, other: &Stats) {
        self.nights += other.nights;
        self.runs += other.runs;
        self.ok_nights += other.ok_nights;
        for (k, (n, hit)) in &other.faults {
            let e = self.faults.entry(k.clone()).or_default();
            e.0 += n;
            e.1 += hit;
        }
        self.restores += other.restores;
        self.failed_restores_accepted += other.failed_restores_accepted;
        self.moves_into_moved += other.moves_into_moved;
    }

    fn line(&self) -> String {
        let faults: Vec<String> = self
            .faults
            .iter()
            .map(|(k, (n, hit))| format!("{k}={n}(hit:{hit})"))
            .collect();
        format!(
            "nights={} runs={} nights_ok={} restores_checked={} failed_restores_accepted={} \
             moves_into_moved={} faults: {}",
            self.nights,
            self.runs,
            self.ok_nights,
            self.restores,
            self.failed_restores_accepted,
            self.moves_into_moved,
            faults.join(" ")
        )
    }
}

/// The tree's changes: a generator of fresh names and the operations.
struct Gardener<'a> {
    root: &'a Path,
    rng: &'a mut Rng,
    counter: u64,
    moves_into_moved: usize,
}

impl Gardener<'_> {
    fn fresh(&mut self, stem: &str) -> String {
        self.counter += 1;
        if self.rng.chance(15) {
            format!("{stem} {}", self.counter)
        } else {
            format!("{stem}{}", self.counter)
        }
    }

    /// Files, directories (the root as ""), symlinks, as relative paths.
    fn entries(&self) -> (Vec<String>, Vec<String>, Vec<String>) {
        let (mut files, mut dirs, mut links) = (Vec::new(), vec![String::new()], Vec::new());
        for (path, what) in state(self.root) {
            if what.starts_with("dir") {
                dirs.push(path);
            } else if what.starts_with("link") {
                links.push(path);
            } else {
                files.push(path);
            }
        }
        (files, dirs, links)
    }

    fn abs(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root.to_path_buf()
        } else {
            self.root.join(rel)
        }
    }

    fn join(dir: &str, name: &str) -> String {
        if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        }
    }

    fn content(&mut self) -> Vec<u8> {
        let len = [0, 10, 300, 1500, 4000, 9000, 20000][self.rng.below(7)];
        let seed = self.rng.next();
        if self.rng.chance(50) {
            noise(len, seed as u32)
        } else {
            words(len, seed | 1)
        }
    }

    /// `inner` is `outer` or inside it.
    fn within(inner: &str, outer: &str) -> bool {
        outer.is_empty() || inner == outer || inner.starts_with(&format!("{outer}/"))
    }

    /// One random change; false when it had nothing to work on.
    fn change(&mut self) -> bool {
        let (files, dirs, links) = self.entries();
        let subdirs: Vec<String> = dirs.iter().filter(|d| !d.is_empty()).cloned().collect();
        let op = self
            .rng
            .weighted(&[20, 14, 5, 8, 8, 9, 8, 6, 4, 5, 3, 5, 3, 2, 2]);
        match op {
            0 => {
                let dir = self.rng.pick(&dirs).unwrap().clone();
                let name = self.fresh("f");
                let data = self.content();
                fs::write(self.abs(&Self::join(&dir, &name)), data).unwrap();
            }
            1 | 2 => {
                let Some(file) = self.rng.pick(&files).cloned() else {
                    return false;
                };
                let mut data = if op == 2 {
                    fs::read(self.abs(&file)).unwrap()
                } else {
                    Vec::new()
                };
                data.extend(self.content());
                fs::write(self.abs(&file), data).unwrap();
            }
            3 => {
                let Some(file) = self.rng.pick(&files).cloned() else {
                    return false;
                };
                fs::remove_file(self.abs(&file)).unwrap();
            }
            4 => {
                let Some(file) = self.rng.pick(&files).cloned() else {
                    return false;
                };
                let dir = self.rng.pick(&dirs).unwrap().clone();
                let name = self.fresh("r");
                fs::rename(self.abs(&file), self.abs(&Self::join(&dir, &name))).unwrap();
            }
            5 => {
                let dir = self.rng.pick(&dirs).unwrap().clone();
                let mut path = Self::join(&dir, &self.fresh("d"));
                fs::create_dir(self.abs(&path)).unwrap();
                if self.rng.chance(40) {
                    path = Self::join(&path, &self.fresh("d"));
                    fs::create_dir(self.abs(&path)).unwrap();
                }
                if self.rng.chance(70) {
                    let name = self.fresh("f");
                    let data = self.content();
                    fs::write(self.abs(&Self::join(&path, &name)), data).unwrap();
                }
            }
            6 => {
                let Some(dir) = self.rng.pick(&subdirs).cloned() else {
                    return false;
                };
                let parents: Vec<String> = dirs
                    .iter()
                    .filter(|p| p.is_empty() || !Self::within(p, &dir))
                    .cloned()
                    .collect();
                let parent = self.rng.pick(&parents).unwrap().clone();
                let name = self.fresh("m");
                fs::rename(self.abs(&dir), self.abs(&Self::join(&parent, &name))).unwrap();
            }
            7 => {
                // two disjoint directories: B moved, then A moved into B's new place
                let Some(a) = self.rng.pick(&subdirs).cloned() else {
                    return false;
                };
                let others: Vec<String> = subdirs
                    .iter()
                    .filter(|b| !Self::within(b, &a) && !Self::within(&a, b))
                    .cloned()
                    .collect();
                let Some(b) = self.rng.pick(&others).cloned() else {
                    return false;
                };
                let parents: Vec<String> = dirs
                    .iter()
                    .filter(|p| p.is_empty() || !(Self::within(p, &a) || Self::within(p, &b)))
                    .cloned()
                    .collect();
                let parent = self.rng.pick(&parents).unwrap().clone();
                let new_b = Self::join(&parent, &self.fresh("mb"));
                fs::rename(self.abs(&b), self.abs(&new_b)).unwrap();
                let new_a = Self::join(&new_b, &self.fresh("ma"));
                fs::rename(self.abs(&a), self.abs(&new_a)).unwrap();
                self.moves_into_moved += 1;
            }
            8 => {
                let Some(dir) = self.rng.pick(&subdirs).cloned() else {
                    return false;
                };
                fs::remove_dir_all(self.abs(&dir)).unwrap();
            }
            9 => {
                let dir = self.rng.pick(&dirs).unwrap().clone();
                let target = self.link_target(&files);
                let name = self.fresh("l");
                symlink(target, self.abs(&Self::join(&dir, &name))).unwrap();
            }
            10 => {
                let Some(link) = self.rng.pick(&links).cloned() else {
                    return false;
                };
                let target = self.link_target(&files);
                fs::remove_file(self.abs(&link)).unwrap();
                symlink(target, self.abs(&link)).unwrap();
            }
            11 => {
                let Some(file) = self.rng.pick(&files).cloned() else {
                    return false;
                };
                let mode = [0o644, 0o600, 0o640, 0o755, 0o444][self.rng.below(5)];
                fs::set_permissions(self.abs(&file), fs::Permissions::from_mode(mode)).unwrap();
            }
            12 => {
                let Some(dir) = self.rng.pick(&subdirs).cloned() else {
                    return false;
                };
                let mode = [0o755, 0o700, 0o750, 0o775][self.rng.below(4)];
                fs::set_permissions(self.abs(&dir), fs::Permissions::from_mode(mode)).unwrap();
            }
            13 => {
                // a file replaced by a directory of the same name
                let Some(file) = self.rng.pick(&files).cloned() else {
                    return false;
                };
                fs::remove_file(self.abs(&file)).unwrap();
                fs::create_dir(self.abs(&file)).unwrap();
                let name = self.fresh("f");
                let data = self.content();
                fs::write(self.abs(&Self::join(&file, &name)), data).unwrap();
            }
            _ => {
                // a directory replaced by a file of the same name
                let Some(dir) = self.rng.pick(&subdirs).cloned() else {
                    return false;
                };
                fs::remove_dir_all(self.abs(&dir)).unwrap();
                let data = self.content();
                fs::write(self.abs(&dir), data).unwrap();
            }
        }
        true
    }

    fn link_target(&mut self, files: &[String]) -> String {
        match self.rng.pick(files) {
            Some(f) if self.rng.chance(70) => f.clone(),
            _ => self.fresh("nowhere"),
        }
    }
}

/// Waits (bounded) until `ready`; false when `limit` passed.
fn poll(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !ready() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// One seed's world: server, proxy, site, tree, config.
struct World {
    seed: u64,
    _server: S3Server,
    proxy: FaultProxy,
    site: Site,
    src: PathBuf,
    conf: PathBuf,
    logs: usize,
}

impl World {
    fn new(seed: u64) -> World {
        let server = match std::env::var("S3NAPBACK_SOAK_SERVER").as_deref() {
            Ok("garage") => garage(),
            _ => {
                let server = moto();
                server.set_clock("2026-11-01 03:00:00");
                server
            }
        };
        let proxy = FaultProxy::start(&server.endpoint);
        let site = Site::new();
        let src = site.path("src/tree");
        fs::create_dir_all(&src).unwrap();
        let name = src.display().to_string();
        let body = format!("S3Retries 1\n<Directory {name}>\n\tDiffs 3\n\tFulls 2\n</Directory>\n");
        let conf = site.config_via(&server, &proxy.endpoint, 2000, true, &body);
        World {
            seed,
            _server: server,
            proxy,
            site,
            src,
            conf,
            logs: 0,
        }
    }

    fn conf(&self) -> &str {
        self.conf.to_str().unwrap()
    }

    /// Lets every held request through and waits until the proxy has served them all.
    fn settle(&self, gate: &Gate) {
        self.proxy.clear();
        gate.open();
        assert!(
            poll(Duration::from_secs(60), || self.proxy.in_flight() == 0),
            "seed {}: the proxy still serves {} requests after a minute",
            self.seed,
            self.proxy.in_flight()
        );
    }

    /// One backup run at `now` with `plot`'s fault: its exit code (-1 when killed), its
    /// log, whether the fault hit a request.
    fn backup(&mut self, now: &str, plot: Plot) -> (i32, String, bool) {
        let gate = Gate::default();
        let fault = match plot.kind {
            Kind::None => None,
            Kind::Status500 => Some(Fault::Status(500, "InternalError")),
            Kind::DropRequest => Some(Fault::DropRequestAfter(100)),
            Kind::DropResponse => Some(Fault::DropResponseAfter(0)),
            Kind::Kill | Kind::Term => Some(Fault::Hold(gate.clone())),
        };
        let faults_before = self.proxy.faults();
        let seen_before = self.proxy.seen().len();
        if let Some(fault) = fault {
            for rule in plot.target.rules(fault) {
                self.proxy.add(rule.after(plot.after).times(1));
            }
        }
        self.logs += 1;
        let log = self.site.path(&format!("run-{}.log", self.logs));
        let out = File::create(&log).unwrap();
        let mut child = self
            .site
            .command(&["-c", self.conf()], now)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start s3napback");
        if matches!(plot.kind, Kind::Kill | Kind::Term) {
            let held = poll(Duration::from_secs(120), || {
                gate.waiting() > 0 || child.try_wait().unwrap().is_some()
            });
            assert!(
                held,
                "seed {}: the run at {now} neither ended nor reached the gate within two minutes",
                self.seed
            );
            if gate.waiting() > 0 {
                let signal = match plot.kind {
                    Kind::Kill => libc::SIGKILL,
                    _ => libc::SIGTERM,
                };
                // SAFETY: kill(2) on our own child.
                assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
                if signal == libc::SIGTERM {
                    // the run's own requests end, its clean-up runs
                    gate.open();
                } else {
                    // dead before its request lands; the request then lands late
                    child.wait().unwrap();
                }
            }
        }
        let ended = poll(Duration::from_secs(300), || {
            child.try_wait().unwrap().is_some()
        });
        if !ended {
            let _ = child.kill();
        }
        let status = child.wait().unwrap().code().unwrap_or(-1);
        self.settle(&gate);
        let text = fs::read_to_string(&log).unwrap_or_default();
        assert!(
            ended,
            "seed {}: the run at {now} did not end within five minutes:\n{text}",
            self.seed
        );
        let hit = self.proxy.faults() > faults_before;
        if std::env::var_os("S3NAPBACK_SOAK_TRACE").is_some() {
            for s in &self.proxy.seen()[seen_before..] {
                println!("TRACE {} {} {:?}", s.method, s.path, s.fault);
            }
        }
        (status, text, hit)
    }

    /// `restore` at `now` into a fresh folder: its exit code, log and the restored state.
    fn restore(&mut self, now: &str, night: usize) -> (i32, String, Option<State>) {
        let out = self.site.path(&format!("restore-{night}"));
        let name = self.src.display().to_string();
        let run = self.site.restore(&self.conf, &out, &name, now);
        let dir = restored(&out, &self.src);
        let got = dir.is_dir().then(|| state(&dir));
        let _ = fs::remove_dir_all(&out);
        (run.status, run.log, got)
    }
}

/// The last lines of a log.
fn tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// One seed: `nights` nights, each checked by a restore; then `verify --deep`.
fn soak_seed(seed: u64, nights: usize, stats: &mut Stats) {
    println!(
        "soak: seed {seed}, {nights} nights (replay: S3NAPBACK_SOAK_SEED={seed} S3NAPBACK_SOAK_NIGHTS={nights})"
    );
    let mut rng = Rng(seed ^ 0x5eed_50a4_0000_0000);
    let mut world = World::new(seed);
    let src = world.src.clone();
    let mut garden = Gardener {
        root: &src,
        rng: &mut rng,
        counter: 0,
        moves_into_moved: 0,
    };
    // a first tree: a few files and directories
    for _ in 0..25 {
        garden.change();
    }
    let rng = &mut Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
    let day0 = time::macros::date!(2026 - 11 - 02);
    let mut states: Vec<State> = Vec::new();
    let mut last_ok: Option<usize> = None;
    for night in 0..nights {
        let date = day0 + time::Duration::days(night as i64);
        stats.nights += 1;
        if night > 0 {
            let n = 1 + garden.rng.below(6);
            for _ in 0..n {
                garden.change();
            }
        }
        stats.moves_into_moved += std::mem::take(&mut garden.moves_into_moved);
        states.push(state(&src));
        let mut rerun = 0;
        let status = loop {
            let plot = Plot::draw(rng);
            let now = format!("{date} 03:{:02}:00", rerun * 20);
            let (status, log, hit) = world.backup(&now, plot);
            stats.runs += 1;
            let e = stats.faults.entry(plot.name()).or_default();
            e.0 += 1;
            e.1 += usize::from(hit);
            println!(
                "soak: seed {seed} night {night} ({now}): fault {} (hit: {hit}) -> exit {status}",
                plot.name()
            );
            if status != 0 && std::env::var_os("S3NAPBACK_SOAK_VERBOSE").is_some() {
                println!("{}", tail(&log, 15));
            }
            if status == 0 || rerun == 2 || !rng.chance(40) {
                break status;
            }
            rerun += 1;
        };
        if status == 0 {
            last_ok = Some(night);
            stats.ok_nights += 1;
        }
        let now = format!("{date} 06:00:00");
        let (rstatus, rlog, got) = world.restore(&now, night);
        stats.restores += 1;
        let context = format!(
            "seed {seed} night {night} ({date}; replay: S3NAPBACK_SOAK_SEED={seed} \
             S3NAPBACK_SOAK_NIGHTS={})",
            night + 1
        );
        if rstatus != 0 {
            assert!(
                last_ok.is_none(),
                "{context}: restore exited {rstatus} though night {} exited 0:\n{}",
                last_ok.unwrap_or_default(),
                tail(&rlog, 30)
            );
            stats.failed_restores_accepted += 1;
            continue;
        }
        let got = got.unwrap_or_else(|| {
            panic!(
                "{context}: restore exited 0 but restored no tree:\n{}",
                tail(&rlog, 30)
            )
        });
        if status == 0 {
            assert!(
                got == states[night],
                "{context}: the night exited 0 but the restore is not its state:\n{}\n{}",
                differences(&states[night], &got),
                tail(&rlog, 30)
            );
        } else {
            let oldest = last_ok.unwrap_or(0);
            let matched = (oldest..=night).rev().find(|i| states[*i] == got);
            assert!(
                matched.is_some(),
                "{context}: the night failed; the restore is none of the states of nights \
                 {oldest}..={night} (last night that exited 0: {last_ok:?}); against \
                 night {oldest}:\n{}\n{}",
                differences(&states[oldest], &got),
                tail(&rlog, 30)
            );
        }
    }
    let last = day0 + time::Duration::days(nights as i64 - 1);
    let verify = world.site.run(
        &["verify", "--deep", "-c", world.conf()],
        &format!("{last} 07:00:00"),
    );
    assert_eq!(
        verify.status,
        0,
        "seed {seed}: verify --deep after {nights} nights:\n{}",
        tail(&verify.log, 40)
    );
}

/// Every seed of the plan, each on its own server; a summary; fails if any seed failed.
#[test]
fn soak_random_nights_with_faults_restore_a_state_the_tree_had() {
    let plan = Plan::from_env();
    let mut total = Stats::default();
    let mut failures = Vec::new();
    for &seed in &plan.seeds {
        let mut stats = Stats::default();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            soak_seed(seed, plan.nights, &mut stats)
        }));
        println!("soak: seed {seed}: {}", stats.line());
        if let Err(e) = result {
            let text = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".into());
            failures.push(format!("seed {seed}: {text}"));
        }
        total.add(&stats);
    }
    for failure in &failures {
        println!(
            "soak mismatch: {}",
            failure.lines().next().unwrap_or_default()
        );
    }
    println!(
        "soak total: seeds={} {} mismatches={}",
        plan.seeds.len(),
        total.line(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
