//! A three-node Garage cluster (issue 18, a multi-node store): replication factor 3, one
//! node per zone (dc1, dc2, dc3), all on 127.0.0.1 with their own ports and directories
//! and one RPC secret, all under libfaketime reading ONE timestamp file, so moving the
//! clock of the cluster's [`S3Server`] (what `Site::run` does) moves all three. The tool
//! talks to node 1's S3 endpoint; a test stops and starts the other nodes with
//! [`GarageCluster::stop_node`] and [`GarageCluster::start_node`] (data kept).

use std::fs::File;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::clock;
use crate::support::s3::{
    S3Server, Started, garage_binary, garage_cli, garage_cli_retry, garage_listening,
    key_and_bucket, log_end, rand_byte, start_on_free_ports, text, wait_until_listening,
    write_garage_toml,
};

/// How many nodes a cluster has.
pub const NODES: usize = 3;

/// One node: its config, log, ports and (while it runs) its process.
struct Node {
    conf: PathBuf,
    log: PathBuf,
    s3_port: u16,
    rpc_port: u16,
    child: Option<Child>,
}

/// A running three-node Garage cluster. Derefs to the [`S3Server`] of node 1 (endpoint,
/// key, bucket, the shared clock file).
pub struct GarageCluster {
    nodes: Vec<Node>,
    bin: PathBuf,
    /// The cluster's RPC secret (a node's config is written again with it).
    secret: String,
    // last: its temp dir holds the nodes' directories
    server: S3Server,
}

impl Deref for GarageCluster {
    type Target = S3Server;
    fn deref(&self) -> &S3Server {
        &self.server
    }
}

impl Drop for GarageCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl GarageCluster {
    /// Kills node `i` (0, 1 or 2; node 0 serves the S3 endpoint); its data stays.
    pub fn stop_node(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let mut child = node
            .child
            .take()
            .unwrap_or_else(|| panic!("garage node {i} is not running"));
        child.kill().expect("kill a garage node");
        child.wait().expect("wait for a garage node");
    }

    /// Starts node `i` again on its ports (fresh ones when another program took them
    /// meanwhile) and directories, under the shared clock file, and waits until every node
    /// of the cluster is up again.
    pub fn start_node(&mut self, i: usize) {
        assert!(
            self.nodes[i].child.is_none(),
            "garage node {i} runs already"
        );
        let clock_file = self.server.clock_file().to_path_buf();
        let mut tries = 0;
        let old_rpc = self.nodes[i].rpc_port;
        while let Err(log) = spawn(&self.bin, &mut self.nodes[i], &clock_file) {
            // another program took its ports while it was stopped: it comes back on fresh
            // ones, and the others learn its new RPC address when it connects to them
            tries += 1;
            assert!(
                tries < 5,
                "garage node {i}: no free ports to restart on:\n{log}"
            );
            let node = &mut self.nodes[i];
            let (s3_port, rpc_port) = (free_port(), free_port());
            let dir = node
                .conf
                .parent()
                .expect("the node's directory")
                .to_path_buf();
            node.conf = write_garage_toml(&dir, NODES, s3_port, rpc_port, &self.secret);
            (node.s3_port, node.rpc_port) = (s3_port, rpc_port);
        }
        if self.nodes[i].rpc_port != old_rpc {
            // the others still dial its old address: introduce it anew (its id now names
            // the new one), as the cluster's setup did
            let id = garage_cli_retry(&self.bin, &self.nodes[i].conf, &["node", "id", "-q"]);
            let id = String::from_utf8_lossy(&id.stdout).trim().to_owned();
            for other in (0..NODES).filter(|&o| o != i) {
                let o = garage_cli_retry(
                    &self.bin,
                    &self.nodes[other].conf,
                    &["node", "connect", &id],
                );
                assert!(
                    o.status.success(),
                    "node connect {id}: {}\n{}",
                    text(&o),
                    self.logs()
                );
            }
        }
        self.wait_healthy();
    }

    /// Node `i`'s S3 and RPC ports (they change when it restarts on fresh ones).
    pub fn ports(&self, i: usize) -> (u16, u16) {
        (self.nodes[i].s3_port, self.nodes[i].rpc_port)
    }

