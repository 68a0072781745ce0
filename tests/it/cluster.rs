//! Issue 18, a multi-node store: backups to a three-node Garage cluster (replication
//! factor 3, write and read quorum 2) restore exactly, with all nodes up, with one node
//! stopped before or during a backup, and a backup with two nodes stopped fails cleanly:
//! the old slot kept, nothing staged left, the snapshot file unchanged.

use std::fs;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use s3napback::store::ReadStore;

use crate::backup::harness::{Site, make_tree, noise, restored, tree};
use crate::support::garage_cluster::{GarageCluster, garage_cluster};
use crate::support::proxy::{Fault, FaultProxy, Gate, Rule};

/// Small enough that each slot has many chunks (the tree holds 20 KB of noise).
const CHUNK: u64 = 1000;
const DAY_1: &str = "2026-11-12 03:00:00";
const DAY_2: &str = "2026-11-13 03:00:00";

/// A daily cycle of `src` (2026-11-12 is a FULL, the day after a DIFF), with few and
/// short retries so a request the cluster cannot serve fails fast.
fn body(src: &Path) -> String {
    format!(
        "S3Retries 1\nS3Timeout 5\n<Cycle daily>\n\tFrequency 1\n\tDiffs 6\n\tFulls 2\n\
         \tDirectory {}\n</Cycle>\n",
        src.display()
    )
}

/// `DIFFDIR/NAME.diff` of a directory item.
fn snapshot_of(site: &Site, src: &Path) -> std::path::PathBuf {
    site.diff_dir().join(format!(
        "{}.diff",
        src.display().to_string().replace('/', "_")
    ))
}

/// A change for the DIFF: a file changed (other size), one added, both dated two seconds
/// ahead so that tar sees them newer than the FULL's snapshot whatever the timestamp
/// resolution (no waiting for the clock).
fn change(src: &Path) {
    fs::write(src.join("a.txt"), "alpha, changed\n").unwrap();
    fs::write(src.join("sub/new.bin"), noise(3_000, 7)).unwrap();
    let ahead = std::time::SystemTime::now() + Duration::from_secs(2);
    for file in ["a.txt", "sub/new.bin"] {
        fs::File::options()
            .write(true)
            .open(src.join(file))
            .and_then(|f| f.set_modified(ahead))
            .unwrap();
    }
}

/// `restore --into OUT NAME` at `now`; panics unless it exits 0; the restored tree.
fn restore(
    site: &Site,
    conf: &str,
    src: &Path,
    out: &str,
    now: &str,
    cluster: &GarageCluster,
) -> std::collections::BTreeMap<String, Vec<u8>> {
    let out = site.path(out);
    let name = src.display().to_string();
    let run = site.run(
        &[
            "restore",
            "-c",
            conf,
            "--into",
            out.to_str().unwrap(),
            &name,
        ],
        now,
    );
    assert_eq!(run.status, 0, "{}\n{}", run.log, cluster.logs());
    tree(&restored(&out, src))
}

/// Waits (polling the gate's state) until a request is held at `gate`; panics when the
/// run ends first or after two minutes.
fn wait_held(gate: &Gate, child: &mut Child, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while gate.waiting() < 1 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the run ended ({status}) before a chunk was held:\n{}",
                fs::read_to_string(log).unwrap()
            );
        }
        assert!(Instant::now() < deadline, "no chunk reached the proxy");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Nothing under the staging namespace.
fn assert_nothing_staged(cluster: &GarageCluster) {
    let staged = cluster.store().list(".s3napback/staging").unwrap();
    assert!(staged.is_empty(), "{staged:?}");
}

/// After nodes were restarted: waits until the cluster's tables are synced, so that no
/// commit marker, and no staged chunk of `slot`, that the tool deleted while a node was
/// away still shows (see [`GarageCluster::converge`]); fails when one stays.
fn converge(cluster: &GarageCluster, slot: &str) {
    let staging = format!("{}/", slot.trim_start_matches('/'));
    cluster.converge(".s3napback/", |k| {
        k.contains(".s3napback/commit/")
            || (k.contains(".s3napback/staging/") && k.contains(&staging))
    });
}

#[test]
fn cluster_backup_verifies_and_restores_exactly() {
    let cluster = garage_cluster();
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let conf = site.config(&cluster, CHUNK, true, &body(&src));
    let conf = conf.to_str().unwrap();

    let full = site.run(&["-c", conf], DAY_1);
    assert_eq!(full.status, 0, "{}\n{}", full.log, cluster.logs());
    change(&src);
    let diff = site.run(&["-c", conf], DAY_2);
    assert_eq!(diff.status, 0, "{}\n{}", diff.log, cluster.logs());
    let name = src.display().to_string();
    assert!(
        crate::backup::harness::chunks(&cluster.store(), &format!("{name}-7-FULL")).len() > 3,
        "the FULL should span several chunks"
    );

    let verify = site.run(&["verify", "--deep", "-c", conf], "2026-11-13 12:00:00");
    assert_eq!(verify.status, 0, "{}\n{}", verify.log, cluster.logs());
    let got = restore(&site, conf, &src, "out", "2026-11-13 12:00:00", &cluster);
    assert_eq!(got, tree(&src));
    assert_nothing_staged(&cluster);
}

