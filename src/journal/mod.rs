//! The per-item journal in DiffDir: what this host wrote to the bucket for one item.
//!
//! Whoever can write to the bucket can plant, replace or delete keys; the bucket alone
//! cannot tell this host's backups from theirs. The journal, kept on the host beside the
//! item's DiffDir state file (`DIFFDIR/<state file name>.journal`, see [`journal_path`]),
//! records each slot this host committed: the slot key, FULL/DIFF, its stamp (sequence
//! and time, `store::stamp`), each chunk's ETag (the MD5 of a single-part object) and
//! version id (versioned buckets), whether a commit record was written (Object Lock) and
//! a field for a signature digest. It also names the staging prefixes of uploads under
//! way. A real run reads it to decide "already done today" and compares the bucket's keys
//! of its items with it (`check`): every key it does not account for is reported as
//! `TAMPERED`.
//!
//! The file is line-based text (see [`format`](mod@format)), bounded ([`MAX_JOURNAL_BYTES`], one
//! entry per slot: a commit replaces the slot's entry), replaced atomically (a temporary
//! file in DiffDir, fsync, rename). A damaged file is an error naming the file and line.
//!
//! An item with no journal yet (the first run after upgrading, a new host) keeps the
//! listing-based behaviour; its first commit starts the journal and takes the item's
//! keys the bucket holds then as they are (`adopted` entries: trust on first use).

pub mod check;
pub mod copy;
pub mod format;
pub mod items;
pub mod writes;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::collisions::state_file_name;
use crate::plan::schedule::SlotType;
use crate::store::stamp::Stamp;

/// The largest journal read: far above what a cycle's slots need (an entry per slot, a
/// line per chunk), far below what would strain memory.
pub const MAX_JOURNAL_BYTES: u64 = 64 * 1024 * 1024;

/// The longest line of a journal.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// The journal of the item whose slot prefixes start with `part` (`/etc`,
/// `MySQL/--all-databases`): `DIFFDIR/` + the state file name of `part` + `.journal`
/// (`/etc` -> `_etc.diff.journal`, beside `_etc.diff`).
pub fn journal_path(diff_dir: &Path, part: &str) -> PathBuf {
    diff_dir.join(format!("{}.journal", state_file_name(part)))
}

/// Where this host keeps its copy of the commit marker of `slot` (logical prefix):
/// `DIFFDIR/` + the slot with `/` turned into `_` + `.commit` (`_etc-3-FULL.commit`).
/// A marker in the bucket is finished only when this copy exists and matches it.
pub fn marker_copy_path(diff_dir: &Path, slot: &str) -> PathBuf {
    diff_dir.join(format!("{}.commit", slot.replace('/', "_")))
}

/// One chunk of a journalled slot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChunkEntry {
    /// The ETag the server gave the chunk (without quotes).
    pub etag: Option<String>,
    /// The chunk's version id (versioned buckets).
    pub version: Option<String>,
}

/// What this host wrote into one slot (or, `adopted`, found there when the journal
/// started).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// FULL/DIFF (`None` for database slots).
    pub slot_type: Option<SlotType>,
    /// The slot's stamp (`None` for an adopted slot that had none).
    pub stamp: Option<Stamp>,
    /// The chunks, by index.
    pub chunks: Vec<ChunkEntry>,
    /// A commit record (`.s3napback/record/SLOT`) was written (Object Lock).
    pub record: bool,
    /// Taken from the bucket when the journal started, not written by a run that
    /// journalled it.
    pub adopted: bool,
    /// The digest of the slot's signature, when the stream is signed (`GpgSigner`).
    pub signature: Option<String>,
}

/// The journal of one item.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Journal {
    /// Entries by slot (logical prefix, `/etc-3-FULL`).
    pub slots: BTreeMap<String, Entry>,
    /// Staging prefixes of uploads under way (`.s3napback/staging/SLOT/RUN-ID`).
    pub staging: BTreeSet<String>,
}

/// Why a journal cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file could not be read or written.
    #[error("journal {path}: {source}")]
    Io {
        /// The journal file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a journal, or is damaged.
    #[error("journal {path} is damaged at line {line}: {what}")]
    Damaged {
        /// The journal file.
        path: String,
        /// The first bad line (1-based).
        line: usize,
        /// What is wrong.
        what: String,
    },
    /// The file is larger than any journal.
    #[error("journal {path} holds {size} bytes, more than a journal's {MAX_JOURNAL_BYTES}")]
    TooBig {
        /// The journal file.
        path: String,
        /// Its size.
        size: u64,
    },
}

