//! Runs a plan for real: pipeline -> chunker -> staging -> commit into the slot, cleaning
//! up on failure (LEGACY.md §7 and §8, with the DEFECTS of §13 fixed). The slot's old
//! backup stays whole until the new stream is completely stored and every stage exited
//! successfully (see `store::commit`).

pub mod chunker;
pub mod object_lock;
pub mod run_lock;
pub mod snapshot;

use std::io::{BufReader, Seek};
use std::path::Path;

use anyhow::{Context, Result, bail};
use tempfile::NamedTempFile;

use crate::backup::chunker::{UploadError, UploadSummary, upload_full_chunks, upload_stream};
use crate::backup::snapshot::SnapshotWork;
use crate::config::Settings;
use crate::journal::{self, items::JournalItem, writes};
use crate::plan::report::Category;
use crate::plan::{Job, Plan, Run, StateFile};
use crate::process::pipeline::{self, Output, Pipeline, PipelineReport};
use crate::process::progress::Progress;
use crate::store::commit::{self, Commit, Committed};
use crate::store::keys::{COMMIT_NAMESPACE, commit_marker_key, staging_prefix};
use crate::store::multipart::is_multipart;
use crate::store::stamp::{Stamp, next_seq};
use crate::store::{ObjectInfo, ReadStore, Store};

/// How many chunk uploads run at once.
pub const PARALLEL_UPLOADS: usize = 4;

/// The start-of-run listing failed (after its retries): "already done today", the chain
/// rule and the finishing of interrupted commits all depend on it, so a real run of that
/// config stores and removes nothing.
#[derive(Debug, thiserror::Error)]
#[error("cannot list bucket {bucket}: {cause}; nothing was stored or removed")]
pub struct ListingFailed {
    pub bucket: String,
    pub cause: String,
}

/// Lists the whole bucket for "already done today". A bucket that does not exist yet is
/// empty (the run creates it). Any other failure is an error for a real run; test mode
/// logs it at DEBUG and plans with an empty listing, as the legacy did.
pub fn list_bucket(
    store: Option<&dyn ReadStore>,
    settings: &Settings,
    test: bool,
) -> Result<Vec<ObjectInfo>, ListingFailed> {
    let listing = match store {
        Some(store) => match store.list("") {
            Err(e) if e.code() == Some("NoSuchBucket") => Ok(Vec::new()),
            other => other.map_err(|e| crate::store::error_chain(&e)),
        },
        None => Err("no connection to the bucket".to_string()),
    };
    listing.or_else(|cause| {
        if test {
            log::debug!(target: Category::Main.target(), "listing bucket {}: {cause}", settings.bucket);
            Ok(Vec::new())
        } else {
            Err(ListingFailed {
                bucket: settings.bucket.clone(),
                cause,
            })
        }
    })
}

