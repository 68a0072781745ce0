//! PURE: the later occurrences of an item configured in several scopes (the legacy
//! README backs up `/etc` in a daily SimpleCycle and again in a decaying HanoiCycle; see
//! `config::collisions`). Each occurrence is planned from the start-of-run facts, as the
//! legacy planned it; once an earlier occurrence stored a slot in this run, a later one is
//! adjusted to build on it:
//! - the very slot it stored is not written again (two DIFFs into one slot would drop the
//!   first one's changes from the restore chain; two FULLs of one day are the same);
//! - a Subversion dump starts after the revision the earlier occurrence saved (a FULL
//!   still dumps from revision 0), so the chain loads every revision once.
//!
//! A Directory needs nothing more: tar `-g` reads the shared snapshot file the earlier
//! occurrence left. The chain rule (`plan::chain_guard`) stays judged from the
//! start-of-run listing: an earlier occurrence only adds a FULL (after which no older DIFF
//! is needed) or a DIFF (whose slot the first rule protects), so that judgement is never
//! too lax.

use std::collections::HashSet;

use crate::config::ItemKind;
use crate::plan::sources::Source;
use crate::plan::{Decision, Job, Run, StateFile, SvnFacts, SvnStep, subversion_step};

/// What a backup run has stored so far.
#[derive(Debug, Clone, Default)]
pub struct StoredSoFar {
    prefixes: HashSet<String>,
    items: HashSet<(ItemKind, String)>,
}

impl StoredSoFar {
    /// Notes that `job` stored `run`'s slot.
    pub fn record(&mut self, job: &Job, run: &Run) {
        self.prefixes.insert(run.prefix.clone());
        self.items.insert((job.kind, job.name.clone()));
    }

    /// Whether an earlier occurrence of `job`'s item stored a slot in this run.
    pub fn has_item(&self, job: &Job) -> bool {
        self.items.contains(&(job.kind, job.name.clone()))
    }
}

/// What a later occurrence does instead of its planned run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repeat {
    /// Run as planned.
    AsPlanned,
    /// An earlier occurrence stored this very slot in this run.
    StoredAlready,
    /// Decided anew (a Subversion dump from the revision saved meanwhile, or nothing new).
    Replanned(Box<Decision>),
}