impl Journal {
    /// Reads the journal at `path`; `Ok(None)` when there is none yet.
    pub fn read(path: &Path) -> Result<Option<Journal>, JournalError> {
        let io = |source| JournalError::Io {
            path: path.display().to_string(),
            source,
        };
        let size = match fs::metadata(path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        if size > MAX_JOURNAL_BYTES {
            return Err(JournalError::TooBig {
                path: path.display().to_string(),
                size,
            });
        }
        let mut bytes = Vec::new();
        let file = fs::File::open(path).map_err(io)?;
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, MAX_JOURNAL_BYTES.saturating_add(1)),
            &mut bytes,
        )
        .map_err(io)?;
        if bytes.len() as u64 > MAX_JOURNAL_BYTES {
            return Err(JournalError::TooBig {
                path: path.display().to_string(),
                size: bytes.len() as u64,
            });
        }
        format::parse(&bytes)
            .map(Some)
            .map_err(|(line, what)| JournalError::Damaged {
                path: path.display().to_string(),
                line,
                what,
            })
    }

    /// Writes the journal to `path` atomically: a temporary file beside it, synced, then
    /// renamed over it (a crash leaves the old journal or the new one, never a mix).
    pub fn write(&self, path: &Path, item: &str) -> Result<(), JournalError> {
        let io = |source| JournalError::Io {
            path: path.display().to_string(),
            source,
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut temp = tempfile::Builder::new()
            .prefix(".journal-")
            .tempfile_in(dir)
            .map_err(io)?;
        temp.write_all(format::render(self, item).as_bytes())
            .map_err(io)?;
        temp.as_file().sync_all().map_err(io)?;
        temp.persist(path).map_err(|e| io(e.error))?;
        Ok(())
    }

    /// Whether the journal accounts for the staging prefix `staging` (logical).
    pub fn has_staging(&self, staging: &str) -> bool {
        self.staging.contains(staging)
    }
}

/// Changes the journal at `path` (read, `change`, written back atomically); a journal
/// that does not exist yet starts empty. Returns whether the journal is new.
pub fn update(
    path: &Path,
    item: &str,
    change: impl FnOnce(&mut Journal),
) -> Result<bool, JournalError> {
    let existing = Journal::read(path)?;
    let new = existing.is_none();
    let mut journal = existing.unwrap_or_default();
    change(&mut journal);
    journal.write(path, item)?;
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Journal {
        let mut j = Journal::default();
        j.slots.insert(
            "/srv/with space-3-FULL".into(),
            Entry {
                slot_type: Some(SlotType::Full),
                stamp: Some(Stamp {
                    time: 1_790_000_000,
                    seq: 12,
                    chain_start: false,
                }),
                chunks: vec![
                    ChunkEntry {
                        etag: Some("0123456789abcdef0123456789abcdef".into()),
                        version: None,
                    },
                    ChunkEntry {
                        etag: Some("fedc-2".into()),
                        version: Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY".into()),
                    },
                ],
                record: true,
                adopted: false,
                signature: None,
            },
        );
        j.slots.insert(
            "MySQL/--all-databases-4".into(),
            Entry {
                slot_type: None,
                stamp: None,
                chunks: vec![ChunkEntry::default()],
                record: false,
                adopted: true,
                signature: Some("sha256:ab".into()),
            },
        );
        j.staging
            .insert(".s3napback/staging//srv/with space-3-FULL/1-2".into());
        j
    }

    #[test]
    fn a_journal_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = journal_path(dir.path(), "/srv/with space");
        assert!(path.ends_with("_srv_with space.diff.journal"));
        assert_eq!(Journal::read(&path).unwrap(), None);
        sample().write(&path, "/srv/with space").unwrap();
        assert_eq!(Journal::read(&path).unwrap(), Some(sample()));
        let new = update(&path, "/srv/with space", |j| {
            j.staging.clear();
        })
        .unwrap();
        assert!(!new);
        assert!(Journal::read(&path).unwrap().unwrap().staging.is_empty());
        // nothing but the journal is left in DiffDir (the temporary file was renamed)
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_damaged_journal_is_an_error_naming_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = journal_path(dir.path(), "/etc");
        let text = format::render(&sample(), "/etc");
        // cut in the middle: the end line is missing
        fs::write(&path, &text[..text.len() / 2]).unwrap();
        let e = Journal::read(&path).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("journal {} is damaged", path.display())),
            "{e}"
        );
        // a chunk count that is not a number
        let bad = text.replace("chunks=2", "chunks=two");
        fs::write(&path, bad).unwrap();
        let e = Journal::read(&path).unwrap_err().to_string();
        assert!(e.contains("at line 3"), "{e}");
        // binary junk
        fs::write(&path, [0xff, 0xfe, 0, 1]).unwrap();
        let e = Journal::read(&path).unwrap_err().to_string();
        assert!(e.contains("at line 1"), "{e}");
    }
}
