//! Real S3 servers for the tests: moto (keeps keys exactly as AWS does) and a single-node
//! Garage (strips leading `/` from keys, like MinIO). Each server runs in its own temp
//! dir on free ports and is killed when the handle drops. A server that cannot start
//! fails the test with its captured output: tests never skip silently.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use s3napback::store::s3::{S3Config, S3Store};

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
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
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

    /// The server's captured output so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

/// Waits until `port` accepts connections; panics with `log` when `child` dies or the
/// deadline passes.
fn wait_for_port(kind: &str, child: &mut Child, port: u16, log: &Path, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{kind} exited ({status}) before listening on {port}:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if Instant::now() > deadline {
            panic!(
                "{kind} did not listen on {port} within {within:?}:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
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

/// Starts moto's S3 server (`python3 -m moto.server`) on a free port.
pub fn moto() -> S3Server {
    moto_with_env(&[])
}

/// A moto server whose clock (and so every LastModified) is read from `clock_file`
/// through libfaketime: write `@YYYY-MM-DD HH:MM:SS` into the file to move its time.
pub fn moto_with_clock(clock_file: &Path) -> S3Server {
    let file = clock_file.display().to_string();
    moto_with_env(&[
        (
            "LD_PRELOAD",
            "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        ),
        ("FAKETIME_TIMESTAMP_FILE", &file),
        ("FAKETIME_NO_CACHE", "1"),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
    ])
}

fn moto_with_env(env: &[(&str, &str)]) -> S3Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("moto.log");
    let port = free_port();
    let out = File::create(&log).expect("moto log");
    let mut child = Command::new(moto_python())
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .current_dir(dir.path())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("dup log"))
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start python3 -m moto.server: {e}"));
    wait_for_port("moto", &mut child, port, &log, Duration::from_secs(60));
    S3Server {
        endpoint: format!("http://127.0.0.1:{port}"),
        region: "us-east-1".into(),
        key: "testing".into(),
        secret: "testing".into(),
        bucket: "s3napback-test".into(),
        kind: "moto",
        child,
        log,
        _dir: dir,
    }
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

fn garage_cli(bin: &Path, conf: &Path, args: &[&str]) -> Output {
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
fn garage_cli_retry(bin: &Path, conf: &Path, args: &[&str]) -> Output {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let o = garage_cli(bin, conf, args);
        if o.status.success() || Instant::now() > deadline {
            return o;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Starts a single-node Garage: config in a temp dir, `garage server`, layout of one
/// node, a key `test-key` and a bucket it owns.
pub fn garage() -> S3Server {
    let bin = garage_binary();
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("garage.log");
    let conf = dir.path().join("garage.toml");
    let (s3_port, rpc_port) = (free_port(), free_port());
    let secret: String = (0..32).map(|_| format!("{:02x}", rand_byte())).collect();
    std::fs::write(
        &conf,
        format!(
            r#"metadata_dir = "{meta}"
data_dir = "{data}"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{rpc_port}"
rpc_public_addr = "127.0.0.1:{rpc_port}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:{s3_port}"
root_domain = ".s3.garage.localhost"
"#,
            meta = dir.path().join("meta").display(),
            data = dir.path().join("data").display(),
        ),
    )
    .expect("write garage.toml");
    let out = File::create(&log).expect("garage log");
    let mut child = Command::new(&bin)
        .arg("-c")
        .arg(&conf)
        .arg("server")
        .env("RUST_LOG", "garage=info")
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("dup log"))
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {} server: {e}", bin.display()));
    wait_for_port(
        "garage",
        &mut child,
        rpc_port,
        &log,
        Duration::from_secs(60),
    );

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
    let o = garage_cli_retry(&bin, &conf, &["key", "create", "test-key"]);
    if !o.status.success() {
        fail("key create", &o);
    }
    let out = text(&o);
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("no `{name}` in garage key create output:\n{out}"))
    };
    let (key, key_secret) = (field("Key ID:"), field("Secret key:"));
    let bucket = "s3napback-test".to_owned();
    let o = garage_cli_retry(&bin, &conf, &["bucket", "create", &bucket]);
    if !o.status.success() {
        fail("bucket create", &o);
    }
    let o = garage_cli(
        &bin,
        &conf,
        &[
            "bucket", "allow", "--read", "--write", "--owner", &bucket, "--key", "test-key",
        ],
    );
    if !o.status.success() {
        fail("bucket allow", &o);
    }
    wait_for_port("garage", &mut child, s3_port, &log, Duration::from_secs(30));
    S3Server {
        endpoint: format!("http://127.0.0.1:{s3_port}"),
        region: "garage".into(),
        key,
        secret: key_secret,
        bucket,
        kind: "garage",
        child,
        log,
        _dir: dir,
    }
}

/// A random-enough byte for secrets of throwaway servers (no rand dependency).
fn rand_byte() -> u8 {
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
