//! The schedule arithmetic and the planner: any numbers at all give a slot or an error,
//! never a panic; numbers that pass validation always give a slot, for any date.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use proptest::prelude::*;
use s3napback::config::limits;
use s3napback::config::{CycleSettings, CycleType, Settings, parse_str};
use s3napback::plan::schedule::{self, Day};
use s3napback::plan::{Decision, Facts, plan};

fn any_day() -> impl Strategy<Value = Day> {
    (
        any::<i64>(),
        any::<i64>(),
        0i64..=365,
        -1_000_000i64..=2_932_896,
    )
        .prop_flat_map(|(y, e, yday, epoch_days)| {
            prop_oneof![
                Just(Day { yday, epoch_days }),
                Just(Day {
                    yday: y,
                    epoch_days: e
                }),
            ]
        })
}

fn edgy() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MAX),
        Just(i64::MIN),
        Just(0i64),
        -2i64..70,
        any::<i64>(),
    ]
}

proptest! {
    #[test]
    fn schedule_never_panics(
        hanoi in any::<bool>(),
        (frequency, phase, diffs, fulls, discs) in (edgy(), edgy(), edgy(), edgy(), edgy()),
        archive in any::<bool>(),
        incremental in any::<bool>(),
        day in any_day(),
    ) {
        let cycle = CycleSettings {
            cycle_type: if hanoi { CycleType::Hanoi } else { CycleType::Simple },
            frequency, phase, diffs, fulls, discs,
            archive_oldest_disc: archive,
            ..CycleSettings::default()
        };
        let _ = schedule::is_backup_day(&cycle, day);
        let _ = schedule::slot(&cycle, day, incremental);
    }
}

/// A value of one schedule setting within its range in [`limits::SCHEDULE`], its edges
/// and their neighbours weighted up.
fn within(name: &str) -> impl Strategy<Value = i64> + use<> {
    let (_, min, max) = *limits::SCHEDULE
        .iter()
        .find(|(n, _, _)| *n == name)
        .expect("a schedule setting");
    prop_oneof![
        Just(min),
        Just(max),
        Just((min + 1).min(max)),
        Just((max - 1).max(min)),
        min..=max,
    ]
}

/// Every schedule within the limits validates and plans, for any date up to the year
/// 9999. The strategies only make valid schedules, so every case reaches the planner;
/// the count of cases that did is checked after the run.
#[test]
fn validated_schedules_always_plan() {
    let config = ProptestConfig::default();
    let wanted = config.cases;
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let planned = AtomicU32::new(0);
    let strategy = (
        any::<bool>(),
        (
            within("Frequency"),
            within("Phase"),
            within("Diffs"),
            within("Fulls"),
            within("Discs"),
        ),
        0i64..=365,
        -1_000_000i64..=2_932_896,
    );
    runner
        .run(
            &strategy,
            |(hanoi, (frequency, phase, diffs, fulls, discs), yday, epoch_days)| {
                let text = format!(
                    "DiffDir /tmp\nBucket b\nChunkSize 1000\nCycleType {}\nArchiveOldestDisc yes\n\
                     Frequency {frequency}\nPhase {phase}\nDiffs {diffs}\nFulls {fulls}\nDiscs {discs}\n\
                     Directory /srv\nMySQL all\nPostgreSQL db\n",
                    if hanoi { "HanoiCycle" } else { "SimpleCycle" },
                );
                let doc = parse_str(Path::new("planner.conf"), &text).expect("well-formed");
                let settings = Settings::from_document(&doc);
                prop_assert!(settings.is_ok(), "within the limits: {text}\n{settings:?}");
                let facts = Facts {
                    day: Some(Day { yday, epoch_days }),
                    force: true,
                    ..Facts::default()
                };
                let jobs = plan(&settings.expect("checked"), &facts).jobs;
                prop_assert_eq!(jobs.len(), 3, "one job per item");
                for job in jobs {
                    prop_assert!(!matches!(job.decision, Decision::Failed(_)), "{job:?}");
                }
                planned.fetch_add(1, Ordering::Relaxed);
                Ok(())
            },
        )
        .unwrap();
    // proptest counts a case only when it passed; a shrunk failure panics above. Every
    // generated case must have reached the planner's assertions.
    assert!(
        planned.load(Ordering::Relaxed) >= wanted,
        "only {} of {wanted} cases planned",
        planned.load(Ordering::Relaxed)
    );
}
