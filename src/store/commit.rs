//! Replacing a slot without ever losing the backup it holds.
//!
//! A run uploads its stream under a staging prefix in the reserved namespace
//! ([`super::keys::staging_prefix`]), which every reader ignores. Only when the whole stream is
//! stored and every pipeline stage exited 0 is it committed:
//!
//! 1. a commit marker `.s3napback/commit/PREFIX` ([`Commit`], JSON) names the slot, the
//!    staging prefix and the chunk count;
//! 2. each staged chunk is copied on the server (CopyObject) to the slot's legacy key;
//! 3. the slot's old chunks beyond the new count are deleted, and the slot's stamp (its
//!    backup time, [`super::stamp`]) is written;
//! 4. the staged chunks and the slot's older stamps are deleted;
//! 5. the marker is deleted.
//!
//! Every step can be repeated, so a run killed anywhere in 2-5 is finished by the next run
//! ([`finish`]); until then readers see the marker and treat the slot as incomplete.
//! Before step 1 the slot is untouched and a failed run deletes its staged chunks only.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use super::keys::{
    COMMIT_NAMESPACE, chunk_key, commit_marker_key, is_reserved, marker_names_slot,
    parse_chunk_key, record_key, staging_dir,
};
use super::lock::Retention;
use super::stamp::{Stamp, stamp_dir, stamp_key};
use super::{ObjectInfo, Store, StoreError};

/// How many copies run at once (as many as chunk uploads).
pub const PARALLEL_COPIES: usize = 4;

/// What a commit marker records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// The slot being replaced (logical prefix, `/etc-3-FULL`).
    pub slot: String,
    /// Where the new stream is staged (logical chunk prefix).
    pub staging: String,
    /// How many chunks the new stream has.
    pub chunks: u64,
    /// The DiffDir state file (tar snapshot, Subversion revision) whose new content belongs
    /// to the staged stream: parked beside it until the slot holds the stream, installed
    /// just before the marker goes (absent in markers of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// How many chunks the slot held when the run started (its listing then): the surplus
    /// beyond [`Commit::chunks`] is deleted by index too, so a listing that lags at
    /// commit time cannot leave an old chunk behind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<u64>,
    /// `ObjectLockMode`: the lock every copy into the slot gets; a locked commit ends
    /// with a locked [`Record`] of the versions it wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<Retention>,
    /// When the run that staged the stream backed it up: written beside the slot as its
    /// stamp, so a commit finished late by a later run keeps its own place in the order of
    /// backups (absent in markers of older versions: the slot then goes unstamped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<Stamp>,
}

/// What a locked commit wrote: the slot's chunk count and the version id of each chunk
/// copy, kept (locked like the chunks) at `.s3napback/record/PREFIX`. Each commit adds a
/// version of the record, so the record's versions say which versions of the slot's keys
/// this tool wrote, and when: `status` tells an attacker's overwrite from a backup by them,
/// `restore --at` takes only the tool's versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The slot (logical prefix).
    pub slot: String,
    /// How many chunks the slot holds.
    pub chunks: u64,
    /// The version id of chunk `i`'s copy (`None` where the server gave none).
    pub versions: Vec<Option<String>>,
    /// The lock the chunks got.
    pub lock: Retention,
}

/// What a finished commit wrote into its slot (handed to the caller's `replaced`, who
/// journals it before the marker goes, `journal`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Committed {
    /// Each chunk's ETag as the slot lists it after the copies, by index.
    pub etags: Vec<Option<String>>,
    /// Each chunk copy's version id (`None` where the server gave none, or for a chunk
    /// copied by an earlier, killed run), by index.
    pub versions: Vec<Option<String>>,
    /// The stamp written beside the slot.
    pub stamp: Option<Stamp>,
    /// A commit record was written (Object Lock).
    pub record: bool,
}