#[test]
fn cluster_backup_with_one_node_stopped_before_it() {
    let mut cluster = garage_cluster();
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let conf = site.config(&cluster, CHUNK, true, &body(&src));
    let conf = conf.to_str().unwrap();

    cluster.stop_node(2);
    let full = site.run(&["-c", conf], DAY_1);
    assert_eq!(full.status, 0, "{}\n{}", full.log, cluster.logs());
    change(&src);
    let diff = site.run(&["-c", conf], DAY_2);
    assert_eq!(diff.status, 0, "{}\n{}", diff.log, cluster.logs());
    cluster.start_node(2);
    converge(&cluster, &format!("{}-7-FULL", src.display()));

    let got = restore(&site, conf, &src, "out", "2026-11-13 12:00:00", &cluster);
    assert_eq!(got, tree(&src));
    assert_nothing_staged(&cluster);
}

/// A node is killed while the FULL's chunk 3 is held at a proxy (chunks 0-2 stored on
/// all three nodes, the rest on two): the run still completes.
#[test]
fn cluster_backup_with_one_node_stopped_in_the_middle() {
    let mut cluster = garage_cluster();
    let proxy = FaultProxy::start(&cluster.endpoint);
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let conf = site.config_via(&cluster, &proxy.endpoint, CHUNK, true, &body(&src));
    let conf = conf.to_str().unwrap();

    let gate = Gate::default();
    proxy.add(Rule::chunk("PUT", 3, Fault::Hold(gate.clone())));
    let log = site.path("full.log");
    let out = fs::File::create(&log).unwrap();
    let mut child: Child = site
        .command(&["-c", conf], DAY_1)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    wait_held(&gate, &mut child, &log);
    cluster.stop_node(1);
    gate.open();
    let status = child.wait().unwrap();
    let text = fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(0), "{text}\n{}", cluster.logs());
    cluster.start_node(1);
    // the killed node held staged chunks 0-2, which the run deleted while it was away
    converge(&cluster, &format!("{}-7-FULL", src.display()));

    let got = restore(&site, conf, &src, "out", "2026-11-12 12:00:00", &cluster);
    assert_eq!(got, tree(&src));
    assert_nothing_staged(&cluster);
}

/// When the two nodes stop: before the run (its listing fails) or while the DIFF's chunk 1
/// is held at a proxy (its uploads and the clean-up of what it staged fail).
#[derive(PartialEq)]
enum Stop {
    Before,
    Midway,
}

/// Two of three nodes stopped: the item fails (exit 1), the snapshot file keeps its bytes,
/// the FULL of the day before still restores once the nodes are back, and the next run
/// makes the DIFF and leaves nothing staged.
fn two_nodes_stopped(when: Stop) {
    let mut cluster = garage_cluster();
    let proxy = FaultProxy::start(&cluster.endpoint);
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let conf = site.config_via(&cluster, &proxy.endpoint, CHUNK, true, &body(&src));
    let conf = conf.to_str().unwrap();

    let full = site.run(&["-c", conf], DAY_1);
    assert_eq!(full.status, 0, "{}\n{}", full.log, cluster.logs());
    let at_full = tree(&src);
    let snapshot = snapshot_of(&site, &src);
    let snapshot_before = fs::read(&snapshot).unwrap();

    change(&src);
    let gate = Gate::default();
    let log = site.path("diff.log");
    let out = fs::File::create(&log).unwrap();
    if when == Stop::Before {
        cluster.stop_node(1);
        cluster.stop_node(2);
    } else {
        proxy.add(Rule::chunk("PUT", 1, Fault::Hold(gate.clone())));
    }
    let mut child: Child = site
        .command(&["-c", conf], DAY_2)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    if when == Stop::Midway {
        wait_held(&gate, &mut child, &log);
        cluster.stop_node(1);
        cluster.stop_node(2);
        gate.open();
    }
    let status = child.wait().unwrap();
    let text = fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(1), "{text}\n{}", cluster.logs());
    assert!(
        text.contains(&format!(
            "Backup.S3napback.Directory ERROR Backup of Directory {}",
            src.display()
        )) || text.contains("ERROR cannot list bucket"),
        "{text}"
    );
    assert_eq!(
        fs::read(&snapshot).unwrap(),
        snapshot_before,
        "the failed run changed the snapshot file"
    );
    proxy.clear();
    cluster.start_node(1);
    cluster.start_node(2);
    // the FULL's commit marker and staging, deleted just before the nodes were killed
    // (what the failed DIFF staged stays until the next run)
    converge(&cluster, &format!("{}-7-FULL", src.display()));

    // the FULL of the day before still restores
    let got = restore(&site, conf, &src, "out1", "2026-11-13 04:00:00", &cluster);
    assert_eq!(got, at_full);

    // the next run makes the DIFF; nothing staged is left
    let rerun = site.run(&["-c", conf], "2026-11-13 05:00:00");
    assert_eq!(rerun.status, 0, "{}\n{}", rerun.log, cluster.logs());
    assert_nothing_staged(&cluster);
    let got = restore(&site, conf, &src, "out2", "2026-11-13 12:00:00", &cluster);
    assert_eq!(got, tree(&src));
}

#[test]
fn cluster_backup_with_two_nodes_stopped_before_it_fails_cleanly() {
    two_nodes_stopped(Stop::Before);
}

#[test]
fn cluster_backup_with_two_nodes_stopped_in_the_middle_fails_cleanly() {
    two_nodes_stopped(Stop::Midway);
}
