//! The end-of-run summary of a backup run: what happened to each item (stored, skipped,
//! failed; bytes, chunks, seconds), logged as one INFO line per item, printed by `--json`
//! and handed to `NotifyCommand` as one JSON document (schema in doc/operating.md).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backup::chunker::UploadSummary;
use crate::config::Settings;
use crate::plan::report::Category;
use crate::plan::{Decision, Job, Plan};

/// The version of the JSON document's layout; raised when a field changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// What happened to one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// A new slot was stored.
    Stored,
    /// Nothing to do today (not a backup day, already done, no new revisions).
    Skipped,
    /// The item could not be backed up; see `error`.
    Failed,
    /// Test mode (`-t`): it would have been backed up.
    Planned,
}

/// One item of one config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemSummary {
    /// The config file.
    pub config: String,
    /// The bucket.
    pub bucket: String,
    /// `Directory`, `MySQL`, `PostgreSQL`, `Subversion` (as the legacy logs name them).
    pub kind: String,
    /// The item as configured.
    pub name: String,
    /// What happened.
    pub outcome: Outcome,
    /// The slot's object prefix, when a slot was chosen.
    pub prefix: Option<String>,
    /// Bytes stored (0 unless stored).
    pub bytes: u64,
    /// Objects stored (0 unless stored).
    pub chunks: u64,
    /// Time spent on the item.
    pub seconds: f64,
    /// Why it was skipped.
    pub reason: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

impl ItemSummary {
    /// The item as planned (`None` for a SubversionDir, whose repositories are items).
    /// A run decision starts as [`Outcome::Planned`] until [`ItemSummary::record`].
    pub fn planned(settings: &Settings, plan: &Plan, job: &Job) -> Option<ItemSummary> {
        let skipped = |reason: &str| (Outcome::Skipped, Some(reason.to_string()), None);
        let ((outcome, reason, error), prefix) = match &job.decision {
            Decision::NotBackupDay => (skipped("not a backup day"), None),
            Decision::AlreadyPerformedToday => (skipped("already performed today"), None),
            Decision::AlreadyDoneToday(run) => (skipped("already done today"), Some(run)),
            Decision::NoNewRevisions => (skipped("no new revisions"), None),
            Decision::Expanded => return None,
            Decision::Failed(why) | Decision::Broken { why, .. } => {
                ((Outcome::Failed, None, Some(why.clone())), None)
            }
            Decision::Run(run) => ((Outcome::Planned, None, None), Some(run)),
        };
        Some(ItemSummary {
            config: settings.path.display().to_string(),
            bucket: plan.bucket.clone(),
            kind: job.kind.legacy_name().to_string(),
            name: job.name.clone(),
            outcome,
            prefix: prefix.map(|r| r.prefix.clone()),
            bytes: 0,
            chunks: 0,
            seconds: 0.0,
            reason,
            error,
        })
    }

    /// Ends the item without running it: skipped (with the reason) or failed (the error).
    pub fn conclude(&mut self, outcome: Outcome, why: &str) {
        self.outcome = outcome;
        match outcome {
            Outcome::Failed => self.error = Some(why.to_string()),
            _ => self.reason = Some(why.to_string()),
        }
    }

    /// Records the result of running the item.
    pub fn record(&mut self, result: &anyhow::Result<UploadSummary>, took: Duration) {
        self.seconds = took.as_secs_f64();
        match result {
            Ok(upload) => {
                self.outcome = Outcome::Stored;
                self.bytes = upload.bytes;
                self.chunks = upload.chunks;
            }
            Err(e) => {
                self.outcome = Outcome::Failed;
                self.error = Some(format!("{e:#}"));
            }
        }
    }