/// Why a commit could not be finished.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// A store request failed.
    #[error(transparent)]
    Store(Box<StoreError>),
    /// After the copies, the slot does not hold exactly the marker's chunks (a listing
    /// that lags, an object that came back): the marker stays, the next run tries again.
    #[error("{slot} does not hold the {chunks} chunks of its commit: {problem}")]
    Unverified {
        /// The slot (logical prefix).
        slot: String,
        /// The chunk count the marker names.
        chunks: u64,
        /// What the listing shows instead.
        problem: String,
    },
    /// Installing the slot's new DiffDir state failed (the marker stays).
    #[error("installing the new state file {path}: {message}")]
    State {
        /// The state file.
        path: String,
        /// Why.
        message: String,
    },
    /// A marker object that is not a commit record.
    #[error("commit marker {key} is unreadable: {message}")]
    BadMarker {
        /// The marker key as listed.
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl From<StoreError> for CommitError {
    fn from(e: StoreError) -> CommitError {
        CommitError::Store(Box::new(e))
    }
}

/// The chunk indices stored under `prefix` (keys as listed), in order, with their keys.
pub fn chunks_of(store: &dyn Store, prefix: &str) -> Result<Vec<(u64, String)>, StoreError> {
    let physical = store.physical_key(prefix);
    let mut found: Vec<(u64, String)> = store
        .list(&format!("{prefix}:"))?
        .into_iter()
        .filter_map(|o| {
            let (p, index) = parse_chunk_key(&o.key)?;
            (p == physical || p == prefix).then(|| (index, o.key.clone()))
        })
        .collect();
    found.sort();
    Ok(found)
}

/// Deletes every chunk stored under `prefix`; returns how many there were. (The
/// multipart uploads a failed run started are aborted by its chunker; those of a killed
/// run by the next run, [`abort_abandoned_uploads`].)
pub fn delete_chunks(store: &dyn Store, prefix: &str) -> Result<usize, StoreError> {
    let keys: Vec<String> = chunks_of(store, prefix)?.into_iter().map(|c| c.1).collect();
    store.delete(&keys)?;
    Ok(keys.len())
}

/// Deletes what earlier runs staged for `slot` and never committed (runs killed before
/// their commit marker); returns how many objects went. Call with no commit of the slot
/// pending.
pub fn delete_abandoned_staging(store: &dyn Store, slot: &str) -> Result<usize, StoreError> {
    let keys: Vec<String> = store
        .list(&staging_dir(slot))?
        .into_iter()
        .map(|o| o.key)
        .filter(|k| staged_for(store, slot, k))
        .collect();
    store.delete(&keys)?;
    Ok(keys.len())
}

/// Aborts the multipart uploads earlier runs left open in the staging of `slot` (runs
/// killed while uploading a large chunk); returns how many there were. Call with no other
/// run of the slot under way.
pub fn abort_abandoned_uploads(store: &dyn Store, slot: &str) -> Result<usize, StoreError> {
    let open: Vec<_> = store
        .list_multipart(&staging_dir(slot))?
        .into_iter()
        .filter(|u| staged_for(store, slot, &u.key))
        .collect();
    for upload in &open {
        store.abort_multipart(&upload.key, &upload.upload_id)?;
    }
    Ok(open.len())
}

/// Whether `key` (as listed) is a chunk some run staged for `slot`: `DIR/RUN-ID:NNNN`
/// only, not the staging of a slot whose name continues.
fn staged_for(store: &dyn Store, slot: &str, key: &str) -> bool {
    let dir = staging_dir(slot);
    let physical_dir = store.physical_key(&dir);
    parse_chunk_key(key)
        .and_then(|(p, _)| p.strip_prefix(&physical_dir).or(p.strip_prefix(&dir)))
        .is_some_and(|run_id| !run_id.is_empty() && !run_id.contains('/'))
}

/// Whether `listing` (the bucket as listed at the start of the run) holds anything a killed
/// or failed run left for `slot`: its commit marker or staged chunks. When it holds none,
/// [`pending`] and [`delete_abandoned_staging`] would find nothing, so a run skips them.
pub fn has_leftovers(store: &dyn Store, slot: &str, listing: &[ObjectInfo]) -> bool {
    let dir = staging_dir(slot);
    let physical_dir = store.physical_key(&dir);
    listing.iter().any(|o| {
        marker_names_slot(&o.key, slot)
            || marker_names_slot(&o.key, &store.physical_key(slot))
            || o.key.starts_with(&physical_dir)
            || o.key.starts_with(&dir)
    })
}

/// Step 1 alone: the commit marker.
pub fn write_marker(store: &dyn Store, commit: &Commit) -> Result<(), StoreError> {
    let body = serde_json::to_vec(commit).expect("a commit record serialises");
    store.put(&commit_marker_key(&commit.slot), body.into())
}

/// Steps 2-5, each repeatable: copies every chunk the marker names (by index, whatever a
/// listing of the staging shows; a staged chunk already gone was copied before step 4
/// began), deletes the slot's surplus old chunks, checks that the slot now lists exactly
/// the marker's chunks, deletes the staging, calls `replaced` (the caller installs the
/// new DiffDir state) and only then deletes the marker. A failure anywhere leaves the
/// marker for the next run.
pub fn finish(
    store: &dyn Store,
    commit: &Commit,
    parallel: usize,
    replaced: &dyn Fn(&Commit, &Committed) -> Result<(), CommitError>,
) -> Result<(), CommitError> {
    let staged_at = check_count(store, commit)?;
    // a marker of an older version has no stamp: the staged stream's upload time is its
    // backup time (the copies below re-date the slot)
    let stamp = commit.stamp.or_else(|| {
        staged_at.map(|at| Stamp {
            time: at.unix_timestamp(),
            seq: 0,
            chain_start: false,
        })
    });
    let indices: Vec<u64> = (0..commit.chunks).collect();
    let versions = copy_all(store, commit, &indices, parallel)?;
    let surplus: Vec<String> = chunks_of(store, &commit.slot)?
        .into_iter()
        .filter(|(i, _)| *i >= commit.chunks)
        .map(|(_, k)| k)
        .chain(
            (commit.chunks..commit.replaces.unwrap_or(0))
                .map(|i| store.physical_key(&chunk_key(&commit.slot, i))),
        )
        .collect();
    log::debug!(
        "{}: {} chunks copied from {}, {} old chunks deleted",
        commit.slot,
        indices.len(),
        commit.staging,
        surplus.len()
    );
    store.delete(&surplus)?;
    let etags = verify(store, commit)?;
    let committed = Committed {
        etags,
        versions: versions.clone(),
        stamp,
        record: commit.lock.is_some(),
    };
    if let Some(lock) = &commit.lock {
        let record = Record {
            slot: commit.slot.clone(),
            chunks: commit.chunks,
            versions,
            lock: *lock,
        };
        let body = serde_json::to_vec(&record).expect("a record serialises");
        store.put_locked(&record_key(&commit.slot), body.into(), lock)?;
    }
    // written after the copies, so no chunk of the slot is newer than its stamp
    let stamp = stamp.map(|s| stamp_key(&commit.slot, &s));
    if let Some(key) = &stamp {
        store.put(key, bytes::Bytes::new())?;
    }
    // the staging holds exactly the marker's chunks (the marker is written after them)
    let mut stale: Vec<String> = indices
        .iter()
        .map(|i| store.physical_key(&chunk_key(&commit.staging, *i)))
        .collect();
    // older stamps go once this one is written (with no stamp to write, as when an older
    // version's marker is finished again after its staging went, the stamps stay: one
    // that predates the copies no longer holds, see `store::stamp`)
    if let Some(current) = stamp.map(|k| store.physical_key(&k)) {
        stale.extend(
            store
                .list(&stamp_dir(&commit.slot))?
                .into_iter()
                .map(|o| o.key)
                .filter(|k| *k != current),
        );
    }
    store.delete(&stale)?;
    replaced(commit, &committed)?;
    store.delete(&[store.physical_key(&commit_marker_key(&commit.slot))])?;
    Ok(())
}

/// A marker comes from the bucket: its chunk count is believed only as far as the bucket
/// holds that many chunks, staged or already copied into the slot (nothing is allocated or
/// copied for chunks that are not there). Returns when the staged stream was uploaded (its
/// newest LastModified), while it is still staged.
fn check_count(
    store: &dyn Store,
    commit: &Commit,
) -> Result<Option<time::OffsetDateTime>, CommitError> {
    let physical = store.physical_key(&commit.staging);
    let listed: Vec<ObjectInfo> = store
        .list(&format!("{}:", commit.staging))?
        .into_iter()
        .filter(|o| {
            parse_chunk_key(&o.key).is_some_and(|(p, _)| p == physical || p == commit.staging)
        })
        .collect();
    let staged = listed.len() as u64;
    let staged_at = listed.iter().map(|o| o.last_modified).max();
    let held = if staged >= commit.chunks {
        staged
    } else {
        staged.max(chunks_of(store, &commit.slot)?.len() as u64)
    };
    if commit.chunks == 0 || commit.chunks > held {
        return Err(CommitError::BadMarker {
            key: commit_marker_key(&commit.slot),
            message: format!(
                "it names {} chunks, but the bucket holds {held} of its stream",
                commit.chunks
            ),
        });
    }
    Ok(staged_at)
}

/// The largest commit marker read (a marker holds a few hundred bytes of JSON).
pub const MAX_MARKER_BYTES: u64 = 64 * 1024;

/// The largest commit record version read (`status`, `restore --at`): a record holds a
/// version id per chunk, a few KiB; a larger object under `.s3napback/record/` is not
/// read at all (it is no record this tool wrote).
pub const MAX_RECORD_BYTES: u64 = 64 * 1024;

/// The slot lists exactly the chunk indices `0..commit.chunks`; returns their ETags.
fn verify(store: &dyn Store, commit: &Commit) -> Result<Vec<Option<String>>, CommitError> {
    let physical = store.physical_key(&commit.slot);
    let mut found: Vec<(u64, Option<String>)> = store
        .list(&format!("{}:", commit.slot))?
        .into_iter()
        .filter_map(|o| {
            let (p, index) = parse_chunk_key(&o.key)?;
            (p == physical || p == commit.slot).then_some((index, o.etag))
        })
        .collect();
    found.sort();
    let listed: Vec<u64> = found.iter().map(|(i, _)| *i).collect();
    let expected: Vec<u64> = (0..commit.chunks).collect();
    if listed == expected {
        return Ok(found.into_iter().map(|(_, e)| e).collect());
    }
    let problem = match expected.iter().find(|i| !listed.contains(i)) {
        Some(missing) => format!("chunk {missing} is not listed"),
        None => format!(
            "it also lists chunk {}",
            listed
                .iter()
                .find(|i| **i >= commit.chunks)
                .copied()
                .unwrap_or_default()
        ),
    };
    Err(CommitError::Unverified {
        slot: commit.slot.clone(),
        chunks: commit.chunks,
        problem,
    })
}

/// Copies staged chunks `indices` (`0..n`) to the slot (locked with the commit's lock),
/// up to `parallel` at once; stops at the first failure. Returns each copy's version id
/// (`None` for a chunk copied by an earlier, killed run).
fn copy_all(
    store: &dyn Store,
    commit: &Commit,
    indices: &[u64],
    parallel: usize,
) -> Result<Vec<Option<String>>, StoreError> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error = Mutex::new(None);
    let versions = Mutex::new(vec![None; indices.len()]);
    std::thread::scope(|s| {
        for _ in 0..parallel.clamp(1, indices.len().max(1)) {
            s.spawn(|| {
                while !failed.load(Ordering::SeqCst) {
                    let Some(&index) = indices.get(next.fetch_add(1, Ordering::SeqCst)) else {
                        break;
                    };
                    let from = chunk_key(&commit.staging, index);
                    let to = chunk_key(&commit.slot, index);
                    log::debug!("COPY {from} -> {to}");
                    match store.copy(&from, &to, commit.lock.as_ref()) {
                        // copied before the staging was deleted (step 4 of a killed run)
                        Err(e) if e.code() == Some("NoSuchKey") => {}
                        Err(e) => {
                            failed.store(true, Ordering::SeqCst);
                            let mut first = first_error.lock().unwrap_or_else(|p| p.into_inner());
                            first.get_or_insert(e);
                        }
                        Ok(version) => {
                            let mut all = versions.lock().unwrap_or_else(|p| p.into_inner());
                            if let Some(slot) = all.get_mut(index as usize) {
                                *slot = version;
                            }
                        }
                    }
                }
            });
        }
    });
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(versions.into_inner().unwrap_or_else(|p| p.into_inner())),
    }
}

