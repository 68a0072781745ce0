//! A slot's own backup time: when the run that wrote the slot's stream started (its
//! clock, `--now` in tests), kept beside the slot as the key of an empty object,
//! `.s3napback/stamp/PREFIX@SECONDS.SEQ` (`.start` appended for a DIFF slot that holds a
//! full dump). A listing reads every slot's backup time at once, without a request per
//! slot.
//!
//! LastModified is no order of backups: a commit finished late by a later run re-dates the
//! slot (CopyObject), and it has one-second resolution. Restore, `status` and "already
//! done today" order and date a stamped slot by its stamp, and only unstamped slots
//! (js3tream era, older runs) by LastModified (see [`Slot::backup_time`](super::keys::Slot)).
//!
//! A stamp counts for a slot only while no chunk of the slot is newer than the stamp
//! object (a writer that does not stamp, such as the legacy tool, rewrote it since); the
//! commit writes the stamp after the copies and removes the slot's older stamps before it
//! removes its marker.

use time::OffsetDateTime;

use super::ObjectInfo;

/// Where the stamps of slots are kept.
pub const STAMP_NAMESPACE: &str = ".s3napback/stamp/";

/// The suffix of a stamp that marks a chain start in a DIFF slot.
const START: &str = ".start";

/// What a stamp records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    /// The run's clock when it backed the slot up (Unix seconds).
    pub time: i64,
    /// Greater than every stamp the run's listing showed: orders two backups of one
    /// second (a rerun at the same `--now`).
    pub seq: u64,
    /// The stream is a full dump although the slot is a DIFF (tar with no snapshot file,
    /// Subversion from revision 0): a chain can start from it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub chain_start: bool,
}

impl Stamp {
    /// The backup time as an instant (`None` for a time outside what dates can hold).
    pub fn instant(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp(self.time).ok()
    }
}

/// The stamp key of `slot` (logical prefix).
pub fn stamp_key(slot: &str, stamp: &Stamp) -> String {
    format!(
        "{}{}.{}{}",
        stamp_dir(slot),
        stamp.time,
        stamp.seq,
        if stamp.chain_start { START } else { "" }
    )
}

/// The listing prefix of every stamp of `slot` (logical prefix).
pub fn stamp_dir(slot: &str) -> String {
    format!("{STAMP_NAMESPACE}{slot}@")
}

/// A stamp key (as listed) taken apart: the slot as the key spells it (leading `/`
/// trimmed, since servers that strip them from slots keep them inside this key) and the
/// stamp. Anything else, or numbers out of range, is `None`.
pub fn parse_stamp_key(key: &str) -> Option<(&str, Stamp)> {
    let (slot, tail) = key.strip_prefix(STAMP_NAMESPACE)?.rsplit_once('@')?;
    let (tail, chain_start) = match tail.strip_suffix(START) {
        Some(t) => (t, true),
        None => (tail, false),
    };
    let (time, seq) = tail.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(time) || !digits(seq) {
        return None;
    }
    let stamp = Stamp {
        time: time.parse().ok()?,
        seq: seq.parse().ok()?,
        chain_start,
    };
    stamp.instant()?;
    Some((slot.trim_start_matches('/'), stamp))
}

/// The sequence number for a new stamp: one more than the highest in `listing`.
pub fn next_seq(listing: &[ObjectInfo]) -> u64 {
    listing
        .iter()
        .filter_map(|o| parse_stamp_key(&o.key))
        .map(|(_, s)| s.seq)
        .max()
        .map_or(1, |s| s.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_hostile_keys_are_ignored() {
        let s = Stamp {
            time: 1_790_000_000,
            seq: 7,
            chain_start: false,
        };
        let key = stamp_key("/etc-3-FULL", &s);
        assert_eq!(key, ".s3napback/stamp//etc-3-FULL@1790000000.7");
        assert_eq!(parse_stamp_key(&key), Some(("etc-3-FULL", s)));
        let start = Stamp {
            chain_start: true,
            ..s
        };
        let key = stamp_key("MySQL/a@b-1", &start);
        assert_eq!(parse_stamp_key(&key), Some(("MySQL/a@b-1", start)));
        for bad in [
            ".s3napback/stamp//etc-3-FULL@99999999999999999999.1",
            ".s3napback/stamp//etc-3-FULL@9223372036854775807.1",
            ".s3napback/stamp//etc-3-FULL@1.",
            ".s3napback/stamp//etc-3-FULL@-1.2",
            ".s3napback/stamp//etc-3-FULL@1.2.end",
            ".s3napback/stamp//etc-3-FULL",
            "/etc-3-FULL@1.2",
        ] {
            assert_eq!(parse_stamp_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_next_seq_follows_the_highest_and_never_overflows() {
        let at = |key: &str| ObjectInfo {
            key: key.into(),
            size: 0,
            last_modified: OffsetDateTime::UNIX_EPOCH,
            etag: None,
        };
        assert_eq!(next_seq(&[]), 1);
        let listing = [
            at(".s3napback/stamp//a-1-FULL@5.3"),
            at(".s3napback/stamp//a-2-DIFF@6.9"),
            at("/a-1-FULL:00000000000000000000"),
        ];
        assert_eq!(next_seq(&listing), 10);
        let max = format!(".s3napback/stamp//a-1-FULL@5.{}", u64::MAX);
        assert_eq!(next_seq(&[at(&max)]), u64::MAX);
    }
}
