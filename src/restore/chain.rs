//! PURE: which slots restore an item as of a moment (LEGACY.md §12): the newest FULL
//! modified before the end of the date, then every DIFF modified after it and before that
//! end, oldest first. Slot numbers wrap, so the order is by LastModified; slots of the same
//! second are ordered by their slot distance after the FULL.

use time::OffsetDateTime;

use crate::schedule::SlotType;
use crate::store::keys::SlotProblem;

/// One slot of the item, as the chain selection sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The prefix as listed (`/home/foo-3-FULL`).
    pub prefix: String,
    /// The slot number.
    pub number: i64,
    /// FULL or DIFF; `None` (databases) counts as FULL.
    pub slot_type: Option<SlotType>,
    /// The newest LastModified of its chunks.
    pub last_modified: OffsetDateTime,
    /// Why the slot is not a complete upload, if it is not.
    pub problem: Option<SlotProblem>,
}

impl Candidate {
    fn is_full(&self) -> bool {
        self.slot_type != Some(SlotType::Diff)
    }
}

/// Why no chain can be restored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChainError {
    /// No FULL slot was modified before the end.
    #[error("no FULL slot of {item} on or before {date}")]
    NoFull {
        /// The item as configured.
        item: String,
        /// The date asked for (or "now").
        date: String,
    },
    /// The newest FULL is incomplete.
    #[error(
        "the newest FULL slot {prefix} is incomplete ({problem}){}",
        older_text(older)
    )]
    IncompleteFull {
        /// The FULL's prefix.
        prefix: String,
        /// What is wrong with it.
        problem: SlotProblem,
        /// The next older complete FULL (not used automatically).
        older: Option<String>,
    },
    /// A DIFF of the chain is incomplete.
    #[error("DIFF slot {prefix} of the chain is incomplete ({problem})")]
    IncompleteDiff {
        /// The DIFF's prefix.
        prefix: String,
        /// What is wrong with it.
        problem: SlotProblem,
    },
}

fn older_text(older: &Option<String>) -> String {
    match older {
        Some(p) => {
            format!("; an older complete FULL {p} exists (restore with an earlier --at to use it)")
        }
        None => "; no older complete FULL exists".into(),
    }
}

