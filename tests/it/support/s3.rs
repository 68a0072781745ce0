//! Real S3 servers for the tests: moto (keeps keys exactly as AWS does) and a single-node
//! Garage (strips leading `/` from keys, like MinIO). Each server runs in its own temp
//! dir on free ports and is killed when the handle drops. A server that cannot start
//! fails the test with its captured output: tests never skip silently.
//!
//! Every server runs under libfaketime on its own clock ([`S3Server::set_clock`]), so the
//! LastModified it gives is a date the test chose, never the real one.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use s3napback::store::s3::{S3Config, S3Store};
use s3napback::store::{ReadStore, Store};

use crate::support::clock;

/// A running S3 server and the credentials and bucket to use on it.
pub struct S3Server {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The region the server signs with.
    pub region: String,
    /// Access key id.
    pub key: String,
    /// Secret access key.
    pub secret: String,
    /// A bucket name to use (created already on Garage; `store()` creates it on moto).
    pub bucket: String,
    /// Which server this is, for messages.
    pub kind: &'static str,
    /// The server process (none for a cluster's front, whose nodes the cluster owns).
    pub(super) child: Option<Child>,
    pub(super) log: PathBuf,
    /// libfaketime's timestamp file of the server.
    pub(super) clock: PathBuf,
    pub(super) _dir: tempfile::TempDir,
}

impl S3Server {
    /// A config for `self.bucket` on this server.
    pub fn config(&self) -> S3Config {
        S3Config::new(&self.bucket)
            .with_endpoint(&self.endpoint)
            .with_region(&self.region)
            .with_credentials(&self.key, &self.secret)
    }

    /// A connected store on `self.bucket`, the bucket created if missing.
    pub fn store(&self) -> S3Store {
        let store = S3Store::connect(self.config())
            .unwrap_or_else(|e| panic!("{}: connect: {e}\n{}", self.kind, self.output()));
        store
            .ensure_bucket()
            .unwrap_or_else(|e| panic!("{}: ensure_bucket: {e}\n{}", self.kind, self.output()));
        store
    }

    /// A connected store on `self.bucket` with another access key (an IAM user's).
    pub fn store_as(&self, key: &str, secret: &str) -> S3Store {
        S3Store::connect(self.config().with_credentials(key, secret))
            .unwrap_or_else(|e| panic!("{}: connect as {key}: {e}", self.kind))
    }

    /// Moves the server's clock to `now` (`YYYY-MM-DD HH:MM:SS`, UTC); it runs on from
    /// there.
    pub fn set_clock(&self, now: &str) {
        clock::write_faketime(&self.clock, now);
    }

    /// Stops the server's clock at `now`: every object stored from now on is dated `now`
    /// to the second.
    pub fn freeze_clock(&self, now: &str) {
        clock::freeze_faketime(&self.clock, now);
    }

    /// The server's timestamp file (what [`S3Server::set_clock`] writes).
    pub fn clock_file(&self) -> &Path {
        &self.clock
    }

    /// The server's captured output so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A port nobody listens on right now (another process may take it before the caller
/// does: servers started on it retry on "address in use", see [`start_on_free_ports`]).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

/// A port on 127.0.0.1 that refuses every connection for as long as the value lives: a
/// socket bound to it that never listens holds it, so no other process can take it.
pub struct ClosedPort {
    pub port: u16,
    _socket: OwnedFd,
}

impl ClosedPort {
    pub fn new() -> ClosedPort {
        // SAFETY: plain socket calls on a descriptor this function owns.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let socket = OwnedFd::from_raw_fd(fd);
            let mut addr: libc::sockaddr_in = std::mem::zeroed();
            addr.sin_family = libc::AF_INET as libc::sa_family_t;
            addr.sin_addr.s_addr = u32::from(Ipv4Addr::LOCALHOST).to_be();
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let rc = libc::bind(fd, (&raw const addr).cast(), len);
            assert!(rc == 0, "bind: {}", std::io::Error::last_os_error());
            let mut len = len;
            let rc = libc::getsockname(fd, (&raw mut addr).cast(), &mut len);
            assert!(rc == 0, "getsockname: {}", std::io::Error::last_os_error());
            ClosedPort {
                port: u16::from_be(addr.sin_port),
                _socket: socket,
            }
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!(
            "http://{}",
            SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port)
        )
    }
}

/// Starts a server with `start(ports)` on `n` free ports, again on new ports (up to five
/// times) when it exits because another process took one of them first.
pub(super) fn start_on_free_ports<T>(
    kind: &str,
    n: usize,
    start: impl Fn(&[u16]) -> Started<T>,
) -> T {
    for _ in 0..5 {
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        match start(&ports) {
            Started::Up(server) => return server,
            Started::AddressInUse(log) => eprintln!("{kind}: a port was taken, retrying:\n{log}"),
        }
    }
    panic!("{kind}: five tries, each on a port taken before the server bound it");
}

