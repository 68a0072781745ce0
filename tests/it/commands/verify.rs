//! `verify` exit statuses that name the slot: `--deep` with a key that cannot decrypt a
//! slot, and DIFFs whose FULL is missing.

use super::{describe, run, tar_gz};
use crate::backup::harness::{Site, js3tream_put, pipe_through};
use crate::support::gpg::GpgHome;
use crate::support::s3::moto;

const CHUNK: usize = 1000;

#[test]
fn verify_deep_with_the_wrong_key_exits_1_naming_the_slot() {
    let server = moto();
    let store = server.store();
    let site = Site::new();
    let conf = site.config(&server, CHUNK as u64, true, "Directory /etc\n");
    let conf = conf.to_str().unwrap();
    let plain = tar_gz(&site, "a");
    js3tream_put(&store, "/etc-0-FULL", &plain, CHUNK);
    let sealed = pipe_through(
        &site
            .gpg
            .argv(&["--trust-model", "always", "-r", site.gpg.recipient(), "-e"]),
        &tar_gz(&site, "b"),
    );
    js3tream_put(&store, "/etc-1-DIFF", &sealed, CHUNK);

    let out = run(&site, "UTC", &["verify", "--deep", "-c", conf]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the right key: {}",
        describe(&out)
    );

    let wrong = Site::with_gpg(GpgHome::other());
    let out = run(&wrong, "UTC", &["verify", "--deep", "-c", conf]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("/etc-1-DIFF: gpg -d failed: "),
        "{}",
        describe(&out)
    );
    assert!(
        !text.contains("/etc-0-FULL: "),
        "the plain FULL is fine: {text}"
    );
    assert!(
        text.contains("chain broken at /etc-1-DIFF"),
        "{}",
        describe(&out)
    );
}

/// The DIFFs of a legacy rotation whose FULL is gone: as restore does (issue 24), verify
/// takes the oldest DIFF as the chain start and says so, naming it.
#[test]
fn verify_with_a_missing_full_names_the_oldest_diff_it_restores_from() {
    let server = moto();
    let store = server.store();
    let site = Site::new();
    let conf = site.config(&server, CHUNK as u64, false, "Directory /etc\n");
    let conf = conf.to_str().unwrap();
    // the DIFFs of a rotation whose FULL is gone
    js3tream_put(&store, "/etc-1-DIFF", &tar_gz(&site, "a"), CHUNK);
    js3tream_put(&store, "/etc-2-DIFF", &tar_gz(&site, "b"), CHUNK);

    let out = run(&site, "UTC", &["verify", "-c", conf]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Directory /etc"), "{}", describe(&out));
    assert!(
        text.contains("(oldest DIFF /etc-1-DIFF taken as a full dump + 1 DIFFs: complete only if it was the item's first backup)"),
        "names the slot and why: {}",
        describe(&out)
    );
}