/// Finishes every commit an earlier run left unfinished (a commit marker in `listing`:
/// killed between storing its new stream and replacing the slot), so planning sees the
/// newest complete backups. A marker is finished from this host's copy of it in DiffDir
/// (`journal::writes`); a marker with no copy is finished only for an item with no
/// journal yet (written before the journal started); for an item with a journal it is
/// left, and the run's review reports it (`TAMPERED`). Returns the listing to plan with
/// (listed again when a commit was finished; that listing failing is an error) and how
/// many markers were tampered with. Failures to finish are logged at ERROR; such a slot
/// stays incomplete.
pub fn finish_interrupted_commits(
    store: Option<&dyn Store>,
    settings: &Settings,
    listing: Vec<ObjectInfo>,
) -> Result<(Vec<ObjectInfo>, usize), ListingFailed> {
    let Some(store) = store else {
        return Ok((listing, 0));
    };
    let markers = commit::marker_keys(listing.iter().map(|o| o.key.as_str()));
    if markers.is_empty() {
        return Ok((listing, 0));
    }
    let cat = Category::Main.target();
    let mut tampered = 0;
    let mut finished_any = false;
    for key in &markers {
        let slot = key.strip_prefix(COMMIT_NAMESPACE).unwrap_or(key);
        let finished = match writes::read_copy(&settings.diff_dir, slot) {
            Ok(Some(copy)) => {
                if commit::read_marker(store, key).ok().as_ref() != Some(&copy.commit) {
                    tampered += 1;
                    log::error!(
                        target: cat,
                        "TAMPERED: {key}: not written by this host (it differs from this host's copy in DiffDir); the commit is finished from the copy"
                    );
                }
                finish_from_copy(store, settings, &copy)
            }
            Ok(None) if has_journal(&settings.diff_dir, slot) => {
                log::debug!(target: cat, "{key}: DiffDir holds no copy of it: not finished");
                continue;
            }
            Ok(None) => commit::read_marker(store, key).and_then(|c| {
                commit::finish(store, &c, commit::PARALLEL_COPIES, &on_replaced(None)).map(|_| c)
            }),
            Err(e) => {
                log::error!(target: cat, "{}: cannot finish the interrupted commit {key}: {e}", settings.bucket);
                continue;
            }
        };
        finished_any = true;
        match finished {
            Ok(c) => log::info!(
                target: cat,
                "{}:{}: finished replacing it with the {} chunks an interrupted run had stored",
                settings.bucket,
                c.slot,
                c.chunks
            ),
            Err(e) => log::error!(
                target: cat,
                "{}: cannot finish the interrupted commit {key}: {e}",
                settings.bucket
            ),
        }
    }
    if !finished_any {
        return Ok((listing, tampered));
    }
    list_bucket(Some(store), settings, false).map(|l| (l, tampered))
}

/// Finishes the commit of this host's marker copy, then removes the copy.
fn finish_from_copy(
    store: &dyn Store,
    settings: &Settings,
    copy: &writes::MarkerCopy,
) -> Result<Commit, commit::CommitError> {
    let item = copy.item();
    commit::finish(
        store,
        &copy.commit,
        commit::PARALLEL_COPIES,
        &on_replaced(Some(&item)),
    )?;
    if let Err(e) = writes::remove_copy(&settings.diff_dir, &copy.commit.slot) {
        log::warn!(target: Category::Main.target(), "{e}");
    }
    Ok(copy.commit.clone())
}

/// Whether the item a slot (logical prefix) belongs to keeps a journal in `diff_dir`.
fn has_journal(diff_dir: &Path, slot: &str) -> bool {
    journal::check::parts_of_slot(slot)
        .into_iter()
        .any(|part| journal::journal_path(diff_dir, part).exists())
}

/// How far a run got: what its failure must clean up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Uploading under the staging prefix: the slot is untouched.
    Staging,
    /// Writing the commit marker: it may or may not be stored.
    Marking,
    /// The marker is stored: from here the new stream replaces the slot, now or (when
    /// this run fails) by the next run.
    Committing,
    /// The slot holds the new stream.
    Committed,
}

/// A run id unique to this attempt (clock and process id): names its staging prefix.
fn new_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos}-{}", std::process::id())
}

