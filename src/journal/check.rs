//! The bucket's keys of one item compared with its journal: which the host wrote, which
//! it did not (`TAMPERED`), which lie outside the item's cycle, and which of its slots
//! this host really backed up today.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use time::Date;

use super::copy::read_copy;
use super::items::JournalItem;
use super::{ChunkEntry, Entry, Journal, JournalError};
use crate::clock::to_local;
use crate::store::ObjectInfo;
use crate::store::commit::{Commit, MAX_RECORD_BYTES};
use crate::store::keys::{
    COMMIT_NAMESPACE, RECORD_NAMESPACE, STAGING_NAMESPACE, Slot, check_complete, is_reserved,
    parse_chunk_key,
};
use crate::store::stamp::{STAMP_NAMESPACE, Stamp, parse_stamp_key};

/// What an item's key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    /// Chunk `i` of the slot.
    Chunk(u64),
    /// A stamp of the slot (`None`: a key in the stamp namespace that is no stamp).
    Stamp(Option<Stamp>),
    /// The slot's commit marker.
    Marker,
    /// A key staged for the slot under this staging prefix (without leading `/` inside).
    Staging(String),
    /// The slot's commit record.
    Record,
}

/// A key of the listing that belongs to an item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemKey<'a> {
    /// The object as listed.
    pub object: &'a ObjectInfo,
    /// The slot it belongs to, without leading `/` (`etc-3-FULL`).
    pub slot: String,
    /// The slot number (`None`: too large for any cycle).
    pub number: Option<i64>,
    /// What the key is.
    pub kind: KeyKind,
}

/// A key of the item this host did not write, and why it says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The key as listed.
    pub key: String,
    /// The slot it concerns, without leading `/`.
    pub slot: String,
    /// Why it is not this host's.
    pub why: String,
}

/// The number part of `slot` (without leading `/`) when it is a slot of the item with
/// prefix part `part`: `PART-N-FULL`, `PART-N-DIFF` (typed) or `PART-N`.
pub fn slot_number<'s>(slot: &'s str, part: &str, typed: bool) -> Option<&'s str> {
    let rest = slot.strip_prefix(part.trim_start_matches('/'))?;
    let rest = rest.strip_prefix('-')?;
    let digits = if typed {
        rest.strip_suffix("-FULL").or(rest.strip_suffix("-DIFF"))?
    } else {
        rest
    };
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// The item parts a slot prefix can belong to: `PART-N-FULL`/`PART-N-DIFF` (a tree) or
/// `PART-N` (a database).
pub fn parts_of_slot(slot: &str) -> Vec<&str> {
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mut parts = Vec::new();
    if let Some(rest) = slot.strip_suffix("-FULL").or(slot.strip_suffix("-DIFF"))
        && let Some((part, n)) = rest.rsplit_once('-')
        && number(n)
    {
        parts.push(part);
    }
    if let Some((part, n)) = slot.rsplit_once('-')
        && number(n)
    {
        parts.push(part);
    }
    parts
}

/// The keys of `listing` that belong to `item`: its slots' chunks, stamps, commit
/// markers, staged keys and commit records, whatever their slot number.
pub fn item_keys<'a>(item: &JournalItem, listing: &'a [ObjectInfo]) -> Vec<ItemKey<'a>> {
    listing
        .iter()
        .filter_map(|o| {
            let (slot, kind) = classify(&o.key)?;
            let slot = slot.trim_start_matches('/');
            let number = slot_number(slot, &item.part, item.typed)?;
            Some(ItemKey {
                object: o,
                slot: slot.to_owned(),
                number: number.parse().ok(),
                kind,
            })
        })
        .collect()
}

