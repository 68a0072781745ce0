//! `s3napback status`: per configured item the newest restorable backup and its age, the
//! timeline of its slots (`F` FULL — every database dump counts as a FULL —, `D` DIFF,
//! `!` a slot failing the structure check), and the restorable windows. Exit 1 when an
//! item's newest restorable backup (a complete FULL, or the last DIFF of an unbroken chain
//! after one) is older than the maximum age (`--max-age HOURS`,
//! default 48 × Frequency) or missing. A Subversion repository past the maximum age is
//! asked for its youngest revision: with nothing committed after the revision DiffDir saved
//! it is OK (a backup run uploads nothing then), else STALE, the line saying why.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use time::OffsetDateTime;

use crate::clock::Clock;
use crate::inspect::coverage::{
    age_hours, default_max_age_hours, newest_restorable, timeline, windows,
};
use crate::inspect::inventory::Inventory;
use crate::inspect::list::local_stamp;
use crate::inspect::quiet::{Verdict, judge};
use crate::inspect::tamper;
use crate::inspect::{ItemView, item_views};
use crate::plan::facts::subversion_facts;
use crate::plan::state_file_path;
use crate::store::keys::check_complete;

/// The report of one item and whether it is stale (too old or missing). `ask` judges a
/// Subversion repository (by its path) whose newest backup is too old.
pub fn item_report(
    view: &ItemView,
    now: OffsetDateTime,
    max_age: Option<f64>,
    ask: &dyn Fn(&str) -> Verdict,
) -> (String, bool) {
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
            let stamp = local_stamp(time);
            let verdict = match &view.repository {
                Some(repo) if age > limit => Some(old_repository(view, prefix, repo, ask)),
                _ => None,
            };
            let stale = age > limit && !verdict.as_ref().is_some_and(|v| v.current);
            let _ = writeln!(
                out,
                "{}: {}: newest {} at {} (age {age:.1} h, max {limit:.1} h){}",
                view.label,
                if stale { "STALE" } else { "OK" },
                prefix,
                stamp,
                verdict.map_or_else(String::new, |v| format!("; {}", v.reason)),
            );
            stale
        }
    };
    if let Some(shared) = &view.shared {
        let _ = writeln!(out, "  shared: {shared}");
    }
    if !view.states.is_empty() {
        let _ = writeln!(out, "  timeline: {}", timeline(&view.states));
    }
    for w in &windows {
        let _ = writeln!(out, "  {w}");
    }
    (out, stale)
}

/// The verdict on a Subversion repository whose newest restorable slot `newest` is too
/// old. The revision DiffDir saved belongs to the last upload, so it vouches for the
/// bucket only when that upload is the newest restorable slot: a newer slot that fails
/// the checks (or restores nothing) keeps the item stale without asking the repository.
fn old_repository(
    view: &ItemView,
    newest: &str,
    repo: &str,
    ask: &dyn Fn(&str) -> Verdict,
) -> Verdict {
    match view.states.last() {
        Some(last) if last.prefix != newest => Verdict {
            current: false,
            reason: format!("newer slot {} is not restorable", last.prefix),
        },
        _ => ask(repo),
    }
}

/// `s3napback status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Exit 1 when an item's newest backup is older than this (default: twice its Frequency).
    /// An older Subversion backup is OK when the repository has no revision after the one
    /// DiffDir saved (`svnlook youngest`).
    #[arg(long, value_name = "HOURS")]
    pub max_age: Option<f64>,
    /// Print every item's newest restorable backup and verdict in the Prometheus text
    /// format (s3napback_newest_restorable_timestamp_seconds, s3napback_status_ok).
    #[arg(long)]
    pub prometheus: bool,
    /// Further configurations, /etc/s3napback/NAME.conf or /etc/s3napback/NAME: all
    /// checked, one exit status for all.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
}

/// One configured item's verdict (for `status --prometheus`).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemStatus {
    /// `Directory`, `MySQL`, ... (as the legacy logs name them).
    pub kind: String,
    /// The item as configured.
    pub item: String,
    /// Its newest restorable backup.
    pub newest: Option<OffsetDateTime>,
    /// Recent enough, and not tampered with.
    pub ok: bool,
}

/// What `status` finds for one config file: the text it prints, each item's verdict,
/// and the exit status.
pub struct StatusReport {
    pub text: String,
    pub items: Vec<ItemStatus>,
    pub code: u8,
}