/// Executes one job's run; logs what it did. On error (logged at ERROR already) the slot
/// holds what it held before (or, when the failure came during the commit, the next run
/// finishes replacing it) and the state file is untouched. `listing` is the bucket as
/// listed at the start of the run: only a slot with leftovers there (a commit marker,
/// staged chunks) costs requests to check them again.
pub fn execute(
    store: &dyn Store,
    plan: &Plan,
    job: &Job,
    run: &Run,
    listing: &[ObjectInfo],
    item: &JournalItem,
) -> Result<UploadSummary> {
    let cat = Category::of(job.kind).target();
    let target = format!("{}:{}", plan.bucket, run.prefix);
    let staging = staging_prefix(&run.prefix, &new_run_id());
    let mut phase = Phase::Staging;
    let work = Work {
        plan,
        run,
        staging: &staging,
        listing,
        item,
    };
    match attempt(store, &work, &mut phase) {
        Ok(outcome) => {
            for w in &outcome.warnings {
                log::warn!(target: cat, "{target}: {w}");
            }
            log::info!(
                target: cat,
                "{target}: stored {} bytes in {} objects",
                outcome.upload.bytes,
                outcome.upload.chunks
            );
            Ok(outcome.upload)
        }
        Err(e) => {
            let e = crate::process::interrupt::explain(e);
            let outcome = match phase {
                Phase::Staging => {
                    discard_parked(run);
                    discard(store, &staging, &target, item)
                }
                Phase::Marking => match store.delete(&[commit_marker_key(&run.prefix)]) {
                    Ok(()) => {
                        discard_parked(run);
                        let _ = writes::remove_copy(writes::diff_dir_of(item), &run.prefix);
                        discard(store, &staging, &target, item)
                    }
                    Err(_) => finished_later(&target),
                },
                Phase::Committing => finished_later(&target),
                Phase::Committed => format!("{target} holds the new backup"),
            };
            log::error!(
                target: cat,
                "Backup of {} {} to {target} failed: {e:#}; {outcome}; the DiffDir state file was left as it was",
                job.kind.legacy_name(),
                job.name
            );
            Err(e)
        }
    }
}

/// What `commit::finish` does once the slot holds the stream, before the marker goes:
/// installs the DiffDir state the commit names and journals the commit (`item`: the
/// item's journal; `None` for a commit of an item with no journal yet).
fn on_replaced(
    item: Option<&JournalItem>,
) -> impl Fn(&Commit, &Committed) -> Result<(), commit::CommitError> + '_ {
    move |commit, committed| {
        install_state(commit)?;
        match item {
            Some(item) => writes::record_commit(item, commit, committed).map_err(|e| {
                commit::CommitError::State {
                    path: item.path.display().to_string(),
                    message: e.to_string(),
                }
            }),
            None => Ok(()),
        }
    }
}

/// Installs the DiffDir state a commit's marker names, once its slot holds the stream.
fn install_state(commit: &Commit) -> Result<(), commit::CommitError> {
    let Some(path) = &commit.state else {
        return Ok(());
    };
    snapshot::install_pending(Path::new(path))
        .map(|_| ())
        .map_err(|e| commit::CommitError::State {
            path: path.clone(),
            message: e.to_string(),
        })
}

/// How many chunks `listing` (the start-of-run listing) shows for `slot`: one more than
/// its highest index.
fn chunks_listed(store: &dyn Store, slot: &str, listing: &[ObjectInfo]) -> Option<u64> {
    let physical = store.physical_key(slot);
    listing
        .iter()
        .filter_map(|o| crate::store::keys::parse_chunk_key(&o.key))
        .filter(|(p, _)| *p == physical)
        .map(|(_, i)| i.saturating_add(1))
        .max()
}

/// Removes the state parked for a commit that never started (no marker stored).
fn discard_parked(run: &Run) {
    if let Some(StateFile::TarSnapshot { path, .. } | StateFile::SvnRevision { path, .. }) =
        &run.state
    {
        let _ = snapshot::discard_pending(path);
    }
}

/// What a failure after the marker leaves: the next run finishes the commit.
fn finished_later(target: &str) -> String {
    format!("its new stream is complete; the next run finishes replacing {target} with it")
}

/// Deletes what this run staged (and the journal forgets the staging); says what is left.
fn discard(store: &dyn Store, staging: &str, target: &str, item: &JournalItem) -> String {
    match commit::delete_chunks(store, staging) {
        Ok(_) => {
            // best effort: a journal that cannot be written names a staging that is gone,
            // which no check misreads
            let _ = writes::end_upload(item, staging);
            format!("the objects it had stored were deleted and {target} was left as it was")
        }
        Err(d) => format!(
            "{target} was left as it was, but deleting the objects it had stored under {staging} failed: {d}"
        ),
    }
}

