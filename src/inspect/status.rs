//! `s3napback status`: per configured item the newest restorable backup and its age, the
//! timeline of its slots (`F` FULL — every database dump counts as a FULL —, `D` DIFF,
//! `!` a slot failing the structure check), and the restorable windows. Exit 1 when an
//! item's newest restorable backup (a complete FULL, or the last DIFF of an unbroken chain
//! after one) is older than the maximum age (`--max-age HOURS`,
//! default 48 × Frequency) or missing.

use std::fmt::Write as _;

use time::OffsetDateTime;

use crate::clock::Clock;
use crate::inspect::coverage::{
    age_hours, default_max_age_hours, newest_restorable, timeline, windows,
};
use crate::inspect::inventory::Inventory;
use crate::inspect::list::local_stamp;
use crate::inspect::{ItemView, item_views};
use crate::store::keys::check_complete;

/// The report of one item and whether it is stale (too old or missing).
pub fn item_report(view: &ItemView, now: OffsetDateTime, max_age: Option<f64>) -> (String, bool) {
    let limit = max_age.unwrap_or_else(|| default_max_age_hours(view.frequency));
    let mut out = String::new();
    let windows = windows(&view.states);
    let stale = match newest_restorable(&windows) {
        None => {
            let _ = writeln!(out, "{}: STALE: no restorable backup", view.label);
            true
        }
        Some((prefix, time)) => {
            let age = age_hours(now, time);
            let stale = age > limit;
            let _ = writeln!(
                out,
                "{}: {}: newest {} at {} (age {age:.1} h, max {limit:.1} h)",
                view.label,
                if stale { "STALE" } else { "OK" },
                prefix,
                local_stamp(time),
            );
            stale
        }
    };
    if !view.states.is_empty() {
        let _ = writeln!(out, "  timeline: {}", timeline(&view.states));
    }
    for w in &windows {
        let _ = writeln!(out, "  {w}");
    }
    (out, stale)
}

/// Runs the command; returns the exit status.
pub fn run(args: &crate::commands::cli::StatusArgs, clock: &Clock) -> anyhow::Result<u8> {
    let inv = Inventory::open(&args.common)?;
    for slot in &inv.slots {
        if let Err(problem) = check_complete(slot) {
            log::warn!(
                "{}:{}: incomplete ({problem}); skipped",
                inv.settings.bucket,
                slot.prefix
            );
        }
    }
    let ok = |s: &_| check_complete(s).is_ok();
    let mut stale_items = 0;
    for view in item_views(&inv.settings, &inv.slots, inv.key_style, ok) {
        let (text, stale) = item_report(&view, clock.now(), args.max_age);
        print!("{text}");
        stale_items += usize::from(stale);
    }
    Ok(if stale_items > 0 {
        crate::exit::EXIT_ITEM_FAILED
    } else {
        crate::exit::EXIT_OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::coverage::SlotState;
    use time::macros::datetime;

    fn view(states: Vec<SlotState>) -> ItemView {
        ItemView {
            label: "Directory /etc".into(),
            frequency: 1,
            states,
        }
    }

    fn st(prefix: &str, t: OffsetDateTime, full: bool, complete: bool) -> SlotState {
        SlotState {
            prefix: prefix.into(),
            time: t,
            full,
            complete,
        }
    }

    #[test]
    fn fresh_and_stale_items() {
        let v = view(vec![
            st("/etc-0-FULL", datetime!(2026-11-10 04:00 UTC), true, true),
            st("/etc-1-DIFF", datetime!(2026-11-11 04:00 UTC), false, true),
            st("/etc-2-DIFF", datetime!(2026-11-12 04:00 UTC), false, false),
        ]);
        let now = datetime!(2026-11-12 16:00 UTC);
        let (text, stale) = item_report(&v, now, None);
        assert!(!stale, "{text}");
        let first = text.lines().next().unwrap();
        assert!(
            first.starts_with("Directory /etc: OK: newest /etc-1-DIFF at "),
            "{text}"
        );
        assert!(first.ends_with("(age 36.0 h, max 48.0 h)"), "{text}");
        assert!(text.contains("\n  timeline: FD!\n"), "{text}");
        assert!(text.contains("(FULL /etc-0-FULL + 1 DIFFs); chain broken at /etc-2-DIFF"));
        let (text, stale) = item_report(&v, now, Some(12.0));
        assert!(stale);
        assert!(text.starts_with("Directory /etc: STALE: newest /etc-1-DIFF"));
    }

    #[test]
    fn missing_items_are_stale() {
        let (text, stale) = item_report(&view(vec![]), datetime!(2026-11-12 16:00 UTC), None);
        assert!(stale);
        assert_eq!(text, "Directory /etc: STALE: no restorable backup\n");
    }
}
