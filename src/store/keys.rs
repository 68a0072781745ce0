//! js3tream object key naming: `PREFIX:` + the chunk index as 20 zero-padded digits.
//!
//! A *slot* is the set of chunk objects sharing one PREFIX (LEGACY.md §6 and §8). It is
//! complete when its indices run 0..n without gaps, every chunk but the last has the size
//! of chunk 0 (the ChunkSize it was written with, whatever ChunkSize says today) and the
//! last is shorter (a stream whose length is a multiple of ChunkSize ends with a
//! zero-length object). A broken upload leaves only full-size chunks, so completeness
//! needs no extra object.
//!
//! Keys under [`RESERVED_NAMESPACE`] are the tool's own bookkeeping, never slots: streams
//! being uploaded ([`staging_prefix`]) and commits in progress ([`commit_marker_key`]).
//! A slot named by a commit marker is being replaced and counts as incomplete until the
//! commit is finished.

use std::collections::BTreeMap;
use std::fmt;

use time::OffsetDateTime;

use super::ObjectInfo;
use super::stamp::{Stamp, parse_stamp_key};

/// Keys starting with this are never slots (every server spells it alike: no leading `/`).
pub const RESERVED_NAMESPACE: &str = ".s3napback/";
/// Where a run uploads a stream before it replaces a slot.
pub const STAGING_NAMESPACE: &str = ".s3napback/staging/";
/// Where a run records the commit of a staged stream into a slot.
pub const COMMIT_NAMESPACE: &str = ".s3napback/commit/";

/// True for a key (logical or as listed) in the reserved namespace.
pub fn is_reserved(key: &str) -> bool {
    key.starts_with(RESERVED_NAMESPACE)
}

/// The chunk prefix under which run `run_id` stages a new stream for slot `prefix`:
/// `.s3napback/staging/PREFIX/RUN-ID` (its chunks are `...:NNNN` like any slot's). Every
/// run's staging of one slot lists under [`staging_dir`]`(prefix)`.
pub fn staging_prefix(prefix: &str, run_id: &str) -> String {
    format!("{}{run_id}", staging_dir(prefix))
}

/// The listing prefix of every staged stream of slot `prefix`, whichever run wrote it.
pub fn staging_dir(prefix: &str) -> String {
    format!("{STAGING_NAMESPACE}{prefix}/")
}

/// Where locked commits keep their records (`store::commit::Record`).
pub const RECORD_NAMESPACE: &str = ".s3napback/record/";

/// The record of slot `prefix`'s locked commits: `.s3napback/record/PREFIX`.
pub fn record_key(prefix: &str) -> String {
    format!("{RECORD_NAMESPACE}{prefix}")
}

/// The commit marker of slot `prefix`: `.s3napback/commit/PREFIX`.
pub fn commit_marker_key(prefix: &str) -> String {
    format!("{COMMIT_NAMESPACE}{prefix}")
}

/// True when `listed` (a marker key as the server lists it) is the commit marker of the
/// slot listed as `slot_prefix`. Servers that strip leading `/` strip it from the slot
/// but not from inside the marker key, so both are compared without leading `/`.
pub fn marker_names_slot(listed: &str, slot_prefix: &str) -> bool {
    listed
        .strip_prefix(COMMIT_NAMESPACE)
        .is_some_and(|rest| rest.trim_start_matches('/') == slot_prefix.trim_start_matches('/'))
}

/// Number of digits of the chunk index in a key.
pub const INDEX_DIGITS: usize = 20;

/// The object key of chunk `index` of `prefix`: `PREFIX:` + 20 zero-padded digits.
///
/// ```text
/// chunk_key("/etc-3-FULL", 1) == "/etc-3-FULL:00000000000000000001"
/// ```
pub fn chunk_key(prefix: &str, index: u64) -> String {
    format!("{prefix}:{index:0width$}", width = INDEX_DIGITS)
}

/// Splits a chunk key into its PREFIX and index: the key must end with `:` followed by
/// exactly 20 ASCII digits. The prefix may itself contain `:` (MySQL sockets do).
pub fn parse_chunk_key(key: &str) -> Option<(&str, u64)> {
    let colon = key.len().checked_sub(INDEX_DIGITS + 1)?;
    // A multibyte character straddling the split point cannot be a valid key.
    if !key.is_char_boundary(colon) || key.as_bytes()[colon] != b':' {
        return None;
    }
    let digits = &key[colon + 1..];
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let index = digits.parse::<u64>().ok()?;
    Some((&key[..colon], index))
}

