//! The schedule arithmetic and the planner: any numbers at all give a slot or an error,
//! never a panic; numbers that pass validation always give a slot, for any date.

use std::path::Path;

use proptest::prelude::*;
use s3napback::config::{CycleSettings, CycleType, Settings, parse_str};
use s3napback::plan::schedule::{self, Day};
use s3napback::plan::{Decision, Facts, plan};

use crate::text::number;

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

    #[test]
    fn validated_schedules_always_plan(
        hanoi in any::<bool>(),
        values in prop::collection::vec(number(), 5),
        yday in 0i64..=365,
        epoch_days in -1_000_000i64..=2_932_896,
    ) {
        let text = format!(
            "DiffDir /tmp\nBucket b\nChunkSize 1000\nCycleType {}\nArchiveOldestDisc yes\n\
             Frequency {}\nPhase {}\nDiffs {}\nFulls {}\nDiscs {}\n\
             Directory /srv\nMySQL all\nPostgreSQL db\n",
            if hanoi { "HanoiCycle" } else { "SimpleCycle" },
            values[0], values[1], values[2], values[3], values[4],
        );
        let doc = parse_str(Path::new("planner.conf"), &text).expect("well-formed");
        if let Ok(settings) = Settings::from_document(&doc) {
            let facts = Facts { day: Some(Day { yday, epoch_days }), force: true, ..Facts::default() };
            for job in plan(&settings, &facts).jobs {
                prop_assert!(!matches!(job.decision, Decision::Failed(_)), "{job:?}");
            }
        }
    }
}