/// Finishes the slot's interrupted commit, if any (from this host's copy of its marker;
/// a marker with no copy only for an item with no journal yet), and deletes what killed
/// runs staged.
fn clear_leftovers(store: &dyn Store, plan: &Plan, run: &Run, item: &JournalItem) -> Result<()> {
    let diff_dir = writes::diff_dir_of(item);
    if let Some(copy) = writes::read_copy(diff_dir, &run.prefix)? {
        let mine = copy.item();
        commit::finish(
            store,
            &copy.commit,
            commit::PARALLEL_COPIES,
            &on_replaced(Some(&mine)),
        )
        .context("finishing the interrupted commit of the slot")?;
        writes::remove_copy(diff_dir, &run.prefix)?;
    } else if !item.path.exists()
        && let Some(pending) = commit::pending(store, &run.prefix)?
    {
        commit::finish(store, &pending, commit::PARALLEL_COPIES, &on_replaced(None))
            .context("finishing the interrupted commit of the slot")?;
    }
    let abandoned = commit::delete_abandoned_staging(store, &run.prefix)
        .context("deleting what killed runs had staged for the slot")?;
    if abandoned > 0 {
        log::info!(
            target: Category::Main.target(),
            "{}:{}: deleted {abandoned} objects a killed run had staged",
            plan.bucket,
            run.prefix
        );
    }
    Ok(())
}

/// Aborts the multipart uploads killed runs left open in the slot's staging (a listing
/// of objects does not show them; their parts cost storage until aborted).
fn abort_abandoned_uploads(store: &dyn Store, plan: &Plan, run: &Run) -> Result<()> {
    let aborted = commit::abort_abandoned_uploads(store, &run.prefix)
        .context("aborting the multipart uploads killed runs had left for the slot")?;
    if aborted > 0 {
        log::info!(
            target: Category::Main.target(),
            "{}:{}: aborted {aborted} multipart uploads a killed run had left",
            plan.bucket,
            run.prefix
        );
    }
    Ok(())
}

struct Outcome {
    upload: UploadSummary,
    warnings: Vec<String>,
}

/// What one attempt works on.
struct Work<'a> {
    plan: &'a Plan,
    run: &'a Run,
    /// This attempt's staging prefix.
    staging: &'a str,
    /// The bucket at the start of the run.
    listing: &'a [ObjectInfo],
    /// The item's journal.
    item: &'a JournalItem,
}