/// The slot a key concerns (as the key spells it) and what it is.
fn classify(key: &str) -> Option<(&str, KeyKind)> {
    if !is_reserved(key) {
        let (prefix, index) = parse_chunk_key(key)?;
        return Some((prefix, KeyKind::Chunk(index)));
    }
    if let Some(slot) = key.strip_prefix(COMMIT_NAMESPACE) {
        return Some((slot, KeyKind::Marker));
    }
    if let Some(slot) = key.strip_prefix(RECORD_NAMESPACE) {
        return Some((slot, KeyKind::Record));
    }
    if let Some(rest) = key.strip_prefix(STAMP_NAMESPACE) {
        let (slot, _) = rest.rsplit_once('@')?;
        return Some((slot, KeyKind::Stamp(parse_stamp_key(key).map(|(_, s)| s))));
    }
    let rest = key.strip_prefix(STAGING_NAMESPACE)?;
    let staged = parse_chunk_key(rest).map_or(rest, |(p, _)| p);
    let (slot, run) = staged.rsplit_once('/')?;
    let prefix = format!("{STAGING_NAMESPACE}{}/{run}", slot.trim_start_matches('/'));
    Some((slot, KeyKind::Staging(prefix)))
}

/// The journal's slot entries by slot without leading `/`.
pub fn by_slot(journal: &Journal) -> BTreeMap<&str, &Entry> {
    journal
        .slots
        .iter()
        .map(|(s, e)| (s.trim_start_matches('/'), e))
        .collect()
}

