//! `cat PREFIX` writes the slot's stream, decrypted when it is OpenPGP, byte for byte as
//! it was backed up: streams made here by tar and gpg, stored as js3tream stored them.

use super::{describe, run, tar_gz};
use crate::backup::harness::{Site, js3tream_put, pipe_through};
use crate::support::s3::moto;

const CHUNK: usize = 1000;

#[test]
fn cat_gives_the_stored_stream_byte_for_byte_encrypted_or_not() {
    let server = moto();
    let store = server.store();
    let site = Site::new();
    let conf = site.config(&server, CHUNK as u64, true, "Directory /etc\n");
    let conf = conf.to_str().unwrap();

    let plain = tar_gz(&site, "src");
    assert!(plain.len() > 3 * CHUNK, "several chunks: {}", plain.len());
    let sealed = pipe_through(
        &site
            .gpg
            .argv(&["--trust-model", "always", "-r", site.gpg.recipient(), "-e"]),
        &plain,
    );
    js3tream_put(&store, "/etc-0-FULL", &plain, CHUNK);
    js3tream_put(&store, "/etc-1-DIFF", &sealed, CHUNK);
    // a stream of exactly two chunks ends with a zero-length object
    let even: Vec<u8> = plain.iter().copied().cycle().take(2 * CHUNK).collect();
    js3tream_put(&store, "/etc-2-DIFF", &even, CHUNK);

    for (prefix, want) in [
        ("/etc-0-FULL", &plain),
        ("/etc-1-DIFF", &plain),
        ("/etc-2-DIFF", &even),
    ] {
        // plain slots under a GpgRecipient config need the explicit flag
        let out = run(
            &site,
            "UTC",
            &["cat", "-c", conf, "--allow-unencrypted", prefix],
        );
        assert_eq!(out.status.code(), Some(0), "{prefix}: {}", describe(&out));
        assert!(
            out.stdout == *want,
            "{prefix}: cat gave {} bytes, the stream has {}",
            out.stdout.len(),
            want.len()
        );
    }

    // with a key that cannot decrypt: an error naming the slot, nothing passed off as data
    let other = Site::with_gpg(crate::support::gpg::GpgHome::other());
    let out = run(&other, "UTC", &["cat", "-c", conf, "/etc-1-DIFF"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("/etc-1-DIFF"),
        "{}",
        describe(&out)
    );
}
