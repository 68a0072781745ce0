//! A scratch site for end-to-end runs: a config, DiffDir, a GnuPG home, the tool's binary,
//! and the legacy manual recovery procedure (concatenate chunks, gpg -d, tar -xz -g /dev/null).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use bytes::Bytes;
use s3napback::store::keys::parse_chunk_key;
use s3napback::store::s3::S3Store;
use s3napback::store::{ReadStore, Store};

use crate::support::gpg::GpgHome;
use crate::support::s3::S3Server;
use crate::support::{clock, tool};

const LOGCONF: &str = "log4perl.rootLogger = DEBUG, Screen
log4perl.appender.Screen = Log::Log4perl::Appender::Screen
log4perl.appender.Screen.stderr = 0
log4perl.appender.Screen.layout = Log::Log4perl::Layout::PatternLayout
log4perl.appender.Screen.layout.ConversionPattern = %c %p %m%n
log4perl.logger.Backup.S3napback = INFO
";

/// A scratch folder with DiffDir, a key file, a log config and a GnuPG home.
pub struct Site {
    pub root: tempfile::TempDir,
    pub gpg: GpgHome,
    pub env: Vec<(String, String)>,
    /// The timestamp file of the server [`Site::config`] was written for: every run first
    /// moves that server's clock to the run's `now`.
    server_clock: std::sync::Mutex<Option<PathBuf>>,
}

/// What one run of the tool did.
pub struct Run {
    pub status: i32,
    pub log: String,
}

impl Run {
    /// Panics with the log unless the log has `text`.
    pub fn expect(&self, text: &str) -> &Run {
        assert!(
            self.log.contains(text),
            "expected {text:?} in the log:\n{}",
            self.log
        );
        self
    }
}

impl Site {
    pub fn new() -> Site {
        Site::with_gpg(GpgHome::new())
    }

