//! PURE: the legacy cycle arithmetic (LEGACY.md §5). No I/O, no clock: callers pass the day.

#[cfg(test)]
use crate::config::limits::{MAX_COUNT, MAX_DAYS, MAX_DISCS};
use crate::config::{CycleSettings, CycleType};

/// The day the schedule is computed from, as the clock reads it.
pub use crate::clock::Day;

/// FULL or DIFF (databases have neither: their slots carry no type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotType {
    Full,
    Diff,
}

impl SlotType {
    /// `FULL` / `DIFF`, as in object names.
    pub fn as_str(self) -> &'static str {
        match self {
            SlotType::Full => "FULL",
            SlotType::Diff => "DIFF",
        }
    }
}

/// Which slot today's backup goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub number: i64,
    /// `None` for databases.
    pub slot_type: Option<SlotType>,
}

/// The arithmetic of these settings does not fit in 64 bits (settings beyond the limits
/// that validation enforces).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

impl std::fmt::Display for Overflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the schedule arithmetic overflows")
    }
}

impl std::error::Error for Overflow {}

/// Perl's `%` on integers: a non-negative remainder; `None` for a divisor <= 0.
fn perl_mod(a: i64, b: i64) -> Option<i64> {
    (b > 0).then(|| a.rem_euclid(b))
}

/// `floor(a / b)`; `None` for a divisor <= 0.
fn floor_div(a: i64, b: i64) -> Option<i64> {
    (b > 0).then(|| a.div_euclid(b))
}

/// Is today a backup day for these settings? Settings outside [`crate::config::limits::SCHEDULE`] (refused by
/// validation) whose arithmetic would overflow give `false`, never a panic.
pub fn is_backup_day(cycle: &CycleSettings, day: Day) -> bool {
    let rest = match cycle.cycle_type {
        CycleType::Simple => day
            .yday
            .checked_add(cycle.phase)
            .and_then(|d| perl_mod(d, cycle.frequency)),
        CycleType::Hanoi => perl_mod(day.epoch_days, cycle.frequency),
    };
    rest == Some(0)
}

/// Today's slot. `incremental` is true for Directory and Subversion items (FULL/DIFF slots),
/// false for databases (`cycles = Fulls`, no type). Every step is checked: settings outside
/// [`crate::config::limits::SCHEDULE`] give `Err`, in debug and release builds alike, never a panic or a wrap.
pub fn slot(cycle: &CycleSettings, day: Day, incremental: bool) -> Result<Slot, Overflow> {
    match cycle.cycle_type {
        CycleType::Simple => {
            let period = cycle.diffs.checked_add(1).ok_or(Overflow)?;
            let cycles = if incremental {
                cycle.fulls.checked_mul(period).ok_or(Overflow)?
            } else {
                cycle.fulls
            };
            let shifted = day.yday.checked_add(cycle.phase).ok_or(Overflow)?;
            let number = floor_div(shifted, cycle.frequency)
                .and_then(|n| perl_mod(n, cycles))
                .ok_or(Overflow)?;
            let slot_type = match incremental {
                false => None,
                true if perl_mod(number, period).ok_or(Overflow)? == 0 => Some(SlotType::Full),
                true => Some(SlotType::Diff),
            };
            Ok(Slot { number, slot_type })
        }
        CycleType::Hanoi => {
            let discs =
                u32::try_from(cycle.discs.checked_sub(1).ok_or(Overflow)?).map_err(|_| Overflow)?;
            let cycle_days = 1i64.checked_shl(discs).filter(|d| *d > 0).ok_or(Overflow)?;
            let period = cycle_days.checked_mul(cycle.frequency).ok_or(Overflow)?;
            let epoch_cycle = floor_div(day.epoch_days, period).ok_or(Overflow)?;
            let hanoi_day = floor_div(day.epoch_days, cycle.frequency)
                .and_then(|n| perl_mod(n, cycle_days))
                .ok_or(Overflow)?
                + 1;
            let mut number = i64::from(hanoi_day.trailing_zeros());
            if cycle.archive_oldest_disc {
                number = number.checked_add(epoch_cycle).ok_or(Overflow)?;
            }
            Ok(Slot {
                number,
                slot_type: incremental.then_some(SlotType::Full),
            })
        }
    }
}

