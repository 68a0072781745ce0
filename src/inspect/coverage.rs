//! PURE: what the slots of one item say about it — the restorable windows (a FULL and the
//! unbroken run of complete DIFFs after it, LEGACY.md §12), the slot timeline and the age
//! of the newest backup. Shared by `verify` and `status`; no I/O here.

use std::fmt;

use time::{Date, OffsetDateTime};

/// One slot of an item, reduced to what coverage needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotState {
    /// The prefix as listed.
    pub prefix: String,
    /// When the slot was backed up (local time): its stamp, else its newest LastModified.
    pub time: OffsetDateTime,
    /// A chain start (tree FULL slots, DIFF slots stamped as a full dump, and every
    /// database dump); false for other DIFFs.
    pub full: bool,
    /// The slot passed the checks (structure, and with `verify --deep` its content).
    pub complete: bool,
    /// The slot carries a stamp (`store::stamp`): written by this tool since stamps exist.
    pub stamped: bool,
}

/// A run of dates for which the item can be restored from one FULL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The local date of the FULL.
    pub first: Date,
    /// The local date of the last usable DIFF (of the FULL when there is none).
    pub last: Date,
    /// The FULL's prefix.
    pub full: String,
    /// How many DIFFs follow the FULL unbroken.
    pub diffs: usize,
    /// The first broken DIFF after those, if any: later DIFFs of this chain are unusable.
    pub broken_at: Option<String>,
    /// The newest slot the window restores (the FULL or its last usable DIFF).
    pub last_prefix: String,
    /// That slot's time (local).
    pub last_time: OffsetDateTime,
    /// The window starts from an unstamped DIFF taken as a full dump: the item has no FULL
    /// (a legacy bucket whose FULL is gone, or whose first night was a DIFF day), as
    /// `restore` takes it (`restore::chain`).
    pub assumed: bool,
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "restorable for {}", self.first)?;
        } else {
            write!(f, "restorable for {} .. {}", self.first, self.last)?;
        }
        let tree = crate::inspect::catalog::parse_prefix(&self.full)
            .is_none_or(|n| n.kind == crate::inspect::catalog::SlotKind::Tree);
        if self.assumed {
            write!(
                f,
                " (oldest DIFF {} taken as a full dump + {} DIFFs: complete only if it was the item's first backup)",
                self.full, self.diffs
            )?;
        } else if tree {
            write!(f, " (FULL {} + {} DIFFs)", self.full, self.diffs)?;
        } else {
            write!(f, " (dump {})", self.full)?;
        }
        if let Some(b) = &self.broken_at {
            write!(f, "; chain broken at {b}")?;
        }
        Ok(())
    }
}

/// Sorts slot states by time (then prefix), oldest first.
pub fn by_time(mut states: Vec<SlotState>) -> Vec<SlotState> {
    states.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.prefix.cmp(&b.prefix)));
    states
}

/// The restorable windows of an item whose states are sorted by time: every complete FULL
/// starts one, extended by each following complete DIFF until the next FULL or the first
/// broken DIFF. DIFFs after a broken FULL restore nothing; an item with no FULL at all
/// whose oldest complete DIFF is unstamped (js3tream era, older runs) restores from that
/// DIFF ([`Window::assumed`]), as `restore` does.
pub fn windows(states: &[SlotState]) -> Vec<Window> {
    let mut out: Vec<Window> = Vec::new();
    // Whether the last window may still grow.
    let mut open = false;
    let no_full = !states.iter().any(|s| s.full);
    for s in states {
        let date = s.time.date();
        let assumed = no_full && out.is_empty() && s.complete && !s.stamped;
        if s.full || assumed {
            open = s.complete;
            if s.complete {
                out.push(Window {
                    first: date,
                    last: date,
                    full: s.prefix.clone(),
                    diffs: 0,
                    broken_at: None,
                    last_prefix: s.prefix.clone(),
                    last_time: s.time,
                    assumed,
                });
            }
        } else if open {
            let w = out.last_mut().expect("an open window exists");
            if s.complete {
                w.last = date;
                w.diffs += 1;
                w.last_prefix = s.prefix.clone();
                w.last_time = s.time;
            } else {
                w.broken_at = Some(s.prefix.clone());
                open = false;
            }
        }
    }
    out
}

/// One character per slot, oldest first: `F` a complete FULL (every database dump is a
/// full backup, so databases show `F` too), `D` a complete DIFF, `!` a slot that failed
/// its checks.
pub fn timeline(states: &[SlotState]) -> String {
    states
        .iter()
        .map(|s| match (s.complete, s.full) {
            (false, _) => '!',
            (true, true) => 'F',
            (true, false) => 'D',
        })
        .collect()
}

