//! The journal's text: one line per fact, readable with `less`.
//!
//! ```text
//! s3napback journal 1
//! # item /etc: the keys s3napback wrote to the bucket for it (doc/operating.md)
//! slot /etc-3-FULL type=FULL seq=12 time=1790000000 at=2026-09-21T14:13:20Z start=0 chunks=2 record=0 adopted=0 signature=-
//! chunk 0 etag=0123456789abcdef0123456789abcdef version=-
//! chunk 1 etag=fedcba9876543210fedcba9876543210 version=-
//! staging .s3napback/staging//etc-4-DIFF/1790086400000000000-4242
//! end
//! ```
//!
//! Slot keys and values are percent-encoded where they hold a space, `%`, a control or a
//! non-ASCII character; `-` is "none". The `end` line makes a cut file detectable. Unknown
//! `name=value` fields are ignored (a later version may add some); unknown lines are not.

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{ChunkEntry, Entry, Journal, MAX_LINE_BYTES};
use crate::plan::schedule::SlotType;
use crate::store::stamp::Stamp;

/// The first line of every journal.
pub const HEADER: &str = "s3napback journal 1";

/// What is encoded in a token.
const ENCODED: &AsciiSet = &CONTROLS.add(b' ').add(b'%').add(b'=');

fn encode(value: &str) -> String {
    if value == "-" || value.is_empty() {
        return value.replace('-', "%2D");
    }
    utf8_percent_encode(value, ENCODED).to_string()
}

fn encode_opt(value: Option<&str>) -> String {
    value.map_or_else(|| "-".to_owned(), encode)
}

fn flag(b: bool) -> &'static str {
    if b { "1" } else { "0" }
}

/// The journal as text (`item` only in the comment line).
pub fn render(journal: &Journal, item: &str) -> String {
    let mut out = format!(
        "{HEADER}\n# item {}: the keys s3napback wrote to the bucket for it (doc/operating.md)\n",
        encode(item)
    );
    for (slot, e) in &journal.slots {
        let at = e
            .stamp
            .and_then(|s| s.instant())
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| "-".into());
        let (seq, time, start) = match e.stamp {
            Some(s) => (
                s.seq.to_string(),
                s.time.to_string(),
                flag(s.chain_start).to_owned(),
            ),
            None => ("-".into(), "-".into(), "0".into()),
        };
        out.push_str(&format!(
            "slot {} type={} seq={seq} time={time} at={at} start={start} chunks={} record={} adopted={} signature={}\n",
            encode(slot),
            e.slot_type.map_or("-", SlotType::as_str),
            e.chunks.len(),
            flag(e.record),
            flag(e.adopted),
            encode_opt(e.signature.as_deref()),
        ));
        for (i, c) in e.chunks.iter().enumerate() {
            out.push_str(&format!(
                "chunk {i} etag={} version={}\n",
                encode_opt(c.etag.as_deref()),
                encode_opt(c.version.as_deref())
            ));
        }
    }
    for staging in &journal.staging {
        out.push_str(&format!("staging {}\n", encode(staging)));
    }
    out.push_str("end\n");
    out
}

/// An error: the 1-based line and what is wrong with it.
type Bad = (usize, String);

fn decode(token: &str) -> Result<String, String> {
    percent_decode_str(token)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| format!("{token:?} is not percent-encoded UTF-8"))
}

fn decode_opt(token: &str) -> Result<Option<String>, String> {
    match token {
        "-" => Ok(None),
        t => decode(t).map(Some),
    }
}

/// The `name=value` fields of a line.
fn fields<'a>(tokens: impl Iterator<Item = &'a str>) -> Result<BTreeMap<&'a str, &'a str>, String> {
    tokens
        .map(|t| {
            t.split_once('=')
                .ok_or_else(|| format!("{t:?} is not NAME=VALUE"))
        })
        .collect()
}

fn field<'a>(f: &BTreeMap<&str, &'a str>, name: &str) -> Result<&'a str, String> {
    f.get(name).copied().ok_or_else(|| format!("no {name}="))
}

fn number<T: std::str::FromStr>(f: &BTreeMap<&str, &str>, name: &str) -> Result<T, String> {
    let v = field(f, name)?;
    v.parse()
        .map_err(|_| format!("{name}={v:?} is not a number in range"))
}

fn boolean(f: &BTreeMap<&str, &str>, name: &str) -> Result<bool, String> {
    match field(f, name)? {
        "0" => Ok(false),
        "1" => Ok(true),
        v => Err(format!("{name}={v:?} is neither 0 nor 1")),
    }
}

/// A `slot` line's slot key, entry and the chunk count it announces.
fn slot_line<'a>(
    mut tokens: impl Iterator<Item = &'a str>,
) -> Result<(String, Entry, u64), String> {
    let slot = decode(tokens.next().ok_or("no slot key")?)?;
    let f = fields(tokens)?;
    let slot_type = match field(&f, "type")? {
        "FULL" => Some(SlotType::Full),
        "DIFF" => Some(SlotType::Diff),
        "-" => None,
        t => return Err(format!("type={t:?} is not FULL, DIFF or -")),
    };
    let stamp = match (field(&f, "seq")?, field(&f, "time")?) {
        ("-", "-") => None,
        _ => {
            let stamp = Stamp {
                time: number(&f, "time")?,
                seq: number(&f, "seq")?,
                chain_start: boolean(&f, "start")?,
            };
            stamp.instant().ok_or("time= is out of range")?;
            Some(stamp)
        }
    };
    let entry = Entry {
        slot_type,
        stamp,
        chunks: Vec::new(),
        record: boolean(&f, "record")?,
        adopted: boolean(&f, "adopted")?,
        signature: decode_opt(field(&f, "signature")?)?,
    };
    Ok((slot, entry, number(&f, "chunks")?))
}