/// The chunk objects of one PREFIX, as found in a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    /// The PREFIX as the listing spells it (see `ReadStore::physical_key`).
    pub prefix: String,
    /// The chunks, sorted by index.
    pub chunks: Vec<ObjectInfo>,
    /// The newest LastModified of the chunks.
    pub last_modified: OffsetDateTime,
    /// Total size of the chunks in bytes.
    pub size: u64,
    /// A commit marker names this slot: a replacement was interrupted, the chunks may mix
    /// two streams until the next backup run finishes the commit. False when the marker's
    /// complete staged stream stands in (see [`Slot::staged`]).
    pub commit_pending: bool,
    /// The chunks are the complete staged stream of an interrupted commit (keys under
    /// `.s3napback/staging/`): the slot's newest complete backup until the next backup
    /// run finishes copying it into the slot's own keys.
    pub staged: bool,
    /// The slot's stamp (see [`super::stamp`]), when it has one that still holds.
    pub stamp: Option<Stamp>,
}

impl Slot {
    /// When the slot's stream was backed up: its stamp's time, else (js3tream era, older
    /// runs) its newest LastModified.
    pub fn backup_time(&self) -> OffsetDateTime {
        self.stamp
            .and_then(|s| s.instant())
            .unwrap_or(self.last_modified)
    }

    /// The chunk index of every chunk, in order.
    pub fn indices(&self) -> impl Iterator<Item = u64> + '_ {
        self.chunks
            .iter()
            .filter_map(|c| parse_chunk_key(&c.key).map(|(_, i)| i))
    }
}

/// Groups a listing into slots by PREFIX, sorted by prefix; each slot's chunks are sorted
/// by index. Keys that are not chunk keys, and the reserved namespace, are ignored; a
/// slot named by a commit marker is flagged `commit_pending`.
pub fn group_slots(objects: impl IntoIterator<Item = ObjectInfo>) -> Vec<Slot> {
    let mut by_prefix: BTreeMap<String, Vec<(u64, ObjectInfo)>> = BTreeMap::new();
    let mut staged: BTreeMap<String, Vec<(u64, ObjectInfo)>> = BTreeMap::new();
    let mut markers = Vec::new();
    // slot (without leading `/`) -> its newest stamp and the stamp object's LastModified
    let mut stamps: BTreeMap<String, (OffsetDateTime, Stamp)> = BTreeMap::new();
    for obj in objects {
        if is_reserved(&obj.key) {
            if obj.key.starts_with(COMMIT_NAMESPACE) {
                markers.push(obj.key);
            } else if let Some((slot, stamp)) = parse_stamp_key(&obj.key) {
                let entry = (obj.last_modified, stamp);
                let newest = stamps.entry(slot.to_owned()).or_insert(entry);
                if (entry.0, entry.1.time, entry.1.seq) > (newest.0, newest.1.time, newest.1.seq) {
                    *newest = entry;
                }
            } else if let Some((prefix, index)) = parse_chunk_key(&obj.key)
                && prefix.starts_with(STAGING_NAMESPACE)
            {
                staged
                    .entry(prefix.to_owned())
                    .or_default()
                    .push((index, obj));
            }
            continue;
        }
        if let Some((prefix, index)) = parse_chunk_key(&obj.key) {
            by_prefix
                .entry(prefix.to_owned())
                .or_default()
                .push((index, obj));
        }
    }
    let staged: Vec<Slot> = staged
        .into_iter()
        .map(|(prefix, chunks)| slot_of(prefix, chunks, false))
        .filter(|s| check_complete(s).is_ok())
        .collect();
    // the newest complete stream staged for a slot whose marker is there stands in for it
    let stand_in = |slot: &str| {
        staged
            .iter()
            .filter(|s| staged_for(&s.prefix) == Some(slot.trim_start_matches('/')))
            .max_by_key(|s| s.last_modified)
    };
    let faithful = by_prefix.is_empty() || by_prefix.keys().any(|p| p.starts_with('/'));
    // a slot written for the first time whose every copy failed has only its marker
    let unborn: Vec<Slot> = markers
        .iter()
        .filter_map(|m| m.strip_prefix(COMMIT_NAMESPACE))
        .filter(|p| {
            !by_prefix
                .keys()
                .any(|s| marker_names_slot(&commit_marker_key(p), s))
        })
        .filter_map(|p| {
            let listed = if faithful {
                p
            } else {
                p.trim_start_matches('/')
            };
            stand_in(p).map(|stream| Slot {
                prefix: listed.to_owned(),
                staged: true,
                ..stream.clone()
            })
        })
        .collect();
    let mut slots: Vec<Slot> = by_prefix
        .into_iter()
        .map(|(prefix, chunks)| {
            let commit_pending = markers.iter().any(|m| marker_names_slot(m, &prefix));
            let mut slot = slot_of(prefix, chunks, commit_pending);
            // a stamp holds while no chunk is newer (a writer that does not stamp)
            slot.stamp = stamps
                .get(slot.prefix.trim_start_matches('/'))
                .filter(|(written, _)| slot.last_modified <= *written)
                .map(|(_, stamp)| *stamp);
            match stand_in(&slot.prefix).filter(|_| commit_pending) {
                Some(stream) => Slot {
                    prefix: slot.prefix,
                    staged: true,
                    ..stream.clone()
                },
                None => slot,
            }
        })
        .collect();
    slots.extend(unborn);
    slots.sort_by(|a, b| a.prefix.cmp(&b.prefix));
    slots
}