/// One past the highest slot number the cycle can have written by `day` (numbers from 0
/// up to it are the cycle's; an `ArchiveOldestDisc` cycle's numbers grow with the days).
/// `None` where the settings are outside the limits. A key in the bucket whose number is
/// not below it was not written by this cycle (someone else's, or a changed config).
pub fn slot_bound(cycle: &CycleSettings, day: Day, incremental: bool) -> Option<i64> {
    match cycle.cycle_type {
        CycleType::Simple => {
            let period = cycle.diffs.checked_add(1)?;
            if incremental {
                cycle.fulls.checked_mul(period)
            } else {
                Some(cycle.fulls)
            }
        }
        CycleType::Hanoi if cycle.archive_oldest_disc => {
            let discs = u32::try_from(cycle.discs.checked_sub(1)?).ok()?;
            let cycle_days = 1i64.checked_shl(discs).filter(|d| *d > 0)?;
            let period = cycle_days.checked_mul(cycle.frequency)?;
            floor_div(day.epoch_days, period)?
                .max(0)
                .checked_add(cycle.discs)
        }
        CycleType::Hanoi => Some(cycle.discs),
    }
}

/// The slot names a cycle writes on its scheduled days, as (number, type), when there are
/// at most `limit` of them (an `ArchiveOldestDisc` cycle's numbers keep growing: `None`).
/// A DIFF day that backs up a FULL instead (the chain rule, a repository's first backup)
/// writes `NUMBER-FULL` under a DIFF number besides these.
pub fn scheduled_slots(
    cycle: &CycleSettings,
    incremental: bool,
    limit: i64,
) -> Option<Vec<(i64, Option<SlotType>)>> {
    let typed = |t: SlotType| incremental.then_some(t);
    match cycle.cycle_type {
        CycleType::Simple => {
            let period = cycle.diffs.checked_add(1)?;
            let cycles = if incremental {
                cycle.fulls.checked_mul(period)?
            } else {
                cycle.fulls
            };
            (cycles <= limit).then(|| {
                (0..cycles)
                    .map(|n| match n % period {
                        0 => (n, typed(SlotType::Full)),
                        _ => (n, typed(SlotType::Diff)),
                    })
                    .collect()
            })
        }
        CycleType::Hanoi if cycle.archive_oldest_disc => None,
        CycleType::Hanoi => (cycle.discs <= limit).then(|| {
            (0..cycle.discs)
                .map(|n| (n, typed(SlotType::Full)))
                .collect()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(cycle: &CycleSettings, day: Day, incremental: bool) -> Slot {
        super::slot(cycle, day, incremental).expect("within the limits")
    }

    fn simple(frequency: i64, phase: i64, diffs: i64, fulls: i64) -> CycleSettings {
        CycleSettings {
            frequency,
            phase,
            diffs,
            fulls,
            ..CycleSettings::default()
        }
    }

    fn hanoi(frequency: i64, discs: i64, archive: bool) -> CycleSettings {
        CycleSettings {
            cycle_type: CycleType::Hanoi,
            frequency,
            discs,
            archive_oldest_disc: archive,
            ..CycleSettings::default()
        }
    }

    fn day(yday: i64) -> Day {
        Day {
            yday,
            epoch_days: 20_000 + yday,
        }
    }

    #[test]
    fn simple_backup_day_uses_phase_and_frequency() {
        let c = simple(2, 1, 6, 4);
        assert!(!is_backup_day(&c, day(0)));
        assert!(is_backup_day(&c, day(1)));
        assert!(is_backup_day(&simple(1, 0, 6, 4), day(123)));
        assert!(is_backup_day(&simple(7, 3, 1, 4), day(4)));
        assert!(!is_backup_day(&simple(7, 3, 1, 4), day(5)));
    }

    #[test]
    fn simple_slot_cycles_fulls_times_diffs_plus_one() {
        // daily, 6 diffs, 2 fulls: 14 slots, FULL every 7th
        let c = simple(1, 0, 6, 2);
        assert_eq!(slot(&c, day(0), true).number, 0);
        assert_eq!(slot(&c, day(0), true).slot_type, Some(SlotType::Full));
        assert_eq!(slot(&c, day(1), true).slot_type, Some(SlotType::Diff));
        assert_eq!(slot(&c, day(7), true).slot_type, Some(SlotType::Full));
        assert_eq!(slot(&c, day(14), true).number, 0);
        // 2026-11-16 is yday 319: 319 % 14 = 11, DIFF (as the golden 01-simple says)
        assert_eq!(slot(&c, day(319), true).number, 11);
        assert_eq!(slot(&c, day(319), true).slot_type, Some(SlotType::Diff));
    }

    #[test]
    fn simple_slot_divides_before_modulo() {
        // weekly, phase 3, 1 diff, 4 fulls: floor((yday+3)/7) % 8
        let c = simple(7, 3, 1, 4);
        assert_eq!(slot(&c, day(319), true).number, (322 / 7) % 8);
        assert_eq!(slot(&c, day(319), true).slot_type, Some(SlotType::Full));
    }

    #[test]
    fn databases_cycle_over_fulls_only_and_have_no_type() {
        let c = simple(1, 0, 6, 14);
        let s = slot(&c, day(319), false);
        assert_eq!(s.number, 319 % 14);
        assert_eq!(s.slot_type, None);
    }

    #[test]
    fn new_year_restarts_yday() {
        let c = simple(1, 0, 6, 2);
        assert_eq!(slot(&c, day(364), true).number, 364 % 14);
        assert_eq!(slot(&c, day(0), true).number, 0);
        assert_eq!(slot(&c, day(0), true).slot_type, Some(SlotType::Full));
    }

    #[test]
    fn hanoi_backup_day_uses_epoch_days() {
        let c = hanoi(2, 4, false);
        let d = Day {
            yday: 1,
            epoch_days: 20_774,
        };
        assert!(is_backup_day(&c, d));
        assert!(!is_backup_day(
            &c,
            Day {
                yday: 0,
                epoch_days: 20_775
            }
        ));
    }

    #[test]
    fn hanoi_slot_is_lowest_set_bit() {
        let c = hanoi(1, 5, false);
        // cycle_days = 16; day = epoch_days % 16 + 1
        for (epoch_days, want) in [(0, 0), (1, 1), (3, 2), (5, 1), (7, 3), (15, 4), (16, 0)] {
            let d = Day {
                yday: 0,
                epoch_days,
            };
            let s = slot(&c, d, true);
            assert_eq!(s.number, want, "epoch day {epoch_days}");
            assert_eq!(s.slot_type, Some(SlotType::Full));
        }
    }

    #[test]
    fn hanoi_archive_adds_epoch_cycle() {
        // 2026-11-17 = epoch day 20774; golden 04-hanoi: /srv/www-1300-FULL
        let c = hanoi(2, 4, true);
        let d = Day {
            yday: 320,
            epoch_days: 20_774,
        };
        assert_eq!(slot(&c, d, true).number, 1300);
    }

    #[test]
    fn hanoi_one_disc_is_always_slot_zero() {
        let c = hanoi(1, 1, false);
        for e in 0..5 {
            let d = Day {
                yday: 0,
                epoch_days: e,
            };
            assert_eq!(slot(&c, d, true).number, 0);
        }
    }

    #[test]
    fn extreme_settings_are_errors_not_panics() {
        let d = day(364);
        let c = simple(1, 0, i64::MAX, 2);
        assert_eq!(super::slot(&c, d, true), Err(Overflow));
        let c = simple(1, i64::MAX, 6, 2);
        assert_eq!(super::slot(&c, d, true), Err(Overflow));
        assert!(!is_backup_day(&c, d));
        let c = simple(0, 0, 6, 2);
        assert_eq!(super::slot(&c, d, false), Err(Overflow));
        let c = simple(1, 0, 6, 0);
        assert_eq!(super::slot(&c, d, false), Err(Overflow));
        for discs in [0, 64, 65, i64::MAX, i64::MIN] {
            assert_eq!(super::slot(&hanoi(1, discs, true), d, true), Err(Overflow));
        }
        assert_eq!(
            super::slot(&hanoi(i64::MAX, 40, true), d, true),
            Err(Overflow)
        );
    }

    #[test]
    fn the_limits_themselves_compute() {
        let far = Day {
            yday: 365,
            epoch_days: 2_932_896, // 9999-12-31
        };
        let c = simple(MAX_DAYS, MAX_DAYS, MAX_COUNT, MAX_COUNT);
        assert!(super::slot(&c, far, true).is_ok());
        let mut c = hanoi(MAX_DAYS, MAX_DISCS, true);
        c.phase = MAX_DAYS;
        assert!(super::slot(&c, far, true).is_ok());
    }
}
