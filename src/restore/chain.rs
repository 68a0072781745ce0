//! PURE: which slots restore an item as of a moment (LEGACY.md §12): the newest chain
//! start (a FULL, or a DIFF slot stamped as a full dump) backed up before the end of the
//! date, then every DIFF backed up after it and before that end, oldest first. A slot's
//! backup time is its stamp (`store::stamp`), else (js3tream era, older runs) its newest
//! LastModified; slot numbers wrap, so the order is by that time, and slots of the same
//! second are ordered by their stamps' sequence, else by their slot distance after the
//! chain start. LastModified has one-second resolution and a commit finished late re-dates
//! a slot, so an unstamped DIFF of the same second as the FULL is not taken to follow it.
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
    /// When the slot was backed up: its stamp's time, else its newest LastModified.
    pub backup_time: OffsetDateTime,
    /// The stamp's sequence number (stamped slots only).
    pub seq: Option<u64>,
    /// A DIFF slot whose stamp says it holds a full dump: a chain starts from it.
    pub chain_start: bool,
    /// Why the slot is not a complete upload, if it is not.
    pub problem: Option<SlotProblem>,
}

impl Candidate {
    /// A FULL (or database) slot, or a DIFF slot holding a full dump.
    fn starts_chain(&self) -> bool {
        self.slot_type != Some(SlotType::Diff) || self.chain_start
    }

    /// Whether this slot was backed up after `start`: by time, and within one second by
    /// the stamps' sequence (only when both are stamped).
    fn follows(&self, start: &Candidate) -> bool {
        match (self.seq, start.seq) {
            (Some(a), Some(b)) => (self.backup_time, a) > (start.backup_time, b),
            _ => self.backup_time > start.backup_time,
        }
    }