/// The journals of the config's items judged against the bucket (`journal::check`), when
/// DiffDir is readable here and holds at least one of them (on another host, or on a new
/// one, `status` judges the bucket alone).
fn journal_reviews(
    inv: &Inventory,
    clock: &Clock,
) -> anyhow::Result<Vec<crate::journal::check::ItemReview>> {
    let settings = &inv.settings;
    if std::fs::read_dir(&settings.diff_dir).is_err() {
        return Ok(Vec::new());
    }
    let items =
        crate::journal::items::journal_items(settings, &crate::plan::Facts::default(), clock.day());
    if !items.iter().any(|i| i.path.exists()) {
        return Ok(Vec::new());
    }
    let listing = inv
        .store
        .list("")
        .with_context(|| format!("listing bucket {}", settings.bucket))?;
    Ok(crate::journal::check::review(
        &items,
        &settings.diff_dir,
        &listing,
        &inv.slots,
        clock.today(),
    ))
}

/// An item's slots as its journal sees them: a slot with a key this host did not write
/// is not restorable, and a journalled slot is dated by the journal's stamp.
fn by_journal(view: &mut ItemView, review: &crate::journal::check::ItemReview) {
    let Ok(Some(journal)) = &review.journal else {
        return;
    };
    let entries = crate::journal::check::by_slot(journal);
    for state in &mut view.states {
        let slot = state.prefix.trim_start_matches('/');
        if review.findings.iter().any(|f| f.slot == slot) {
            state.complete = false;
        }
        if let Some(at) = entries
            .get(slot)
            .and_then(|e| e.stamp)
            .and_then(|s| s.instant())
        {
            state.time = crate::clock::to_local(at);
        }
    }
    view.states = crate::inspect::coverage::by_time(std::mem::take(&mut view.states));
}

/// Runs the command; returns the exit status.
pub fn run(args: &StatusArgs, config: Option<&Path>, clock: &Clock) -> anyhow::Result<u8> {
    let report = check(args, config, clock)?;
    print!("{}", report.text);
    Ok(report.code)
}