/// Parses a journal; an error names the first bad line.
pub fn parse(bytes: &[u8]) -> Result<Journal, Bad> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        (line.saturating_add(1), "not UTF-8 text".to_owned())
    })?;
    let mut journal = Journal::default();
    // the slot being read: its key, entry and announced chunk count
    let mut open: Option<(String, Entry, u64)> = None;
    let mut ended = false;
    let mut last = 0;
    let close = |open: &mut Option<(String, Entry, u64)>, journal: &mut Journal| {
        if let Some((slot, entry, announced)) = open.take() {
            if entry.chunks.len() as u64 != announced {
                return Err(format!(
                    "slot {slot} announces {announced} chunks but lists {}",
                    entry.chunks.len()
                ));
            }
            if journal.slots.insert(slot.clone(), entry).is_some() {
                return Err(format!("slot {slot} appears twice"));
            }
        }
        Ok(())
    };
    for (n, line) in text.lines().enumerate() {
        let n = n.saturating_add(1);
        last = n;
        let bad = |what: String| (n, what);
        if line.len() > MAX_LINE_BYTES {
            return Err(bad(format!("longer than {MAX_LINE_BYTES} bytes")));
        }
        if n == 1 {
            if line != HEADER {
                return Err(bad(format!("not {HEADER:?}")));
            }
            continue;
        }
        if ended {
            return Err(bad("text after the end line".into()));
        }
        if line.starts_with('#') {
            continue;
        }
        let mut tokens = line.split(' ');
        match tokens.next() {
            Some("slot") => {
                close(&mut open, &mut journal).map_err(bad)?;
                open = Some(slot_line(tokens).map_err(bad)?);
            }
            Some("chunk") => {
                let Some((_, entry, _)) = &mut open else {
                    return Err(bad("a chunk line outside a slot".into()));
                };
                let index: usize = tokens
                    .next()
                    .and_then(|t| t.parse().ok())
                    .ok_or_else(|| bad("no chunk index".into()))?;
                if index != entry.chunks.len() {
                    return Err(bad(format!(
                        "chunk {index} where chunk {} was due",
                        entry.chunks.len()
                    )));
                }
                let f = fields(tokens).map_err(bad)?;
                let chunk = ChunkEntry {
                    etag: field(&f, "etag").and_then(decode_opt).map_err(bad)?,
                    version: field(&f, "version").and_then(decode_opt).map_err(bad)?,
                };
                entry.chunks.push(chunk);
            }
            Some("staging") => {
                close(&mut open, &mut journal).map_err(bad)?;
                let prefix = tokens
                    .next()
                    .ok_or_else(|| bad("no staging prefix".into()))
                    .and_then(|t| decode(t).map_err(bad))?;
                journal.staging.insert(prefix);
            }
            Some("end") => {
                close(&mut open, &mut journal).map_err(bad)?;
                ended = true;
            }
            _ => return Err(bad(format!("unknown line {:?}", truncated(line)))),
        }
    }
    if last == 0 {
        return Err((1, "empty".into()));
    }
    if !ended {
        return Err((last, "no end line after it (the file was cut)".into()));
    }
    Ok(journal)
}

fn truncated(line: &str) -> String {
    line.chars().take(60).collect()
}

/// The human-readable time of a stamp (for messages).
pub fn stamp_time(stamp: &Stamp) -> String {
    stamp
        .instant()
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(&Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_values_round_trip_and_junk_is_refused() {
        let mut j = Journal::default();
        j.slots.insert(
            "/a b%c=d\u{e9}-1-DIFF".into(),
            Entry {
                slot_type: Some(SlotType::Diff),
                stamp: Some(Stamp {
                    time: 0,
                    seq: u64::MAX,
                    chain_start: true,
                }),
                chunks: vec![ChunkEntry {
                    etag: Some("-".into()),
                    version: Some("".into()),
                }],
                record: false,
                adopted: false,
                signature: None,
            },
        );
        let text = render(&j, "/a b");
        assert_eq!(parse(text.as_bytes()), Ok(j));
        for (junk, line) in [
            ("", 1),
            ("s3napback journal 2\nend\n", 1),
            ("s3napback journal 1\nchunk 0 etag=- version=-\nend\n", 2),
            ("s3napback journal 1\nend\nend\n", 3),
            (
                "s3napback journal 1\nslot /x-1-FULL type=FULL seq=1 time=99999999999999999 start=0 chunks=0 record=0 adopted=0 signature=-\nend\n",
                2,
            ),
            (
                "s3napback journal 1\nslot /x-1-FULL type=FULL seq=- time=- start=0 chunks=18446744073709551615 record=0 adopted=0 signature=-\nend\n",
                3,
            ),
            ("s3napback journal 1\nbogus\nend\n", 2),
        ] {
            assert_eq!(
                parse(junk.as_bytes()).map_err(|e| e.0),
                Err(line),
                "{junk:?}"
            );
        }
    }
}