    /// A site whose GNUPGHOME is `gpg`.
    pub fn with_gpg(gpg: GpgHome) -> Site {
        let root = tempfile::tempdir().expect("tempdir");
        fs::create_dir(root.path().join("diffs")).unwrap();
        fs::create_dir(root.path().join("tmp")).unwrap();
        fs::write(root.path().join("log.conf"), LOGCONF).unwrap();
        Site {
            root,
            gpg,
            env: Vec::new(),
            server_clock: std::sync::Mutex::new(None),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    pub fn diff_dir(&self) -> PathBuf {
        self.path("diffs")
    }

    /// [`Site::config`] with the tool reaching `server` through `endpoint` (a proxy in
    /// front of it); the server's clock still follows the runs.
    pub fn config_via(
        &self,
        server: &S3Server,
        endpoint: &str,
        chunk_size: u64,
        encrypt: bool,
        body: &str,
    ) -> PathBuf {
        let conf = self.config(server, chunk_size, encrypt, body);
        let text = fs::read_to_string(&conf).unwrap().replace(
            &format!("S3Endpoint {}\n", server.endpoint),
            &format!("S3Endpoint {endpoint}\n"),
        );
        fs::write(&conf, text).unwrap();
        conf
    }

    /// Writes `conf` with the globals for `server` (and `GpgRecipient` when `encrypt`)
    /// followed by `body`. From now on every run of the site moves `server`'s clock to the
    /// run's `now` first.
    pub fn config(&self, server: &S3Server, chunk_size: u64, encrypt: bool, body: &str) -> PathBuf {
        *self.server_clock.lock().unwrap() = Some(server.clock_file().to_path_buf());
        let keyfile = self.path("key.txt");
        fs::write(
            &keyfile,
            format!("key={}\nsecret={}\n", server.key, server.secret),
        )
        .unwrap();
        // private, as a key file should be (else every run warns)
        fs::set_permissions(
            &keyfile,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let gpg = if encrypt {
            format!("GpgRecipient {}\n", self.gpg.recipient())
        } else {
            String::new()
        };
        let text = format!(
            "DiffDir {}\nTempDir {}\nBucket {}\nS3Keyfile {}\nChunkSize {chunk_size}\n\
             S3Endpoint {}\nS3Region {}\n{gpg}\n{body}\n",
            self.diff_dir().display(),
            self.path("tmp").display(),
            server.bucket,
            keyfile.display(),
            server.endpoint,
            server.region,
        );
        let conf = self.path("s3napback.conf");
        fs::write(&conf, text).unwrap();
        conf
    }

    /// Runs `s3napback --logconfig LOG ARGS... --now NOW` (see [`Site::command`]).
    pub fn run(&self, args: &[&str], now: &str) -> Run {
        let out: Output = self.command(args, now).output().expect("run s3napback");
        Run {
            status: out.status.code().unwrap_or(-1),
            log: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    /// `restore -c CONF --into OUT NAME` at `now` (see [`Site::run`]).
    pub fn restore(&self, conf: &Path, out: &Path, name: &str, now: &str) -> Run {
        let (conf, out) = (conf.to_str().unwrap(), out.to_str().unwrap());
        self.run(&["restore", "-c", conf, "--into", out, name], now)
    }

    /// The command [`Site::run`] runs, for tests that start it themselves: the site's log
    /// config, GnuPG home and environment, `--now NOW` and `TZ=UTC` ([`tool::command`]).
    /// The server the site's config was written for (while it runs) is moved to `now`.
    pub fn command(&self, args: &[&str], now: &str) -> Command {
        self.set_server_clock(now);
        let logconf = self.path("log.conf");
        let mut all = vec!["--logconfig", logconf.to_str().unwrap()];
        all.extend_from_slice(args);
        let mut cmd = tool::command(all, now);
        self.prepare(&mut cmd);
        cmd
    }

    /// The site's GnuPG home and environment on a command (no `AWS_ENDPOINT_URL` unless
    /// the site sets it).
    pub fn prepare(&self, cmd: &mut Command) {
        let (k, v) = self.gpg.env();
        cmd.env(k, v).env_remove("AWS_ENDPOINT_URL");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
    }

    /// Moves the clock of the server the site's config was written for to `now` (nothing
    /// when there is none, or it has stopped).
    pub fn set_server_clock(&self, now: &str) {
        if let Some(file) = &*self.server_clock.lock().unwrap()
            && file.parent().is_some_and(Path::is_dir)
        {
            clock::write_faketime(file, now);
        }
    }

    /// gpg -d with this site's key.
    pub fn decrypt(&self, data: &[u8]) -> Vec<u8> {
        pipe_through(&self.gpg.argv(&["--quiet", "-d"]), data)
    }
}

/// Runs `cmd`; returns its stdout; panics with its stderr unless it succeeds.
pub fn stdout_of(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `argv` with `input` on stdin; returns stdout; panics on failure.
pub fn pipe_through(argv: &[String], input: &[u8]) -> Vec<u8> {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    pipe_command(cmd, input)
}

/// Runs `cmd` with `input` on stdin; returns stdout; panics on failure.
pub fn pipe_command(mut cmd: Command, input: &[u8]) -> Vec<u8> {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The chunks of one slot, as (index, size), in index order.
pub fn chunks(store: &S3Store, prefix: &str) -> Vec<(u64, u64)> {
    let physical = store.physical_key(prefix);
    let mut v: Vec<(u64, u64)> = store
        .list(&format!("{prefix}:"))
        .unwrap()
        .into_iter()
        .filter_map(|o| {
            let (p, i) = parse_chunk_key(&o.key)?;
            (p == physical).then_some((i, o.size))
        })
        .collect();
    v.sort();
    v
}

/// Every object in the bucket: key -> bytes.
pub fn bucket(store: &S3Store) -> BTreeMap<String, Vec<u8>> {
    store
        .list("")
        .unwrap()
        .into_iter()
        .map(|o| {
            let body = store.get(&o.key).unwrap().to_vec();
            (o.key, body)
        })
        .collect()
}

/// Every slot prefix in the bucket, sorted.
pub fn prefixes(store: &S3Store) -> Vec<String> {
    let mut v: Vec<String> = store
        .list("")
        .unwrap()
        .into_iter()
        .filter_map(|o| parse_chunk_key(&o.key).map(|(p, _)| p.to_string()))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The legacy manual recovery, step one: a slot's objects concatenated in key order.
pub fn fetch(store: &S3Store, prefix: &str) -> Vec<u8> {
    let physical = store.physical_key(prefix);
    let mut data = Vec::new();
    for (index, _) in chunks(store, prefix) {
        let key = format!("{physical}:{index:020}");
        data.extend_from_slice(&store.get(&key).unwrap());
    }
    data
}

/// `tar -xz -g /dev/null -C out` of one (decrypted) slot stream.
pub fn extract(tar_gz: &[u8], out: &Path) {
    fs::create_dir_all(out).unwrap();
    let argv: Vec<String> = ["tar", "-xz", "-g", "/dev/null", "-C"]
        .iter()
        .map(|s| s.to_string())
        .chain([out.display().to_string()])
        .collect();
    pipe_through(&argv, tar_gz);
}

/// `gunzip` of a stream.
pub fn gunzip(data: &[u8]) -> Vec<u8> {
    pipe_through(&["gzip".to_string(), "-dc".to_string()], data)
}

/// Member names of a tar.gz stream.
pub fn tar_members(tar_gz: &[u8]) -> Vec<String> {
    let argv: Vec<String> = ["tar", "-tz"].iter().map(|s| s.to_string()).collect();
    String::from_utf8(pipe_through(&argv, tar_gz))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// A tree as relative path -> contents (files), target (symlinks) or "<dir>".
pub fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            let kind = e.file_type().unwrap();
            if kind.is_symlink() {
                let target = fs::read_link(&p).unwrap();
                out.insert(rel, format!("-> {}", target.display()).into_bytes());
            } else if kind.is_dir() {
                out.insert(rel, b"<dir>".to_vec());
                walk(base, &p, out);
            } else {
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Where `tar -C out` puts an absolute source path.
pub fn restored(out: &Path, source: &Path) -> PathBuf {
    out.join(source.strip_prefix("/").unwrap())
}

/// A small tree with text, binary, nested, spaced and linked entries.
pub fn make_tree(dir: &Path) {
    fs::create_dir_all(dir.join("sub/with space")).unwrap();
    fs::write(dir.join("a.txt"), "alpha\n").unwrap();
    fs::write(dir.join("sub/b.txt"), "beta\n").unwrap();
    fs::write(dir.join("sub/with space/c d.txt"), "gamma\n").unwrap();
    // Incompressible bytes, so chunk counts follow size.
    fs::write(dir.join("data.bin"), noise(20_000, 12345)).unwrap();
    std::os::unix::fs::symlink("a.txt", dir.join("link")).unwrap();
}

/// `len` incompressible bytes (a linear congruential generator seeded with `seed`).
pub fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8
        })
        .collect()
}

/// `len` bytes of words picked pseudo-randomly (deflate shrinks them about threefold).
pub fn words(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: [&str; 16] = [
        "backup ",
        "restore ",
        "slot ",
        "chunk ",
        "cycle\n",
        "bucket ",
        "gzip ",
        "tar ",
        "stage ",
        "pipeline ",
        "snapshot ",
        "diff ",
        "full\n",
        "gpg ",
        "key ",
        "object ",
    ];
    let mut x = seed;
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(WORDS[(x % 16) as usize].as_bytes());
        if x.is_multiple_of(7) {
            out.extend_from_slice(format!("{} ", x % 100_000).as_bytes());
        }
    }
    out.truncate(len);
    out
}

/// Stores `data` as js3tream did: ChunkSize pieces `PREFIX:%020d`, and a final zero-length
/// object when the length is a multiple of ChunkSize.
pub fn js3tream_put(store: &dyn Store, prefix: &str, data: &[u8], chunk: usize) {
    let mut index = 0;
    let mut rest = data;
    loop {
        let n = rest.len().min(chunk);
        let key = format!("{prefix}:{index:020}");
        store.put(&key, Bytes::copy_from_slice(&rest[..n])).unwrap();
        rest = &rest[n..];
        index += 1;
        if n < chunk {
            break;
        }
    }
}

/// The legacy pipeline of one run: `tar -f - -g SNAP -C / -czp NAME | gpg -r R -e`
/// (on a FULL day the snapshot file was deleted first).
pub fn legacy_stream(site: &Site, name: &str, snapshot: &Path, full: bool) -> Vec<u8> {
    if full {
        let _ = fs::remove_file(snapshot);
    }
    let mut tar = Command::new("tar")
        .args(["-f", "-", "-g"])
        .arg(snapshot)
        .args(["-C", "/", "-czp", name])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = Command::new("gpg")
        .args(
            site.gpg
                .argv(&["-r", "backup@example.com", "-e"])
                .iter()
                .skip(1),
        )
        .stdin(tar.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(tar.wait().unwrap().success() && out.status.success());
    out.stdout
}