    /// The order of backups: time, then sequence.
    fn order(&self) -> (OffsetDateTime, u64) {
        (self.backup_time, self.seq.unwrap_or(0))
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
            backup_time: slot.backup_time(),
            seq: slot.stamp.map(|s| s.seq),
            chain_start: slot.stamp.is_some_and(|s| s.chain_start),
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

/// Selects the chain: the newest complete chain start backed up before `until` (no bound
/// when `None`), then every DIFF backed up after it and before `until` (and before any
/// newer, incomplete FULL), oldest first, up to the first incomplete DIFF. `item` and
/// `date` only go into the error messages.
pub fn select_chain<'a>(
    candidates: &'a [Candidate],
    until: Option<OffsetDateTime>,
    item: &str,
    date: &str,
) -> Result<Selection<'a>, ChainError> {
    let in_time = |c: &&Candidate| until.is_none_or(|u| c.backup_time < u);
    let mut fulls: Vec<&Candidate> = candidates
        .iter()
        .filter(in_time)
        .filter(|c| c.starts_chain())
        .collect();
    fulls.sort_by_key(|c| (c.order(), c.number));
    let Some(newest) = fulls.last().copied() else {
        return from_oldest_diff(candidates, until, item, date);
    };
    let Some(pos) = fulls.iter().rposition(|c| c.problem.is_none()) else {
        return Err(ChainError::IncompleteFull {
            prefix: newest.prefix.clone(),
            problem: newest.problem.clone().expect("no complete FULL"),
        });
    };
    let full = fulls[pos];
    let mut skipped = Vec::new();
    // Every chain start after the chosen one is incomplete; the first ends its chain.
    let mut end = until;
    for broken in &fulls[pos + 1..] {
        let problem = broken.problem.as_ref().expect("newer FULLs are incomplete");
        skipped.push(format!(
            "FULL slot {} is incomplete ({problem}); skipped: restoring the older FULL {} and its DIFFs before it",
            broken.prefix, full.prefix
        ));
        end = Some(end.map_or(broken.backup_time, |e| e.min(broken.backup_time)));
    }
    let before_end = |c: &&Candidate| end.is_none_or(|u| c.backup_time < u);
    // slot numbers come from the bucket: no arithmetic on them can overflow
    let modulus = candidates
        .iter()
        .map(|c| c.number)
        .max()
        .unwrap_or(0)
        .saturating_add(1)
        .max(1);
    let distance = |c: &Candidate| c.number.wrapping_sub(full.number).rem_euclid(modulus);
    let mut diffs: Vec<&Candidate> = candidates
        .iter()
        .filter(before_end)
        .filter(|c| c.slot_type == Some(SlotType::Diff) && c.follows(full))
        .collect();
    diffs.sort_by_key(|c| (c.order(), distance(c)));
    // a later chain start (a DIFF stamped as a full dump) ends the chain before it
    if let Some(pos) = diffs.iter().position(|c| c.chain_start) {
        diffs.truncate(pos);
    }
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

/// A bucket written before slots were stamped (js3tream era, older runs) whose item has
/// DIFFs but no FULL before them (a first backup on a DIFF day, a FULL since lost): the
/// chain starts from the oldest complete DIFF, which is complete only if it was a full dump
/// (the item's first backup, or one after its snapshot file was lost); the warning names it.
fn from_oldest_diff<'a>(
    candidates: &'a [Candidate],
    until: Option<OffsetDateTime>,
    item: &str,
    date: &str,
) -> Result<Selection<'a>, ChainError> {
    let mut diffs: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| until.is_none_or(|u| c.backup_time < u))
        .filter(|c| c.slot_type == Some(SlotType::Diff) && c.seq.is_none())
        .collect();
    diffs.sort_by_key(|c| (c.order(), c.number));
    let Some(start) = diffs.iter().position(|c| c.problem.is_none()) else {
        return Err(ChainError::NoFull {
            item: item.to_string(),
            date: date.to_string(),
        });
    };
    let mut chain: Vec<&Candidate> = diffs[start..]
        .iter()
        .take_while(|c| c.problem.is_none())
        .copied()
        .collect();
    let mut skipped = vec![format!(
        "no FULL slot of {item} on or before {date}: restoring from its oldest DIFF slot {}, \
         complete only if it was a full dump (the item's first backup)",
        chain[0].prefix
    )];
    if let Some(bad) = diffs[start..].get(chain.len()) {
        skipped.push(format!(
            "DIFF slot {} is incomplete ({}); skipped with the DIFF(s) after it: restoring the state before it",
            bad.prefix,
            bad.problem.as_ref().expect("checked")
        ));
    }
    chain.shrink_to_fit();
    Ok(Selection { chain, skipped })
}