/// Reads a commit marker (key as listed); one larger than [`MAX_MARKER_BYTES`] is refused
/// unread.
pub fn read_marker(store: &dyn Store, key: &str) -> Result<Commit, CommitError> {
    let too_big = |size: u64| CommitError::BadMarker {
        key: key.to_owned(),
        message: format!("it holds {size} bytes, more than a marker's {MAX_MARKER_BYTES}"),
    };
    let physical = store.physical_key(key);
    let size = store
        .list(key)?
        .into_iter()
        .find(|o| o.key == key || o.key == physical)
        .map(|o| o.size);
    match size {
        None => {
            return Err(StoreError::NotFound {
                bucket: store.bucket().to_owned(),
                key: key.to_owned(),
            }
            .into());
        }
        Some(size) if size > MAX_MARKER_BYTES => return Err(too_big(size)),
        Some(_) => {}
    }
    let body = store.get(key)?;
    if body.len() as u64 > MAX_MARKER_BYTES {
        return Err(too_big(body.len() as u64));
    }
    serde_json::from_slice(&body).map_err(|e| CommitError::BadMarker {
        key: key.to_owned(),
        message: e.to_string(),
    })
}

/// The commit marker of `slot`, if one is stored.
pub fn pending(store: &dyn Store, slot: &str) -> Result<Option<Commit>, CommitError> {
    match read_marker(store, &commit_marker_key(slot)) {
        Ok(c) => Ok(Some(c)),
        Err(CommitError::Store(e)) if matches!(*e, StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The marker keys (as listed) among `keys`.
pub fn marker_keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    keys.into_iter()
        .filter(|k| is_reserved(k) && k.starts_with(COMMIT_NAMESPACE))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ReadStore;
    use crate::store::keys::{group_slots, staging_prefix};
    use crate::store::memory::{MemoryStore, Op};
    use bytes::Bytes;

    const SLOT: &str = "/etc-3-FULL";

    /// No state to install.
    const NOTHING: fn(&Commit, &Committed) -> Result<(), CommitError> = |_, _| Ok(());

    fn keys(store: &MemoryStore) -> Vec<String> {
        store.objects().into_iter().map(|(k, _)| k).collect()
    }

    /// An old slot of 5 chunks (4 x 10 bytes + 3), a staged stream of 3 (2 x 8 + 1), and
    /// the marker: the state right after step 1.
    fn marked() -> (MemoryStore, Commit) {
        let store = MemoryStore::new("mem");
        for (i, size) in [10, 10, 10, 10, 3].into_iter().enumerate() {
            let body = Bytes::from(vec![b'o'; size]);
            store.put(&chunk_key(SLOT, i as u64), body).unwrap();
        }
        let staging = staging_prefix(SLOT, "1-1");
        for (i, size) in [8, 8, 1].into_iter().enumerate() {
            let body = Bytes::from(vec![b'n'; size]);
            store.put(&chunk_key(&staging, i as u64), body).unwrap();
        }
        let commit = Commit {
            slot: SLOT.into(),
            staging,
            chunks: 3,
            state: None,
            replaces: Some(5),
            lock: None,
            stamp: None,
        };
        write_marker(&store, &commit).unwrap();
        (store, commit)
    }

    /// The slot holds the new stream, and one stamp (a marker without a stamp, as these
    /// are, stamps the slot with the staged stream's upload time).
    fn assert_replaced(store: &MemoryStore) {
        let (stamps, objects): (Vec<_>, Vec<_>) = store
            .objects()
            .into_iter()
            .partition(|(k, _)| k.starts_with(super::super::stamp::STAMP_NAMESPACE));
        assert_eq!(stamps.len(), 1, "{stamps:?}");
        assert!(stamps[0].0.starts_with(&stamp_dir(SLOT)), "{stamps:?}");
        let slot: Vec<(String, usize)> = objects
            .into_iter()
            .map(|(k, v)| {
                assert!(v.iter().all(|b| *b == b'n'), "{k} holds old bytes");
                (k, v.len())
            })
            .collect();
        assert_eq!(
            slot,
            [
                (chunk_key(SLOT, 0), 8),
                (chunk_key(SLOT, 1), 8),
                (chunk_key(SLOT, 2), 1)
            ]
        );
    }

    #[test]
    fn a_marked_slot_reads_as_its_staged_stream_until_finished() {
        let (store, commit) = marked();
        let slots = group_slots(store.list("").unwrap());
        assert_eq!(slots.len(), 1, "staging is no slot");
        // the complete staged stream stands in for the slot's mixed keys
        assert!(slots[0].staged && !slots[0].commit_pending);
        let sizes: Vec<u64> = slots[0].chunks.iter().map(|c| c.size).collect();
        assert_eq!(sizes, [8, 8, 1]);
        assert_eq!(pending(&store, SLOT).unwrap(), Some(commit.clone()));
        finish(&store, &commit, 2, &NOTHING).unwrap();
        assert_replaced(&store);
        assert_eq!(pending(&store, SLOT).unwrap(), None);
    }

    #[test]
    fn finishing_again_after_a_kill_at_any_step_gives_the_new_stream() {
        // Killed after copying chunk 0 only.
        let (store, commit) = marked();
        store
            .copy(&chunk_key(&commit.staging, 0), &chunk_key(SLOT, 0), None)
            .unwrap();
        finish(&store, &commit, 4, &NOTHING).unwrap();
        assert_replaced(&store);

        // Killed after the copies, the surplus and one staged chunk were deleted.
        let (store, commit) = marked();
        for i in 0..3 {
            store
                .copy(&chunk_key(&commit.staging, i), &chunk_key(SLOT, i), None)
                .unwrap();
        }
        store
            .delete(&[
                chunk_key(SLOT, 3),
                chunk_key(SLOT, 4),
                chunk_key(&commit.staging, 1),
            ])
            .unwrap();
        finish(&store, &commit, 1, &NOTHING).unwrap();
        assert_replaced(&store);

        // Killed between deleting the staging and the marker: only the marker goes.
        let (store, commit) = marked();
        finish(&store, &commit, 4, &NOTHING).unwrap();
        write_marker(&store, &commit).unwrap();
        finish(&store, &commit, 4, &NOTHING).unwrap();
        assert_replaced(&store);
    }

    #[test]
    fn a_failed_copy_leaves_marker_and_staging_for_the_next_run() {
        let (store, commit) = marked();
        store.fail_key(Op::Copy, &chunk_key(SLOT, 1));
        let err = finish(&store, &commit, 1, &NOTHING).unwrap_err();
        assert!(err.to_string().contains("injected fault"), "{err}");
        assert_eq!(store.list(&commit.staging).unwrap().len(), 3);
        assert!(pending(&store, SLOT).unwrap().is_some());
        store.heal();
        finish(&store, &commit, 4, &NOTHING).unwrap();
        assert_replaced(&store);
    }

    #[test]
    fn a_listing_that_leaves_out_a_staged_chunk_still_gives_the_new_stream() {
        // the staging listing lacks chunk 1: it is copied all the same (by index)
        let (store, commit) = marked();
        store.leave_out_of_listings(&chunk_key(&commit.staging, 1));
        finish(&store, &commit, 2, &NOTHING).unwrap();
        store.heal();
        assert_replaced(&store);
    }

    #[test]
    fn a_listing_that_leaves_out_an_old_chunk_leaves_no_old_chunk() {
        // old chunk 4 is not listed at commit time; the marker knows the slot had 5
        let (store, commit) = marked();
        store.leave_out_of_listings(&chunk_key(SLOT, 4));
        finish(&store, &commit, 2, &NOTHING).unwrap();
        store.heal();
        assert_replaced(&store);
    }

    #[test]
    fn a_slot_that_does_not_list_the_marker_chunks_keeps_the_marker() {
        // the listing lags: the copied chunk 2 is not listed yet, so the check fails
        let (store, commit) = marked();
        store.leave_out_of_listings(&chunk_key(SLOT, 2));
        let err = finish(&store, &commit, 2, &NOTHING).unwrap_err();
        assert!(
            err.to_string()
                .contains("does not hold the 3 chunks of its commit: chunk 2 is not listed"),
            "{err}"
        );
        assert!(pending(&store, SLOT).unwrap().is_some());
        store.heal();
        finish(&store, &commit, 2, &NOTHING).unwrap();
        assert_replaced(&store);
    }

    #[test]
    fn the_state_is_installed_before_the_marker_goes() {
        let (store, commit) = marked();
        let seen_marker = std::sync::atomic::AtomicBool::new(false);
        let install = |c: &Commit, _: &Committed| {
            seen_marker.store(
                pending(&store, &c.slot).unwrap().is_some(),
                Ordering::SeqCst,
            );
            Ok(())
        };
        finish(&store, &commit, 2, &install).unwrap();
        assert!(
            seen_marker.load(Ordering::SeqCst),
            "installed while the marker was there"
        );
        // a failing install keeps the marker
        let (store, commit) = marked();
        let failing = |c: &Commit, _: &Committed| {
            Err(CommitError::State {
                path: c.slot.clone(),
                message: "disk full".into(),
            })
        };
        assert!(finish(&store, &commit, 2, &failing).is_err());
        assert!(pending(&store, SLOT).unwrap().is_some());
    }

    #[test]
    fn abandoned_staging_of_the_slot_only_is_deleted() {
        let store = MemoryStore::new("mem");
        let mine = staging_prefix(SLOT, "9-9");
        let longer = staging_prefix("/etc-3-FULL/x-1-FULL", "9-9");
        let other = staging_prefix("/etc-4-DIFF", "9-9");
        for p in [&mine, &longer, &other] {
            store
                .put(&chunk_key(p, 0), Bytes::from_static(b"x"))
                .unwrap();
        }
        assert_eq!(delete_abandoned_staging(&store, SLOT).unwrap(), 1);
        assert_eq!(keys(&store), [chunk_key(&longer, 0), chunk_key(&other, 0)]);
    }

    #[test]
    fn leftovers_are_seen_in_the_listing_of_their_slot_only() {
        let (store, commit) = marked();
        let listing = store.list("").unwrap();
        assert!(has_leftovers(&store, SLOT, &listing));
        assert!(!has_leftovers(&store, "/etc-4-DIFF", &listing));
        finish(&store, &commit, 2, &NOTHING).unwrap();
        assert!(!has_leftovers(&store, SLOT, &store.list("").unwrap()));
    }

    #[test]
    fn markers_are_found_and_read_back() {
        let (store, commit) = marked();
        let keys = keys(&store);
        let markers = marker_keys(keys.iter().map(String::as_str));
        assert_eq!(markers, [commit_marker_key(SLOT)]);
        assert_eq!(read_marker(&store, &markers[0]).unwrap(), commit);
        store
            .put(&markers[0], Bytes::from_static(b"not json"))
            .unwrap();
        let err = read_marker(&store, &markers[0]).unwrap_err();
        assert!(err.to_string().contains("unreadable"), "{err}");
    }
}
