//! `s3napback list --versions`: every version of every slot chunk on a versioned bucket
//! (ObjectLockMode), oldest first per key: what `restore --at` chooses from.

use std::fmt::Write as _;

use serde::Serialize;

use crate::clock::local_stamp;
use crate::store::keys::{is_reserved, parse_chunk_key};
use crate::store::lock::VersionInfo;

/// One version as `list --versions` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionEntry {
    /// The key as listed.
    pub key: String,
    pub version_id: String,
    /// LastModified, local time, `YYYY-MM-DD HH:MM:SS`.
    pub last_modified: String,
    pub size: u64,
    /// The key's current version.
    pub current: bool,
    /// A delete marker, not data.
    pub delete_marker: bool,
}

/// The versions of slot chunks (not the tool's own bookkeeping), in key order, each key
/// oldest first.
pub fn entries(versions: &[VersionInfo]) -> Vec<VersionEntry> {
    versions
        .iter()
        .filter(|v| !is_reserved(&v.key) && parse_chunk_key(&v.key).is_some())
        .map(|v| VersionEntry {
            key: v.key.clone(),
            version_id: v.version_id.clone(),
            last_modified: local_stamp(v.last_modified),
            size: v.size,
            current: v.is_latest,
            delete_marker: v.delete_marker,
        })
        .collect()
}

/// One line per version: date, size, state, version id, key.
pub fn table(entries: &[VersionEntry]) -> String {
    let mut out = String::new();
    let size_width = entries
        .iter()
        .map(|e| e.size.to_string().len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        out,
        "{:<19}  {:>size_width$}  {:<13}  VERSION  KEY",
        "LAST MODIFIED", "SIZE", "STATE"
    );
    for e in entries {
        let state = match (e.current, e.delete_marker) {
            (true, true) => "deleted",
            (false, true) => "delete marker",
            (true, false) => "current",
            (false, false) => "noncurrent",
        };
        let _ = writeln!(
            out,
            "{:<19}  {:>size_width$}  {:<13}  {}  {}",
            e.last_modified, e.size, state, e.version_id, e.key
        );
    }
    out
}
