//! Extracting a Directory slot: its decoded stream (see [`decode`](super::decode))
//! through the [`guard`](super::guard) (which refuses members that would land outside the restore
//! directory and drops those a partial restore leaves out), then
//! `tar -x -g /dev/null -C DIR`, which applies the deletions recorded in each DIFF.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, anyhow};

use super::decode::{GzipError, NotEncrypted};
use super::guard::{PathFilter, Refusal, TarGuard};
use crate::process::pipeline::{Output, Pipeline, PipelineError};

/// One restore into a directory: where, and which PATHs.
pub struct Extraction {
    dir: PathBuf,
    filter: Arc<PathFilter>,
}

impl Extraction {
    /// Extraction into `dir` (which exists) of `paths` (all members when empty).
    pub fn new(dir: &Path, paths: &[String]) -> Result<Extraction> {
        let filter = PathFilter::new(paths).map_err(|e| anyhow!(crate::exit::Fatal(e)))?;
        Ok(Extraction {
            dir: dir.to_path_buf(),
            filter: Arc::new(filter),
        })
    }

    /// Extracts one slot: `decoded` (the tar stream, decrypted and decompressed) into the
    /// directory. Returns tolerated warnings; the error of a refused member names it.
    pub fn run(&self, decoded: impl Read + Send + 'static) -> Result<Vec<String>> {
        let guard = TarGuard::new(decoded, &self.dir, self.filter.clone())?;
        let tar: Vec<String> = ["tar", "-x", "-g", "/dev/null", "-C"]
            .iter()
            .map(|s| s.to_string())
            .chain([self.dir.display().to_string()])
            .collect();
        let mut pipeline = Pipeline::start_with_input(&[tar], guard, Output::Reader)?;
        if let Err(e) = io::copy(&mut pipeline, &mut io::sink()) {
            pipeline.abort();
            return Err(anyhow!(e).context("reading tar's output"));
        }
        match pipeline.finish() {
            Ok(report) => Ok(report.warnings),
            Err(PipelineError::Input(e)) => Err(unwrap_input(e)),
            Err(e) => Err(e.into()),
        }
    }

    /// The PATHs no member of the slots extracted so far matched.
    pub fn unmatched(&self) -> Vec<String> {
        self.filter.unmatched()
    }
}

/// The guard's refusal or the decoding's failure (a refused unencrypted slot included),
/// as itself, with its causes.
fn unwrap_input(e: io::Error) -> anyhow::Error {
    if e.get_ref().is_some_and(|inner| {
        inner.is::<Refusal>()
            || inner.is::<PipelineError>()
            || inner.is::<GzipError>()
            || inner.is::<NotEncrypted>()
    }) {
        let inner = e.into_inner().expect("checked above");
        // gpg's failure keeps its causes (a chunk that failed while gpg read it)
        return anyhow::Error::from_boxed(inner);
    }
    anyhow!(PipelineError::Input(e))
}