/// Adjusts `run`, planned for `job` from the start-of-run facts, to what this run stored
/// so far. `svn`: the repository's facts read again now (Subversion items only).
pub fn adjust(so_far: &StoredSoFar, job: &Job, run: &Run, svn: Option<&SvnFacts>) -> Repeat {
    if !so_far.has_item(job) {
        return Repeat::AsPlanned;
    }
    if so_far.prefixes.contains(&run.prefix) {
        return Repeat::StoredAlready;
    }
    let (
        Some(svn),
        Source::SvnDump {
            compressor, repo, ..
        },
        Some(StateFile::SvnRevision { path, .. }),
    ) = (svn, &run.source, &run.state)
    else {
        return Repeat::AsPlanned;
    };
    Repeat::Replanned(Box::new(match subversion_step(svn, run.slot, repo, path) {
        Err(why) => Decision::Failed(why),
        Ok(SvnStep::NoNewRevisions) => Decision::NoNewRevisions,
        Ok(SvnStep::Dump { slot, from, head }) => Decision::Run(Run {
            slot,
            source: Source::SvnDump {
                compressor: *compressor,
                repo: repo.clone(),
                from,
                to: Some(head),
            },
            state: Some(StateFile::SvnRevision {
                path: path.clone(),
                head,
            }),
            ..run.clone()
        }),
    }))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::Compressor;
    use crate::plan::schedule::{Slot, SlotType};

    fn job(kind: ItemKind, name: &str) -> Job {
        Job {
            kind,
            name: name.into(),
            display_name: name.into(),
            block: None,
            decision: Decision::Expanded,
        }
    }

    fn svn_run(number: i64, slot_type: SlotType, from: u64, to: u64) -> Run {
        Run {
            slot: Slot {
                number,
                slot_type: Some(slot_type),
            },
            prefix: format!("/svn/r-{number}-{}", slot_type.as_str()),
            source: Source::SvnDump {
                compressor: Compressor::Gzip,
                repo: "/svn/r".into(),
                from,
                to: Some(to),
            },
            encryption: None,
            temp_file: None,
            state: Some(StateFile::SvnRevision {
                path: PathBuf::from("/d/_svn_r.diff"),
                head: to,
            }),
            promoted: None,
            lock: None,
        }
    }

    fn facts(saved: u64, youngest: u64) -> SvnFacts {
        SvnFacts {
            youngest: Ok(youngest),
            last_saved: Ok(Some(saved)),
        }
    }

    /// The run a replanned repeat got.
    fn run_of(repeat: Repeat) -> Run {
        match repeat {
            Repeat::Replanned(decision) => match *decision {
                Decision::Run(run) => run,
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_first_occurrence_runs_as_planned() {
        let so_far = StoredSoFar::default();
        let j = job(ItemKind::Subversion, "/svn/r");
        let run = svn_run(3, SlotType::Diff, 5, 7);
        assert_eq!(
            adjust(&so_far, &j, &run, Some(&facts(7, 9))),
            Repeat::AsPlanned
        );
    }

    #[test]
    fn the_slot_stored_by_an_earlier_occurrence_is_not_written_again() {
        let mut so_far = StoredSoFar::default();
        let j = job(ItemKind::Directory, "/etc");
        let mut run = svn_run(0, SlotType::Full, 0, 0);
        run.source = Source::Tar {
            compressor: Compressor::Gzip,
            excludes: vec![],
            snapshot: PathBuf::from("/d/_etc.diff"),
            name: "/etc".into(),
        };
        so_far.record(&j, &run);
        assert_eq!(adjust(&so_far, &j, &run, None), Repeat::StoredAlready);
        // another slot of the same directory runs as planned (tar reads the shared snapshot)
        let other = Run {
            prefix: "/etc-3-DIFF".into(),
            ..run.clone()
        };
        assert_eq!(adjust(&so_far, &j, &other, None), Repeat::AsPlanned);
        // another item with that slot name is not this item
        let k = job(ItemKind::Directory, "/usr");
        assert_eq!(adjust(&so_far, &k, &run, None), Repeat::AsPlanned);
    }

    #[test]
    fn a_later_subversion_diff_starts_after_the_revision_saved_meanwhile() {
        let mut so_far = StoredSoFar::default();
        let j = job(ItemKind::Subversion, "/svn/r");
        // the earlier occurrence dumped 5..=7 into slot 3
        so_far.record(&j, &svn_run(3, SlotType::Diff, 5, 7));
        // planned from the start-of-run facts (saved 4): 5..=7 again, into slot 9
        let later = svn_run(9, SlotType::Diff, 5, 7);
        let r = run_of(adjust(&so_far, &j, &later, Some(&facts(7, 8))));
        assert_eq!(r.prefix, "/svn/r-9-DIFF");
        assert!(matches!(
            r.source,
            Source::SvnDump {
                from: 8,
                to: Some(8),
                ..
            }
        ));
        assert!(matches!(
            r.state,
            Some(StateFile::SvnRevision { head: 8, .. })
        ));
        // nothing committed since the earlier occurrence: nothing to dump
        assert_eq!(
            adjust(&so_far, &j, &later, Some(&facts(7, 7))),
            Repeat::Replanned(Box::new(Decision::NoNewRevisions))
        );
        // a FULL dumps everything again, up to the youngest revision now
        let full = svn_run(2, SlotType::Full, 0, 7);
        let r = run_of(adjust(&so_far, &j, &full, Some(&facts(7, 8))));
        assert!(matches!(
            r.source,
            Source::SvnDump {
                from: 0,
                to: Some(8),
                ..
            }
        ));
    }
}
