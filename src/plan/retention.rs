//! PURE: how long S3 Object Lock keeps what a run stores (`ObjectLockMode`).
//!
//! A slot's objects must outlive the day the rotation writes the same slot again: until
//! then they are a backup the rotation keeps, and a stolen key must not be able to
//! destroy them. The lock therefore runs to the slot's next scheduled rewrite (found by
//! walking the schedule forward day by day, so SimpleCycle's year-start wrap, Phase and
//! HanoiCycle discs all count as the backup runs count them), plus one day for the
//! time of day the rewrite runs at, plus `ObjectLockGrace` days for a rewrite that fails
//! or is late.

use time::{Date, Duration, OffsetDateTime, Time};

use super::schedule::{self, Day};
use crate::config::{CycleSettings, CycleType};

/// How far ahead the next rewrite is looked for: ten years. A slot the schedule never
/// writes again within it (an `ArchiveOldestDisc` disc, a schedule this long) is locked
/// this long.
pub const HORIZON_DAYS: i64 = 3660;

/// The schedule's view of a date (the day of the year, and days since 1970-01-01).
pub fn day_of(date: Date) -> Day {
    let epoch = Date::from_ordinal_date(1970, 1).expect("1970-01-01 is a date");
    Day {
        yday: i64::from(date.ordinal()) - 1,
        epoch_days: (date - epoch).whole_days(),
    }
}

/// The first day after `written` on which the schedule writes slot `number` again, or
/// `None` within [`HORIZON_DAYS`].
pub fn next_rewrite(
    cycle: &CycleSettings,
    written: Date,
    number: i64,
    incremental: bool,
) -> Option<Date> {
    (1..=HORIZON_DAYS)
        .filter_map(|n| written.checked_add(Duration::days(n)))
        .find(|date| {
            let day = day_of(*date);
            schedule::is_backup_day(cycle, day)
                && schedule::slot(cycle, day, incremental).is_ok_and(|s| s.number == number)
        })
}

/// Until when the objects of slot `number`, written on `written`, are locked: midnight
/// (UTC) at the end of the day after the slot's next rewrite, plus `grace_days`.
pub fn retain_until(
    cycle: &CycleSettings,
    written: Date,
    number: i64,
    incremental: bool,
    grace_days: i64,
) -> OffsetDateTime {
    let horizon = written.saturating_add(Duration::days(HORIZON_DAYS));
    let rewrite = next_rewrite(cycle, written, number, incremental).unwrap_or(horizon);
    rewrite
        .saturating_add(Duration::days(grace_days.saturating_add(2)))
        .with_time(Time::MIDNIGHT)
        .assume_utc()
}

