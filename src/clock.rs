//! The run's clock: "now" in local time, read once at start-up (before any thread exists),
//! and conversions of other instants (file mtimes, S3 LastModified) to local time.

use anyhow::{Context, Result, bail};
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// The instant a run plans for, with its local offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    now: OffsetDateTime,
    /// Set by `--now` (and tests): the run acts as if this were the time.
    fixed: bool,
}

impl Clock {
    /// The system clock in the local zone (`TZ`).
    pub fn system() -> Clock {
        Clock {
            now: to_local(OffsetDateTime::now_utc()),
            fixed: false,
        }
    }

    /// A local wall-clock time `YYYY-MM-DD HH:MM:SS` (the `--now` option) in the zone of `TZ`.
    pub fn at_local(text: &str) -> Result<Clock> {
        let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
        let wall = PrimitiveDateTime::parse(text.trim(), &fmt)
            .with_context(|| format!("--now {text:?}: expected 'YYYY-MM-DD HH:MM:SS'"))?;
        Ok(Clock {
            now: local_from_wall(wall)?,
            fixed: true,
        })
    }

    /// A clock at a given instant (tests).
    pub fn at(instant: OffsetDateTime) -> Clock {
        Clock {
            now: to_local(instant),
            fixed: true,
        }
    }

    /// Now, with the local offset.
    pub fn now(&self) -> OffsetDateTime {
        self.now
    }

    /// The time the run acts at when it is not the system clock's (`--now`): files the
    /// run writes get it as their mtime, so a later run at the same `--now` date sees
    /// them as written that day.
    pub fn fixed_instant(&self) -> Option<OffsetDateTime> {
        self.fixed.then_some(self.now)
    }

    /// Today's local date.
    pub fn today(&self) -> Date {
        self.now.date()
    }

    /// The schedule's view of today (LEGACY.md §5).
    pub fn day(&self) -> Day {
        Day {
            yday: i64::from(self.now.ordinal()) - 1,
            epoch_days: self.now.unix_timestamp().div_euclid(86_400),
        }
    }
}

/// The two numbers the legacy schedule is computed from (LEGACY.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    /// Day of the year of the local time, 0-based (1 January = 0).
    pub yday: i64,
    /// `floor(unix_seconds / 86400)` (UTC).
    pub epoch_days: i64,
}

/// The local offset at an instant, falling back to UTC when the system cannot tell.
pub fn local_offset_at(instant: OffsetDateTime) -> UtcOffset {
    UtcOffset::local_offset_at(instant).unwrap_or(UtcOffset::UTC)
}

/// An instant expressed in local time.
pub fn to_local(instant: OffsetDateTime) -> OffsetDateTime {
    instant.to_offset(local_offset_at(instant))
}

/// An instant as local `YYYY-MM-DD HH:MM:SS` (listings, logs of restored slots).
pub fn local_stamp(instant: OffsetDateTime) -> String {
    to_local(instant)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_else(|_| instant.to_string())
}

/// The instant a local wall-clock time denotes (the earlier one in a DST overlap; a time in
/// a DST gap is taken with the offset before the gap).
pub fn local_from_wall(wall: PrimitiveDateTime) -> Result<OffsetDateTime> {
    let mut offset = local_offset_at(wall.assume_utc());
    for _ in 0..3 {
        let candidate = wall.assume_offset(offset);
        let actual = local_offset_at(candidate);
        if actual == offset {
            return Ok(candidate.to_offset(actual));
        }
        offset = actual;
    }
    let candidate = wall.assume_offset(offset);
    if candidate.unix_timestamp() == 0 && wall.year() != 1970 {
        bail!("cannot place {wall} in the local time zone");
    }
    Ok(candidate)
}

/// The start of a local date and the start of the next one, as instants.
pub fn local_day_bounds(date: Date) -> Result<(OffsetDateTime, OffsetDateTime)> {
    let start = local_from_wall(date.midnight())?;
    let next = date
        .next_day()
        .context("date out of range")
        .and_then(|d| local_from_wall(d.midnight()))?;
    Ok((start, next))
}

/// An `--at DATE` argument (`YYYY-MM-DD`, a local date); a usage error otherwise.
pub fn parse_at(text: &str) -> anyhow::Result<Date> {
    Date::parse(text.trim(), format_description!("[year]-[month]-[day]")).map_err(|e| {
        anyhow::anyhow!(crate::exit::Fatal(format!(
            "--at {text:?}: expected YYYY-MM-DD ({e})"
        )))
    })
}

/// The end of an `--at DATE` day: the start of the next local day.
pub fn end_of_at(text: &str) -> anyhow::Result<OffsetDateTime> {
    Ok(local_day_bounds(parse_at(text)?)?.1)
}