    /// Every node's captured output, for failure messages.
    pub fn logs(&self) -> String {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                format!(
                    "--- garage node {i} ---\n{}\n",
                    std::fs::read_to_string(&n.log).unwrap_or_default()
                )
            })
            .collect()
    }

    /// After a node restart: has every node sync its metadata tables (`garage repair
    /// tables`) and waits (two minutes at most) until the listing under `prefix` holds no
    /// key for which `stale` is true. A node killed right after a run may miss that run's
    /// last deletes; Garage filters each node's part of a listing before merging them, so
    /// the restarted node's copy of a deleted object shows in listings until the tables
    /// are synced. The wait ends on the state the tool wrote, or fails naming what stayed.
    pub fn converge(&self, prefix: &str, stale: impl Fn(&str) -> bool) {
        let o = garage_cli(
            &self.bin,
            &self.nodes[0].conf,
            &["repair", "--all-nodes", "--yes", "tables"],
        );
        assert!(o.status.success(), "garage repair tables: {}", text(&o));
        let store = self.server.store();
        self.wait_for(Duration::from_secs(120), || {
            let left: Vec<String> = match s3napback::store::ReadStore::list(&store, prefix) {
                Ok(listed) => listed
                    .into_iter()
                    .map(|o| o.key)
                    .filter(|k| stale(k))
                    .collect(),
                Err(e) => vec![format!("(listing failed: {e})")],
            };
            if left.is_empty() {
                return Ok(());
            }
            Err(format!(
                "still listed two minutes after the table repair: {left:?}"
            ))
        });
    }

    /// Waits until `garage status` on node 0 sees every running node up and, when all
    /// three run, no failed node (60 s at most).
    fn wait_healthy(&self) {
        let running: Vec<usize> = (0..NODES)
            .filter(|&i| self.nodes[i].child.is_some())
            .collect();
        self.wait_for(Duration::from_secs(60), || {
            let o = garage_cli(&self.bin, &self.nodes[0].conf, &["status"]);
            let out = text(&o);
            let healthy = o.status.success()
                && (running.len() < NODES || !out.contains("FAILED NODES"))
                && running
                    .iter()
                    .all(|&i| out.contains(&format!("127.0.0.1:{}", self.nodes[i].rpc_port)));
            if healthy {
                return Ok(());
            }
            Err(format!(
                "the garage cluster did not become healthy within 60 s:\n{out}"
            ))
        });
    }

    /// Polls `check` (every 200 ms) until it is `Ok`; once `within` has passed, panics
    /// with its last `Err` and the nodes' logs.
    fn wait_for(&self, within: Duration, mut check: impl FnMut() -> Result<(), String>) {
        let deadline = Instant::now() + within;
        loop {
            let failed = match check() {
                Ok(()) => return,
                Err(why) => why,
            };
            assert!(Instant::now() < deadline, "{failed}\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// A port free on 127.0.0.1 a moment ago (the node that binds it next may still lose it:
/// [`GarageCluster::start_node`] tries again).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts node `node` under libfaketime reading `clock_file`; waits until it listens on
/// its RPC port. `Err(log)` when a port was in use.
fn spawn(bin: &Path, node: &mut Node, clock_file: &Path) -> Result<(), String> {
    let from = log_end(&node.log);
    let out = File::options()
        .create(true)
        .append(true)
        .open(&node.log)
        .expect("garage log");
    let mut child = Command::new(bin)
        .arg("-c")
        .arg(&node.conf)
        .arg("server")
        .env("RUST_LOG", "garage=info")
        .envs(clock::faketime_env(clock_file))
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("dup log"))
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {} server: {e}", bin.display()));
    let up = wait_until_listening(
        "garage node",
        &mut child,
        &node.log,
        from,
        &garage_listening(node.s3_port, node.rpc_port),
        Duration::from_secs(60),
    );
    node.child = Some(child);
    up
}

/// Starts a three-node cluster with its clock at [`clock::DAY_1`]: the nodes connected,
/// the layout of three zones applied, a key `test-key` and a bucket it owns.
pub fn garage_cluster() -> GarageCluster {
    start_on_free_ports("garage cluster", 2 * NODES, cluster_on)
}

fn cluster_on(ports: &[u16]) -> Started<GarageCluster> {
    let bin = garage_binary();
    let dir = tempfile::tempdir().expect("temp dir");
    let clock_file = dir.path().join("clock");
    clock::write_faketime(&clock_file, clock::DAY_1);
    let secret: String = (0..32).map(|_| format!("{:02x}", rand_byte())).collect();
    let mut nodes = Vec::new();
    for i in 0..NODES {
        let (s3_port, rpc_port) = (ports[2 * i], ports[2 * i + 1]);
        let node_dir = dir.path().join(format!("node{i}"));
        std::fs::create_dir(&node_dir).expect("node dir");
        let conf = write_garage_toml(&node_dir, NODES, s3_port, rpc_port, &secret);
        nodes.push(Node {
            conf,
            log: node_dir.join("garage.log"),
            s3_port,
            rpc_port,
            child: None,
        });
    }
    let log0 = nodes[0].log.clone();
    let mut cluster = GarageCluster {
        nodes,
        bin: bin.clone(),
        secret: secret.clone(),
        server: S3Server {
            endpoint: format!("http://127.0.0.1:{}", ports[0]),
            region: "garage".into(),
            key: String::new(),
            secret: String::new(),
            bucket: "s3napback-test".into(),
            kind: "garage cluster",
            child: None,
            log: log0,
            clock: clock_file.clone(),
            _dir: dir,
        },
    };
    for i in 0..NODES {
        if let Err(log) = spawn(&bin, &mut cluster.nodes[i], &clock_file) {
            // the cluster drops here: the nodes started so far are killed
            return Started::AddressInUse(log);
        }
    }

    let fail = |what: &str, o: &Output, cluster: &GarageCluster| -> ! {
        panic!(
            "garage cluster: {what} failed: {}\n{}",
            text(o),
            cluster.logs()
        )
    };
    // each node's id (the CLI of a node reads it from its metadata_dir)
    let mut ids = Vec::new();
    for node in &cluster.nodes {
        let o = garage_cli_retry(&bin, &node.conf, &["node", "id", "-q"]);
        if !o.status.success() {
            fail("node id", &o, &cluster);
        }
        ids.push(String::from_utf8_lossy(&o.stdout).trim().to_owned());
    }
    let conf0 = cluster.nodes[0].conf.clone();
    for id in &ids[1..] {
        let o = garage_cli_retry(&bin, &conf0, &["node", "connect", id]);
        if !o.status.success() {
            fail("node connect", &o, &cluster);
        }
    }
    for (i, id) in ids.iter().enumerate() {
        let short = id.split('@').next().unwrap_or_default();
        let zone = format!("dc{}", i + 1);
        let o = garage_cli_retry(
            &bin,
            &conf0,
            &["layout", "assign", "-z", &zone, "-c", "1G", short],
        );
        if !o.status.success() {
            fail("layout assign", &o, &cluster);
        }
    }
    let o = garage_cli(&bin, &conf0, &["layout", "apply", "--version", "1"]);
    if !o.status.success() {
        fail("layout apply", &o, &cluster);
    }
    cluster.wait_healthy();
    let bucket = cluster.server.bucket.clone();
    let (key, secret) =
        key_and_bucket(&bin, &conf0, &bucket).unwrap_or_else(|(what, o)| fail(what, &o, &cluster));
    cluster.server.key = key;
    cluster.server.secret = secret;
    Started::Up(cluster)
}

/// The cluster starts, every node is up, and a stopped node comes back.
#[test]
fn a_cluster_starts_and_a_node_restarts() {
    use s3napback::store::{ReadStore, Store};
    let mut cluster = garage_cluster();
    let store = cluster.store();
    store.put("a", bytes::Bytes::from_static(b"one")).unwrap();
    cluster.stop_node(2);
    store.put("b", bytes::Bytes::from_static(b"two")).unwrap();
    cluster.start_node(2);
    assert_eq!(store.list("").unwrap().len(), 2);
}

/// A node whose ports another program took while it was stopped comes back on others,
/// and the cluster is whole again (every node sees the others: `wait_healthy`).
#[test]
fn a_node_whose_ports_were_taken_restarts_on_others() {
    use s3napback::store::{ReadStore, Store};
    let mut cluster = garage_cluster();
    let store = cluster.store();
    store.put("a", bytes::Bytes::from_static(b"one")).unwrap();
    let (s3_port, rpc_port) = cluster.ports(2);
    cluster.stop_node(2);
    let _held: Vec<std::net::TcpListener> = [s3_port, rpc_port]
        .iter()
        .map(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).expect("the node's old port"))
        .collect();
    store.put("b", bytes::Bytes::from_static(b"two")).unwrap();
    cluster.start_node(2);
    let (s3_now, rpc_now) = cluster.ports(2);
    assert!(s3_now != s3_port && rpc_now != rpc_port);
    assert_eq!(store.list("").unwrap().len(), 2);
}
