//! Issue 18, bounded memory: a chunk larger than 32 MiB is a multipart upload of 16 MiB
//! parts (each with its Content-MD5) under the legacy key, its MD5 stored with it after
//! completion; restore and `verify --deep` read it in ranged pieces and check it whole.
//! A failed run leaves no open upload, the next run aborts those a killed run left, and a
//! chunk whose bytes are not what was stored fails restore and verify. Real tar, gzip,
//! gpg, moto and Garage.

use std::fs;
use std::path::{Path, PathBuf};

use s3napback::store::ReadStore;
use s3napback::store::keys::{chunk_key, staging_prefix};
use s3napback::store::s3::S3Store;

use crate::backup::harness::{Site, chunks, make_tree, noise, restored, tree};
use crate::support::proxy::{Fault, FaultProxy, Rule};
use crate::support::s3::{S3Server, garage, moto};
use crate::support::s3admin::Admin;

/// Larger than the 32 MiB above which chunks are multipart: three parts (16, 16, 2.3 MiB).
const BIG_CHUNK: u64 = 36_000_000;
/// 2026-11-12 is a FULL day (slot 7) of the cycle; restores and checks run later that day.
const DAY_1: &str = "2026-11-12 03:00:00";
const LATER: &str = "2026-11-12 12:00:00";

/// `settings`, then a daily cycle of `src`, with few, quick retries.
fn body(settings: &str, src: &Path) -> String {
    format!(
        "S3Retries 1\nS3Timeout 5\n{settings}<Cycle daily>\n\tFrequency 1\n\tDiffs 6\n\
         \tFulls 2\n\tDirectory {}\n</Cycle>\n",
        src.display()
    )
}

/// A site whose tree holds `noise_bytes` incompressible bytes (so the gzip stream is as
/// large), its config reaching `server` through a recording proxy.
struct Scene {
    site: Site,
    src: PathBuf,
    conf: PathBuf,
    proxy: FaultProxy,
    store: S3Store,
    admin: Admin,
}

impl Scene {
    fn new(server: &S3Server, chunk_size: u64, noise_bytes: usize) -> Scene {
        Scene::with_settings(server, chunk_size, noise_bytes, "")
    }

    /// [`Scene::new`] with more top-level `settings`.
    fn with_settings(
        server: &S3Server,
        chunk_size: u64,
        noise_bytes: usize,
        settings: &str,
    ) -> Scene {
        let site = Site::new();
        let src = site.path("src/tree");
        make_tree(&src);
        fs::write(src.join("big.bin"), noise(noise_bytes, 11)).unwrap();
        let proxy = FaultProxy::start(&server.endpoint);
        let conf = site.config_via(
            server,
            &proxy.endpoint,
            chunk_size,
            true,
            &body(settings, &src),
        );
        Scene {
            site,
            src,
            conf,
            proxy,
            store: server.store(),
            admin: Admin::new(server),
        }
    }

    fn conf(&self) -> &str {
        self.conf.to_str().unwrap()
    }

    fn slot(&self) -> String {
        format!("{}-7-FULL", self.src.display())
    }

    /// `restore --into OUT` at [`LATER`]: its exit status and log, and the tree it gave.
    fn restore(&self, out: &str) -> (i32, String, PathBuf) {
        let out = self.site.path(out);
        let name = self.src.display().to_string();
        let run = self.site.restore(&self.conf, &out, &name, LATER);
        (run.status, run.log, restored(&out, &self.src))
    }
}

/// Backs up, checks the layout and what is stored with the large chunk, verifies deep
/// and restores exactly.
fn round_trip(server: &S3Server) {
    let scene = Scene::new(server, BIG_CHUNK, 40_000_000);
    let run = scene.site.run(&["-c", scene.conf()], DAY_1);
    assert_eq!(run.status, 0, "{}", run.log);

    let slot = scene.slot();
    let layout = chunks(&scene.store, &slot);
    assert_eq!(layout.len(), 2, "{layout:?}");
    assert_eq!(
        layout[0],
        (0, BIG_CHUNK),
        "the legacy layout: one object per chunk"
    );
    assert!(layout[1].1 > 4_000_000 && layout[1].1 < BIG_CHUNK);

    // the large chunk went up as parts, each with its Content-MD5
    let parts: Vec<_> = scene
        .proxy
        .seen()
        .into_iter()
        .filter(|s| s.method == "PUT" && s.path.contains("partNumber="))
        .collect();
    assert_eq!(parts.len(), 3, "16 + 16 + 2.3 MiB");
    for part in &parts {
        assert!(
            part.headers
                .iter()
                .any(|(h, _)| h.eq_ignore_ascii_case("content-md5")),
            "{part:?}"
        );
    }
    // its MD5 is stored with it (the copy into the slot kept it)
    let key = scene.store.physical_key(&chunk_key(&slot, 0));
    let bytes = scene.store.get(&key).unwrap();
    let (metadata, _) = scene.admin.head(&key);
    assert_eq!(
        metadata.get("s3napback-md5").map(String::as_str),
        Some(s3napback::store::md5_hex(&bytes).as_str())
    );
    assert!(scene.admin.open_uploads().is_empty());

    let verify = scene
        .site
        .run(&["verify", "--deep", "-c", scene.conf()], LATER);
    assert_eq!(verify.status, 0, "{}", verify.log);
    let (status, log, got) = scene.restore("out");
    assert_eq!(status, 0, "{log}");
    assert_eq!(tree(&got), tree(&scene.src));
}

