//! Random bucket listings (issue 23): whatever keys, sizes, dates, markers, stamps and
//! records a bucket holds — ours, near-ours, huge numbers, odd suffixes, the reserved
//! namespace — the planner (facts gathered from the listing), the journal's review, the
//! restore chain, `status`/coverage and `list` never panic.

use std::path::Path;

use proptest::prelude::*;
use s3napback::clock::Clock;
use s3napback::config::{Settings, parse_str};
use s3napback::inspect::catalog::{SlotKind, slots_of};
use s3napback::inspect::coverage::{newest_restorable, timeline, windows};
use s3napback::inspect::list::js3tream;
use s3napback::inspect::quiet::Verdict;
use s3napback::inspect::status::item_report;
use s3napback::journal::check;
use s3napback::journal::items::journal_items;
use s3napback::plan::facts::{done_today, gather, key_style_from_listing};
use s3napback::plan::plan;
use s3napback::restore::chain::{candidates, current_chain, needed_diffs, select_chain};
use s3napback::store::ObjectInfo;
use s3napback::store::keys::{check_complete, group_slots};
use time::OffsetDateTime;

/// A slot number as a bucket may spell it: in a small cycle, just outside it, at and
/// beyond the integer limits.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..8).prop_map(|n| n.to_string()),
        (0u64..100).prop_map(|n| n.to_string()),
        Just(i64::MAX.to_string()),
        Just(u64::MAX.to_string()),
        Just("99999999999999999999999".to_owned()),
        any::<u64>().prop_map(|n| n.to_string()),
        Just("-1".to_owned()),
        Just(String::new()),
    ]
}

/// A chunk index suffix: mostly small, sometimes huge or malformed.
fn index() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0u64..4).prop_map(|i| format!(":{i:020}")),
        1 => any::<u64>().prop_map(|i| format!(":{i:020}")),
        1 => Just(":99999999999999999999".to_owned()),
        1 => Just(":0000000000000000000".to_owned()),
        1 => Just(":0000000000000000000x".to_owned()),
        1 => Just(String::new()),
    ]
}

fn slot_name() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just("/etc"),
            Just("etc"),
            Just("/etc-1"),
            Just("/etcx"),
            Just("MySQL/--all-databases"),
            Just("PostgreSQL/db"),
            Just("/svn/r"),
            Just(""),
        ],
        number(),
        prop_oneof![
            Just("-FULL"),
            Just("-DIFF"),
            Just(""),
            Just("-FULLx"),
            Just("-full")
        ],
    )
        .prop_map(|(item, n, t)| format!("{item}-{n}{t}"))
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (slot_name(), index()).prop_map(|(s, i)| format!("{s}{i}")),
        1 => slot_name().prop_map(|s| format!(".s3napback/commit/{s}")),
        1 => (slot_name(), "[0-9-]{0,6}", index())
            .prop_map(|(s, r, i)| format!(".s3napback/staging/{s}/{r}{i}")),
        1 => (slot_name(), any::<i64>(), any::<u64>(), any::<bool>()).prop_map(|(s, t, q, st)| {
            format!(".s3napback/stamp/{s}@{}.{q}{}", t.unsigned_abs(), if st { ".start" } else { "" })
        }),
        1 => (slot_name(), 0i64..2_000_000_000, 0u64..5)
            .prop_map(|(s, t, q)| format!(".s3napback/stamp/{s}@{t}.{q}")),
        1 => slot_name().prop_map(|s| format!(".s3napback/record/{s}")),
        1 => "\\PC{0,30}",
        1 => Just(".s3napback/".to_owned()),
    ]
}

fn object() -> impl Strategy<Value = ObjectInfo> {
    (
        key(),
        prop_oneof![Just(0u64), 1u64..100, Just(u64::MAX), any::<u64>()],
        prop_oneof![
            1_700_000_000i64..1_900_000_000,
            Just(-377_705_116_800i64),
            Just(253_402_300_799i64)
        ],
        proptest::option::of("[0-9a-f]{1,8}(-[0-9]{1,3})?"),
    )
        .prop_map(|(key, size, secs, etag)| ObjectInfo {
            key,
            size,
            last_modified: OffsetDateTime::from_unix_timestamp(secs)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            etag,
        })
}

fn settings(diff_dir: &Path, hanoi: bool, diffs: u8, fulls: u8) -> Settings {
    let text = format!(
        "DiffDir {}\nBucket b\nChunkSize 1000\nCycleType {}\nDiscs 4\n\
         Frequency 1\nDiffs {diffs}\nFulls {fulls}\n\
         Directory /etc\nMySQL all\nPostgreSQL db\n",
        diff_dir.display(),
        if hanoi { "HanoiCycle" } else { "SimpleCycle" },
    );
    let doc = parse_str(Path::new("listing.conf"), &text).expect("well-formed");
    Settings::from_document(&doc).expect("valid")
}

fn never(_: &str) -> Verdict {
    Verdict {
        current: false,
        reason: String::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_listings_never_panic(
        listing in proptest::collection::vec(object(), 0..40),
        hanoi in any::<bool>(),
        diffs in 0u8..7,
        fulls in 1u8..3,
        force in any::<bool>(),
        now in 1_700_000_000i64..1_900_000_000,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path(), hanoi, diffs, fulls);
        let clock = Clock::at(OffsetDateTime::from_unix_timestamp(now).unwrap());
        let style = key_style_from_listing(&listing);
        let slots = group_slots(listing.iter().cloned());
        for slot in &slots {
            let _ = check_complete(slot);
        }
        let _ = done_today(&slots, &clock);

        // the planner, with facts from the listing
        let facts = gather(&settings, &clock, force, &listing, style, &current_chain);
        let _ = plan(&settings, &facts);

        // the journal: adopt the listing, then review it (with and without a journal)
        let items = journal_items(&settings, &facts, clock.day());
        for item in &items {
            let keys = check::item_keys(item, &listing);
            let adopted = check::adopt(item, &keys);
            let _ = check::tampered(&adopted, &keys, &|_| None);
            let _ = check::done_today(item, &adopted, &slots, clock.today());
            let _ = check::out_of_cycle_keys(item, &keys);
            adopted.write(&item.path, &item.part).unwrap();
        }
        let _ = check::review(&items, dir.path(), &listing, &slots, clock.today());

        // the restore chain
        for item in ["/etc", "etc", "MySQL/--all-databases"] {
            let _ = current_chain(&slots, item, style);
            let _ = needed_diffs(&slots, item, style);
            for kind in [SlotKind::Tree, SlotKind::MySql] {
                let found = slots_of(&slots, kind, item);
                let c = candidates(&found);
                let _ = select_chain(&c, None, item, "now");
                let _ = select_chain(&c, Some(clock.now()), item, "now");
            }
        }

        // status and coverage
        for view in s3napback::inspect::item_views(&settings, &slots, style, |s| check_complete(s).is_ok()) {
            let w = windows(&view.states);
            let _ = newest_restorable(&w);
            let _ = timeline(&view.states);
            let _ = item_report(&view, clock.now(), None, &never);
            let _ = item_report(&view, clock.now(), Some(f64::MAX), &never);
        }

        // list
        let entries: Vec<_> = slots.iter().map(s3napback::inspect::list::entry).collect();
        let _ = s3napback::inspect::list::table(&entries);
        let _ = s3napback::inspect::list::table_with_buckets(&entries);
        let groups = js3tream::groups(&listing);
        let _ = js3tream::listing("b", &groups, |t| t, |_| None);
    }
}
