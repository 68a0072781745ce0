//! Throwaway GnuPG homes with a generated key (no passphrase), usable for encrypting and
//! decrypting through `--homedir` or `GNUPGHOME`.
//!
//! Key generation happens once per test process and per identity; every test gets its own
//! copy of the generated home, so tests neither wait for key generation nor share agents.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use tempfile::TempDir;

/// The recipient of the standard test key.
pub const RECIPIENT: &str = "backup@example.com";
/// The user id of the standard test key.
pub const UID: &str = "Backup Test <backup@example.com>";
/// The recipient of the "other" (wrong) key.
pub const OTHER_RECIPIENT: &str = "other@example.com";
/// The user id of the "other" (wrong) key.
pub const OTHER_UID: &str = "Other Key <other@example.com>";

/// A GnuPG home directory in a temp dir, removed (and its agent stopped) on drop.
pub struct GpgHome {
    dir: TempDir,
    recipient: &'static str,
}

impl GpgHome {
    /// A home holding the key of [`UID`] (secret and public part, ultimately trusted).
    pub fn new() -> GpgHome {
        static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
        let template = TEMPLATE.get_or_init(|| generate(UID, "main"));
        GpgHome::copy_of(template, RECIPIENT)
    }

    /// A home holding a different key, [`OTHER_UID`]: data encrypted for [`RECIPIENT`]
    /// cannot be decrypted with it, and [`RECIPIENT`] is unknown in it.
    pub fn other() -> GpgHome {
        static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
        let template = TEMPLATE.get_or_init(|| generate(OTHER_UID, "other"));
        GpgHome::copy_of(template, OTHER_RECIPIENT)
    }

    /// A home without any key.
    pub fn empty() -> GpgHome {
        let dir = short_tempdir();
        set_private(dir.path());
        GpgHome {
            dir,
            recipient: RECIPIENT,
        }
    }

    fn copy_of(template: &Path, recipient: &'static str) -> GpgHome {
        let dir = short_tempdir();
        set_private(dir.path());
        for name in ["pubring.kbx", "trustdb.gpg"] {
            fs::copy(template.join(name), dir.path().join(name)).expect("copy gpg home");
        }
        let keys = dir.path().join("private-keys-v1.d");
        fs::create_dir(&keys).unwrap();
        set_private(&keys);
        for entry in fs::read_dir(template.join("private-keys-v1.d")).unwrap() {
            let entry = entry.unwrap();
            fs::copy(entry.path(), keys.join(entry.file_name())).expect("copy secret key");
        }
        GpgHome { dir, recipient }
    }

    /// The home directory (for `--homedir`).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The home directory as a string argument.
    pub fn path_str(&self) -> String {
        self.dir
            .path()
            .to_str()
            .expect("utf-8 temp path")
            .to_string()
    }

    /// The environment variable that selects this home: `("GNUPGHOME", path)`.
    pub fn env(&self) -> (&'static str, PathBuf) {
        ("GNUPGHOME", self.dir.path().to_path_buf())
    }

    /// The public keyring file (for the legacy `GpgKeyring` / `--keyring`).
    pub fn pubring(&self) -> PathBuf {
        self.dir.path().join("pubring.kbx")
    }

    /// The e-mail address of this home's key.
    pub fn recipient(&self) -> &'static str {
        self.recipient
    }

    /// `gpg --batch --homedir HOME` followed by `args`, as an argv vector.
    pub fn argv(&self, args: &[&str]) -> Vec<String> {
        let mut v = vec!["gpg".to_string(), "--batch".into(), "--homedir".into()];
        v.push(self.path_str());
        v.extend(args.iter().map(|s| s.to_string()));
        v
    }
}

impl Drop for GpgHome {
    fn drop(&mut self) {
        stop_agent(self.dir.path());
    }
}

/// gpg-agent sockets live in the home: keep the path short (sun_path is ~108 bytes).
fn short_tempdir() -> TempDir {
    tempfile::Builder::new()
        .prefix("gpg")
        .tempdir_in("/tmp")
        .expect("temp gpg home")
}

fn set_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700)).unwrap();
}

fn stop_agent(home: &Path) {
    let _ = Command::new("gpgconf")
        .arg("--homedir")
        .arg(home)
        .args(["--kill", "gpg-agent"])
        .output();
}

const TEMPLATE_PREFIX: &str = "s3napback-gpgtpl-";

/// Generates a template home `/tmp/s3napback-gpgtpl-PID-KIND`. Statics are never dropped,
/// so templates of test processes that are gone are removed here instead.
fn generate(uid: &str, kind: &str) -> PathBuf {
    remove_stale_templates();
    let dir = PathBuf::from(format!(
        "/tmp/{TEMPLATE_PREFIX}{}-{kind}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir(&dir).expect("create gpg template home");
    set_private(&dir);
    let out = Command::new("gpg")
        .arg("--batch")
        .arg("--homedir")
        .arg(&dir)
        .args(["--passphrase", "", "--pinentry-mode", "loopback"])
        .args(["--quick-gen-key", uid, "future-default", "default", "never"])
        .output()
        .expect("run gpg (is gnupg installed?)");
    assert!(
        out.status.success(),
        "gpg key generation failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The template's agent is not needed any more; copies start their own.
    stop_agent(&dir);
    dir
}

fn remove_stale_templates() {
    for entry in fs::read_dir("/tmp").into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TEMPLATE_PREFIX)) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or("");
        if !pid.is_empty() && !Path::new("/proc").join(pid).exists() {
            stop_agent(&entry.path());
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}