/// The slot (without leading `/`) a staging chunk prefix `.s3napback/staging/PREFIX/RUN`
/// belongs to.
fn staged_for(staging: &str) -> Option<&str> {
    let (slot, _run) = staging.strip_prefix(STAGING_NAMESPACE)?.rsplit_once('/')?;
    Some(slot.trim_start_matches('/'))
}

/// A slot of `chunks` (index, object) under `prefix`.
fn slot_of(prefix: String, mut chunks: Vec<(u64, ObjectInfo)>, commit_pending: bool) -> Slot {
    chunks.sort_by_key(|(i, _)| *i);
    let chunks: Vec<ObjectInfo> = chunks.into_iter().map(|(_, o)| o).collect();
    let last_modified = chunks
        .iter()
        .map(|c| c.last_modified)
        .max()
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    // sizes come from the bucket: their sum saturates instead of overflowing
    let size = chunks
        .iter()
        .fold(0u64, |sum, c| sum.saturating_add(c.size));
    Slot {
        prefix,
        chunks,
        last_modified,
        size,
        commit_pending,
        staged: false,
        stamp: None,
    }
}

/// Why a slot is not a complete js3tream upload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotProblem {
    /// The slot has no chunk at all.
    #[error("no chunks")]
    Empty,
    /// A chunk index is missing from the run 0..n.
    #[error("chunk {index} is missing")]
    MissingIndex {
        /// The first missing index.
        index: u64,
    },
    /// The same index appears twice (two spellings of one key).
    #[error("chunk {index} appears more than once")]
    DuplicateIndex {
        /// The repeated index.
        index: u64,
    },
    /// A commit marker names the slot: its replacement was interrupted.
    #[error(
        "its replacement was interrupted (commit marker present; the next backup run finishes it)"
    )]
    CommitPending,
    /// A chunk before the last does not have the size of chunk 0.
    #[error("chunk {index} has {size} bytes, expected {expected}")]
    WrongSize {
        /// The chunk index.
        index: u64,
        /// Its size.
        size: u64,
        /// The size of chunk 0 (the ChunkSize the slot was written with).
        expected: u64,
    },
    /// Every chunk has the size of chunk 0: the upload stopped before its final short chunk.
    #[error("no final short chunk after chunk {last_index} (upload incomplete)")]
    NoFinalShortChunk {
        /// The index of the last chunk present.
        last_index: u64,
    },
}

