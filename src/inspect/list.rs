//! `s3napback list`: every slot in the bucket as a table, as JSON, or exactly as
//! `js3tream -l -b BUCKET` printed it.

pub mod js3tream;
pub mod versions;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use crate::clock::{Clock, to_local};
use crate::inspect::catalog::{SlotKind, parse_prefix};
use crate::inspect::inventory::Inventory;
use crate::store::keys::Slot;

/// One slot as `list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// The bucket that holds it (listed only for several config files).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub bucket: String,
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
        bucket: String::new(),
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

/// The ITEM column of an entry: `MySQL/NAME`, `PostgreSQL/NAME`, the path, or the prefix
/// of a name that is no legacy slot.
fn item_label(e: &Entry) -> String {
    match (e.kind, &e.item) {
        (Some("mysql"), Some(i)) => format!("MySQL/{i}"),
        (Some("postgresql"), Some(i)) => format!("PostgreSQL/{i}"),
        (_, Some(i)) => i.clone(),
        (_, None) => e.prefix.clone(),
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
                item_label(e),
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

/// [`table`] with each item named `BUCKET:ITEM` (several configs, several buckets).
pub fn table_with_buckets(entries: &[Entry]) -> String {
    let named: Vec<Entry> = entries
        .iter()
        .map(|e| Entry {
            item: Some(format!("{}:{}", e.bucket, item_label(e))),
            kind: None,
            ..e.clone()
        })
        .collect();
    table(&named)
}

/// `s3napback list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Exactly what `js3tream -l -b BUCKET` printed.
    #[arg(long)]
    pub js3tream: bool,
    /// Further configurations, /etc/s3napback/NAME.conf or /etc/s3napback/NAME: one
    /// table for all.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Every version of every slot chunk (a versioned bucket, ObjectLockMode).
    #[arg(long, conflicts_with = "js3tream")]
    pub versions: bool,
    /// The slots as they were at the end of this local date (YYYY-MM-DD), on a versioned
    /// bucket: versions written later (an overwrite, a delete) do not count.
    #[arg(long, value_name = "DATE", conflicts_with = "versions")]
    pub at: Option<String>,
}

/// Runs the command on every config file (`-c FILE`, then each NAME): one table (or
/// JSON array) of all their slots, a `BUCKET:` before each item when they use several
/// buckets; `--versions` and `--js3tream` print each bucket in turn. Returns the exit
/// status.
pub fn run_all(args: &ListArgs, configs: &[PathBuf], clock: &Clock) -> anyhow::Result<u8> {
    if args.versions || args.js3tream {
        for config in configs {
            run(args, Some(config), clock)?;
        }
        return Ok(crate::exit::EXIT_OK);
    }
    let until = args
        .at
        .as_deref()
        .map(crate::clock::end_of_at)
        .transpose()?;
    let mut entries = Vec::new();
    let mut buckets = Vec::new();
    for config in configs {
        let inv = Inventory::open_as_of(Some(config), until)?;
        buckets.push(inv.settings.bucket.clone());
        let bucket = if configs.len() > 1 {
            inv.settings.bucket.clone()
        } else {
            String::new()
        };
        entries.extend(inv.slots.iter().map(|s| Entry {
            bucket: bucket.clone(),
            ..entry(s)
        }));
    }
    buckets.sort();
    buckets.dedup();
    let text = if args.json {
        serde_json::to_string_pretty(&entries)? + "\n"
    } else if buckets.len() > 1 {
        table_with_buckets(&entries)
    } else {
        table(&entries)
    };
    print!("{text}");
    Ok(crate::exit::EXIT_OK)
}

/// Runs the command on one config file; returns the exit status.
pub fn run(args: &ListArgs, config: Option<&Path>, _clock: &Clock) -> anyhow::Result<u8> {
    let until = args
        .at
        .as_deref()
        .map(crate::clock::end_of_at)
        .transpose()?;
    let inv = Inventory::open_as_of(config, until)?;
    let text = if args.versions {
        let listed = inv
            .store
            .list_versions("")
            .with_context(|| format!("listing the versions in bucket {}", inv.settings.bucket))?;
        let entries = versions::entries(&listed);
        if args.json {
            serde_json::to_string_pretty(&entries)? + "\n"
        } else {
            versions::table(&entries)
        }
    } else if args.js3tream {
        // js3tream listed every object, chunk keys or not, in the server's order.
        let objects = inv
            .store
            .list("")
            .with_context(|| format!("listing bucket {}", inv.settings.bucket))?;
        let groups = js3tream::groups(&objects);
        let mut tag_error = None;
        // The `tag` metadata is not in listings: one HEAD per group (none after a failure).
        let text = js3tream::listing(&inv.settings.bucket, &groups, to_local, |g| {
            if tag_error.is_some() {
                return None;
            }
            inv.store
                .tag_of(&g.first_key)
                .map_err(|e| tag_error = Some(e))
                .ok()
                .flatten()
        });
        if let Some(e) = tag_error {
            log::warn!(target: crate::plan::report::Category::Main.target(), "reading tag metadata: {e}");
        }
        text
    } else {
        let entries: Vec<Entry> = inv.slots.iter().map(entry).collect();
        if args.json {
            serde_json::to_string_pretty(&entries)? + "\n"
        } else {
            table(&entries)
        }
    };
    print!("{text}");
    Ok(crate::exit::EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    #[test]
    fn entries_and_table() {
        let slot = Slot {
            prefix: "MySQL/--all-databases-5".into(),
            chunks: vec![],
            last_modified: OffsetDateTime::UNIX_EPOCH,
            size: 7,
            commit_pending: false,
            staged: false,
            stamp: None,
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