/// Selects the chain: the newest FULL modified before `until` (no bound when `None`), then
/// every DIFF modified at or after it and before `until`, oldest first. `item` and `date`
/// only go into the error messages.
pub fn select_chain<'a>(
    candidates: &'a [Candidate],
    until: Option<OffsetDateTime>,
    item: &str,
    date: &str,
) -> Result<Vec<&'a Candidate>, ChainError> {
    let in_time = |c: &&Candidate| until.is_none_or(|u| c.last_modified < u);
    let mut fulls: Vec<&Candidate> = candidates
        .iter()
        .filter(in_time)
        .filter(|c| c.is_full())
        .collect();
    fulls.sort_by_key(|c| (c.last_modified, c.number));
    let Some(full) = fulls.pop() else {
        return Err(ChainError::NoFull {
            item: item.to_string(),
            date: date.to_string(),
        });
    };
    if let Some(problem) = &full.problem {
        let older = fulls
            .iter()
            .rev()
            .find(|c| c.problem.is_none())
            .map(|c| c.prefix.clone());
        return Err(ChainError::IncompleteFull {
            prefix: full.prefix.clone(),
            problem: problem.clone(),
            older,
        });
    }
    let modulus = candidates.iter().map(|c| c.number).max().unwrap_or(0) + 1;
    let distance = |c: &Candidate| (c.number - full.number).rem_euclid(modulus.max(1));
    let mut diffs: Vec<&Candidate> = candidates
        .iter()
        .filter(in_time)
        .filter(|c| !c.is_full() && c.last_modified >= full.last_modified)
        .collect();
    diffs.sort_by_key(|c| (c.last_modified, distance(c)));
    if let Some(bad) = diffs.iter().find(|c| c.problem.is_some()) {
        return Err(ChainError::IncompleteDiff {
            prefix: bad.prefix.clone(),
            problem: bad.problem.clone().expect("checked"),
        });
    }
    let mut chain = vec![full];
    chain.extend(diffs);
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    const T0: i64 = 1_790_000_000;

    fn c(number: i64, full: bool, at: i64) -> Candidate {
        Candidate {
            prefix: format!("/x-{number}-{}", if full { "FULL" } else { "DIFF" }),
            number,
            slot_type: Some(if full { SlotType::Full } else { SlotType::Diff }),
            last_modified: OffsetDateTime::from_unix_timestamp(T0 + at).unwrap(),
            problem: None,
        }
    }

    fn until(at: i64) -> Option<OffsetDateTime> {
        Some(OffsetDateTime::from_unix_timestamp(T0 + at).unwrap())
    }

    fn names(chain: &[&Candidate]) -> Vec<String> {
        chain.iter().map(|c| c.prefix.clone()).collect()
    }

    /// Two cycles of FULL + 2 DIFFs (slots 0..5), the second cycle half done, wrapping.
    fn rotation() -> Vec<Candidate> {
        vec![
            c(3, true, 3 * DAY),
            c(4, false, 4 * DAY),
            c(5, false, 5 * DAY),
            c(0, true, 6 * DAY),
            c(1, false, 7 * DAY),
            c(2, false, -DAY), // from the cycle before: older than every FULL here
        ]
    }

    #[test]
    fn newest_state_is_newest_full_and_its_diffs() {
        let slots = rotation();
        let chain = select_chain(&slots, None, "/x", "now").unwrap();
        assert_eq!(names(&chain), ["/x-0-FULL", "/x-1-DIFF"]);
    }

    #[test]
    fn a_middle_date_takes_the_older_full_and_diffs_before_the_end() {
        let slots = rotation();
        let chain = select_chain(&slots, until(4 * DAY + 10), "/x", "d").unwrap();
        assert_eq!(names(&chain), ["/x-3-FULL", "/x-4-DIFF"]);
        let chain = select_chain(&slots, until(6 * DAY - 1), "/x", "d").unwrap();
        assert_eq!(names(&chain), ["/x-3-FULL", "/x-4-DIFF", "/x-5-DIFF"]);
    }

    #[test]
    fn order_is_by_date_not_number_and_ties_by_distance() {
        let slots = vec![
            c(5, true, 0),
            c(0, false, 10), // wrapped: after 6 and 7
            c(6, false, 5),
            c(7, false, 5), // same second as 6: distance decides
            c(1, false, 10),
        ];
        let chain = select_chain(&slots, None, "/x", "now").unwrap();
        assert_eq!(
            names(&chain),
            [
                "/x-5-FULL",
                "/x-6-DIFF",
                "/x-7-DIFF",
                "/x-0-DIFF",
                "/x-1-DIFF"
            ]
        );
    }

    #[test]
    fn no_full_names_item_and_date() {
        let slots = vec![c(1, false, 0), c(0, true, 10 * DAY)];
        let err = select_chain(&slots, until(DAY), "/home/foo", "2026-11-20").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no FULL slot of /home/foo on or before 2026-11-20"
        );
        assert!(select_chain(&[], None, "/x", "now").is_err());
    }

    #[test]
    fn incomplete_slots_are_errors_not_skipped() {
        let mut slots = rotation();
        slots[4].problem = Some(SlotProblem::MissingIndex { index: 2 });
        let err = select_chain(&slots, None, "/x", "now").unwrap_err();
        assert_eq!(
            err,
            ChainError::IncompleteDiff {
                prefix: "/x-1-DIFF".into(),
                problem: SlotProblem::MissingIndex { index: 2 }
            }
        );
        assert!(err.to_string().contains("chunk 2 is missing"), "{err}");

        let mut slots = rotation();
        slots[3].problem = Some(SlotProblem::NoFinalShortChunk { last_index: 4 });
        let err = select_chain(&slots, None, "/x", "now").unwrap_err();
        assert!(
            matches!(&err, ChainError::IncompleteFull { prefix, older: Some(o), .. }
                if prefix == "/x-0-FULL" && o == "/x-3-FULL"),
            "{err:?}"
        );
        assert!(err.to_string().contains("/x-3-FULL"), "{err}");
    }

    #[test]
    fn an_incomplete_diff_outside_the_chain_does_not_matter() {
        let mut slots = rotation();
        slots[2].problem = Some(SlotProblem::Empty); // /x-5-DIFF, before the newest FULL
        let chain = select_chain(&slots, None, "/x", "now").unwrap();
        assert_eq!(names(&chain), ["/x-0-FULL", "/x-1-DIFF"]);
    }

    #[test]
    fn databases_take_the_newest_slot() {
        let mk = |n: i64, at: i64| Candidate {
            slot_type: None,
            ..c(n, true, at)
        };
        let slots = vec![mk(0, 0), mk(1, DAY), mk(2, 2 * DAY)];
        let chain = select_chain(&slots, until(DAY + 5), "all", "d").unwrap();
        assert_eq!(chain.len(), 1);
        assert_eq!(chain[0].number, 1);
    }
}
