//! Runs a plan for real: pipeline -> chunker -> store, cleaning up on failure
//! (LEGACY.md §7 and §8, with the DEFECTS of §13 fixed).

use std::fs::{self, File};
use std::io::{BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};

use crate::chunker::{UploadError, UploadSummary, upload_stream};
use crate::config::Settings;
use crate::pipeline::{Output, Pipeline, PipelineReport};
use crate::plan::{Job, Plan, Run, StateFile};
use crate::progress::Progress;
use crate::report::Category;
use crate::snapshot::SnapshotWork;
use crate::store::keys::parse_chunk_key;
use crate::store::s3::{S3Config, S3Store};
use crate::store::{ObjectInfo, Store};

/// How many chunk uploads run at once.
pub const PARALLEL_UPLOADS: usize = 4;

/// Connects to the configured bucket (S3Keyfile / S3Endpoint / S3Region or the standard
/// AWS chain and environment).
pub fn open_store(settings: &Settings) -> Result<S3Store> {
    let mut cfg = S3Config::new(settings.bucket.clone());
    if let Some(endpoint) = &settings.s3_endpoint {
        cfg = cfg.with_endpoint(endpoint.clone());
    }
    if let Some(region) = &settings.s3_region {
        cfg = cfg.with_region(region.clone());
    }
    if let Some(keyfile) = &settings.s3_keyfile {
        cfg = cfg.with_keyfile(keyfile)?;
    }
    Ok(S3Store::connect(cfg)?)
}

/// Lists the whole bucket for "already done today". Failures are logged at DEBUG, as the
/// legacy did, and give an empty listing.
pub fn list_bucket(store: Option<&S3Store>, settings: &Settings) -> Vec<ObjectInfo> {
    let listing = match store {
        Some(store) => store.list("").map_err(anyhow::Error::from),
        None => Err(anyhow!("no connection to the bucket")),
    };
    listing.unwrap_or_else(|e| {
        log::debug!(target: Category::Main.target(), "listing bucket {}: {e:#}", settings.bucket);
        Vec::new()
    })
}

/// Deletes every chunk of a slot (`PREFIX:*`) however the server spells the keys.
pub fn delete_slot(store: &dyn Store, prefix: &str) -> Result<usize> {
    let physical = store.physical_key(prefix);
    let keys: Vec<String> = store
        .list(&format!("{prefix}:"))?
        .into_iter()
        .map(|o| o.key)
        .filter(|k| parse_chunk_key(k).is_some_and(|(p, _)| p == physical || p == prefix))
        .collect();
    store.delete(&keys)?;
    Ok(keys.len())
}

/// Executes one job's run; logs what it did. An error has been logged at ERROR already and
/// left no objects and an untouched state file behind.
pub fn execute(store: &dyn Store, plan: &Plan, job: &Job, run: &Run) -> Result<()> {
    let cat = Category::of(job.kind).target();
    let target = format!("{}:{}", plan.bucket, run.prefix);
    match attempt(store, plan, run) {
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
            Ok(())
        }
        Err(e) => {
            let cleanup = match delete_slot(store, &run.prefix) {
                Ok(_) => "its partial objects were deleted".to_string(),
                Err(d) => format!("deleting its partial objects failed too: {d:#}"),
            };
            log::error!(
                target: cat,
                "Backup of {} {} to {target} failed: {e:#}; {cleanup}; the DiffDir state file was left as it was",
                job.kind.legacy_name(),
                job.name
            );
            Err(e)
        }
    }
}

struct Outcome {
    upload: UploadSummary,
    warnings: Vec<String>,
}

fn attempt(store: &dyn Store, plan: &Plan, run: &Run) -> Result<Outcome> {
    let deleted = delete_slot(store, &run.prefix).context("deleting the slot's old objects")?;
    log::debug!(target: Category::Main.target(), "deleted {deleted} old objects of {}", run.prefix);
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
        None => stream_upload(store, plan, run, &stages)?,
        Some(temp) => {
            let result = buffered_upload(store, plan, run, &stages, temp);
            let _ = fs::remove_file(temp);
            result?
        }
    };
    if upload.bytes == 0 {
        bail!("the pipeline produced no data");
    }
    match (&run.state, work) {
        (Some(StateFile::TarSnapshot { path, .. }), Some(work)) => {
            work.commit()
                .with_context(|| format!("replacing {}", path.display()))?;
        }
        (Some(StateFile::SvnRevision { path, head }), _) => {
            crate::snapshot::write_revision(path, *head)
                .with_context(|| format!("recording revision {head} in {}", path.display()))?;
        }
        _ => {}
    }
    Ok(Outcome {
        upload,
        warnings: report.warnings,
    })
}

fn stream_upload(
    store: &dyn Store,
    plan: &Plan,
    run: &Run,
    stages: &[Vec<String>],
) -> Result<(UploadSummary, PipelineReport)> {
    let mut pipeline = Pipeline::start(stages, Output::Reader)?;
    let progress = Progress::new(format!("{}:{}", plan.bucket, run.prefix), None);
    let uploaded = upload_stream(
        store,
        &run.prefix,
        progress.wrap(&mut pipeline),
        plan.chunk_size,
        PARALLEL_UPLOADS,
    );
    log::debug!(target: Category::Main.target(), "{}", progress.finish());
    match uploaded {
        Ok(summary) => Ok((summary, pipeline.finish()?)),
        Err(put_error @ UploadError::Put { .. }) => {
            pipeline.abort();
            Err(put_error.into())
        }
        // A broken stream is best explained by the stage that failed.
        Err(read_error) => match pipeline.finish() {
            Err(stage_error) => Err(stage_error.into()),
            Ok(_) => Err(read_error.into()),
        },
    }
}

fn buffered_upload(
    store: &dyn Store,
    plan: &Plan,
    run: &Run,
    stages: &[Vec<String>],
    temp: &Path,
) -> Result<(UploadSummary, PipelineReport)> {
    let report = Pipeline::start(stages, Output::File(temp.to_path_buf()))?.finish()?;
    let file = File::open(temp).with_context(|| format!("reading {}", temp.display()))?;
    let reader: Box<dyn Read> = Box::new(BufReader::new(file));
    let summary = upload_stream(
        store,
        &run.prefix,
        reader,
        plan.chunk_size,
        PARALLEL_UPLOADS,
    )?;
    Ok((summary, report))
}
