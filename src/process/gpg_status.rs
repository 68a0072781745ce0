//! Whether `gpg -d` really decrypted, judged from its status lines (`--status-file`, see
//! gpg's doc/DETAILS): `gpg --batch -d` also prints OpenPGP data that is not encrypted (a
//! literal-data packet as `gpg --store` writes it, a compressed-only or a signed-only
//! message) and exits 0, so its exit status alone does not say the data was encrypted.
//!
//! Decrypted means: a decryption began (`BEGIN_DECRYPTION`), succeeded (`DECRYPTION_OKAY`,
//! no `DECRYPTION_FAILED`) and ended (`END_DECRYPTION`), and every plaintext gpg wrote
//! (`PLAINTEXT`) was inside such a decryption. gpg writes (and flushes) each status line
//! before the output it announces, so once the first plaintext byte has arrived the status
//! written so far already says whether it came out of a decryption ([`judge`] with
//! `finished` false).

/// Why a `gpg -d` run did not decrypt its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotDecrypted {
    /// No decryption at all: OpenPGP data that is not encrypted.
    #[error("OpenPGP data that gpg did not decrypt: a literal, compressed or signed-only message")]
    NoDecryption,
    /// Plaintext came from outside any decryption (next to encrypted data).
    #[error("OpenPGP data with plaintext outside the encrypted part")]
    PlaintextOutside,
    /// A decryption began but did not end well.
    #[error("gpg's decryption did not succeed ({0})")]
    Unfinished(&'static str),
}

/// What the status lines so far say.
#[derive(Debug, Default)]
struct Seen {
    began: bool,
    okay: bool,
    failed: bool,
    /// Open decryptions (BEGIN_DECRYPTION not yet ended).
    depth: u32,
    plaintext_outside: bool,
}

fn scan(status: &str) -> Seen {
    let mut seen = Seen::default();
    for line in status.lines() {
        let Some(rest) = line.strip_prefix("[GNUPG:] ") else {
            continue;
        };
        match rest.split_whitespace().next().unwrap_or("") {
            "BEGIN_DECRYPTION" => {
                seen.began = true;
                seen.depth += 1;
            }
            "END_DECRYPTION" => seen.depth = seen.depth.saturating_sub(1),
            "DECRYPTION_OKAY" => seen.okay = true,
            "DECRYPTION_FAILED" => seen.failed = true,
            "PLAINTEXT" if seen.depth == 0 => seen.plaintext_outside = true,
            _ => {}
        }
    }
    seen
}

/// Judges gpg's status lines: those written so far when the first plaintext byte arrived
/// (`finished` false), or all of them once gpg exited 0 (`finished` true).
pub fn judge(status: &str, finished: bool) -> Result<(), NotDecrypted> {
    let seen = scan(status);
    if !seen.began {
        return Err(NotDecrypted::NoDecryption);
    }
    if seen.plaintext_outside {
        return Err(NotDecrypted::PlaintextOutside);
    }
    if !finished {
        return Ok(());
    }
    if seen.failed {
        Err(NotDecrypted::Unfinished("DECRYPTION_FAILED"))
    } else if !seen.okay {
        Err(NotDecrypted::Unfinished("no DECRYPTION_OKAY"))
    } else if seen.depth != 0 {
        Err(NotDecrypted::Unfinished("no END_DECRYPTION"))
    } else {
        Ok(())
    }
}

/// A file gpg writes its status lines into (`--status-file PATH`), removed when dropped.
pub struct StatusFile(tempfile::NamedTempFile);

impl StatusFile {
    /// Creates an empty status file (mode 0600) in the default temp directory.
    pub fn new() -> std::io::Result<StatusFile> {
        tempfile::Builder::new()
            .prefix("s3napback-gpg-status-")
            .tempfile()
            .map(StatusFile)
    }

    /// Where it is.
    pub fn path(&self) -> &std::path::Path {
        self.0.path()
    }

    /// The arguments that make gpg write its status lines here.
    pub fn args(&self) -> [String; 2] {
        ["--status-file".into(), self.0.path().display().to_string()]
    }

    /// Everything gpg wrote so far (lossy UTF-8; an unreadable file reads as empty).
    pub fn read(&self) -> String {
        std::fs::read(self.0.path())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // status lines as gpg 2.2 writes them (KEY_CONSIDERED and such left out)
    const DECRYPTED: &str = "[GNUPG:] ENC_TO CA87D73889D444F6 18 0\n\
        [GNUPG:] DECRYPTION_KEY B240 389A u\n[GNUPG:] BEGIN_DECRYPTION\n\
        [GNUPG:] DECRYPTION_INFO 2 9 0\n[GNUPG:] PLAINTEXT 62 1796439359 \n\
        [GNUPG:] PLAINTEXT_LENGTH 6\n[GNUPG:] DECRYPTION_OKAY\n[GNUPG:] GOODMDC\n\
        [GNUPG:] END_DECRYPTION\n";
    const STORED: &str = "[GNUPG:] PLAINTEXT 62 1796439359 \n[GNUPG:] PLAINTEXT_LENGTH 6\n";
    const SIGNED: &str = "[GNUPG:] PLAINTEXT 62 1796439359 \n[GNUPG:] PLAINTEXT_LENGTH 6\n\
        [GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 0E63D628534A3A83 T <t@example.com>\n";

    #[test]
    fn a_real_decryption_passes() {
        assert_eq!(judge(DECRYPTED, true), Ok(()));
        let until_plaintext = &DECRYPTED[..DECRYPTED.find("PLAINTEXT_LENGTH").unwrap()];
        assert_eq!(judge(until_plaintext, false), Ok(()));
        // ... but is not finished there
        assert!(judge(until_plaintext, true).is_err());
    }

    #[test]
    fn stored_and_signed_messages_are_not_decrypted() {
        for status in [STORED, SIGNED, ""] {
            assert_eq!(judge(status, false), Err(NotDecrypted::NoDecryption));
            assert_eq!(judge(status, true), Err(NotDecrypted::NoDecryption));
        }
    }

    #[test]
    fn plaintext_beside_a_decryption_is_refused() {
        let before = format!("{STORED}{DECRYPTED}");
        assert_eq!(judge(&before, true), Err(NotDecrypted::PlaintextOutside));
        let after = format!("{DECRYPTED}{STORED}");
        assert_eq!(judge(&after, true), Err(NotDecrypted::PlaintextOutside));
    }

    #[test]
    fn failed_decryptions_are_refused() {
        let failed = "[GNUPG:] NO_SECKEY CA87\n[GNUPG:] BEGIN_DECRYPTION\n\
            [GNUPG:] DECRYPTION_FAILED\n[GNUPG:] END_DECRYPTION\n";
        assert_eq!(
            judge(failed, true),
            Err(NotDecrypted::Unfinished("DECRYPTION_FAILED"))
        );
        let both = format!("{DECRYPTED}{failed}");
        assert!(judge(&both, true).is_err());
    }
}