    /// The INFO line: `Summary: KIND NAME: OUTCOME, N bytes, N chunks, S s (DETAIL)`.
    pub fn line(&self) -> String {
        let outcome = serde_json::to_value(self.outcome)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let detail = match (&self.error, &self.reason, &self.prefix) {
            (Some(e), _, _) => format!(" ({e})"),
            (None, Some(r), _) => format!(" ({r})"),
            (None, None, Some(p)) => format!(" ({}:{p})", self.bucket),
            (None, None, None) => String::new(),
        };
        format!(
            "Summary: {} {}: {outcome}, {} bytes, {} chunks, {:.1} s{detail}",
            self.kind, self.name, self.bytes, self.chunks, self.seconds
        )
    }
}

/// The whole run (every config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSummary {
    /// [`SCHEMA_VERSION`].
    pub version: u32,
    /// The exit status of the run (0, 1 or 2).
    pub exit_status: u8,
    /// `-t`: nothing was changed.
    pub test_mode: bool,
    /// Every item of every config file, in processing order.
    pub items: Vec<ItemSummary>,
    /// Every failure text: failed items (`KIND NAME: error`) and config files that could
    /// not run (`FILE: error`).
    pub failures: Vec<String>,
}

impl RunSummary {
    /// An empty summary.
    pub fn new(test_mode: bool) -> RunSummary {
        RunSummary {
            version: SCHEMA_VERSION,
            exit_status: 0,
            test_mode,
            items: Vec::new(),
            failures: Vec::new(),
        }
    }

    /// Sets the exit status and adds the failed items' texts before the run-level ones.
    pub fn finish(&mut self, exit_status: u8) {
        self.exit_status = exit_status;
        let item_failures = self.items.iter().filter_map(|i| {
            i.error
                .as_ref()
                .map(|e| format!("{} {}: {e}", i.kind, i.name))
        });
        let mut failures: Vec<String> = item_failures.collect();
        failures.append(&mut self.failures);
        self.failures = failures;
    }

    /// Logs one INFO line per item.
    pub fn log(&self) {
        for item in &self.items {
            log::info!(target: Category::Main.target(), "{}", item.line());
        }
    }

    /// The JSON document (one line).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a summary always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(outcome: Outcome, error: Option<&str>) -> ItemSummary {
        ItemSummary {
            config: "/etc/s3napback/x.conf".into(),
            bucket: "b".into(),
            kind: "Directory".into(),
            name: "/etc".into(),
            outcome,
            prefix: Some("/etc-3-FULL".into()),
            bytes: 0,
            chunks: 0,
            seconds: 0.0,
            reason: None,
            error: error.map(String::from),
        }
    }

    #[test]
    fn record_turns_a_planned_item_into_stored_or_failed() {
        let mut stored = item(Outcome::Planned, None);
        let upload = UploadSummary {
            chunks: 3,
            bytes: 2500,
            keys: Vec::new(),
        };
        stored.record(&Ok(upload), Duration::from_millis(1250));
        assert_eq!(
            stored.line(),
            "Summary: Directory /etc: stored, 2500 bytes, 3 chunks, 1.2 s (b:/etc-3-FULL)"
        );
        let mut failed = item(Outcome::Planned, None);
        failed.record(&Err(anyhow::anyhow!("gpg said no")), Duration::ZERO);
        assert_eq!(failed.outcome, Outcome::Failed);
        assert_eq!(
            failed.line(),
            "Summary: Directory /etc: failed, 0 bytes, 0 chunks, 0.0 s (gpg said no)"
        );
    }

    #[test]
    fn finish_lists_item_failures_before_run_failures() {
        let mut summary = RunSummary::new(false);
        summary.items = vec![
            item(Outcome::Failed, Some("boom")),
            item(Outcome::Skipped, None),
        ];
        summary
            .failures
            .push("/x.conf: bucket b: unreachable".into());
        summary.finish(2);
        assert_eq!(summary.exit_status, 2);
        assert_eq!(
            summary.failures,
            ["Directory /etc: boom", "/x.conf: bucket b: unreachable"]
        );
        let back: RunSummary = serde_json::from_str(&summary.to_json()).unwrap();
        assert_eq!(back, summary);
        assert!(summary.to_json().contains(r#""outcome":"failed""#));
    }
}
