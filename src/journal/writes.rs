//! The journal's writes during a backup: the staging prefix before the upload, the
//! host's copy of each commit marker, and the slot's entry at the commit (written by the
//! commit's `replaced` step, with the DiffDir state, before the marker goes).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::check::{adopt, item_keys};
pub use super::copy::{MarkerCopy, read_copy};
use super::items::JournalItem;
use super::{ChunkEntry, Entry, Journal, JournalError, marker_copy_path, update};
use crate::store::ObjectInfo;
use crate::store::commit::{Commit, Committed};

/// The DiffDir of an item (its journal's folder).
pub fn diff_dir_of(item: &JournalItem) -> &Path {
    item.path.parent().unwrap_or(Path::new("."))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Before an upload: the journal names its staging prefix. An item with no journal yet
/// starts one here, taking the item's keys in `listing` (the bucket at the start of the
/// run) as they are. Returns whether the journal started now.
pub fn begin_upload(
    item: &JournalItem,
    staging: &str,
    listing: &[ObjectInfo],
) -> Result<bool, JournalError> {
    let existing = Journal::read(&item.path)?;
    let new = existing.is_none();
    let mut journal = existing.unwrap_or_else(|| adopt(item, &item_keys(item, listing)));
    // what earlier runs staged for the slot is gone (`backup` deleted it before)
    if let Some((dir, _)) = staging.rsplit_once('/') {
        journal
            .staging
            .retain(|s| !s.starts_with(&format!("{dir}/")));
    }
    journal.staging.insert(staging.to_owned());
    journal.write(&item.path, &item.part)?;
    Ok(new)
}

/// After a failed upload whose staging was deleted: the journal forgets it.
pub fn end_upload(item: &JournalItem, staging: &str) -> Result<(), JournalError> {
    update(&item.path, &item.part, |j| {
        j.staging.remove(staging);
    })
    .map(|_| ())
}

/// The slot's entry at its commit (the staging it came from forgotten).
pub fn record_commit(
    item: &JournalItem,
    commit: &Commit,
    committed: &Committed,
) -> Result<(), JournalError> {
    let chunks = committed
        .etags
        .iter()
        .enumerate()
        .map(|(i, etag)| ChunkEntry {
            etag: etag.clone(),
            version: committed.versions.get(i).cloned().flatten(),
        })
        .collect();
    let slot_type = if commit.slot.ends_with("-FULL") {
        Some(crate::plan::schedule::SlotType::Full)
    } else if commit.slot.ends_with("-DIFF") {
        Some(crate::plan::schedule::SlotType::Diff)
    } else {
        None
    };
    let entry = Entry {
        slot_type,
        stamp: committed.stamp,
        chunks,
        record: committed.record,
        adopted: false,
        signature: None,
    };
    update(&item.path, &item.part, |j| {
        j.staging.remove(&commit.staging);
        j.slots.insert(commit.slot.clone(), entry);
    })
    .map(|_| ())
}

/// Writes this host's copy of `commit`'s marker (before the marker itself).
pub fn write_copy(item: &JournalItem, commit: &Commit) -> Result<PathBuf, JournalError> {
    let path = marker_copy_path(diff_dir_of(item), &commit.slot);
    let copy = MarkerCopy {
        commit: commit.clone(),
        journal: item.path.clone(),
        part: item.part.clone(),
        typed: item.typed,
    };
    let body = serde_json::to_vec_pretty(&copy).expect("a marker copy serialises");
    let dir = diff_dir_of(item);
    let mut temp = tempfile::Builder::new()
        .prefix(".commit-")
        .tempfile_in(dir)
        .map_err(io(&path))?;
    temp.write_all(&body).map_err(io(&path))?;
    temp.as_file().sync_all().map_err(io(&path))?;
    temp.persist(&path).map_err(|e| io(&path)(e.error))?;
    Ok(path)
}

/// Removes the copy of the marker of `slot` once the marker is gone.
pub fn remove_copy(diff_dir: &Path, slot: &str) -> Result<(), JournalError> {
    let path = marker_copy_path(diff_dir, slot);
    match fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&path)(e)),
        _ => Ok(()),
    }
}
