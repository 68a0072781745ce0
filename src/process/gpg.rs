//! The GnuPG recipient check done before any work (LEGACY.md §4), asking gpg itself to
//! resolve the name as `-r` would (the legacy matched a regular expression: a DEFECT).

use duct::cmd;

/// The recipient cannot be used for encryption.
#[derive(Debug, thiserror::Error)]
pub enum GpgError {
    #[error("GPG recipient {0} not found")]
    NotFound(String),
    #[error("cannot run gpg to check recipient {recipient}: {message}")]
    Run { recipient: String, message: String },
}

/// Checks that gpg knows a public key for `recipient` that can encrypt.
pub fn check_recipient(recipient: &str, keyring: Option<&str>) -> Result<(), GpgError> {
    let mut args: Vec<&str> = vec!["--batch", "--with-colons"];
    if let Some(k) = keyring {
        args.extend(["--keyring", k]);
    }
    args.extend(["--list-public-keys", "--", recipient]);
    let out = cmd("gpg", &args)
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .map_err(|e| GpgError::Run {
            recipient: recipient.to_string(),
            message: e.to_string(),
        })?;
    let listing = String::from_utf8_lossy(&out.stdout);
    let usable = listing.lines().any(|l| {
        let f: Vec<&str> = l.split(':').collect();
        f.first() == Some(&"pub")
            && !matches!(f.get(1), Some(&"e") | Some(&"r") | Some(&"d") | Some(&"i"))
            && f.get(11).is_some_and(|caps| caps.contains('E'))
    });
    // gpg exits 2 for harmless complaints too (a --keyring that is also the default
    // keyring gives "File exists"), so the listing decides, not the status.
    if usable {
        Ok(())
    } else {
        Err(GpgError::NotFound(recipient.to_string()))
    }
}