/// Every key of the item in `keys` the journal does not account for. A commit marker is
/// this host's when DiffDir holds its copy (`pending` gives the copy's commit by slot,
/// without leading `/`); while such a commit is under way, the slot's chunks it rewrites,
/// its stamp and its record are this host's too.
pub fn tampered(
    journal: &Journal,
    keys: &[ItemKey<'_>],
    pending: &dyn Fn(&str) -> Option<Commit>,
) -> Vec<Finding> {
    let entries = by_slot(journal);
    let staging: BTreeSet<String> = journal
        .staging
        .iter()
        .map(|s| {
            let rest = s.strip_prefix(STAGING_NAMESPACE).unwrap_or(s);
            format!("{STAGING_NAMESPACE}{}", rest.trim_start_matches('/'))
        })
        .collect();
    let not_ours = "not written by this host".to_owned();
    keys.iter()
        .filter_map(|k| {
            let entry = entries.get(k.slot.as_str());
            let commit = pending(&k.slot);
            let committing = match (&k.kind, &commit) {
                (KeyKind::Chunk(i), Some(c)) => *i < c.chunks,
                (KeyKind::Stamp(Some(s)), Some(c)) => c.stamp.is_none_or(|cs| cs == *s),
                (KeyKind::Record, Some(c)) => c.lock.is_some(),
                (KeyKind::Staging(p), Some(c)) => {
                    let rest = c
                        .staging
                        .strip_prefix(STAGING_NAMESPACE)
                        .unwrap_or(&c.staging);
                    *p == format!("{STAGING_NAMESPACE}{}", rest.trim_start_matches('/'))
                }
                _ => false,
            };
            if committing {
                return None;
            }
            let why = match &k.kind {
                KeyKind::Chunk(i) => match entry {
                    None => Some(not_ours.clone()),
                    Some(e) => match usize::try_from(*i).ok().and_then(|i| e.chunks.get(i)) {
                        None => Some(format!(
                            "{not_ours} (it wrote {} chunks of this slot)",
                            e.chunks.len()
                        )),
                        Some(ChunkEntry {
                            etag: Some(wrote), ..
                        }) => match &k.object.etag {
                            Some(listed) if listed != wrote => Some(format!(
                                "{not_ours}: its ETag is {listed}, this host wrote {wrote}"
                            )),
                            _ => None,
                        },
                        Some(_) => None,
                    },
                },
                KeyKind::Stamp(stamp) => (stamp.is_none() || entry.and_then(|e| e.stamp) != *stamp)
                    .then(|| not_ours.clone()),
                KeyKind::Marker => commit.is_none().then(|| {
                    format!(
                        "{not_ours} (a commit marker DiffDir holds no copy of; it is not finished)"
                    )
                }),
                KeyKind::Staging(prefix) => (!staging.contains(prefix)).then(|| not_ours.clone()),
                KeyKind::Record if k.object.size > MAX_RECORD_BYTES => Some(format!(
                    "{not_ours}: it holds {} bytes, more than a commit record's {MAX_RECORD_BYTES}",
                    k.object.size
                )),
                KeyKind::Record => (!entry.is_some_and(|e| e.record)).then(|| not_ours.clone()),
            }?;
            Some(Finding {
                key: k.object.key.clone(),
                slot: k.slot.clone(),
                why,
            })
        })
        .collect()
}

/// Whether a slot number is outside the item's cycle (or too large to be any).
pub fn out_of_cycle(item: &JournalItem, number: Option<i64>) -> bool {
    match (number, item.bound) {
        (None, _) => true,
        (Some(n), Some(bound)) => n >= bound,
        (Some(_), None) => false,
    }
}

/// `listing` without the keys of `items` whose slot number is outside the item's cycle:
/// what a real run plans with (they are reported, `review`, and otherwise ignored).
pub fn within_cycles(items: &[JournalItem], listing: &[ObjectInfo]) -> Vec<ObjectInfo> {
    let outside: BTreeSet<&str> = items
        .iter()
        .flat_map(|item| {
            item_keys(item, listing)
                .into_iter()
                .filter(|k| out_of_cycle(item, k.number))
                .map(|k| k.object.key.as_str())
        })
        .collect();
    listing
        .iter()
        .filter(|o| !outside.contains(o.key.as_str()))
        .cloned()
        .collect()
}

/// The item's keys outside its cycle, as listed.
pub fn out_of_cycle_keys(item: &JournalItem, keys: &[ItemKey<'_>]) -> Vec<String> {
    keys.iter()
        .filter(|k| out_of_cycle(item, k.number))
        .map(|k| k.object.key.clone())
        .collect()
}

/// The journal a run starts for an item: the item's in-cycle slots as the bucket holds
/// them now, each marked adopted (their chunks while contiguous from 0, their newest
/// stamp, their record), so that the next runs report only what changes after today.
pub fn adopt(item: &JournalItem, keys: &[ItemKey<'_>]) -> Journal {
    let mut journal = Journal::default();
    let mut chunks: BTreeMap<&str, BTreeMap<u64, &ObjectInfo>> = BTreeMap::new();
    for k in keys.iter().filter(|k| !out_of_cycle(item, k.number)) {
        let entry = journal
            .slots
            .entry(format!("{}{}", leading(&item.part), k.slot))
            .or_insert_with(|| Entry {
                slot_type: slot_type_of(&k.slot),
                stamp: None,
                chunks: Vec::new(),
                record: false,
                adopted: true,
                signature: None,
            });
        match &k.kind {
            KeyKind::Chunk(i) => {
                chunks.entry(&k.slot).or_default().insert(*i, k.object);
            }
            KeyKind::Stamp(Some(s))
                if entry
                    .stamp
                    .is_none_or(|old| (old.time, old.seq) < (s.time, s.seq)) =>
            {
                entry.stamp = Some(*s);
            }
            KeyKind::Record => entry.record = k.object.size <= MAX_RECORD_BYTES,
            _ => {}
        }
    }
    for (slot, listed) in chunks {
        let key = format!("{}{slot}", leading(&item.part));
        if let Some(entry) = journal.slots.get_mut(&key) {
            entry.chunks = listed
                .iter()
                .enumerate()
                .take_while(|(pos, (i, _))| *pos as u64 == **i)
                .map(|(_, (_, o))| ChunkEntry {
                    etag: o.etag.clone(),
                    version: None,
                })
                .collect();
        }
    }
    journal
}

/// `/` when the logical part starts with one (the journal keeps logical slot keys).
fn leading(part: &str) -> &'static str {
    if part.starts_with('/') { "/" } else { "" }
}

fn slot_type_of(slot: &str) -> Option<crate::plan::schedule::SlotType> {
    use crate::plan::schedule::SlotType;
    if slot.ends_with("-FULL") {
        Some(SlotType::Full)
    } else if slot.ends_with("-DIFF") {
        Some(SlotType::Diff)
    } else {
        None
    }
}

/// The item's slots (as listed in `slots`) this host backed up on `today` (local date)
/// by its journal, and that the bucket still holds complete and as written. A slot
/// someone else wrote today is not among them: the run backs the item up.
pub fn done_today(
    item: &JournalItem,
    journal: &Journal,
    slots: &[Slot],
    today: Date,
) -> BTreeSet<String> {
    let entries = by_slot(journal);
    slots
        .iter()
        .filter(|s| {
            let trimmed = s.prefix.trim_start_matches('/');
            slot_number(trimmed, &item.part, item.typed).is_some()
                && check_complete(s).is_ok()
                && !s.staged
                && entries
                    .get(trimmed)
                    .is_some_and(|e| written_today(e, s, today))
        })
        .map(|s| s.prefix.clone())
        .collect()
}

/// The entry is this host's commit of `today` and the slot still holds what it wrote.
fn written_today(entry: &Entry, slot: &Slot, today: Date) -> bool {
    let Some(at) = entry.stamp.and_then(|s| s.instant()) else {
        return false;
    };
    !entry.adopted
        && to_local(at).date() == today
        && slot.chunks.len() == entry.chunks.len()
        && slot
            .chunks
            .iter()
            .zip(&entry.chunks)
            .all(|(listed, wrote)| match (&listed.etag, &wrote.etag) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            })
}

/// What the journal of one item says about the bucket.
#[derive(Debug)]
pub struct ItemReview {
    /// The item.
    pub item: JournalItem,
    /// Its journal (`Ok(None)`: none yet).
    pub journal: Result<Option<Journal>, JournalError>,
    /// Its keys this host did not write (empty without a journal).
    pub findings: Vec<Finding>,
    /// Its keys outside its cycle.
    pub out_of_cycle: Vec<String>,
    /// Its slots done today by the journal (`None` without a readable journal).
    pub done_today: Option<BTreeSet<String>>,
}

/// Reviews every item against `listing` (the bucket as listed; `slots` grouped from it).
pub fn review(
    items: &[JournalItem],
    diff_dir: &Path,
    listing: &[ObjectInfo],
    slots: &[Slot],
    today: Date,
) -> Vec<ItemReview> {
    items
        .iter()
        .map(|item| {
            let keys = item_keys(item, listing);
            let journal = Journal::read(&item.path);
            let pending = |slot: &str| {
                let logical = format!("{}{slot}", leading(&item.part));
                read_copy(diff_dir, &logical)
                    .ok()
                    .flatten()
                    .map(|c| c.commit)
            };
            let (findings, done) = match &journal {
                Ok(Some(j)) => (
                    tampered(j, &keys, &pending),
                    Some(done_today(item, j, slots, today)),
                ),
                _ => (Vec::new(), None),
            };
            ItemReview {
                out_of_cycle: out_of_cycle_keys(item, &keys),
                item: item.clone(),
                journal,
                findings,
                done_today: done,
            }
        })
        .collect()
}

/// `keys` for a log line: the first few, then how many more.
pub fn some_keys(keys: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = keys
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if keys.len() > SHOWN {
        text.push_str(&format!(" and {} more", keys.len() - SHOWN));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn obj(key: &str, etag: &str) -> ObjectInfo {
        ObjectInfo {
            key: key.into(),
            size: 1,
            last_modified: OffsetDateTime::UNIX_EPOCH,
            etag: Some(etag.into()),
        }
    }

    fn etc() -> JournalItem {
        JournalItem {
            label: "Directory /etc".into(),
            part: "/etc".into(),
            typed: true,
            path: "/nonexistent/_etc.diff.journal".into(),
            bound: Some(7),
        }
    }

    #[test]
    fn keys_of_the_item_and_only_its_own_are_judged() {
        let listing = vec![
            obj("/etc-3-FULL:00000000000000000000", "a"),
            obj("etc-4-DIFF:00000000000000000000", "b"),
            obj("/etc-9223372036854775807-DIFF:00000000000000000000", "c"),
            obj("/etc-99999999999999999999-DIFF:00000000000000000000", "c"),
            obj("/etc-1-3-FULL:00000000000000000000", "d"),
            obj("/etcx-3-FULL:00000000000000000000", "d"),
            obj("/etc-3-FULLx:00000000000000000000", "d"),
            obj(".s3napback/commit//etc-3-FULL", "e"),
            obj(
                ".s3napback/staging//etc-3-FULL/1-2:00000000000000000000",
                "f",
            ),
            obj(".s3napback/stamp//etc-3-FULL@5.1", "g"),
            obj(".s3napback/stamp//etc-3-FULL@junk", "g"),
            obj(".s3napback/record//etc-57-FULL", "h"),
            obj("MySQL/etc-3:00000000000000000000", "i"),
        ];
        let keys = item_keys(&etc(), &listing);
        let listed: Vec<&str> = keys.iter().map(|k| k.object.key.as_str()).collect();
        assert_eq!(
            listed,
            [
                "/etc-3-FULL:00000000000000000000",
                "etc-4-DIFF:00000000000000000000",
                "/etc-9223372036854775807-DIFF:00000000000000000000",
                "/etc-99999999999999999999-DIFF:00000000000000000000",
                ".s3napback/commit//etc-3-FULL",
                ".s3napback/staging//etc-3-FULL/1-2:00000000000000000000",
                ".s3napback/stamp//etc-3-FULL@5.1",
                ".s3napback/stamp//etc-3-FULL@junk",
                ".s3napback/record//etc-57-FULL",
            ]
        );
        assert_eq!(
            out_of_cycle_keys(&etc(), &keys),
            [
                "/etc-9223372036854775807-DIFF:00000000000000000000",
                "/etc-99999999999999999999-DIFF:00000000000000000000",
                ".s3napback/record//etc-57-FULL",
            ]
        );
        // an empty journal accounts for nothing
        let all = tampered(&Journal::default(), &keys, &|_| None);
        assert_eq!(all.len(), keys.len());
        assert!(
            all.iter()
                .all(|f| f.why.starts_with("not written by this host"))
        );
        // adopted, the in-cycle keys are accounted for but the marker and the staging
        let adopted = adopt(&etc(), &keys);
        let left: Vec<String> = tampered(&adopted, &keys, &|_| None)
            .into_iter()
            .map(|f| f.key)
            .collect();
        assert_eq!(
            left,
            [
                "/etc-9223372036854775807-DIFF:00000000000000000000",
                "/etc-99999999999999999999-DIFF:00000000000000000000",
                ".s3napback/commit//etc-3-FULL",
                ".s3napback/staging//etc-3-FULL/1-2:00000000000000000000",
                ".s3napback/stamp//etc-3-FULL@junk",
                ".s3napback/record//etc-57-FULL",
            ]
        );
        // a changed chunk is reported with both ETags
        let mut changed = listing.clone();
        changed[0].etag = Some("z".into());
        let keys = item_keys(&etc(), &changed);
        let f = tampered(&adopted, &keys, &|_| None);
        assert_eq!(
            f[0].why,
            "not written by this host: its ETag is z, this host wrote a"
        );
    }

    /// A record larger than 64 KiB is not adopted and is reported by its listed size.
    #[test]
    fn oversized_records_are_reported_by_their_listed_size() {
        let mut record = obj(".s3napback/record//etc-3-FULL", "r");
        record.size = MAX_RECORD_BYTES + 1;
        let listing = [record];
        let keys = item_keys(&etc(), &listing);
        let adopted = adopt(&etc(), &keys);
        let f = tampered(&adopted, &keys, &|_| None);
        assert_eq!(
            f[0].why,
            "not written by this host: it holds 65537 bytes, more than a commit record's 65536"
        );
    }
}
