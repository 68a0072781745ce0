//! With GpgRecipient set, "encrypted" means gpg really decrypted (issue 16): OpenPGP slots
//! that are not encrypted — `gpg --store` (a compressed packet holding a literal), `gpg -z 0
//! --store` (a bare literal-data packet), `gpg --sign` (signed only) — are refused by
//! `restore`, `cat` and `verify --deep` although `gpg --batch -d` prints them and exits 0;
//! `--allow-unencrypted` restores them. The streams are made by the real tar and gpg.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::backup::harness::stdout_of;
use crate::restore::{Setup, encrypt, put_stream, s3napback, setup, stderr};
use crate::support::gpg::GpgHome;

/// `tar -cz t` of a one-file tree made in `dir`.
fn tar_gz(dir: &Path) -> Vec<u8> {
    fs::create_dir_all(dir.join("t")).unwrap();
    fs::write(dir.join("t/file.txt"), "not encrypted\n").unwrap();
    stdout_of(
        Command::new("tar")
            .current_dir(dir)
            .args(["-c", "-z", "-f", "-", "t"]),
    )
}

/// `s3napback COMMAND -c CONF ARGS...` at the restore tests' clock.
fn run(setup: &Setup, gpg: &GpgHome, args: &[&str]) -> std::process::Output {
    s3napback(setup, gpg, args)
}

/// The unencrypted OpenPGP kinds: (slot item, gpg arguments that make it).
const KINDS: [(&str, &[&str]); 3] = [
    ("/stored", &["--store"]),
    ("/literal", &["-z", "0", "--store"]),
    ("/signed", &["--sign"]),
];

#[test]
fn openpgp_slots_that_are_not_encrypted_are_refused() {
    let gpg = GpgHome::new();
    let setup = setup("", true);
    let work = setup.dir.path();
    let stream = tar_gz(&work.join("src"));
    for (item, args) in KINDS {
        let data = crate::restore::run_with_input(&gpg.argv(args), &stream);
        assert!(data[0] & 0x80 != 0, "{item}: OpenPGP");
        put_stream(&setup.store, &format!("{item}-1-FULL"), &data);
    }
    put_stream(&setup.store, "/good-1-FULL", &encrypt(&gpg, &stream));

    for (item, _) in KINDS {
        let prefix = format!("{item}-1-FULL");
        let into = work.join("out").join(&item[1..]);
        let out = run(
            &setup,
            &gpg,
            &["restore", "--into", into.to_str().unwrap(), item],
        );
        let log = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{item}: {log}");
        assert!(
            log.contains(&format!("failed in s3napback-test:{prefix}"))
                && log.contains("not encrypted (OpenPGP data that gpg did not decrypt")
                && log.contains("--allow-unencrypted"),
            "{item}: {log}"
        );
        assert!(!into.join("t").exists(), "{item}: nothing extracted");

        let out = run(&setup, &gpg, &["cat", &prefix]);
        let log = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{item}: {log}");
        assert!(
            log.contains(&prefix) && log.contains("not encrypted"),
            "{item}: {log}"
        );
        assert!(out.stdout.is_empty(), "{item}: cat wrote nothing");

        let out = run(
            &setup,
            &gpg,
            &[
                "restore",
                "--allow-unencrypted",
                "--into",
                into.to_str().unwrap(),
                item,
            ],
        );
        assert!(out.status.success(), "{item}: {}", stderr(&out));
        assert_eq!(
            fs::read_to_string(into.join("t/file.txt")).unwrap(),
            "not encrypted\n"
        );
        let out = run(&setup, &gpg, &["cat", "--allow-unencrypted", &prefix]);
        assert!(out.status.success(), "{item}: {}", stderr(&out));
        assert_eq!(out.stdout, stream, "{item}: cat gives the tar stream");
    }

    // the encrypted slot passes
    let into = work.join("out/good");
    let out = run(
        &setup,
        &gpg,
        &["restore", "--into", into.to_str().unwrap(), "/good"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(into.join("t/file.txt").is_file());

    let out = run(&setup, &gpg, &["verify", "--deep"]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}{}", stderr(&out));
    for (item, _) in KINDS {
        assert!(
            report.contains(&format!(
                "{item}-1-FULL: not encrypted (OpenPGP data that gpg did not decrypt"
            )),
            "{item}: {report}"
        );
    }
    assert!(!report.contains("/good-1-FULL:"), "{report}");
    assert!(
        report.contains("4 slots checked (deep), 3 with problems"),
        "{report}"
    );
}

#[test]
fn without_gpg_recipient_unencrypted_openpgp_slots_restore() {
    let gpg = GpgHome::new();
    let setup = setup("", false);
    let work = setup.dir.path();
    let stream = tar_gz(&work.join("src"));
    let data = crate::restore::run_with_input(&gpg.argv(&["--store"]), &stream);
    put_stream(&setup.store, "/stored-1-FULL", &data);
    let into = work.join("out");
    let out = run(
        &setup,
        &gpg,
        &["restore", "--into", into.to_str().unwrap(), "/stored"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(into.join("t/file.txt").is_file());
    let out = run(&setup, &gpg, &["verify", "--deep"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
}
