//! `status` on a locked bucket (`ObjectLockMode`): what someone other than this tool did
//! to the slots, judged against the tool's own commit records (`store::commit::Record`):
//! a slot key whose current version is not the one the tool stored, or a delete marker;
//! a record overwritten or deleted; a kept slot whose lock is shorter than the tool set,
//! missing, or already over (the rotation stopped: nothing protects it now).

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::inspect::catalog::{SlotKind, parse_prefix};
use crate::store::commit::{MAX_RECORD_BYTES, Record};
use crate::store::keys::{RECORD_NAMESPACE, chunk_key, parse_chunk_key};
use crate::store::lock::VersionInfo;
use crate::store::{ReadStore, StoreError};

/// One finding: the key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The slot the key belongs to (prefix as listed).
    pub slot: String,
    /// The key (as listed).
    pub key: String,
    pub why: String,
}

/// Every finding in the bucket, by slot and key.
pub fn findings(store: &dyn ReadStore, now: OffsetDateTime) -> Result<Vec<Finding>, StoreError> {
    let versions = store.list_versions("")?;
    let mut by_key: BTreeMap<&str, Vec<&VersionInfo>> = BTreeMap::new();
    for v in &versions {
        by_key.entry(v.key.as_str()).or_default().push(v);
    }
    let current = |key: &str| -> Option<&VersionInfo> {
        by_key
            .get(key)
            .and_then(|vs| vs.iter().copied().find(|v| v.is_latest))
    };
    let physical_ns = store.physical_key(RECORD_NAMESPACE);
    let mut out = Vec::new();
    for (key, record_versions) in &by_key {
        let Some(listed_slot) = key
            .strip_prefix(physical_ns.as_str())
            .or(key.strip_prefix(RECORD_NAMESPACE))
        else {
            continue;
        };
        let slot = store.physical_key(listed_slot);
        let finding = |k: &str, why: String| Finding {
            slot: slot.clone(),
            key: k.to_owned(),
            why,
        };
        // the newest version of the record that is one (the tool's last commit)
        let mut newest_first: Vec<&VersionInfo> = record_versions.clone();
        newest_first.sort_by_key(|v| std::cmp::Reverse(v.last_modified));
        let mut record = None;
        let mut oversized = Vec::new();
        for v in &newest_first {
            if v.delete_marker {
                continue;
            }
            if v.size > MAX_RECORD_BYTES {
                oversized.push(finding(
                    key,
                    format!(
                        "version {} holds {} bytes, more than a commit record's {MAX_RECORD_BYTES}: not read",
                        v.version_id, v.size
                    ),
                ));
                continue;
            }
            let body = store.get_version(&v.key, &v.version_id, v.size)?;
            if let Ok(r) = serde_json::from_slice::<Record>(&body.data) {
                record = Some((*v, r));
                break;
            }
        }
        out.extend(oversized);
        match current(key) {
            Some(v) if v.delete_marker => out.push(finding(
                key,
                "the commit record was deleted (the current version is a delete marker)".into(),
            )),
            Some(v)
                if record
                    .as_ref()
                    .is_none_or(|(r, _)| r.version_id != v.version_id) =>
            {
                out.push(finding(
                    key,
                    format!(
                        "the current version {} of the commit record is not one s3napback wrote",
                        v.version_id
                    ),
                ))
            }
            _ => {}
        }
        let Some((_, record)) = record else { continue };
        out.extend(slot_findings(store, &slot, &record, &by_key, now)?);
    }
    Ok(out)
}

/// The findings on the chunk keys of one slot, judged against its newest record.
fn slot_findings(
    store: &dyn ReadStore,
    slot: &str,
    record: &Record,
    by_key: &BTreeMap<&str, Vec<&VersionInfo>>,
    now: OffsetDateTime,
) -> Result<Vec<Finding>, StoreError> {
    let mut out = Vec::new();
    let mut push = |key: &str, why: String| {
        out.push(Finding {
            slot: slot.to_owned(),
            key: key.to_owned(),
            why,
        })
    };
    for (i, stored) in record.versions.iter().enumerate() {
        let key = chunk_key(slot, i as u64);
        let current = by_key
            .get(key.as_str())
            .and_then(|vs| vs.iter().copied().find(|v| v.is_latest));
        let Some(v) = current.filter(|v| !v.delete_marker) else {
            push(
                &key,
                "deleted (the current version is a delete marker or none)".into(),
            );
            continue;
        };
        if let Some(id) = stored
            && *id != v.version_id
        {
            push(
                &key,
                format!(
                    "overwritten: the current version {} is not the one s3napback stored ({id})",
                    v.version_id
                ),
            );
            continue;
        }
        match store.retention_of(&v.key, &v.version_id)? {
            None => push(&key, "not locked".into()),
            Some(r) if r.until < record.lock.until => push(
                &key,
                format!(
                    "locked until {} only, shorter than the {} s3napback set",
                    r.until, record.lock.until
                ),
            ),
            Some(r) if r.until <= now => push(
                &key,
                format!(
                    "its lock ended {}: the rotation has not rewritten the slot since, nothing protects it",
                    r.until
                ),
            ),
            Some(_) => {}
        }
    }
    // chunks beyond the record's count: not stored by the tool
    for (key, vs) in by_key.range(format!("{slot}:").as_str()..) {
        let Some((prefix, index)) = parse_chunk_key(key) else {
            if !key.starts_with(slot) {
                break;
            }
            continue;
        };
        if prefix != slot {
            if !key.starts_with(slot) {
                break;
            }
            continue;
        }
        if index >= record.chunks && vs.iter().any(|v| v.is_latest && !v.delete_marker) {
            push(key, "a chunk s3napback did not store".into());
        }
    }
    Ok(out)
}

/// The item a slot prefix belongs to, as its slots name it (`/etc`, `MySQL/shop`); the
/// prefix itself when it is no slot name.
pub fn item_of(slot: &str) -> String {
    match parse_prefix(slot) {
        Some(name) => match name.kind {
            SlotKind::Tree => name.item,
            SlotKind::MySql => format!("MySQL/{}", name.item),
            SlotKind::PostgreSql => format!("PostgreSQL/{}", name.item),
        },
        None => slot.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_of_slots() {
        assert_eq!(item_of("/etc-3-FULL"), "/etc");
        assert_eq!(item_of("/srv/a-b-12-DIFF"), "/srv/a-b");
        assert_eq!(item_of("MySQL/shop-7"), "MySQL/shop");
        assert_eq!(item_of("odd"), "odd");
    }
}