/// `listing`: the bucket at the start of the run. When it holds a commit marker or staged
/// chunks of the slot, they are finished or deleted first; the slot's chunk count in it
/// goes into the commit marker (see `Commit::replaces`).
fn attempt(store: &dyn Store, work: &Work<'_>, phase: &mut Phase) -> Result<Outcome> {
    let Work {
        plan,
        run,
        staging,
        listing,
        item,
    } = *work;
    if commit::has_leftovers(store, &run.prefix, listing) {
        clear_leftovers(store, plan, run, item)?;
    }
    if writes::begin_upload(item, staging, listing)? {
        log::info!(
            target: Category::Main.target(),
            "{}: the journal {} starts now: the bucket's keys of the item are taken as they are; \
             from now on a key of the item this host did not write is reported as TAMPERED",
            item.label,
            item.path.display()
        );
    }
    if is_multipart(plan.chunk_size) {
        abort_abandoned_uploads(store, plan, run)?;
    }
    let stamp = stamp_of(plan, run, listing);
    let (work, snapshot_override) = match &run.state {
        Some(StateFile::TarSnapshot { path, fresh }) => {
            let work = SnapshotWork::begin(path, *fresh)
                .with_context(|| format!("preparing a work copy of {}", path.display()))?;
            let p = work.work_path().to_path_buf();
            (Some(work), Some(p))
        }
        _ => (None, None),
    };
    // `prepared` keeps a MySQL password's defaults file until the pipeline has ended.
    let prepared = run
        .source
        .prepare(snapshot_override.as_deref())
        .context("writing mysqldump's defaults file")?;
    let mut stages = prepared.stages.clone();
    if let Some(enc) = &run.encryption {
        stages.push(enc.argv());
    }
    let (upload, report) = match &run.temp_file {
        None => stream_upload(store, plan, run, staging, &stages)?,
        // The legacy's predictable name only shows TempDir; the buffer file is removed
        // when dropped, on every path.
        Some(legacy) => {
            let buffer = pipeline::buffer_file(legacy.parent().unwrap_or(Path::new(".")))?;
            buffered_upload(store, plan, staging, &stages, &buffer)?
        }
    };
    // The new state waits beside the real file until the slot holds its stream; the
    // marker names it, so a run that finishes this commit later installs it.
    let parked = match (&run.state, work) {
        (Some(StateFile::TarSnapshot { path, .. }), Some(work)) => work
            .park()
            .with_context(|| format!("parking the new {}", path.display()))?
            .then_some(path),
        (Some(StateFile::SvnRevision { path, head }), _) => {
            snapshot::park_revision(path, *head)
                .with_context(|| format!("parking revision {head} for {}", path.display()))?;
            Some(path)
        }
        _ => None,
    };
    if let (Some(path), Some(mtime)) = (parked, plan.state_mtime) {
        let pending = snapshot::pending_path_for(path)?;
        snapshot::set_mtime(&pending, mtime)
            .with_context(|| format!("dating {} at --now", pending.display()))?;
    }
    let replacement = Commit {
        slot: run.prefix.clone(),
        staging: staging.to_owned(),
        chunks: upload.chunks,
        state: parked.map(|p| p.display().to_string()),
        replaces: chunks_listed(store, &run.prefix, listing),
        lock: run.lock.as_ref().map(|l| l.retention),
        stamp,
    };
    // The chain a DIFF builds on stays locked as long as the DIFF (before the commit: a
    // failure here leaves the slot as it was, with locks that only grew).
    if let Some(lock) = &run.lock {
        let extended = object_lock::extend_chain(store, lock)
            .context("extending the locks of the chain the DIFF builds on")?;
        if extended > 0 {
            log::debug!(
                "{}:{}: locks of {extended} objects of {} extended to {}",
                plan.bucket,
                run.prefix,
                lock.extend.join(", "),
                lock.retention.until
            );
        }
    }
    writes::write_copy(item, &replacement)?;
    *phase = Phase::Marking;
    commit::write_marker(store, &replacement).context("writing the commit marker")?;
    *phase = Phase::Committing;
    commit::finish(
        store,
        &replacement,
        commit::PARALLEL_COPIES,
        &on_replaced(Some(item)),
    )
    .context("replacing the slot with the new stream")?;
    *phase = Phase::Committed;
    let mut warnings = report.warnings;
    if let Err(e) = writes::remove_copy(writes::diff_dir_of(item), &run.prefix) {
        warnings.push(e.to_string());
    }
    Ok(Outcome { upload, warnings })
}

/// The slot's stamp: the run's clock, a sequence after every stamp of `listing`, and
/// whether a DIFF slot gets a full dump (tar with no snapshot file, Subversion from
/// revision 0), from which a chain can start. Call before the run touches its state file.
fn stamp_of(plan: &Plan, run: &Run, listing: &[ObjectInfo]) -> Option<Stamp> {
    let time = plan.started?.unix_timestamp();
    let diff = run.slot.slot_type == Some(crate::plan::schedule::SlotType::Diff);
    let full_dump = match (&run.state, &run.source) {
        (Some(StateFile::TarSnapshot { path, fresh }), _) => *fresh || !path.exists(),
        (_, crate::plan::sources::Source::SvnDump { from, .. }) => *from == 0,
        _ => false,
    };
    Some(Stamp {
        time,
        seq: next_seq(listing),
        chain_start: diff && full_dump,
    })
}

