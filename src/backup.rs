//! Runs a plan for real: pipeline -> chunker -> store, cleaning up on failure.

use crate::config::Settings;
use crate::plan::{Job, Plan, Run};
use crate::report::Category;
use crate::store::ObjectInfo;

/// Lists the bucket for "already done today". Failures are logged at DEBUG, as the legacy
/// did, and give an empty listing. Returns the listing and whether the server strips the
/// leading `/` of keys.
pub fn list_bucket(settings: &Settings) -> (Vec<ObjectInfo>, bool) {
    log::debug!(target: Category::Main.target(), "listing {} not available yet", settings.bucket);
    (Vec::new(), false)
}

/// Executes one job's run.
pub fn execute(_settings: &Settings, _plan: &Plan, _job: &Job, _run: &Run) -> anyhow::Result<()> {
    anyhow::bail!("real backups are not implemented yet")
}
