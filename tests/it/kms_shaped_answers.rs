//! Answers shaped as an SSE-KMS bucket gives them (issue 16): ETags of 32 hex digits that
//! are not the MD5 of the data, object answers saying `x-amz-server-side-encryption:
//! aws:kms`. There is no KMS here: the test proxy rewrites a real moto's answers that way
//! (`FaultProxy::sse_kms`), and the tool runs through it over HTTP. What is checked is the
//! tool's side: a FULL + DIFF chain is backed up with the MD5 of each chunk stored beside
//! it, `verify --deep` passes and the restore gives the source back, and a chunk whose
//! bytes are changed in the bucket afterwards is caught by that stored MD5.

use std::fs;
use std::path::PathBuf;

use s3napback::store::keys::parse_chunk_key;
use s3napback::store::s3::S3Store;
use s3napback::store::{MD5_METADATA, ReadStore, md5_hex};

use crate::backup::harness::{Run, Site, make_tree, restored, tree};
use crate::support::proxy::FaultProxy;
use crate::support::s3::{S3Server, moto};

/// PUTs `body` at `key` straight to moto (not through the tool or the proxy) with the MD5
/// the object was stored with (`md5` as `x-amz-meta-s3napback-md5`): the bytes changed
/// behind the tool's back, the stored MD5 left as it was.
fn overwrite_keeping_metadata(server: &S3Server, key: &str, body: &[u8], md5: &str) {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(server.region.clone()))
        .endpoint_url(&server.endpoint)
        .credentials_provider(Credentials::new(
            &server.key,
            &server.secret,
            None,
            None,
            "test",
        ))
        .force_path_style(true)
        .build();
    let client = aws_sdk_s3::Client::from_conf(conf);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(
        client
            .put_object()
            .bucket(&server.bucket)
            .key(key)
            .metadata(MD5_METADATA, md5)
            .body(body.to_vec().into())
            .send(),
    )
    .unwrap();
}

/// Every chunk of the bucket: key, listed ETag, size.
fn listing(store: &S3Store) -> Vec<(String, String, u64)> {
    store
        .list("")
        .unwrap()
        .into_iter()
        .filter(|o| parse_chunk_key(&o.key).is_some())
        .map(|o| (o.key, o.etag.unwrap_or_default(), o.size))
        .collect()
}

/// A site whose config reaches moto through the proxy, in SSE-KMS mode.
struct KmsSite {
    site: Site,
    server: S3Server,
    proxy: FaultProxy,
    conf: PathBuf,
}

impl KmsSite {
    /// The backup run as of `now` (the server's clock moved there first).
    fn backup(&self, now: &str) -> Run {
        self.site.run(&["-c", self.conf.to_str().unwrap()], now)
    }

    /// `s3napback COMMAND -c CONF ARGS... --now NOW`.
    fn command(&self, command: &str, args: &[&str], now: &str) -> Run {
        let mut all = vec![command, "-c", self.conf.to_str().unwrap()];
        all.extend_from_slice(args);
        self.site.run(&all, now)
    }

    /// A store reaching moto through the proxy, as the tool does.
    fn proxied(&self) -> S3Store {
        S3Store::connect(self.server.config().with_endpoint(&self.proxy.endpoint)).unwrap()
    }
}

fn kms_site() -> (KmsSite, PathBuf) {
    let site = Site::new();
    let server = moto();
    server.set_clock("2026-11-12 03:00:00");
    server.store();
    let proxy = FaultProxy::start(&server.endpoint);
    proxy.sse_kms();
    let src = site.path("src/tree");
    make_tree(&src);
    let name = src.display().to_string();
    let body = format!("<Cycle daily>\n\tDiffs 6\n\tFulls 2\n\tDirectory {name}\n</Cycle>\n");
    let conf = site.config(&server, 1000, true, &body);
    let text = fs::read_to_string(&conf).unwrap();
    fs::write(&conf, text.replace(&server.endpoint, &proxy.endpoint)).unwrap();
    let kms = KmsSite {
        site,
        server,
        proxy,
        conf,
    };
    (kms, src)
}

#[test]
fn a_chain_behind_kms_shaped_answers_backs_up_verifies_and_restores() {
    let (kms, src) = kms_site();
    let name = src.display().to_string();
    // FULL on the 12th, DIFF on the 13th
    let run = kms.backup("2026-11-12 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    fs::write(src.join("a.txt"), "alpha on the 13th\n").unwrap();
    fs::remove_file(src.join("sub/b.txt")).unwrap();
    fs::write(src.join("new.bin"), crate::backup::harness::noise(3000, 7)).unwrap();
    let run = kms.backup("2026-11-13 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    let full = format!("{name}-7-FULL");
    let diff = format!("{name}-8-DIFF");

    // every chunk (committed by CopyObject) kept the MD5 of its upload, which the
    // KMS-shaped ETags cannot give
    let store = kms.proxied();
    let chunks = listing(&store);
    assert!(chunks.len() > 4, "{chunks:?}");
    for prefix in [&full, &diff] {
        assert!(
            chunks.iter().any(|(k, ..)| k.starts_with(prefix.as_str())),
            "{prefix}"
        );
    }
    for (key, _, size) in &chunks {
        let got = store.get_sized(key, *size).unwrap();
        assert_eq!(
            got.stored_md5.as_deref(),
            Some(md5_hex(&got).as_str()),
            "{key}"
        );
    }

    let now = "2026-11-13 09:00:00";
    let run = kms.command("verify", &["--deep"], now);
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect("slots checked (deep), 0 with problems");
    let out = kms.site.path("out");
    let run = kms.command("restore", &["--into", out.to_str().unwrap(), &name], now);
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect(&full).expect(&diff);
    assert_eq!(tree(&restored(&out, &src)), tree(&src));

    // chunk 1 of the FULL changed in the bucket, its stored MD5 left as it was
    let key = format!("{full}:00000000000000000001");
    let size = chunks.iter().find(|(k, ..)| *k == key).expect("chunk 1").2;
    let good = store.get_sized(&key, size).unwrap();
    let mut bad = good.data.to_vec();
    bad[10] ^= 0x55;
    overwrite_keeping_metadata(&kms.server, &key, &bad, &md5_hex(&good));
    assert_eq!(
        listing(&store).len(),
        chunks.len(),
        "the same key was replaced"
    );

    let run = kms.command("verify", &["--deep"], now);
    assert_eq!(run.status, 1, "{}", run.log);
    run.expect(&format!(
        "{full}: chunk 1: MD5 {} does not match the MD5 {} stored with it at upload",
        md5_hex(&bad),
        md5_hex(&good)
    ));
    run.expect("1 with problems");
    let out = kms.site.path("out-bad");
    let run = kms.command("restore", &["--into", out.to_str().unwrap(), &name], now);
    assert_eq!(run.status, 1, "{}", run.log);
    run.expect(&format!("failed in {}:{full}", kms.server.bucket))
        .expect(&format!("chunk {key} is corrupted"))
        .expect("stored with it at upload");
}
