//! The jobs of one config file's plan, in order: test mode prints what each would run;
//! a real run fails the items whose legacy names collide with another item's, adjusts the
//! later occurrences of an item configured in several scopes (`plan::repeat`) and executes
//! the rest (`backup::execute`).

use anyhow::Result;

use crate::commands::summary::{ItemSummary, Outcome};
use crate::config::collisions::Collisions;
use crate::config::{ItemKind, Settings};
use crate::exit::Fatal;
use crate::journal::items::{JournalItem, part_of};
use crate::plan::facts::subversion_facts;
use crate::plan::repeat::{self, Repeat, StoredSoFar};
use crate::plan::report::{self, Category};
use crate::plan::{Decision, Job, Plan};
use crate::process::interrupt;
use crate::store::{ObjectInfo, Store};

/// The journal of a job's item (one of `journals`, else one without a cycle bound).
fn journal_of(settings: &Settings, journals: &[JournalItem], job: &Job) -> JournalItem {
    let part = part_of(job.kind, &job.name, &job.display_name);
    journals
        .iter()
        .find(|j| j.part == part)
        .cloned()
        .unwrap_or_else(|| JournalItem {
            label: format!("{} {}", job.kind.legacy_name(), job.name),
            path: crate::journal::journal_path(&settings.diff_dir, &part),
            typed: matches!(job.kind, ItemKind::Directory | ItemKind::Subversion),
            part,
            bound: None,
        })
}

/// Runs every job of `plan` (real runs when `store` is given, else test mode), adding each
/// item's summary to `items`. Returns the number of failed items.
pub fn run_jobs(
    settings: &Settings,
    plan: &Plan,
    collisions: &Collisions,
    store: Option<&dyn Store>,
    listing: &[ObjectInfo],
    journals: &[JournalItem],
    items: &mut Vec<ItemSummary>,
) -> Result<usize> {
    let mut failed = 0;
    let mut bucket_ready = false;
    let mut so_far = StoredSoFar::default();
    for job in &plan.jobs {
        if let Some(reason) = interrupt::reason() {
            log::error!(
                target: Category::Main.target(),
                "{reason}: the remaining items of {} were not started",
                settings.path.display()
            );
            break;
        }
        report::emit(&report::job_lines(plan, job));
        let mut item = ItemSummary::planned(settings, plan, job);
        let Some(store) = store else {
            match &job.decision {
                Decision::Failed(_) => failed += 1,
                Decision::Run(run) | Decision::Broken { legacy: run, .. } => {
                    report::emit(&report::command_lines(plan, job, run))
                }
                _ => {}
            }
            items.extend(item);
            continue;
        };
        if let Some(conflict) = collisions.conflict(job.kind, &job.name) {
            log::error!(
                target: Category::of(job.kind).target(),
                "{} {}: {conflict}",
                job.kind.legacy_name(),
                job.name
            );
            failed += 1;
            if let Some(item) = &mut item {
                item.conclude(Outcome::Failed, conflict);
            }
            items.extend(item);
            continue;
        }
        match &job.decision {
            Decision::Failed(_) => failed += 1,
            Decision::Broken { why, .. } => {
                log::error!(
                    target: Category::of(job.kind).target(),
                    "{} {}: {why}",
                    job.kind.legacy_name(),
                    job.name
                );
                failed += 1;
            }
            Decision::Run(planned) => {
                let svn = (job.kind == ItemKind::Subversion && so_far.has_item(job))
                    .then(|| subversion_facts(settings, &job.name));
                let run = match repeat::adjust(&so_far, job, planned, svn.as_ref()) {
                    Repeat::AsPlanned => planned.clone(),
                    Repeat::StoredAlready => {
                        log::info!(
                            target: Category::of(job.kind).target(),
                            "{}:{} was stored by this run already ({} {} is configured in several scopes)",
                            plan.bucket,
                            planned.prefix,
                            job.kind.legacy_name(),
                            job.name
                        );
                        if let Some(item) = &mut item {
                            item.conclude(Outcome::Skipped, "stored by this run already");
                        }
                        items.extend(item);
                        continue;
                    }
                    Repeat::Replanned(decision) => match *decision {
                        Decision::Run(run) => run,
                        decision => {
                            let replanned = Job {
                                block: None,
                                decision,
                                ..job.clone()
                            };
                            report::emit(&report::job_lines(plan, &replanned));
                            let broken = matches!(replanned.decision, Decision::Failed(_));
                            failed += usize::from(broken);
                            items.extend(ItemSummary::planned(settings, plan, &replanned));
                            continue;
                        }
                    },
                };
                if !bucket_ready {
                    store
                        .ensure_bucket()
                        .map_err(|e| Fatal(format!("bucket {}: {e}", settings.bucket)))?;
                    bucket_ready = true;
                }
                let started = std::time::Instant::now();
                let journal = journal_of(settings, journals, job);
                let result = crate::backup::execute(store, plan, job, &run, listing, &journal);
                match &result {
                    Ok(_) => so_far.record(job, &run),
                    Err(_) => failed += 1,
                }
                if let Some(item) = &mut item {
                    item.prefix = Some(run.prefix.clone());
                    item.record(&result, started.elapsed());
                }
            }
            _ => {}
        }
        items.extend(item);
    }
    Ok(failed)
}