/// Checks that `slot` is a complete upload, judged from the slot alone: no pending
/// commit, indices 0..n contiguous, every chunk but the last the size of chunk 0 (the
/// ChunkSize it was written with), the last shorter. A single chunk is its own last
/// chunk: complete whatever its size (an empty stream is `verify`'s concern).
pub fn check_complete(slot: &Slot) -> Result<(), SlotProblem> {
    if slot.commit_pending {
        return Err(SlotProblem::CommitPending);
    }
    let Some(first) = slot.chunks.first() else {
        return Err(SlotProblem::Empty);
    };
    let chunk_size = first.size;
    let n = slot.chunks.len();
    for (pos, chunk) in slot.chunks.iter().enumerate() {
        let expected_index = pos as u64;
        let index = parse_chunk_key(&chunk.key).map_or(u64::MAX, |(_, i)| i);
        if index < expected_index {
            return Err(SlotProblem::DuplicateIndex { index });
        }
        if index > expected_index {
            return Err(SlotProblem::MissingIndex {
                index: expected_index,
            });
        }
        let last = pos + 1 == n;
        if !last && chunk.size != chunk_size {
            return Err(SlotProblem::WrongSize {
                index,
                size: chunk.size,
                expected: chunk_size,
            });
        }
        if last && n > 1 {
            if chunk.size == chunk_size {
                return Err(SlotProblem::NoFinalShortChunk { last_index: index });
            }
            if chunk.size > chunk_size {
                return Err(SlotProblem::WrongSize {
                    index,
                    size: chunk.size,
                    expected: chunk_size,
                });
            }
        }
    }
    Ok(())
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} chunks, {} bytes)",
            self.prefix,
            self.chunks.len(),
            self.size
        )
    }
}

/// How a server spells the keys it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStyle {
    /// Keys are stored exactly as written (AWS, moto).
    Faithful,
    /// Leading `/` are stripped (Garage, MinIO).
    StripLeadingSlashes,
    /// Leading `/` are stripped and runs of `/` collapse to one.
    StripAndCollapseSlashes,
}

impl KeyStyle {
    /// How a server of this style spells `logical`.
    pub fn apply(self, logical: &str) -> String {
        match self {
            KeyStyle::Faithful => logical.to_owned(),
            KeyStyle::StripLeadingSlashes => logical.trim_start_matches('/').to_owned(),
            KeyStyle::StripAndCollapseSlashes => {
                let mut out = String::with_capacity(logical.len());
                for c in logical.trim_start_matches('/').chars() {
                    if !(c == '/' && out.ends_with('/')) {
                        out.push(c);
                    }
                }
                out
            }
        }
    }

