//! A real run's look at the bucket through the journals of its items (`journal::check`):
//! "already done today" from the journal where an item has one, every key of an item
//! this host did not write reported as `TAMPERED`, keys outside an item's cycle named in
//! one WARN per item.

use crate::clock::Clock;
use crate::config::Settings;
use crate::journal::check::{self, some_keys};
use crate::journal::items::JournalItem;
use crate::plan::Facts;
use crate::plan::report::Category;
use crate::store::ObjectInfo;
use crate::store::keys::group_slots;

/// Reviews `listing` (the bucket before any item ran) against the journals of `items`,
/// adjusts `facts.done_today` and logs what it found. Returns how many problems count as
/// failures (each `TAMPERED` key, each journal that cannot be read): the run exits 1.
pub fn review(
    settings: &Settings,
    items: &[JournalItem],
    listing: &[ObjectInfo],
    clock: &Clock,
    facts: &mut Facts,
) -> usize {
    let cat = Category::Main.target();
    let slots = group_slots(listing.iter().cloned());
    let mut problems = 0;
    for r in check::review(items, &settings.diff_dir, listing, &slots, clock.today()) {
        if !r.out_of_cycle.is_empty() {
            log::warn!(
                target: cat,
                "{}: ignoring {} keys whose slot number is outside its cycle{}: {}",
                r.item.label,
                r.out_of_cycle.len(),
                r.item
                    .bound
                    .map(|b| format!(" (0 to {})", b.saturating_sub(1)))
                    .unwrap_or_default(),
                some_keys(&r.out_of_cycle)
            );
        }
        let mine = |prefix: &String| {
            check::slot_number(prefix.trim_start_matches('/'), &r.item.part, r.item.typed).is_some()
        };
        match &r.journal {
            Err(e) => {
                problems += 1;
                log::error!(
                    target: cat,
                    "{}: {e}; move it away to start a new journal (doc/operating.md)",
                    r.item.label
                );
                facts.done_today.retain(|p| !mine(p));
            }
            Ok(None) => {}
            Ok(Some(_)) => {
                facts.done_today.retain(|p| !mine(p));
                facts
                    .done_today
                    .extend(r.done_today.iter().flatten().cloned());
            }
        }
        for f in &r.findings {
            problems += 1;
            log::error!(target: cat, "TAMPERED: {}: {}", f.key, f.why);
        }
    }
    problems
}
