//! PURE: exactly what `js3tream -l -b BUCKET` printed (LEGACY.md §8), read from js3tream's
//! own `ListOperation`: objects grouped by the key up to its first `:` (no `:`: the bucket
//! itself), groups sorted by that prefix, one line per group, then `total: N`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use time::OffsetDateTime;

use crate::store::ObjectInfo;
use crate::store::keys::is_reserved;

/// One group of the listing: the objects sharing a prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The key up to its first `:` (empty for keys without one).
    pub prefix: String,
    /// The newest LastModified of the group's objects.
    pub last_modified: OffsetDateTime,
    /// The sum of `size / 1000.0` over the objects, in listing order, as js3tream summed
    /// it (a double: its rounding is part of what was printed).
    pub kilobytes: f64,
    /// The number of objects ("data blocks").
    pub blocks: usize,
    /// The first object's key (where the `tag` metadata is read).
    pub first_key: String,
}

/// Groups a listing (in the server's key order) by prefix, sorted by prefix.
pub fn groups(listing: &[ObjectInfo]) -> Vec<Group> {
    let mut by_prefix: BTreeMap<&str, Group> = BTreeMap::new();
    for object in listing.iter().filter(|o| !is_reserved(&o.key)) {
        let prefix = object.key.split_once(':').map_or("", |(p, _)| p);
        let group = by_prefix.entry(prefix).or_insert_with(|| Group {
            prefix: prefix.to_string(),
            last_modified: object.last_modified,
            kilobytes: 0.0,
            blocks: 0,
            first_key: object.key.clone(),
        });
        group.last_modified = group.last_modified.max(object.last_modified);
        group.kilobytes += object.size as f64 / 1000.0;
        group.blocks += 1;
    }
    by_prefix.into_values().collect()
}

/// Java's `String.format("%.2f", x)` for a non-negative finite double. Java's Formatter
/// does not round the exact binary value: it takes the digits of `Double.toString` (the
/// shortest decimal that reads back as `x`) and rounds those half up at the second
/// decimal (`sun.misc.FormattedFloatingDecimal.applyPrecision`). So `1.005`, stored as
/// 1.00499999999999989..., prints `1.01`, where C's and Rust's `%.2f` print `1.00`.
pub fn java_two_decimals(x: f64) -> String {
    // `{:e}` writes the shortest round-trip digits: `1.005e0`, `1.2345e4`, `5e-3`.
    let sci = format!("{x:e}");
    let (mantissa, exponent) = sci.split_once('e').expect("LowerExp has an exponent");
    let exponent: i32 = exponent.parse().expect("LowerExp exponent");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significand: u128 = digits.parse().expect("LowerExp digits");
    // x * 100 = significand * 10^shift
    let shift = exponent + 2 - (digits.len() as i32 - 1);
    let scale = 10u128.checked_pow(shift.unsigned_abs());
    let hundredths = match scale {
        // Digits to drop: half up on the first of them.
        Some(divisor) if shift < 0 => (significand + divisor / 2) / divisor,
        None if shift < 0 => 0,
        Some(factor) => match significand.checked_mul(factor) {
            Some(h) => h,
            None => return shortest_digits_padded(&digits, shift),
        },
        None => return shortest_digits_padded(&digits, shift),
    };
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// Beyond u128 the double is an integer (`shift` is large): as Java, its shortest digits
/// padded with zeros, not the double's exact decimal expansion.
fn shortest_digits_padded(digits: &str, shift: i32) -> String {
    let zeros = usize::try_from(shift - 2).unwrap_or(0);
    format!("{digits}{}.00", "0".repeat(zeros))
}

/// js3tream's size column: the kilobyte sum as `%.2fk`, or over 10000 the sum / 1000.0
/// as `%.2fM` (kilo and mega are 1000).
pub fn size_text(kilobytes: f64) -> String {
    if kilobytes > 10000.0 {
        format!("{}M", java_two_decimals(kilobytes / 1000.0))
    } else {
        format!("{}k", java_two_decimals(kilobytes))
    }
}

/// `yyyy-MM-dd hh:mm:ss` with `hh` the 12-hour clock (01-12, no AM/PM) of `local`.
pub fn stamp(local: OffsetDateTime) -> String {
    let hour12 = match local.hour() % 12 {
        0 => 12,
        h => h,
    };
    format!(
        "{:04}-{:02}-{:02} {hour12:02}:{:02}:{:02}",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.minute(),
        local.second(),
    )
}

/// One group's line (`%s - %s - %s in %d data blocks`), `local` its newest LastModified in
/// local time, followed by `\tTAG:` + the tag when the group carries one.
pub fn line(bucket: &str, group: &Group, local: OffsetDateTime, tag: Option<&str>) -> String {
    let name = if group.prefix.is_empty() {
        bucket.to_string()
    } else {
        format!("{bucket}:{}", group.prefix)
    };
    let mut out = format!(
        "{} - {name} - {} in {} data blocks\n",
        stamp(local),
        size_text(group.kilobytes),
        group.blocks
    );
    if let Some(tag) = tag {
        let _ = writeln!(out, "\tTAG:{tag}");
    }
    out
}

/// The whole output: every group's line(s), then `total: N`. `local` converts a time to
/// local time; `tag` gives a group's `tag` metadata.
pub fn listing(
    bucket: &str,
    groups: &[Group],
    local: impl Fn(OffsetDateTime) -> OffsetDateTime,
    mut tag: impl FnMut(&Group) -> Option<String>,
) -> String {
    let mut out = String::new();
    for g in groups {
        out += &line(bucket, g, local(g.last_modified), tag(g).as_deref());
    }
    let _ = writeln!(out, "total: {}", groups.len());
    out
}

#[cfg(test)]
mod tests;
