//! One slot's stream: its chunks fetched in index order (a background thread keeps a couple
//! ahead), each checked against its listed size and, when the ETag is a plain MD5, its MD5.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use crate::store::keys::parse_chunk_key;
use crate::store::{ObjectInfo, ReadStore, is_plain_md5, md5_hex};
use bytes::{Buf, Bytes};

/// How many chunks are fetched ahead of the reader.
const PREFETCH: usize = 2;

/// Checks a downloaded chunk against its listing entry: size, and MD5 when the ETag is
/// a plain MD5 (32 hex digits; multipart ETags carry a `-N` suffix and are skipped).
pub fn check_chunk(info: &ObjectInfo, data: &[u8]) -> Result<(), String> {
    if data.len() as u64 != info.size {
        return Err(format!(
            "chunk {} has {} bytes, the listing says {}",
            info.key,
            data.len(),
            info.size
        ));
    }
    if let Some(etag) = &info.etag {
        let etag = etag.trim_matches('"').to_ascii_lowercase();
        if is_plain_md5(&etag) {
            let md5 = md5_hex(data);
            if md5 != etag {
                return Err(format!(
                    "chunk {} is corrupted: its MD5 {md5} does not match its ETag {etag}",
                    info.key
                ));
            }
        }
    }
    Ok(())
}

/// Reads the chunks of one slot in order as one stream. Errors name the chunk.
pub struct ChunkReader {
    rx: Receiver<Result<Bytes, String>>,
    current: Bytes,
    finished: bool,
}

impl ChunkReader {
    /// Starts fetching `chunks` (sorted by index, as [`crate::store::keys::Slot`] holds
    /// them) from `store`.
    pub fn new(store: Arc<dyn ReadStore>, chunks: Vec<ObjectInfo>) -> ChunkReader {
        let (tx, rx) = sync_channel(PREFETCH);
        std::thread::spawn(move || {
            for (pos, info) in chunks.iter().enumerate() {
                let result = fetch(store.as_ref(), pos as u64, info);
                let failed = result.is_err();
                if tx.send(result).is_err() || failed {
                    return;
                }
            }
        });
        ChunkReader {
            rx,
            current: Bytes::new(),
            finished: false,
        }
    }

    /// The first bytes of the stream, without consuming them (fewer at its very end).
    pub fn peek(&mut self) -> io::Result<&[u8]> {
        while self.current.is_empty() && !self.finished {
            self.next_chunk()?;
        }
        Ok(&self.current)
    }

    fn next_chunk(&mut self) -> io::Result<()> {
        match self.rx.recv() {
            Ok(Ok(data)) => self.current = data,
            Ok(Err(e)) => {
                self.finished = true;
                return Err(io::Error::other(e));
            }
            Err(_) => self.finished = true,
        }
        Ok(())
    }
}

fn fetch(store: &dyn ReadStore, pos: u64, info: &ObjectInfo) -> Result<Bytes, String> {
    match parse_chunk_key(&info.key) {
        Some((_, index)) if index == pos => {}
        _ => return Err(format!("chunk {pos} is missing (next is {})", info.key)),
    }
    let data = store
        .get_sized(&info.key, info.size)
        .map_err(|e| format!("chunk {pos}: {}", crate::store::error_chain(&e)))?;
    check_chunk(info, &data)?;
    Ok(data)
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            if self.finished {
                return Ok(0);
            }
            self.next_chunk()?;
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

/// What a slot's stream holds, judged by its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// gzip (`1f 8b`): stored without encryption.
    Gzip,
    /// An OpenPGP packet (tag bit 0x80 set): encrypted.
    OpenPgp,
    /// Anything else (an empty stream included).
    Unknown,
}

/// Judges a stream by its first bytes.
pub fn detect(head: &[u8]) -> Content {
    match head {
        [0x1f, 0x8b, ..] | [0x1f] => Content::Gzip,
        [b, ..] if b & 0x80 != 0 => Content::OpenPgp,
        _ => Content::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn info(size: u64, etag: Option<&str>) -> ObjectInfo {
        ObjectInfo {
            key: "/x-1-FULL:00000000000000000002".into(),
            size,
            last_modified: OffsetDateTime::UNIX_EPOCH,
            etag: etag.map(str::to_string),
        }
    }

    #[test]
    fn md5_is_checked_against_plain_etags() {
        // md5("abc")
        let good = "900150983cd24fb0d6963f7d28e17f72";
        assert_eq!(check_chunk(&info(3, Some(good)), b"abc"), Ok(()));
        assert_eq!(check_chunk(&info(3, None), b"abc"), Ok(()));
        assert_eq!(check_chunk(&info(3, Some("abcd-2")), b"abc"), Ok(()));
        let err = check_chunk(&info(3, Some(good)), b"abd").unwrap_err();
        assert!(
            err.contains("/x-1-FULL:00000000000000000002") && err.contains("corrupted"),
            "{err}"
        );
        let err = check_chunk(&info(4, Some(good)), b"abc").unwrap_err();
        assert!(err.contains("3 bytes"), "{err}");
    }

    #[test]
    fn content_detection() {
        assert_eq!(detect(&[0x1f, 0x8b, 8]), Content::Gzip);
        assert_eq!(detect(&[0x85, 0x02]), Content::OpenPgp);
        assert_eq!(detect(&[0xc1]), Content::OpenPgp);
        assert_eq!(detect(b"plain"), Content::Unknown);
        assert_eq!(detect(b""), Content::Unknown);
    }
}
