//! PURE: which slots restore an item as of a moment (LEGACY.md §12): the newest FULL
//! modified before the end of the date, then every DIFF modified after it and before that
//! end, oldest first. Slot numbers wrap, so the order is by LastModified; slots of the same
//! second are ordered by their slot distance after the FULL.
//!
//! Incomplete slots (a killed run, an interrupted commit) are skipped, each with a
//! warning, rather than refusing the restore: an incomplete newest FULL gives way to the
//! newest complete FULL before it (restored up to the skipped FULL), and the chain stops
//! before the first incomplete DIFF (the DIFFs after it build on it).

use std::collections::HashMap;

use time::OffsetDateTime;

use crate::clock::to_local;
use crate::inspect::catalog::{SlotKind, SlotName, physical_item, slots_of};
use crate::plan::schedule::SlotType;
use crate::plan::{ChainLink, CurrentChain};
use crate::store::keys::{KeyStyle, Slot, SlotProblem, check_complete};

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

/// The candidates of one item's slots (as `inspect::catalog::slots_of` finds them), each
/// judged complete or not by `store::keys::check_complete`: what restore chooses from, and
/// what a backup run checks before it rewrites a DIFF slot.
pub fn candidates(item_slots: &[(SlotName, &Slot)]) -> Vec<Candidate> {
    item_slots
        .iter()
        .map(|(name, slot)| Candidate {
            prefix: slot.prefix.clone(),
            number: name.number,
            slot_type: name.slot_type,
            last_modified: slot.last_modified,
            problem: check_complete(slot).err(),
        })
        .collect()
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
    /// Every FULL before the end is incomplete.
    #[error(
        "the newest FULL slot {prefix} is incomplete ({problem}); no older complete FULL exists"
    )]
    IncompleteFull {
        /// The newest FULL's prefix.
        prefix: String,
        /// What is wrong with it.
        problem: SlotProblem,
    },
}

/// The chain to restore and the incomplete slots left out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection<'a> {
    /// The FULL, then its DIFFs, oldest first.
    pub chain: Vec<&'a Candidate>,
    /// One line per skipped slot, naming it and what it costs.
    pub skipped: Vec<String>,
}

/// Selects the chain: the newest complete FULL modified before `until` (no bound when
/// `None`), then every DIFF modified at or after it and before `until` (and before any
/// newer, incomplete FULL), oldest first, up to the first incomplete DIFF. `item` and
/// `date` only go into the error messages.
pub fn select_chain<'a>(
    candidates: &'a [Candidate],
    until: Option<OffsetDateTime>,
    item: &str,
    date: &str,
) -> Result<Selection<'a>, ChainError> {
    let in_time = |c: &&Candidate| until.is_none_or(|u| c.last_modified < u);
    let mut fulls: Vec<&Candidate> = candidates
        .iter()
        .filter(in_time)
        .filter(|c| c.is_full())
        .collect();
    fulls.sort_by_key(|c| (c.last_modified, c.number));
    let Some(newest) = fulls.last().copied() else {
        return Err(ChainError::NoFull {
            item: item.to_string(),
            date: date.to_string(),
        });
    };
    let Some(pos) = fulls.iter().rposition(|c| c.problem.is_none()) else {
        return Err(ChainError::IncompleteFull {
            prefix: newest.prefix.clone(),
            problem: newest.problem.clone().expect("no complete FULL"),
        });
    };
    let full = fulls[pos];
    let mut skipped = Vec::new();
    // Every FULL after the chosen one is incomplete; the first ends its chain.
    let mut end = until;
    for broken in &fulls[pos + 1..] {
        let problem = broken.problem.as_ref().expect("newer FULLs are incomplete");
        skipped.push(format!(
            "FULL slot {} is incomplete ({problem}); skipped: restoring the older FULL {} and its DIFFs before it",
            broken.prefix, full.prefix
        ));
        end = Some(end.map_or(broken.last_modified, |e| e.min(broken.last_modified)));
    }
    let before_end = |c: &&Candidate| end.is_none_or(|u| c.last_modified < u);
    let modulus = candidates.iter().map(|c| c.number).max().unwrap_or(0) + 1;
    let distance = |c: &Candidate| (c.number - full.number).rem_euclid(modulus.max(1));
    let mut diffs: Vec<&Candidate> = candidates
        .iter()
        .filter(before_end)
        .filter(|c| !c.is_full() && c.last_modified >= full.last_modified)
        .collect();
    diffs.sort_by_key(|c| (c.last_modified, distance(c)));
    if let Some(pos) = diffs.iter().position(|c| c.problem.is_some()) {
        let bad = diffs[pos];
        let later = diffs.len() - pos - 1;
        skipped.push(format!(
            "DIFF slot {} is incomplete ({}); skipped{}: restoring the state before it",
            bad.prefix,
            bad.problem.as_ref().expect("checked"),
            if later > 0 {
                format!(" with the {later} DIFF(s) after it")
            } else {
                String::new()
            }
        ));
        diffs.truncate(pos);
    }
    let mut chain = vec![full];
    chain.extend(diffs);
    Ok(Selection { chain, skipped })
}

