//! `S3PayloadSigning`: what the upload requests carry on the wire (seen by a recording
//! proxy in front of the server) and that unsigned uploads store and restore exactly.
//! Real tar, gzip, gpg, Garage and moto.

use std::fs;
use std::path::PathBuf;

use crate::backup::harness::{Site, chunks, make_tree, noise, restored, tree};
use crate::support::proxy::{FaultProxy, Seen};
use crate::support::s3::{S3Server, garage, moto};

/// 2026-11-12 is a FULL day (slot 7) of the cycle; checks and restores run later that day.
const DAY_1: &str = "2026-11-12 03:00:00";
const LATER: &str = "2026-11-12 12:00:00";

/// A site backing up a tree with `noise_bytes` incompressible bytes through a recording
/// proxy in front of `server`, with the top-level `settings`.
struct Scene {
    site: Site,
    src: PathBuf,
    conf: PathBuf,
    proxy: FaultProxy,
}

impl Scene {
    fn new(server: &S3Server, chunk_size: u64, noise_bytes: usize, settings: &str) -> Scene {
        let site = Site::new();
        let src = site.path("src/tree");
        make_tree(&src);
        fs::write(src.join("big.bin"), noise(noise_bytes, 5)).unwrap();
        let proxy = FaultProxy::start(&server.endpoint);
        let body = format!(
            "S3Retries 1\nS3Timeout 5\n{settings}<Cycle daily>\n\tFrequency 1\n\tDiffs 6\n\
             \tFulls 2\n\tDirectory {}\n</Cycle>\n",
            src.display()
        );
        let conf = site.config_via(server, &proxy.endpoint, chunk_size, true, &body);
        Scene {
            site,
            src,
            conf,
            proxy,
        }
    }

    fn conf(&self) -> &str {
        self.conf.to_str().unwrap()
    }

    /// Backs up, then `verify --deep` and a restore that must give the tree back.
    fn round_trip(&self) {
        let run = self.site.run(&["-c", self.conf()], DAY_1);
        assert_eq!(run.status, 0, "{}", run.log);
        let verify = self
            .site
            .run(&["verify", "--deep", "-c", self.conf()], LATER);
        assert_eq!(verify.status, 0, "{}", verify.log);
        let out = self.site.path("out");
        let name = self.src.display().to_string();
        let restore = self.site.restore(&self.conf, &out, &name, LATER);
        assert_eq!(restore.status, 0, "{}", restore.log);
        assert_eq!(tree(&restored(&out, &self.src)), tree(&self.src));
    }

    /// The requests that sent a body: PutObject (chunks, the commit marker) and
    /// UploadPart, not the body-less CopyObject.
    fn uploads(&self) -> Vec<Seen> {
        self.proxy
            .seen()
            .into_iter()
            .filter(|s| s.method == "PUT")
            .filter(|s| header(s, "x-amz-copy-source").is_none())
            .filter(|s| header(s, "content-length").is_some_and(|n| n != "0"))
            .collect()
    }
}

fn header<'a>(seen: &'a Seen, name: &str) -> Option<&'a str> {
    seen.headers
        .iter()
        .find(|(h, _)| h.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Every upload says UNSIGNED-PAYLOAD and carries its Content-MD5, which is signed.
fn assert_unsigned(scene: &Scene, parts: usize) {
    let uploads = scene.uploads();
    let sent_parts = uploads
        .iter()
        .filter(|s| s.path.contains("partNumber="))
        .count();
    assert_eq!(sent_parts, parts, "{uploads:?}");
    assert!(uploads.len() > parts, "whole PUTs too: {uploads:?}");
    for upload in &uploads {
        assert_eq!(
            header(upload, "x-amz-content-sha256"),
            Some("UNSIGNED-PAYLOAD"),
            "{upload:?}"
        );
        assert!(header(upload, "content-md5").is_some(), "{upload:?}");
        let auth = header(upload, "authorization").unwrap_or_default();
        assert!(
            auth.contains("content-md5"),
            "Content-MD5 is signed: {auth}"
        );
    }
}

#[test]
fn unsigned_payloads_store_parts_and_whole_chunks_that_restore_exactly_on_garage() {
    let server = garage();
    // one 36 MB chunk in three parts (16 + 16 + 2.3 MiB), then the short final chunk
    let scene = Scene::new(&server, 36_000_000, 40_000_000, "S3PayloadSigning no\n");
    scene.round_trip();
    assert_unsigned(&scene, 3);
    let slot = format!("{}-7-FULL", scene.src.display());
    assert_eq!(chunks(&server.store(), &slot).len(), 2);
}

#[test]
fn unsigned_payloads_restore_exactly_on_moto() {
    let server = moto();
    let scene = Scene::new(&server, 300_000, 1_000_000, "S3PayloadSigning no\n");
    scene.round_trip();
    assert_unsigned(&scene, 0);
}

#[test]
fn upload_bodies_are_signed_over_plain_http_by_default() {
    let server = garage();
    let scene = Scene::new(&server, 300_000, 1_000_000, "");
    scene.round_trip();
    let uploads = scene.uploads();
    assert!(uploads.len() > 3, "{uploads:?}");
    for upload in &uploads {
        let sha = header(upload, "x-amz-content-sha256").unwrap_or_default();
        assert!(
            sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
            "a SHA-256 of the body: {upload:?}"
        );
    }
}