/// The restore chain of a Directory or Subversion item (its name as configured) as the
/// bucket holds it now, exactly as `restore` selects it (the newest complete FULL, then
/// its DIFFs up to the first incomplete one), prefixes as listed; `None` without one.
pub fn current_chain(slots: &[Slot], name: &str, style: KeyStyle) -> Option<CurrentChain> {
    let item = physical_item(SlotKind::Tree, name, style);
    let candidates = candidates(&slots_of(slots, SlotKind::Tree, &item));
    let selection = select_chain(&candidates, None, name, "now").ok()?;
    let date = |c: &Candidate| to_local(c.backup_time).date();
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
            backup_time: OffsetDateTime::from_unix_timestamp(T0 + at).unwrap(),
            seq: None,
            chain_start: false,
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
        // a stamped DIFF (not a full dump) before any FULL restores nothing
        let slots = vec![stamped(1, false, 0, 1), c(0, true, 10 * DAY)];
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

    fn stamped(number: i64, full: bool, at: i64, seq: u64) -> Candidate {
        Candidate {
            seq: Some(seq),
            ..c(number, full, at)
        }
    }

    /// Issue 22: the DIFF of night 14 committed late (its slot re-dated to night 16, the
    /// second of the new FULL) is older than the FULL by its stamp: never applied after it,
    /// and still there for its own night.
    #[test]
    fn a_diff_committed_late_keeps_its_own_night() {
        let slots = vec![
            stamped(0, true, 10 * DAY, 10),
            stamped(1, false, 11 * DAY, 11),
            stamped(2, false, 14 * DAY, 14), // committed on night 16
            stamped(4, true, 16 * DAY, 14),
        ];
        let chain = select_chain(&slots, None, "/x", "now").unwrap().chain;
        assert_eq!(names(&chain), ["/x-4-FULL"]);
        let chain = select_chain(&slots, until(15 * DAY), "/x", "d")
            .unwrap()
            .chain;
        assert_eq!(names(&chain), ["/x-0-FULL", "/x-1-DIFF", "/x-2-DIFF"]);
    }

    /// Unstamped slots (js3tream era): a DIFF of the same second as the FULL is not taken
    /// to follow it; stamped ones of one second follow by their sequence.
    #[test]
    fn the_same_second_orders_by_sequence_or_not_at_all() {
        let slots = vec![c(0, true, DAY), c(1, false, DAY)];
        let chain = select_chain(&slots, None, "/x", "now").unwrap().chain;
        assert_eq!(names(&chain), ["/x-0-FULL"]);
        let slots = vec![stamped(0, true, DAY, 5), stamped(1, false, DAY, 6)];
        let chain = select_chain(&slots, None, "/x", "now").unwrap().chain;
        assert_eq!(names(&chain), ["/x-0-FULL", "/x-1-DIFF"]);
        let slots = vec![stamped(0, true, DAY, 6), stamped(1, false, DAY, 5)];
        let chain = select_chain(&slots, None, "/x", "now").unwrap().chain;
        assert_eq!(names(&chain), ["/x-0-FULL"]);
    }

    /// Issue 24: a DIFF slot stamped as a full dump starts a chain, like a FULL.
    #[test]
    fn a_full_dump_in_a_diff_slot_starts_a_chain() {
        let start = Candidate {
            chain_start: true,
            ..stamped(3, false, DAY, 1)
        };
        let slots = vec![start, stamped(4, false, 2 * DAY, 2)];
        let chain = select_chain(&slots, None, "/x", "now").unwrap().chain;
        assert_eq!(names(&chain), ["/x-3-DIFF", "/x-4-DIFF"]);
        // a newer FULL still wins
        let mut slots = slots;
        slots.push(stamped(0, true, 3 * DAY, 3));
        let chain = select_chain(&slots, None, "/x", "now").unwrap().chain;
        assert_eq!(names(&chain), ["/x-0-FULL"]);
    }

    /// Issue 24: unstamped DIFFs with no FULL before them restore from the oldest, with a
    /// warning naming it; an incomplete one stops the chain; stamped DIFFs never do this.
    #[test]
    fn legacy_diffs_without_a_full_restore_from_the_oldest() {
        let mut slots = vec![c(5, false, 2 * DAY), c(4, false, DAY), c(6, false, 3 * DAY)];
        let sel = select_chain(&slots, None, "/x", "now").unwrap();
        assert_eq!(names(&sel.chain), ["/x-4-DIFF", "/x-5-DIFF", "/x-6-DIFF"]);
        assert_eq!(
            sel.skipped,
            [
                "no FULL slot of /x on or before now: restoring from its oldest DIFF slot \
              /x-4-DIFF, complete only if it was a full dump (the item's first backup)"
            ]
        );
        slots[0].problem = Some(SlotProblem::Empty);
        let sel = select_chain(&slots, None, "/x", "now").unwrap();
        assert_eq!(names(&sel.chain), ["/x-4-DIFF"]);
        assert!(sel.skipped[1].starts_with("DIFF slot /x-5-DIFF is incomplete"));
        let slots = vec![stamped(4, false, DAY, 1)];
        assert!(select_chain(&slots, None, "/x", "now").is_err());
    }

    /// Issue 23: slot numbers come from the bucket; the largest never overflows.
    #[test]
    fn huge_slot_numbers_do_not_overflow() {
        let slots = vec![c(0, true, 0), c(i64::MAX, false, DAY), c(1, false, DAY)];
        let chain = select_chain(&slots, None, "/x", "now").unwrap().chain;
        assert_eq!(chain.len(), 3);
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