/// What starting a server gave.
pub(super) enum Started<T> {
    Up(T),
    /// It said "Address already in use" (its log); it was killed.
    AddressInUse(String),
}

impl<T> Started<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Started<U> {
        match self {
            Started::Up(t) => Started::Up(f(t)),
            Started::AddressInUse(log) => Started::AddressInUse(log),
        }
    }
}

/// Waits until `child` has written every line of `listening` (what the server logs once
/// it holds its port) to the part of `log` after byte `from`. A port that accepts
/// connections proves nothing: another program may hold it while our server failed to
/// bind. Returns that part of the log when it says a port was in use, the server killed
/// (it may have exited, or like Garage panicked in a task and lived on); panics with it when the
/// server died otherwise or the deadline passed.
pub(super) fn wait_until_listening(
    kind: &str,
    child: &mut Child,
    log: &Path,
    from: u64,
    listening: &[String],
    within: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + within;
    let read = || {
        let bytes = std::fs::read(log).unwrap_or_default();
        let start = (from as usize).min(bytes.len());
        String::from_utf8_lossy(&bytes[start..]).into_owned()
    };
    loop {
        let exited = child.try_wait().ok().flatten();
        let text = read();
        if text.contains("Address already in use") {
            let _ = child.kill();
            let _ = child.wait();
            return Err(text);
        }
        if listening.iter().all(|line| text.contains(line.as_str())) {
            return Ok(());
        }
        if let Some(status) = exited {
            panic!("{kind} exited ({status}) before listening ({listening:?}):\n{text}");
        }
        if Instant::now() > deadline {
            panic!("{kind} did not log {listening:?} within {within:?}:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Writes `DIR/garage.toml` for a node keeping its data in `DIR` (SQLite metadata),
/// listening on 127.0.0.1; returns its path.
pub(super) fn write_garage_toml(
    dir: &Path,
    replication: usize,
    s3_port: u16,
    rpc_port: u16,
    secret: &str,
) -> PathBuf {
    let conf = dir.join("garage.toml");
    std::fs::write(
        &conf,
        format!(
            r#"metadata_dir = "{meta}"
data_dir = "{data}"
db_engine = "sqlite"
replication_factor = {replication}
rpc_bind_addr = "127.0.0.1:{rpc_port}"
rpc_public_addr = "127.0.0.1:{rpc_port}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:{s3_port}"
root_domain = ".s3.garage.localhost"
"#,
            meta = dir.join("meta").display(),
            data = dir.join("data").display(),
        ),
    )
    .expect("write garage.toml");
    conf
}

/// Creates the key `test-key` and `bucket`, owned by it, through the node configured by
/// `conf`; returns the key id and secret, or the step that failed and its output.
pub(super) fn key_and_bucket(
    bin: &Path,
    conf: &Path,
    bucket: &str,
) -> Result<(String, String), (&'static str, Output)> {
    let o = garage_cli_retry(bin, conf, &["key", "create", "test-key"]);
    if !o.status.success() {
        return Err(("key create", o));
    }
    let out = text(&o);
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("no `{name}` in garage key create output:\n{out}"))
    };
    let key = (field("Key ID:"), field("Secret key:"));
    let o = garage_cli_retry(bin, conf, &["bucket", "create", bucket]);
    if !o.status.success() {
        return Err(("bucket create", o));
    }
    let allow = [
        "bucket", "allow", "--read", "--write", "--owner", bucket, "--key", "test-key",
    ];
    let o = garage_cli_retry(bin, conf, &allow);
    if !o.status.success() {
        return Err(("bucket allow", o));
    }
    Ok(key)
}

/// What a Garage node logs once it holds its S3 and RPC ports.
pub(super) fn garage_listening(s3_port: u16, rpc_port: u16) -> [String; 2] {
    [
        format!("S3 API server listening on http://127.0.0.1:{s3_port}"),
        format!("Listening on 127.0.0.1:{rpc_port}"),
    ]
}

/// The length of `log` now: where the output of a server started next begins.
pub(super) fn log_end(log: &Path) -> u64 {
    std::fs::metadata(log).map(|m| m.len()).unwrap_or(0)
}

/// The Python that has moto: `S3NAPBACK_MOTO_PYTHON`, else the virtual environment
/// `scripts/moto-env.sh` makes under `target/`, else `python3` on PATH.
pub fn moto_python() -> PathBuf {
    if let Some(p) = std::env::var_os("S3NAPBACK_MOTO_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/moto-venv/bin/python3");
    if venv.is_file() {
        return venv;
    }
    PathBuf::from("python3")
}

/// Starts moto on `port`, in `dir`, writing `log`, reading its time from `clock_file`.
fn moto_on(port: u16, dir: &Path, log: &Path, clock_file: &Path) -> Started<Child> {
    let argv = [
        "-m",
        "moto.server",
        "-H",
        "127.0.0.1",
        "-p",
        &port.to_string(),
    ]
    .map(String::from);
    moto_running(&argv, port, dir, log, clock_file)
}

/// `tests/it/support/moto_iam.py`: moto's server with IAM to enforce (see that file).
pub fn moto_iam_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/moto_iam.py")
}

/// Starts moto's server through [`moto_iam_script`] on a free port, under libfaketime at
/// [`clock::DAY_1`] like [`moto`]. It enforces nothing until told (`moto_iam.py
/// enforce`); `key`/`secret` are moto's root credentials, refused once it enforces IAM.
pub fn moto_with_iam() -> S3Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("moto.log");
    let clock_file = dir.path().join("clock");
    clock::write_faketime(&clock_file, clock::DAY_1);
    let script = moto_iam_script().display().to_string();
    let (child, port) = start_on_free_ports("moto", 1, |ports| {
        let argv = [&script, "serve", "127.0.0.1", &ports[0].to_string()].map(|a| a.to_string());
        moto_running(&argv, ports[0], dir.path(), &log, &clock_file).map(|c| (c, ports[0]))
    });
    moto_server(child, port, dir, log, clock_file)
}