/// The longest any object of this cycle stays locked, in days from the day it was
/// written: the longest wait for a slot's rewrite over two years of the schedule, plus
/// a FULL's extension for the DIFFs that build on it, plus the margin of
/// [`retain_until`]. What a lifecycle rule for noncurrent versions must wait at least.
pub fn longest_days(cycle: &CycleSettings, incremental: bool, grace_days: i64) -> i64 {
    let start = Date::from_ordinal_date(2026, 1).expect("a date");
    let longest_wait = (0..732)
        .filter_map(|n| start.checked_add(Duration::days(n)))
        .filter(|d| schedule::is_backup_day(cycle, day_of(*d)))
        .filter_map(|d| {
            let number = schedule::slot(cycle, day_of(d), incremental).ok()?.number;
            let next = next_rewrite(cycle, d, number, incremental)
                .unwrap_or(d.saturating_add(Duration::days(HORIZON_DAYS)));
            Some((next - d).whole_days())
        })
        .max()
        .unwrap_or(HORIZON_DAYS);
    let chain = match cycle.cycle_type {
        CycleType::Simple if incremental => cycle.diffs.saturating_mul(cycle.frequency),
        _ => 0,
    };
    longest_wait
        .saturating_add(chain)
        .saturating_add(grace_days)
        .saturating_add(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn simple(frequency: i64, diffs: i64, fulls: i64) -> CycleSettings {
        CycleSettings {
            frequency,
            diffs,
            fulls,
            ..CycleSettings::default()
        }
    }

    #[test]
    fn a_daily_simple_cycle_rewrites_a_slot_after_its_length() {
        // Diffs 6, Fulls 2: 14 slots; 2026-11-12 is slot 7 (a FULL).
        let cycle = simple(1, 6, 2);
        assert_eq!(
            schedule::slot(&cycle, day_of(date!(2026 - 11 - 12)), true)
                .unwrap()
                .number,
            7
        );
        assert_eq!(
            next_rewrite(&cycle, date!(2026 - 11 - 12), 7, true),
            Some(date!(2026 - 11 - 26))
        );
        assert_eq!(
            retain_until(&cycle, date!(2026 - 11 - 12), 7, true, 7),
            datetime!(2026-12-05 00:00 UTC)
        );
    }

    #[test]
    fn the_year_start_wrap_is_followed_as_the_runs_follow_it() {
        // Day of the year 364 (2026-12-31) is slot 0 of 14; 1 January is slot 0 again.
        let cycle = simple(1, 6, 2);
        assert_eq!(
            next_rewrite(&cycle, date!(2026 - 12 - 31), 0, true),
            Some(date!(2027 - 01 - 01))
        );
    }

    #[test]
    fn hanoi_discs_wait_twice_as_long_each() {
        let cycle = CycleSettings {
            cycle_type: CycleType::Hanoi,
            discs: 4,
            ..CycleSettings::default()
        };
        let waits: Vec<i64> = (0..16)
            .map(|n| date!(2026 - 11 - 01).saturating_add(Duration::days(n)))
            .map(|d| {
                let number = schedule::slot(&cycle, day_of(d), true).unwrap().number;
                let next = next_rewrite(&cycle, d, number, true).unwrap();
                (number, (next - d).whole_days())
            })
            .map(|(number, wait)| {
                // disc 3 (the largest) is written every 8 days, like disc 2
                assert_eq!(wait, 2i64.pow((number as u32 + 1).min(3)), "disc {number}");
                wait
            })
            .collect();
        assert_eq!(waits.iter().max(), Some(&8));
    }

    #[test]
    fn an_archived_disc_is_locked_for_the_horizon() {
        let cycle = CycleSettings {
            cycle_type: CycleType::Hanoi,
            discs: 2,
            archive_oldest_disc: true,
            ..CycleSettings::default()
        };
        // 2026-11-03 is day 20760 since 1970 (even): Hanoi day 1 of epoch cycle 10380,
        // so slot 0 + 10380. The day before wrote the same number as the oldest disc of
        // cycle 10379 (1 + 10379); no later day writes it, the numbers keep growing.
        let d = date!(2026 - 11 - 03);
        let number = schedule::slot(&cycle, day_of(d), true).unwrap().number;
        assert_eq!(number, 10_380);
        assert_eq!(next_rewrite(&cycle, d, number, true), None);
        let until = retain_until(&cycle, d, number, true, 0);
        assert_eq!((until.date() - d).whole_days(), HORIZON_DAYS + 2);
        assert_eq!(
            retain_until(&cycle, d, number, true, 7),
            datetime!(2036-11-19 00:00 UTC)
        );
        // the next day's slot 0 + 10381 is written again the day after: locked 3 days
        let next = date!(2026 - 11 - 04);
        let number = schedule::slot(&cycle, day_of(next), true).unwrap().number;
        assert_eq!(number, 10_381);
        assert_eq!(
            retain_until(&cycle, next, number, true, 0),
            datetime!(2026-11-07 00:00 UTC)
        );
    }

    #[test]
    fn a_frequency_spaces_the_rewrites_of_a_simple_cycle() {
        // Frequency 2, Phase 1: the backup days are the odd days of the year; 14 slots
        // are rewritten every 28 days. 2026-11-12 (day 315) is slot (315+1)/2 % 14 = 4.
        let cycle = CycleSettings {
            phase: 1,
            ..simple(2, 6, 2)
        };
        let d = date!(2026 - 11 - 12);
        assert!(schedule::is_backup_day(&cycle, day_of(d)));
        let number = schedule::slot(&cycle, day_of(d), true).unwrap().number;
        assert_eq!(number, 4);
        assert_eq!(
            next_rewrite(&cycle, d, number, true),
            Some(date!(2026 - 12 - 10))
        );
        assert_eq!(
            retain_until(&cycle, d, number, true, 7),
            datetime!(2026-12-19 00:00 UTC)
        );
    }

    #[test]
    fn a_phase_moves_the_rewrite_as_it_moves_the_backup_days() {
        // Frequency 7, Diffs 1, Fulls 1: 2 slots, each rewritten every 14 days. Phase 3
        // makes day 4 of the year (2026-01-05) a backup day (slot (4+3)/7 % 2 = 1); its
        // rewrite is day 18 (2026-01-19). Without the phase the backup days are 0, 7, 14,
        // 21, and the same slot number would come back on 2026-01-08.
        let cycle = CycleSettings {
            phase: 3,
            ..simple(7, 1, 1)
        };
        let d = date!(2026 - 01 - 05);
        assert!(schedule::is_backup_day(&cycle, day_of(d)));
        let number = schedule::slot(&cycle, day_of(d), true).unwrap().number;
        assert_eq!(number, 1);
        assert_eq!(
            next_rewrite(&cycle, d, number, true),
            Some(date!(2026 - 01 - 19))
        );
        assert_eq!(
            retain_until(&cycle, d, number, true, 0),
            datetime!(2026-01-21 00:00 UTC)
        );
    }

    #[test]
    fn a_frequency_spaces_the_rewrites_of_a_hanoi_disc() {
        // Frequency 2, 3 discs: backups on even days since 1970; 2026-11-03 (day 20760)
        // is Hanoi day 10380 % 4 + 1 = 1, disc 0, written every second backup: 4 days.
        let cycle = CycleSettings {
            cycle_type: CycleType::Hanoi,
            frequency: 2,
            discs: 3,
            ..CycleSettings::default()
        };
        let d = date!(2026 - 11 - 03);
        assert!(schedule::is_backup_day(&cycle, day_of(d)));
        let number = schedule::slot(&cycle, day_of(d), true).unwrap().number;
        assert_eq!(number, 0);
        assert_eq!(
            next_rewrite(&cycle, d, number, true),
            Some(date!(2026 - 11 - 07))
        );
        // disc 2, the largest, on Hanoi day 4 (2026-11-09): written every 4 backups
        let d = date!(2026 - 11 - 09);
        let number = schedule::slot(&cycle, day_of(d), true).unwrap().number;
        assert_eq!(number, 2);
        assert_eq!(
            retain_until(&cycle, d, number, true, 0),
            datetime!(2026-11-19 00:00 UTC)
        );
    }

    #[test]
    fn the_longest_lock_covers_a_rotation_and_a_chain() {
        // 14 daily slots: rewritten after 14 days, 15 across the year-start wrap (day
        // 363 is slot 13, and slot 13 comes next on day 13); the last DIFF of a chain 6
        // days after its FULL; the margin of 2 days and a grace of 7.
        assert_eq!(longest_days(&simple(1, 6, 2), true, 7), 15 + 6 + 2 + 7);
        // databases: 2 slots, 3 days across the wrap (day 363 is slot 1, then day 1)
        assert_eq!(longest_days(&simple(1, 6, 2), false, 0), 3 + 2);
    }
}