/// The newest slot that can be restored (a complete FULL, or the last DIFF of an unbroken
/// chain after one): its prefix and time.
pub fn newest_restorable(windows: &[Window]) -> Option<(&str, OffsetDateTime)> {
    windows
        .iter()
        .max_by_key(|w| w.last_time)
        .map(|w| (w.last_prefix.as_str(), w.last_time))
}

/// Hours from `then` to `now` (negative when `then` is in the future).
pub fn age_hours(now: OffsetDateTime, then: OffsetDateTime) -> f64 {
    (now - then).as_seconds_f64() / 3600.0
}

/// The default maximum age: twice the item's Frequency (days), in hours.
pub fn default_max_age_hours(frequency: i64) -> f64 {
    48.0 * frequency.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn st(prefix: &str, day: u8, full: bool, complete: bool) -> SlotState {
        SlotState {
            prefix: prefix.into(),
            time: datetime!(2026-11-01 04:00 UTC).replace_day(day).unwrap(),
            full,
            complete,
            stamped: false,
        }
    }

    #[test]
    fn a_full_and_its_diffs_make_one_window() {
        let states = by_time(vec![
            st("/etc-1-DIFF", 11, false, true),
            st("/etc-0-FULL", 10, true, true),
            st("/etc-2-DIFF", 12, false, true),
        ]);
        let w = windows(&states);
        assert_eq!(w.len(), 1);
        assert_eq!(
            w[0].to_string(),
            "restorable for 2026-11-10 .. 2026-11-12 (FULL /etc-0-FULL + 2 DIFFs)"
        );
        assert_eq!(timeline(&states), "FDD");
    }

    #[test]
    fn a_broken_diff_ends_the_window_and_a_new_full_starts_one() {
        let states = by_time(vec![
            st("/etc-6-DIFF", 1, false, true), // before any FULL: useless
            st("/etc-0-FULL", 2, true, true),
            st("/etc-1-DIFF", 3, false, true),
            st("/etc-2-DIFF", 4, false, false),
            st("/etc-3-DIFF", 5, false, true),
            st("/etc-4-FULL", 6, true, false), // broken FULL
            st("/etc-5-DIFF", 7, false, true),
            st("/etc-7-FULL", 8, true, true),
        ]);
        let w = windows(&states);
        assert_eq!(w.len(), 2);
        assert_eq!(
            w[0].to_string(),
            "restorable for 2026-11-02 .. 2026-11-03 (FULL /etc-0-FULL + 1 DIFFs); \
             chain broken at /etc-2-DIFF"
        );
        assert_eq!(
            w[1].to_string(),
            "restorable for 2026-11-08 (FULL /etc-7-FULL + 0 DIFFs)"
        );
        assert_eq!(timeline(&states), "DFD!D!DF");
        assert_eq!(newest_restorable(&w).unwrap().0, "/etc-7-FULL");
        assert_eq!(newest_restorable(&w[..1]).unwrap().0, "/etc-1-DIFF");
    }

    #[test]
    fn database_dumps_are_each_a_window() {
        let states = by_time(vec![
            st("MySQL/x-1", 2, true, true),
            st("MySQL/x-0", 1, true, true),
        ]);
        let w = windows(&states);
        assert_eq!(w.len(), 2);
        assert_eq!(
            w[1].to_string(),
            "restorable for 2026-11-02 (dump MySQL/x-1)"
        );
        assert_eq!(timeline(&states), "FF");
        assert!(windows(&[]).is_empty());
        assert_eq!(newest_restorable(&[]), None);
    }

    #[test]
    fn ages_in_hours() {
        let now = datetime!(2026-11-03 10:00 UTC);
        assert_eq!(age_hours(now, datetime!(2026-11-02 22:00 UTC)), 12.0);
        assert_eq!(age_hours(now, datetime!(2026-11-03 11:30 UTC)), -1.5);
        assert_eq!(default_max_age_hours(1), 48.0);
        assert_eq!(default_max_age_hours(7), 336.0);
    }

    /// Issue 24: a legacy item without any FULL is restorable from its oldest complete
    /// unstamped DIFF, and the window says so; stamped DIFFs never are.
    #[test]
    fn legacy_diffs_without_a_full_restore_from_the_oldest() {
        let states = by_time(vec![
            st("/etc-5-DIFF", 12, false, false),
            st("/etc-6-DIFF", 13, false, true),
            st("/etc-0-DIFF", 14, false, true),
        ]);
        let w = windows(&states);
        assert_eq!(w.len(), 1);
        assert!(w[0].assumed);
        assert_eq!((w[0].full.as_str(), w[0].diffs), ("/etc-6-DIFF", 1));
        assert!(
            w[0].to_string()
                .contains("(oldest DIFF /etc-6-DIFF taken as a full dump + 1 DIFFs"),
            "{}",
            w[0]
        );
        let stamped: Vec<SlotState> = states
            .into_iter()
            .map(|s| SlotState { stamped: true, ..s })
            .collect();
        assert!(windows(&stamped).is_empty());
    }
}
