//! PURE: the legacy cycle arithmetic (LEGACY.md §5). No I/O, no clock: callers pass the day.

use crate::config::{CycleSettings, CycleType};

/// The two numbers the legacy schedule is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    /// Day of the year of the local time, 0-based (1 January = 0).
    pub yday: i64,
    /// `floor(unix_seconds / 86400)` (UTC).
    pub epoch_days: i64,
}

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

/// Perl's `%` on integers: a non-negative remainder (for a positive divisor).
fn perl_mod(a: i64, b: i64) -> i64 {
    a.rem_euclid(b)
}

/// Is today a backup day for these settings?
pub fn is_backup_day(cycle: &CycleSettings, day: Day) -> bool {
    match cycle.cycle_type {
        CycleType::Simple => perl_mod(day.yday + cycle.phase, cycle.frequency) == 0,
        CycleType::Hanoi => perl_mod(day.epoch_days, cycle.frequency) == 0,
    }
}

/// Today's slot. `incremental` is true for Directory and Subversion items (FULL/DIFF slots),
/// false for databases (`cycles = Fulls`, no type).
pub fn slot(cycle: &CycleSettings, day: Day, incremental: bool) -> Slot {
    match cycle.cycle_type {
        CycleType::Simple => {
            let cycles = if incremental {
                cycle.fulls * (cycle.diffs + 1)
            } else {
                cycle.fulls
            };
            let number = perl_mod((day.yday + cycle.phase).div_euclid(cycle.frequency), cycles);
            let slot_type = incremental.then(|| {
                if perl_mod(number, cycle.diffs + 1) == 0 {
                    SlotType::Full
                } else {
                    SlotType::Diff
                }
            });
            Slot { number, slot_type }
        }
        CycleType::Hanoi => {
            let cycle_days = 1i64 << (cycle.discs - 1).clamp(0, 62);
            let epoch_cycle = day.epoch_days.div_euclid(cycle_days * cycle.frequency);
            let hanoi_day = perl_mod(day.epoch_days.div_euclid(cycle.frequency), cycle_days) + 1;
            let mut number = i64::from(hanoi_day.trailing_zeros());
            if cycle.archive_oldest_disc {
                number += epoch_cycle;
            }
            Slot {
                number,
                slot_type: incremental.then_some(SlotType::Full),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