    /// Which style turned the written key `written` into the listed key `listed`.
    pub(super) fn classify(written: &str, listed: &str) -> Option<KeyStyle> {
        [
            KeyStyle::Faithful,
            KeyStyle::StripLeadingSlashes,
            KeyStyle::StripAndCollapseSlashes,
        ]
        .into_iter()
        .find(|style| style.apply(written) == listed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(key: &str, size: u64, secs: i64) -> ObjectInfo {
        ObjectInfo {
            key: key.to_owned(),
            size,
            last_modified: OffsetDateTime::from_unix_timestamp(secs).unwrap(),
            etag: None,
        }
    }

    fn slot(sizes: &[(u64, u64)]) -> Slot {
        let objs = sizes
            .iter()
            .map(|&(i, s)| obj(&chunk_key("/etc-3-FULL", i), s, 0));
        group_slots(objs).pop().unwrap()
    }

    #[test]
    fn chunk_keys_are_twenty_digits() {
        assert_eq!(
            chunk_key("/etc-3-FULL", 0),
            "/etc-3-FULL:00000000000000000000"
        );
        assert_eq!(
            chunk_key("PostgreSQL/-3", 12),
            "PostgreSQL/-3:00000000000000000012"
        );
        assert_eq!(chunk_key("x", u64::MAX), "x:18446744073709551615");
    }

    #[test]
    fn parse_round_trips_and_splits_at_last_colon() {
        for prefix in [
            "/etc-3-FULL",
            "MySQL//var/run/mysqld/mysqld.sock/shop-4",
            "MySQL/--all-databases-5",
            "PostgreSQL/-3",
            "a:b:c",
            "",
            "with space-1-DIFF",
        ] {
            for i in [0, 1, 99, 123_456_789] {
                assert_eq!(parse_chunk_key(&chunk_key(prefix, i)), Some((prefix, i)));
            }
        }
        assert_eq!(
            parse_chunk_key("a:00000000000000000001:00000000000000000002"),
            Some(("a:00000000000000000001", 2))
        );
    }

    #[test]
    fn parse_rejects_non_chunk_keys() {
        for key in [
            "",
            "/etc-3-FULL",
            "/etc-3-FULL:0",
            "/etc-3-FULL:0000000000000000000",    // 19 digits
            "/etc-3-FULL0:00000000000000000000x", // trailing junk
            "/etc-3-FULL:0000000000000000000a",
            "/etc-3-FULL;00000000000000000000",
            "/etc:99999999999999999999", // overflows u64
            "é:0000000000000000000",
        ] {
            assert_eq!(parse_chunk_key(key), None, "{key:?}");
        }
        // 21 digits: the prefix takes the first one
        assert_eq!(parse_chunk_key("p:000000000000000000001"), None);
    }

    #[test]
    fn grouping_sorts_and_sums() {
        let slots = group_slots(vec![
            obj("/b-1-FULL:00000000000000000001", 5, 20),
            obj("/a-1-FULL:00000000000000000000", 10, 5),
            obj("/b-1-FULL:00000000000000000000", 10, 30),
            obj("not a chunk", 1, 100),
            obj("/b-1-FULL:00000000000000000002", 0, 10),
        ]);
        assert_eq!(slots.len(), 2);
        assert_eq!(slots[0].prefix, "/a-1-FULL");
        assert_eq!(slots[1].prefix, "/b-1-FULL");
        assert_eq!(slots[1].size, 15);
        assert_eq!(slots[1].indices().collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(slots[1].last_modified.unix_timestamp(), 30);
        assert_eq!(slots[1].to_string(), "/b-1-FULL (3 chunks, 15 bytes)");
    }

    #[test]
    fn complete_slots() {
        assert_eq!(check_complete(&slot(&[(0, 0)])), Ok(()));
        assert_eq!(check_complete(&slot(&[(0, 999)])), Ok(()));
        assert_eq!(check_complete(&slot(&[(0, 1000), (1, 0)])), Ok(()));
        assert_eq!(
            check_complete(&slot(&[(0, 1000), (1, 1000), (2, 1)])),
            Ok(())
        );
    }

    #[test]
    fn completeness_follows_chunk_zero_not_todays_chunk_size() {
        // Written with ChunkSize 700 or 5000: judged by what the slot says.
        assert_eq!(check_complete(&slot(&[(0, 700), (1, 700), (2, 3)])), Ok(()));
        assert_eq!(check_complete(&slot(&[(0, 5000), (1, 4999)])), Ok(()));
        assert_eq!(
            check_complete(&slot(&[(0, 700), (1, 700)])),
            Err(SlotProblem::NoFinalShortChunk { last_index: 1 })
        );
    }

    #[test]
    fn incomplete_slots_name_the_chunk() {
        assert_eq!(
            check_complete(&slot(&[(0, 1000), (1, 1000)])),
            Err(SlotProblem::NoFinalShortChunk { last_index: 1 })
        );
        assert_eq!(
            check_complete(&slot(&[(1, 10)])),
            Err(SlotProblem::MissingIndex { index: 0 })
        );
        assert_eq!(
            check_complete(&slot(&[(0, 1000), (2, 10)])),
            Err(SlotProblem::MissingIndex { index: 1 })
        );
        assert_eq!(
            check_complete(&slot(&[(0, 1000), (1, 999), (2, 10)])),
            Err(SlotProblem::WrongSize {
                index: 1,
                size: 999,
                expected: 1000
            })
        );
        assert_eq!(
            check_complete(&slot(&[(0, 1000), (1, 1001)])),
            Err(SlotProblem::WrongSize {
                index: 1,
                size: 1001,
                expected: 1000
            })
        );
        assert_eq!(
            check_complete(&slot(&[(0, 1000), (0, 1000), (1, 3)])),
            Err(SlotProblem::DuplicateIndex { index: 0 })
        );
        let empty = Slot {
            prefix: "x".into(),
            chunks: vec![],
            last_modified: OffsetDateTime::UNIX_EPOCH,
            size: 0,
            commit_pending: false,
            staged: false,
            stamp: None,
        };
        assert_eq!(check_complete(&empty), Err(SlotProblem::Empty));
        assert_eq!(
            SlotProblem::MissingIndex { index: 3 }.to_string(),
            "chunk 3 is missing"
        );
    }

    #[test]
    fn the_reserved_namespace_is_no_slot_and_markers_flag_their_slot() {
        let staged = staging_prefix("/etc-3-FULL", "r1-2");
        assert_eq!(staged, ".s3napback/staging//etc-3-FULL/r1-2");
        assert!(staged.starts_with(&staging_dir("/etc-3-FULL")));
        let slots = group_slots(vec![
            obj(&chunk_key(&staged, 0), 1000, 0),
            obj(&chunk_key(&staged, 1), 10, 0),
            obj(&chunk_key("/etc-3-FULL", 0), 5, 0),
            obj(&chunk_key("/etc-4-DIFF", 0), 5, 0),
            obj(&commit_marker_key("/etc-3-FULL"), 80, 0),
        ]);
        let names: Vec<&str> = slots.iter().map(|s| s.prefix.as_str()).collect();
        assert_eq!(names, ["/etc-3-FULL", "/etc-4-DIFF"]);
        // the marker names a complete staged stream: it stands in for the slot
        assert!(slots[0].staged && !slots[0].commit_pending);
        assert_eq!(slots[0].chunks[0].key, chunk_key(&staged, 0));
        assert_eq!(check_complete(&slots[0]), Ok(()));
        assert!(!slots[1].commit_pending);
        assert_eq!(check_complete(&slots[1]), Ok(()));
        // a staged stream that is not complete does not: the slot stays pending
        let slots = group_slots(vec![
            obj(&chunk_key(&staged, 0), 1000, 0),
            obj(&chunk_key(&staged, 1), 1000, 0),
            obj(&chunk_key("/etc-3-FULL", 0), 5, 0),
            obj(&commit_marker_key("/etc-3-FULL"), 80, 0),
        ]);
        assert!(slots[0].commit_pending && !slots[0].staged);
        assert_eq!(check_complete(&slots[0]), Err(SlotProblem::CommitPending));
        // a slot never written before, every copy failed: the marker and the stream only
        let slots = group_slots(vec![
            obj(&chunk_key(&staged, 0), 1000, 0),
            obj(&chunk_key(&staged, 1), 10, 0),
            obj(&chunk_key("/etc-4-DIFF", 0), 5, 0),
            obj(&commit_marker_key("/etc-3-FULL"), 80, 0),
        ]);
        let names: Vec<&str> = slots.iter().map(|s| s.prefix.as_str()).collect();
        assert_eq!(names, ["/etc-3-FULL", "/etc-4-DIFF"]);
        assert!(slots[0].staged);
        // Servers that strip the leading `/` list the slot as `etc-3-FULL`.
        assert!(marker_names_slot(
            ".s3napback/commit//etc-3-FULL",
            "etc-3-FULL"
        ));
        assert!(marker_names_slot(
            ".s3napback/commit/etc-3-FULL",
            "etc-3-FULL"
        ));
        assert!(!marker_names_slot(
            ".s3napback/commit//etc-3-FULL",
            "/etc-4-DIFF"
        ));
        assert!(is_reserved(".s3napback/anything"));
        assert!(!is_reserved("/.s3napback/x"));
    }

    #[test]
    fn key_styles() {
        let k = "MySQL//var/run/x.sock/db-4:00000000000000000000";
        assert_eq!(KeyStyle::Faithful.apply("/etc-3-FULL:0"), "/etc-3-FULL:0");
        assert_eq!(
            KeyStyle::StripLeadingSlashes.apply("//etc-3-FULL:0"),
            "etc-3-FULL:0"
        );
        assert_eq!(KeyStyle::StripLeadingSlashes.apply(k), k);
        assert_eq!(
            KeyStyle::StripAndCollapseSlashes.apply(k),
            "MySQL/var/run/x.sock/db-4:00000000000000000000"
        );
        assert_eq!(
            KeyStyle::classify("/p//x", "/p//x"),
            Some(KeyStyle::Faithful)
        );
        assert_eq!(
            KeyStyle::classify("/p//x", "p//x"),
            Some(KeyStyle::StripLeadingSlashes)
        );
        assert_eq!(
            KeyStyle::classify("/p//x", "p/x"),
            Some(KeyStyle::StripAndCollapseSlashes)
        );
        assert_eq!(KeyStyle::classify("/p//x", "q"), None);
    }
}