/// The restore chain of a Directory or Subversion item (its name as configured) as the
/// bucket holds it now, exactly as `restore` selects it (the newest complete FULL, then
/// its DIFFs up to the first incomplete one), prefixes as listed; `None` without one.
pub fn current_chain(slots: &[Slot], name: &str, style: KeyStyle) -> Option<CurrentChain> {
    let item = physical_item(SlotKind::Tree, name, style);
    let candidates = candidates(&slots_of(slots, SlotKind::Tree, &item));
    let selection = select_chain(&candidates, None, name, "now").ok()?;
    let date = |c: &Candidate| to_local(c.last_modified).date();
    let full = date(selection.chain[0]);
    Some(CurrentChain {
        full: selection.chain[0].prefix.clone(),
        diffs: selection.chain[1..]
            .iter()
            .map(|c| {
                let link = ChainLink {
                    diff: date(c),
                    full,
                };
                (c.prefix.clone(), link)
            })
            .collect(),
    })
}

/// The DIFF slots of a Directory or Subversion item (its name as configured) that its
/// restore chain needs now (a backup run must not replace them), keyed by prefix as
/// listed (see [`current_chain`]).
pub fn needed_diffs(slots: &[Slot], name: &str, style: KeyStyle) -> HashMap<String, ChainLink> {
    current_chain(slots, name, style)
        .map(|c| c.diffs.into_iter().collect())
        .unwrap_or_default()
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
        let chain = select_chain(&slots, None, "/x", "now").unwrap().chain;
        assert_eq!(names(&chain), ["/x-0-FULL", "/x-1-DIFF"]);
    }

    #[test]
    fn a_middle_date_takes_the_older_full_and_diffs_before_the_end() {
        let slots = rotation();
        let chain = select_chain(&slots, until(4 * DAY + 10), "/x", "d")
            .unwrap()
            .chain;
        assert_eq!(names(&chain), ["/x-3-FULL", "/x-4-DIFF"]);
        let chain = select_chain(&slots, until(6 * DAY - 1), "/x", "d")
            .unwrap()
            .chain;
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
        let chain = select_chain(&slots, None, "/x", "now").unwrap().chain;
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
    fn an_incomplete_diff_ends_the_chain_with_a_warning() {
        let mut slots = rotation();
        slots.push(c(2, false, 8 * DAY));
        slots[4].problem = Some(SlotProblem::MissingIndex { index: 2 }); // /x-1-DIFF
        let sel = select_chain(&slots, None, "/x", "now").unwrap();
        assert_eq!(names(&sel.chain), ["/x-0-FULL"]);
        assert_eq!(
            sel.skipped,
            [
                "DIFF slot /x-1-DIFF is incomplete (chunk 2 is missing); skipped with the 1 \
              DIFF(s) after it: restoring the state before it"
            ]
        );
    }

    #[test]
    fn an_incomplete_newest_full_gives_way_to_the_older_chain() {
        let mut slots = rotation();
        slots[3].problem = Some(SlotProblem::NoFinalShortChunk { last_index: 4 }); // /x-0-FULL
        let sel = select_chain(&slots, None, "/x", "now").unwrap();
        // The older FULL and its DIFFs before the skipped FULL; /x-1-DIFF built on it.
        assert_eq!(names(&sel.chain), ["/x-3-FULL", "/x-4-DIFF", "/x-5-DIFF"]);
        assert_eq!(sel.skipped.len(), 1);
        assert!(
            sel.skipped[0].starts_with("FULL slot /x-0-FULL is incomplete"),
            "{sel:?}"
        );
        assert!(sel.skipped[0].contains("restoring the older FULL /x-3-FULL"));

        slots[0].problem = Some(SlotProblem::CommitPending); // /x-3-FULL too
        let err = select_chain(&slots, None, "/x", "now").unwrap_err();
        assert!(
            matches!(&err, ChainError::IncompleteFull { prefix, .. } if prefix == "/x-0-FULL"),
            "{err:?}"
        );
        assert!(err.to_string().contains("no older complete FULL"), "{err}");
    }

    #[test]
    fn an_incomplete_diff_outside_the_chain_does_not_matter() {
        let mut slots = rotation();
        slots[2].problem = Some(SlotProblem::Empty); // /x-5-DIFF, before the newest FULL
        let sel = select_chain(&slots, None, "/x", "now").unwrap();
        assert_eq!(names(&sel.chain), ["/x-0-FULL", "/x-1-DIFF"]);
        assert!(sel.skipped.is_empty());
    }

    #[test]
    fn databases_take_the_newest_slot() {
        let mk = |n: i64, at: i64| Candidate {
            slot_type: None,
            ..c(n, true, at)
        };
        let slots = vec![mk(0, 0), mk(1, DAY), mk(2, 2 * DAY)];
        let chain = select_chain(&slots, until(DAY + 5), "all", "d")
            .unwrap()
            .chain;
        assert_eq!(chain.len(), 1);
        assert_eq!(chain[0].number, 1);
    }

    mod needed {
        use super::super::*;
        use crate::store::ObjectInfo;
        use crate::store::keys::group_slots;
        use time::macros::{date, datetime};

        fn listing(slots: &[(&str, OffsetDateTime)]) -> Vec<Slot> {
            group_slots(slots.iter().map(|(prefix, at)| ObjectInfo {
                key: format!("{prefix}:00000000000000000000"),
                size: 10,
                last_modified: *at,
                etag: None,
            }))
        }

        #[test]
        fn the_needed_diffs_are_those_after_the_newest_complete_full() {
            let d11 = datetime!(2026-11-11 12:00 UTC);
            let d12 = datetime!(2026-11-12 12:00 UTC);
            let d13 = datetime!(2026-11-13 12:00 UTC);
            // day 13's FULL failed: the DIFF of day 12 is needed
            let slots = listing(&[("/etc-0-FULL", d11), ("/etc-1-DIFF", d12)]);
            let chain = needed_diffs(&slots, "/etc", KeyStyle::Faithful);
            assert_eq!(chain.len(), 1);
            assert_eq!(
                chain["/etc-1-DIFF"],
                ChainLink {
                    diff: date!(2026 - 11 - 12),
                    full: date!(2026 - 11 - 11),
                }
            );
            // day 13's FULL worked: the DIFF of day 12 is older, not needed
            let slots = listing(&[("/etc-0-FULL", d13), ("/etc-1-DIFF", d12)]);
            assert!(needed_diffs(&slots, "/etc", KeyStyle::Faithful).is_empty());
            // another item's slots and a stripped spelling
            let slots = listing(&[
                ("etc-0-FULL", d11),
                ("etc-1-DIFF", d12),
                ("etcx-1-DIFF", d12),
            ]);
            let chain = needed_diffs(&slots, "/etc", KeyStyle::StripLeadingSlashes);
            assert_eq!(chain.keys().collect::<Vec<_>>(), vec!["etc-1-DIFF"]);
            // no FULL at all: no chain to keep
            assert!(
                needed_diffs(
                    &listing(&[("/etc-1-DIFF", d12)]),
                    "/etc",
                    KeyStyle::Faithful
                )
                .is_empty()
            );
        }
    }
}
