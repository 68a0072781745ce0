//! `s3napback list`: every slot in the bucket as a table, as JSON, or exactly as
//! `js3tream -l -b BUCKET` printed it.

use std::fmt::Write as _;

use serde::Serialize;
use time::OffsetDateTime;

use crate::catalog::{SlotKind, parse_prefix};
use crate::clock::{Clock, to_local};
use crate::inventory::Inventory;
use crate::store::keys::Slot;

/// One slot as `list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// The prefix as listed.
    pub prefix: String,
    /// `tree`, `mysql`, `postgresql`, or null for names that are no legacy slot.
    pub kind: Option<&'static str>,
    /// The item part of the prefix (`/etc`, `--all-databases`).
    pub item: Option<String>,
    /// The slot number.
    pub slot: Option<i64>,
    /// `FULL` / `DIFF` for trees, null for databases.
    #[serde(rename = "type")]
    pub slot_type: Option<&'static str>,
    /// Newest LastModified, local time, `YYYY-MM-DD HH:MM:SS`.
    pub last_modified: String,
    /// Total bytes.
    pub size: u64,
    /// Number of chunk objects.
    pub chunks: usize,
}

pub use crate::clock::local_stamp;

/// The entry of one slot.
pub fn entry(slot: &Slot) -> Entry {
    let name = parse_prefix(&slot.prefix);
    Entry {
        prefix: slot.prefix.clone(),
        kind: name.as_ref().map(|n| match n.kind {
            SlotKind::Tree => "tree",
            SlotKind::MySql => "mysql",
            SlotKind::PostgreSql => "postgresql",
        }),
        item: name.as_ref().map(|n| n.item.clone()),
        slot: name.as_ref().map(|n| n.number),
        slot_type: name.and_then(|n| n.slot_type).map(|t| t.as_str()),
        last_modified: local_stamp(slot.last_modified),
        size: slot.size,
        chunks: slot.chunks.len(),
    }
}