/// Checks one config file's items (and, with ObjectLockMode, the bucket for tampering).
pub fn check(
    args: &StatusArgs,
    config: Option<&Path>,
    clock: &Clock,
) -> anyhow::Result<StatusReport> {
    let inv = Inventory::open(config)?;
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
    let settings = &inv.settings;
    let ask = |repo: &str| {
        judge(
            &subversion_facts(settings, repo),
            &state_file_path(settings, repo),
        )
    };
    let mut out = String::new();
    let mut items = Vec::new();
    let mut failures = 0;
    let reviews = journal_reviews(&inv, clock)?;
    for mut view in item_views(settings, &inv.slots, inv.key_style, ok) {
        let review = reviews.iter().find(|r| r.item.label == view.label);
        if let Some(r) = review {
            by_journal(&mut view, r);
        }
        let (mut text, stale) = item_report(&view, clock.now(), args.max_age, &ask);
        let mut stale = stale;
        if let Some(r) = review {
            if let Err(e) = &r.journal {
                let _ = writeln!(text, "  JOURNAL: {e}");
                stale = true;
            }
            for f in &r.findings {
                let _ = writeln!(text, "{}: TAMPERED: {}: {}", view.label, f.key, f.why);
                stale = true;
            }
        }
        out.push_str(&text);
        failures += usize::from(stale);
        let (kind, item) = view.label.split_once(' ').unwrap_or((&view.label, ""));
        items.push(ItemStatus {
            kind: kind.to_owned(),
            item: item.to_owned(),
            newest: newest_restorable(&windows(&view.states)).map(|(_, t)| t),
            ok: !stale,
        });
    }
    // A run still holding the DiffDir lock past RunTimeout is stuck (or its RunTimeout
    // was raised meanwhile): say so, and fail the check.
    if let (Some(limit), Some((pid, started))) = (
        settings.run_timeout,
        crate::backup::run_lock::holder(&settings.diff_dir),
    ) && clock.now() - started > limit
    {
        let _ = writeln!(
            out,
            "RUN TOO LONG: a backup run (pid {pid}) has held the lock of DiffDir {} since {}, longer than RunTimeout ({})",
            settings.diff_dir.display(),
            crate::clock::local_stamp(started),
            crate::backup::run_lock::describe_hours(limit)
        );
        failures += 1;
    }
    // On a locked bucket: what was done to the slots by someone other than this tool.
    if settings.object_lock.is_some() {
        let findings = tamper::findings(inv.store.as_ref(), clock.now())
            .with_context(|| format!("checking bucket {} for tampering", settings.bucket))?;
        for f in &findings {
            let item = tamper::item_of(&f.slot);
            let _ = writeln!(out, "{item}: TAMPERED: {}: {}", f.key, f.why);
            let same = |a: &str, b: &str| a.trim_start_matches('/') == b.trim_start_matches('/');
            for status in items.iter_mut() {
                if same(&status.item, &item)
                    || same(&format!("{}/{}", status.kind, status.item), &item)
                {
                    status.ok = false;
                }
            }
        }
        failures += findings.len();
    }
    Ok(StatusReport {
        text: out,
        items,
        code: if failures > 0 {
            crate::exit::EXIT_ITEM_FAILED
        } else {
            crate::exit::EXIT_OK
        },
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
            repository: None,
            shared: None,
        }
    }

    fn never(repo: &str) -> Verdict {
        panic!("{repo} asked although its backup is recent or not a repository")
    }

    fn st(prefix: &str, t: OffsetDateTime, full: bool, complete: bool) -> SlotState {
        SlotState {
            prefix: prefix.into(),
            time: t,
            full,
            complete,
            stamped: false,
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
        let (text, stale) = item_report(&v, now, None, &never);
        assert!(!stale, "{text}");
        let first = text.lines().next().unwrap();
        assert!(
            first.starts_with("Directory /etc: OK: newest /etc-1-DIFF at "),
            "{text}"
        );
        assert!(first.ends_with("(age 36.0 h, max 48.0 h)"), "{text}");
        assert!(text.contains("\n  timeline: FD!\n"), "{text}");
        assert!(text.contains("(FULL /etc-0-FULL + 1 DIFFs); chain broken at /etc-2-DIFF"));
        let (text, stale) = item_report(&v, now, Some(12.0), &never);
        assert!(stale);
        assert!(text.starts_with("Directory /etc: STALE: newest /etc-1-DIFF"));
    }

    #[test]
    fn missing_items_are_stale() {
        let (text, stale) =
            item_report(&view(vec![]), datetime!(2026-11-12 16:00 UTC), None, &never);
        assert!(stale);
        assert_eq!(text, "Directory /etc: STALE: no restorable backup\n");
    }

    fn repository(states: Vec<SlotState>) -> ItemView {
        ItemView {
            label: "Subversion /srv/svn/x".into(),
            frequency: 1,
            states,
            repository: Some("/srv/svn/x".into()),
            shared: None,
        }
    }

    /// A repository backed up with a FULL on 2026-11-10 and a DIFF the day after.
    fn full_and_diff(diff_complete: bool) -> ItemView {
        repository(vec![
            st(
                "/srv/svn/x-0-FULL",
                datetime!(2026-11-10 04:00 UTC),
                true,
                true,
            ),
            st(
                "/srv/svn/x-1-DIFF",
                datetime!(2026-11-11 04:00 UTC),
                false,
                diff_complete,
            ),
        ])
    }

    fn answer(current: bool, reason: &'static str) -> impl Fn(&str) -> Verdict {
        move |repo| {
            assert_eq!(repo, "/srv/svn/x");
            Verdict {
                current,
                reason: reason.into(),
            }
        }
    }

    #[test]
    fn an_old_backup_of_a_quiet_repository_is_ok() {
        let v = full_and_diff(true);
        let now = datetime!(2026-11-15 08:00 UTC);
        let quiet = answer(true, "no new revisions since r12");
        let (text, stale) = item_report(&v, now, None, &quiet);
        assert!(!stale, "{text}");
        assert_eq!(
            text.lines().next().unwrap(),
            "Subversion /srv/svn/x: OK: newest /srv/svn/x-1-DIFF at 2026-11-11 04:00:00 \
             (age 100.0 h, max 48.0 h); no new revisions since r12"
        );
        let behind = answer(false, "r13 to r15 not backed up");
        let (text, stale) = item_report(&v, now, None, &behind);
        assert!(stale);
        assert!(
            text.starts_with("Subversion /srv/svn/x: STALE: newest /srv/svn/x-1-DIFF")
                && text.contains("(age 100.0 h, max 48.0 h); r13 to r15 not backed up\n"),
            "{text}"
        );
        // Within the limit, or with no backup at all, the repository is not asked.
        let (text, stale) = item_report(&v, datetime!(2026-11-11 08:00 UTC), None, &never);
        assert!(
            !stale && text.contains("(age 4.0 h, max 48.0 h)\n"),
            "{text}"
        );
        let (text, stale) = item_report(&repository(vec![]), now, None, &never);
        assert!(stale);
        assert_eq!(text, "Subversion /srv/svn/x: STALE: no restorable backup\n");
    }

    #[test]
    fn a_newer_broken_slot_keeps_an_old_repository_stale() {
        let v = full_and_diff(false);
        let (text, stale) = item_report(&v, datetime!(2026-11-15 08:00 UTC), None, &never);
        assert!(stale);
        assert!(
            text.starts_with("Subversion /srv/svn/x: STALE: newest /srv/svn/x-0-FULL")
                && text.contains("h); newer slot /srv/svn/x-1-DIFF is not restorable\n"),
            "{text}"
        );
    }
}