/// Streams the pipeline into the staging prefix; the final short chunk is stored only
/// after every stage exited successfully, and only when the stream is not empty.
fn stream_upload(
    store: &dyn Store,
    plan: &Plan,
    run: &Run,
    staging: &str,
    stages: &[Vec<String>],
) -> Result<(UploadSummary, PipelineReport)> {
    let mut pipeline = Pipeline::start(stages, Output::Reader)?;
    let progress = Progress::new(format!("{}:{}", plan.bucket, run.prefix), None);
    let uploaded = upload_full_chunks(
        store,
        staging,
        crate::process::interrupt::checked(progress.wrap(&mut pipeline)),
        plan.chunk_size,
        PARALLEL_UPLOADS,
    );
    log::debug!(target: Category::Main.target(), "{}", progress.finish());
    let held = match uploaded {
        Ok(held) => held,
        Err(put_error @ UploadError::Put { .. }) => {
            pipeline.abort();
            return Err(put_error.into());
        }
        // A broken stream is best explained by the stage that failed.
        Err(read_error) => {
            return match pipeline.finish() {
                Err(stage_error) => Err(stage_error.into()),
                Ok(_) => Err(read_error.into()),
            };
        }
    };
    let report = match pipeline.finish() {
        Ok(report) => report,
        Err(stage_error) => {
            held.discard(store);
            return Err(stage_error.into());
        }
    };
    if held.stream_bytes() == 0 {
        bail!("the pipeline produced no data");
    }
    Ok((held.store(store)?, report))
}

/// Runs the pipeline into the temp file (every stage checked), then uploads the file into
/// the staging prefix.
fn buffered_upload(
    store: &dyn Store,
    plan: &Plan,
    staging: &str,
    stages: &[Vec<String>],
    buffer: &NamedTempFile,
) -> Result<(UploadSummary, PipelineReport)> {
    let temp = buffer.path();
    let reading = || format!("reading {}", temp.display());
    let output = buffer.as_file().try_clone().with_context(reading)?;
    let report = Pipeline::start(stages, Output::Handle(output))?.finish()?;
    let mut file = buffer.as_file().try_clone().with_context(reading)?;
    if file.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
        bail!("the pipeline produced no data");
    }
    file.rewind().with_context(reading)?;
    let reader = crate::process::interrupt::checked(BufReader::new(file));
    let summary = upload_stream(store, staging, reader, plan.chunk_size, PARALLEL_UPLOADS)?;
    Ok((summary, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Compressor;
    use crate::plan::schedule::{Slot, SlotType};
    use crate::plan::sources::Source;
    use crate::store::memory::MemoryStore;

    fn plan_and_run() -> (Plan, Run) {
        let plan = Plan {
            bucket: "mem".into(),
            chunk_size: 1000,
            jobs: Vec::new(),
            state_mtime: None,
            started: None,
        };
        let run = Run {
            slot: Slot {
                number: 3,
                slot_type: Some(SlotType::Full),
            },
            prefix: "/etc-3-FULL".into(),
            source: Source::Tar {
                compressor: Compressor::Gzip,
                excludes: Vec::new(),
                snapshot: "/nonexistent".into(),
                name: "/etc".into(),
            },
            encryption: None,
            temp_file: None,
            state: None,
            promoted: None,
            lock: None,
        };
        (plan, run)
    }

    /// A pipeline whose stages all succeed but write nothing (`true`, a real program):
    /// nothing is stored, streamed or buffered, and the error says why.
    #[test]
    fn an_empty_stream_is_never_stored() {
        let (plan, run) = plan_and_run();
        let store = MemoryStore::new("mem");
        let stages = vec![vec!["true".to_string()]];
        let streamed = stream_upload(&store, &plan, &run, "staging/x", &stages).unwrap_err();
        assert_eq!(streamed.to_string(), "the pipeline produced no data");
        let dir = tempfile::tempdir().unwrap();
        let buffer = pipeline::buffer_file(dir.path()).unwrap();
        let buffered = buffered_upload(&store, &plan, "staging/x", &stages, &buffer).unwrap_err();
        assert_eq!(buffered.to_string(), "the pipeline produced no data");
        assert!(store.objects().is_empty(), "{:?}", store.objects());
    }
}