/// The [`S3Server`] of a moto started on `port` (its account's test key and bucket).
fn moto_server(
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    log: PathBuf,
    clock_file: PathBuf,
) -> S3Server {
    S3Server {
        endpoint: format!("http://127.0.0.1:{port}"),
        region: "us-east-1".into(),
        key: "testing".into(),
        secret: "testing".into(),
        bucket: "s3napback-test".into(),
        kind: "moto",
        child: Some(child),
        log,
        clock: clock_file,
        _dir: dir,
    }
}

/// Runs moto's Python with `argv` until it listens on `port`.
fn moto_running(
    argv: &[String],
    port: u16,
    dir: &Path,
    log: &Path,
    clock_file: &Path,
) -> Started<Child> {
    let out = File::create(log).expect("moto log");
    let mut child = Command::new(moto_python())
        .args(argv)
        .current_dir(dir)
        .envs(clock::faketime_env(clock_file))
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("dup log"))
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start python3 -m moto.server: {e}"));
    let listening = [format!("Running on http://127.0.0.1:{port}")];
    match wait_until_listening(
        "moto",
        &mut child,
        log,
        0,
        &listening,
        Duration::from_secs(60),
    ) {
        Ok(()) => Started::Up(child),
        Err(text) => Started::AddressInUse(text),
    }
}

/// Starts moto's S3 server (`python3 -m moto.server`) on a free port, under libfaketime
/// with its clock at [`clock::DAY_1`] (move it with [`S3Server::set_clock`]).
pub fn moto() -> S3Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("moto.log");
    let clock_file = dir.path().join("clock");
    clock::write_faketime(&clock_file, clock::DAY_1);
    let (child, port) = start_on_free_ports("moto", 1, |ports| {
        moto_on(ports[0], dir.path(), &log, &clock_file).map(|child| (child, ports[0]))
    });
    moto_server(child, port, dir, log, clock_file)
}

/// The `garage` binary: on PATH or in ~/.cargo/bin. Panics when absent.
pub fn garage_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            let p = d.join("garage");
            if p.is_file() {
                return p;
            }
        }
    }
    if let Some(home) = std::env::var_os("HOME") {
        let p = Path::new(&home).join(".cargo/bin/garage");
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "the `garage` binary is neither on PATH nor in ~/.cargo/bin; \
         run scripts/install-test-deps.sh (cargo install garage --locked)"
    );
}

pub(super) fn garage_cli(bin: &Path, conf: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .arg("-c")
        .arg(conf)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()))
}