/// A readable table, one row per entry, columns aligned.
pub fn table(entries: &[Entry]) -> String {
    let header = ["LAST MODIFIED", "SIZE", "CHUNKS", "TYPE", "SLOT", "ITEM"];
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            [
                e.last_modified.clone(),
                e.size.to_string(),
                e.chunks.to_string(),
                e.slot_type.unwrap_or("-").to_string(),
                e.slot.map_or("-".into(), |n| n.to_string()),
                match (e.kind, &e.item) {
                    (Some("mysql"), Some(i)) => format!("MySQL/{i}"),
                    (Some("postgresql"), Some(i)) => format!("PostgreSQL/{i}"),
                    (_, Some(i)) => i.clone(),
                    (_, None) => e.prefix.clone(),
                },
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let header = header.map(String::from);
    for r in std::iter::once(&header).chain(&rows) {
        let line = format!(
            "{:<w0$}  {:>w1$}  {:>w2$}  {:<w3$}  {:>w4$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            w0 = width[0],
            w1 = width[1],
            w2 = width[2],
            w3 = width[3],
            w4 = width[4],
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// `n / d` rounded half up, then written with two decimals (Java's `%.2f` of an exact
/// binary fraction).
fn two_decimals(n: u64, d: u64) -> String {
    let hundredths = (u128::from(n) * 200 + u128::from(d)) / (2 * u128::from(d));
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// js3tream's size: bytes/1024 as `%.2fk`, or bytes/1024/1024 as `%.2fM` when the k
/// value is above 10000.
pub fn js3tream_size(bytes: u64) -> String {
    if bytes > 10_000 * 1024 {
        format!("{}M", two_decimals(bytes, 1024 * 1024))
    } else {
        format!("{}k", two_decimals(bytes, 1024))
    }
}

/// One line of `js3tream -l`: `yyyy-MM-dd hh:mm:ss - BUCKET:PREFIX - SIZE in N data
/// blocks`, `hh` the 12-hour clock (01..12, no AM/PM) of `local` as given.
pub fn js3tream_line(
    bucket: &str,
    prefix: &str,
    local: OffsetDateTime,
    bytes: u64,
    chunks: usize,
) -> String {
    let hour12 = match local.hour() % 12 {
        0 => 12,
        h => h,
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} - {bucket}:{prefix} - {} in {chunks} data blocks",
        local.year(),
        u8::from(local.month()),
        local.day(),
        hour12,
        local.minute(),
        local.second(),
        js3tream_size(bytes),
    )
}

/// The whole `js3tream -l -b BUCKET` output for slots sorted by prefix: a line per slot,
/// then `total: N`.
pub fn js3tream_listing(bucket: &str, slots: &[Slot]) -> String {
    let mut out = String::new();
    for s in slots {
        let line = js3tream_line(
            bucket,
            &s.prefix,
            to_local(s.last_modified),
            s.size,
            s.chunks.len(),
        );
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "total: {}", slots.len());
    out
}

/// Runs the command; returns the exit status.
pub fn run(args: &crate::cli::ListArgs, _clock: &Clock) -> anyhow::Result<u8> {
    let inv = Inventory::open(&args.common)?;
    let text = if args.js3tream {
        js3tream_listing(&inv.settings.bucket, &inv.slots)
    } else {
        let entries: Vec<Entry> = inv.slots.iter().map(entry).collect();
        if args.json {
            serde_json::to_string_pretty(&entries)? + "\n"
        } else {
            table(&entries)
        }
    };
    print!("{text}");
    Ok(crate::app::EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_legacy_example_line() {
        // 153.38k = 157061 bytes (157061 / 1024 = 153.379...)
        assert_eq!(
            js3tream_line(
                "dev.davidsoergel.com.backup1",
                "MySQL/all-0",
                datetime!(2008-04-10 04:07:50 UTC),
                157_061,
                1
            ),
            "2008-04-10 04:07:50 - dev.davidsoergel.com.backup1:MySQL/all-0 - \
             153.38k in 1 data blocks"
        );
    }

    #[test]
    fn twelve_hour_clock() {
        let line = |t| js3tream_line("b", "/etc-0-FULL", t, 0, 1);
        assert_eq!(
            line(datetime!(2026-01-02 00:05:09 UTC)),
            "2026-01-02 12:05:09 - b:/etc-0-FULL - 0.00k in 1 data blocks"
        );
        assert_eq!(
            line(datetime!(2026-01-02 13:59:00 UTC)),
            "2026-01-02 01:59:00 - b:/etc-0-FULL - 0.00k in 1 data blocks"
        );
        assert!(line(datetime!(2026-01-02 12:00:00 UTC)).starts_with("2026-01-02 12:00:00 "));
        assert!(line(datetime!(2026-01-02 23:00:00 +02:00)).starts_with("2026-01-02 11:00:00 "));
    }

    #[test]
    fn sizes_in_k_and_m() {
        assert_eq!(js3tream_size(0), "0.00k");
        assert_eq!(js3tream_size(1024), "1.00k");
        // 128 bytes = 0.125k exactly: Java rounds half up
        assert_eq!(js3tream_size(128), "0.13k");
        assert_eq!(js3tream_size(10_000 * 1024), "10000.00k");
        assert_eq!(js3tream_size(10_000 * 1024 + 1), "9.77M");
        assert_eq!(js3tream_size(5 * 1024 * 1024 * 1024), "5120.00M");
        assert_eq!(js3tream_size(15 * 1024 * 1024 + 512 * 1024), "15.50M");
    }

    #[test]
    fn listing_ends_with_the_total() {
        let slot = |p: &str| Slot {
            prefix: p.into(),
            chunks: vec![],
            last_modified: OffsetDateTime::UNIX_EPOCH,
            size: 2048,
            commit_pending: false,
        };
        let out = js3tream_listing("b", &[slot("/a-0-FULL"), slot("/b-1-DIFF")]);
        assert_eq!(out.lines().count(), 3);
        assert!(out.ends_with("\ntotal: 2\n"));
        assert!(out.contains(" - b:/b-1-DIFF - 2.00k in 0 data blocks\n"));
    }

    #[test]
    fn entries_and_table() {
        let slot = Slot {
            prefix: "MySQL/--all-databases-5".into(),
            chunks: vec![],
            last_modified: OffsetDateTime::UNIX_EPOCH,
            size: 7,
            commit_pending: false,
        };
        let e = entry(&slot);
        assert_eq!(e.kind, Some("mysql"));
        assert_eq!(e.item.as_deref(), Some("--all-databases"));
        assert_eq!((e.slot, e.slot_type), (Some(5), None));
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["type"], serde_json::Value::Null);
        assert_eq!(json["size"], 7);
        let t = table(&[e]);
        assert!(t.starts_with("LAST MODIFIED"));
        assert!(t.lines().nth(1).unwrap().ends_with("MySQL/--all-databases"));
    }
}