#[test]
fn large_chunks_round_trip_on_moto() {
    round_trip(&moto());
}

#[test]
fn large_chunks_round_trip_on_garage() {
    round_trip(&garage());
}

#[test]
fn a_large_final_chunk_is_one_multipart_object_that_restores_exactly() {
    let server = moto();
    let scene = Scene::new(&server, 100_000_000, 40_000_000);
    let run = scene.site.run(&["-c", scene.conf()], DAY_1);
    assert_eq!(run.status, 0, "{}", run.log);
    let layout = chunks(&scene.store, &scene.slot());
    assert_eq!(layout.len(), 1, "{layout:?}");
    assert!(layout[0].1 > 40_000_000);
    let (status, log, got) = scene.restore("out");
    assert_eq!(status, 0, "{log}");
    assert_eq!(tree(&got), tree(&scene.src));
}

#[test]
fn a_large_chunk_whose_bytes_changed_fails_restore_and_verify() {
    let server = moto();
    let scene = Scene::new(&server, BIG_CHUNK, 40_000_000);
    let run = scene.site.run(&["-c", scene.conf()], DAY_1);
    assert_eq!(run.status, 0, "{}", run.log);

    // same size, other bytes, the MD5 stored at upload kept: only the bytes can tell
    let key = scene.store.physical_key(&chunk_key(&scene.slot(), 0));
    let (metadata, _) = scene.admin.head(&key);
    let stored = metadata["s3napback-md5"].clone();
    let mut bytes = scene.store.get(&key).unwrap().to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    scene
        .admin
        .put_with_metadata(&key, &bytes, &[("s3napback-md5", &stored)]);

    let (status, log, _) = scene.restore("out");
    assert_eq!(status, 1, "{log}");
    assert!(
        log.contains(&format!("{key} is corrupted")) && log.contains("stored with it at upload"),
        "{log}"
    );
    let verify = scene
        .site
        .run(&["verify", "--deep", "-c", scene.conf()], LATER);
    assert_eq!(verify.status, 1, "{}", verify.log);
    assert!(
        verify.log.contains("chunk 0: MD5") && verify.log.contains("stored with it at upload"),
        "{}",
        verify.log
    );
}

#[test]
fn a_failed_part_leaves_no_upload_and_the_next_run_aborts_a_killed_runs() {
    let server = moto();
    let scene = Scene::new(&server, BIG_CHUNK, 80_000_000);
    let snapshot = scene.site.diff_dir().join(format!(
        "{}.diff",
        scene.src.display().to_string().replace('/', "_")
    ));

    // every upload of chunk 1 (its parts, after chunk 0 is complete) fails
    scene
        .proxy
        .add(Rule::chunk("PUT", 1, Fault::Status(500, "InternalError")));
    let run = scene.site.run(&["-c", scene.conf()], DAY_1);
    assert_ne!(run.status, 0, "{}", run.log);
    assert!(run.log.contains("uploading chunk 1 of"), "{}", run.log);
    assert!(
        scene.admin.open_uploads().is_empty(),
        "{:?}",
        scene.admin.open_uploads()
    );
    assert!(
        scene.store.list("").unwrap().is_empty(),
        "nothing stored, nothing staged"
    );
    assert!(!snapshot.exists(), "no snapshot file for a failed FULL");

    // what a run killed in the middle of a large chunk leaves: an open upload
    scene.proxy.clear();
    let staged = chunk_key(&staging_prefix(&scene.slot(), "1790000000-4242"), 0);
    scene.admin.start_upload(&staged, &noise(5 << 20, 5));
    assert_eq!(scene.admin.open_uploads(), [staged]);
    let run = scene.site.run(&["-c", scene.conf()], DAY_1);
    assert_eq!(run.status, 0, "{}", run.log);
    assert!(
        run.log
            .contains("aborted 1 multipart uploads a killed run had left"),
        "{}",
        run.log
    );
    assert!(scene.admin.open_uploads().is_empty());
    let (status, log, got) = scene.restore("out");
    assert_eq!(status, 0, "{log}");
    assert_eq!(tree(&got), tree(&scene.src));
}

#[test]
fn large_chunks_on_a_locked_bucket_are_locked_and_restore() {
    let server = moto();
    let admin = Admin::new(&server);
    admin.create_locked_bucket();
    // a default retention locks every version written, the staged parts' too
    admin.set_default_retention("GOVERNANCE", 1);
    let scene = Scene::with_settings(
        &server,
        BIG_CHUNK,
        40_000_000,
        "ObjectLockMode COMPLIANCE\nObjectLockGrace 3\n",
    );
    let run = scene.site.run(&["-c", scene.conf()], DAY_1);
    assert_eq!(run.status, 0, "{}", run.log);
    let key = chunk_key(&scene.slot(), 0);
    let version = scene
        .store
        .list_versions(&key)
        .unwrap()
        .into_iter()
        .find(|v| v.is_latest && v.key == key)
        .expect("chunk 0");
    assert_eq!(version.size, BIG_CHUNK);
    let lock = scene.store.retention_of(&key, &version.version_id).unwrap();
    assert_eq!(
        lock.map(|l| l.mode),
        Some(s3napback::store::lock::LockMode::Compliance),
        "the large chunk is locked as the rotation asks"
    );
    let (status, log, got) = scene.restore("out");
    assert_eq!(status, 0, "{log}");
    assert_eq!(tree(&got), tree(&scene.src));
}
