//! This host's copy of each commit marker it writes (`DIFFDIR/SLOT.commit`, JSON): a
//! marker in the bucket is finished only from it (`backup`), and the keys of a commit
//! under way are this host's (`check`).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::items::JournalItem;
use super::{JournalError, marker_copy_path};
use crate::store::commit::{Commit, MAX_MARKER_BYTES};

/// This host's copy of a commit marker it wrote (`DIFFDIR/SLOT.commit`, JSON): the
/// marker itself and the journal its commit goes into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkerCopy {
    /// The marker as written to the bucket.
    pub commit: Commit,
    /// The item's journal.
    pub journal: PathBuf,
    /// The item part of the slot prefix (`/etc`).
    pub part: String,
    /// Slots of the item are FULL/DIFF.
    pub typed: bool,
}

impl MarkerCopy {
    /// The item the copy's commit belongs to.
    pub fn item(&self) -> JournalItem {
        JournalItem {
            label: self.part.clone(),
            part: self.part.clone(),
            typed: self.typed,
            path: self.journal.clone(),
            bound: None,
        }
    }
}

/// This host's copy of the marker of `slot` (logical prefix), if DiffDir holds one.
pub fn read_copy(diff_dir: &Path, slot: &str) -> Result<Option<MarkerCopy>, JournalError> {
    let path = marker_copy_path(diff_dir, slot);
    let body = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(JournalError::Io {
                path: path.display().to_string(),
                source,
            });
        }
    };
    if body.len() as u64 > MAX_MARKER_BYTES.saturating_mul(2) {
        return Err(JournalError::TooBig {
            path: path.display().to_string(),
            size: body.len() as u64,
        });
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| JournalError::Damaged {
            path: path.display().to_string(),
            line: e.line(),
            what: e.to_string(),
        })
}