/// Runs a garage CLI command until it succeeds (the cluster needs a moment after the
/// layout is applied) or 30 s have passed; returns the last output.
pub(super) fn garage_cli_retry(bin: &Path, conf: &Path, args: &[&str]) -> Output {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let o = garage_cli(bin, conf, args);
        if o.status.success() || Instant::now() > deadline {
            return o;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

pub(super) fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Starts a single-node Garage: config in a temp dir, `garage server`, layout of one
/// node, a key `test-key` and a bucket it owns.
pub fn garage() -> S3Server {
    start_on_free_ports("garage", 2, |ports| garage_on(ports[0], ports[1]))
}

fn garage_on(s3_port: u16, rpc_port: u16) -> Started<S3Server> {
    let bin = garage_binary();
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("garage.log");
    let clock_file = dir.path().join("clock");
    clock::write_faketime(&clock_file, clock::DAY_1);
    let secret: String = (0..32).map(|_| format!("{:02x}", rand_byte())).collect();
    let conf = write_garage_toml(dir.path(), 1, s3_port, rpc_port, &secret);
    let out = File::create(&log).expect("garage log");
    let mut child = Command::new(&bin)
        .arg("-c")
        .arg(&conf)
        .arg("server")
        .env("RUST_LOG", "garage=info")
        .envs(clock::faketime_env(&clock_file))
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("dup log"))
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {} server: {e}", bin.display()));
    if let Err(text) = wait_until_listening(
        "garage",
        &mut child,
        &log,
        0,
        &garage_listening(s3_port, rpc_port),
        Duration::from_secs(60),
    ) {
        return Started::AddressInUse(text);
    }

    let fail = |what: &str, o: &Output| -> ! {
        panic!(
            "garage {what} failed: {}\n--- server log ---\n{}",
            text(o),
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    };
    // the node id (the CLI reads it from metadata_dir)
    let o = garage_cli_retry(&bin, &conf, &["node", "id", "-q"]);
    if !o.status.success() {
        fail("node id", &o);
    }
    let node = String::from_utf8_lossy(&o.stdout)
        .trim()
        .split('@')
        .next()
        .unwrap_or_default()
        .to_owned();
    let o = garage_cli(
        &bin,
        &conf,
        &["layout", "assign", "-z", "dc1", "-c", "1G", &node],
    );
    if !o.status.success() {
        fail("layout assign", &o);
    }
    let o = garage_cli(&bin, &conf, &["layout", "apply", "--version", "1"]);
    if !o.status.success() {
        fail("layout apply", &o);
    }
    let bucket = "s3napback-test".to_owned();
    let (key, key_secret) =
        key_and_bucket(&bin, &conf, &bucket).unwrap_or_else(|(what, o)| fail(what, &o));
    Started::Up(S3Server {
        endpoint: format!("http://127.0.0.1:{s3_port}"),
        region: "garage".into(),
        key,
        secret: key_secret,
        bucket,
        kind: "garage",
        child: Some(child),
        log,
        clock: clock_file,
        _dir: dir,
    })
}

/// A random-enough byte for secrets of throwaway servers (no rand dependency).
pub(super) fn rand_byte() -> u8 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish() as u8
}

/// Stores 192 objects from 8 threads at once on a server whose clock runs from
/// [`clock::DAY_1`] and returns the dates the listing gives them.
fn dates_of_concurrent_puts(server: &S3Server) -> Vec<(String, time::OffsetDateTime)> {
    server.set_clock(clock::DAY_1);
    let store = server.store();
    std::thread::scope(|s| {
        for t in 0..8 {
            let store = &store;
            s.spawn(move || {
                for i in 0..24 {
                    let key = format!("clock/{t}-{i}");
                    store
                        .put(&key, bytes::Bytes::from(key.clone()))
                        .unwrap_or_else(|e| panic!("{key}: {e}"));
                }
            });
        }
    });
    let objects = store.list("clock/").expect("list");
    assert_eq!(objects.len(), 192);
    objects
        .into_iter()
        .map(|o| (o.key, o.last_modified))
        .collect()
}

/// The servers are multi-threaded: under concurrent requests every object is still dated
/// by the server's fake clock, never by the real one (the plain libfaketime build let a
/// FULL be dated today now and then, and a restore then ignored the DIFFs after it).
#[test]
fn concurrent_puts_are_all_dated_by_the_fake_clock() {
    let day_1 = time::OffsetDateTime::from(clock::system_time(clock::DAY_1));
    let day_2 = time::OffsetDateTime::from(clock::system_time(clock::DAY_2));
    for server in [moto(), garage()] {
        let wrong: Vec<_> = dates_of_concurrent_puts(&server)
            .into_iter()
            .filter(|(_, date)| *date < day_1 || *date >= day_2)
            .collect();
        assert!(wrong.is_empty(), "{}: {wrong:?}", server.kind);
    }
}

#[test]
fn a_server_whose_port_another_program_holds_is_not_taken_for_started() {
    // another program listens on the port: connections succeed, yet moto did not bind
    let holder = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = holder.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("temp dir");
    let (log, clock_file) = (dir.path().join("moto.log"), dir.path().join("clock"));
    clock::write_faketime(&clock_file, clock::DAY_1);
    match moto_on(port, dir.path(), &log, &clock_file) {
        Started::Up(mut child) => {
            let _ = child.kill();
            panic!("moto on a port held by another program was taken for started");
        }
        Started::AddressInUse(text) => assert!(text.contains("Address already in use"), "{text}"),
    }
}
