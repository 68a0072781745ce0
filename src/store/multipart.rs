//! Large chunks in bounded memory: a chunk larger than [`MULTIPART_ABOVE`] is uploaded as
//! a multipart upload of [`part_size`] parts (each with its Content-MD5) and read back in
//! ranges of [`PIECE_SIZE`] bytes, its MD5 computed as the pieces pass
//! ([`ChunkDigest`]) and checked at the end against the MD5 stored with it. The key
//! layout stays the legacy's: one object per js3tream chunk.

use md5::{Digest, Md5};

use super::{Fetched, Md5Mismatch, judge_md5};

/// Chunks up to this size are one PUT held whole in memory; larger ones are multipart.
/// With the backup's four PUTs in flight and one chunk being filled, a run holds at most
/// 5 × 32 MiB of chunk data.
pub const MULTIPART_ABOVE: u64 = 32 << 20;

/// The size of a part (the last one of a chunk is shorter), and of a ranged read.
pub const PIECE_SIZE: u64 = 16 << 20;

/// S3's limit on the parts of one upload.
pub const MAX_PARTS: u64 = 10_000;

/// The part size for chunks of `chunk_size` bytes: [`PIECE_SIZE`], larger only when a
/// chunk would need more than [`MAX_PARTS`] parts (never below the 5 GiB ChunkSize limit).
pub fn part_size(chunk_size: u64) -> u64 {
    PIECE_SIZE.max(chunk_size.div_ceil(MAX_PARTS))
}

/// Whether a chunk of `chunk_size` bytes is stored as a multipart upload.
pub fn is_multipart(chunk_size: u64) -> bool {
    chunk_size > MULTIPART_ABOVE
}

/// The byte ranges (start, length) an object of `size` bytes is read in: the whole
/// object when it is at most [`MULTIPART_ABOVE`], else pieces of [`PIECE_SIZE`].
pub fn piece_ranges(size: u64) -> Vec<(u64, u64)> {
    if !is_multipart(size) {
        return vec![(0, size)];
    }
    (0..size.div_ceil(PIECE_SIZE))
        .map(|i| {
            let start = i * PIECE_SIZE;
            (start, PIECE_SIZE.min(size - start))
        })
        .collect()
}

/// One uploaded part: its number (from 1) and the ETag the server gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedPart {
    pub number: i32,
    pub etag: String,
}

/// A multipart upload started and neither completed nor aborted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenUpload {
    /// The key as the server lists it.
    pub key: String,
    pub upload_id: String,
}

/// The MD5 of a chunk read in pieces, and what its answers said to check it against.
#[derive(Default)]
pub struct ChunkDigest {
    md5: Md5,
    etag: Option<String>,
    etag_is_md5: bool,
    stored_md5: Option<String>,
    bytes: u64,
}

/// Why the pieces of one chunk do not make up the chunk as stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PieceMismatch {
    /// A piece came from another version of the object than the first piece.
    #[error("it changed while it was read (ETag {first}, then {now})")]
    Changed {
        /// The ETag of the first piece's answer.
        first: String,
        /// The ETag of a later piece's answer.
        now: String,
    },
    /// The whole chunk's MD5 is not what was stored.
    #[error(transparent)]
    Md5(#[from] Md5Mismatch),
}

impl ChunkDigest {
    /// Adds the next piece (in order); a piece of another version of the object is refused.
    pub fn add(&mut self, piece: &Fetched) -> Result<(), PieceMismatch> {
        if self.bytes == 0 && self.etag.is_none() {
            self.etag = piece.etag.clone();
            self.etag_is_md5 = piece.etag_is_md5;
            self.stored_md5 = piece.stored_md5.clone();
        } else if let (Some(first), Some(now)) = (&self.etag, &piece.etag)
            && first != now
        {
            return Err(PieceMismatch::Changed {
                first: first.clone(),
                now: now.clone(),
            });
        }
        self.md5.update(&piece.data);
        self.bytes += piece.data.len() as u64;
        Ok(())
    }

    /// Checks the whole chunk: its MD5 against the MD5 stored with it, and against its
    /// ETag (`listed`, else the answers') when that can be an MD5.
    pub fn finish(self, listed: Option<&str>) -> Result<(), PieceMismatch> {
        let md5 = super::hex(&self.md5.finalize());
        let etag = listed.or(self.etag.as_deref());
        match judge_md5(|| md5, self.stored_md5.as_deref(), etag, self.etag_is_md5) {
            Some(mismatch) => Err(mismatch.into()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn parts_and_pieces() {
        assert_eq!(part_size(25_000_000), PIECE_SIZE);
        assert_eq!(part_size(5 << 30), PIECE_SIZE);
        assert!(part_size(1 << 40).div_ceil(1) * MAX_PARTS >= 1 << 40);
        assert!(!is_multipart(MULTIPART_ABOVE) && is_multipart(MULTIPART_ABOVE + 1));
        assert_eq!(piece_ranges(0), [(0, 0)]);
        assert_eq!(piece_ranges(25_000_000), [(0, 25_000_000)]);
        let n = MULTIPART_ABOVE + 5;
        assert_eq!(
            piece_ranges(n),
            [
                (0, PIECE_SIZE),
                (PIECE_SIZE, PIECE_SIZE),
                (2 * PIECE_SIZE, 5)
            ]
        );
    }

    fn piece(data: &'static [u8], etag: &str, stored: Option<&str>) -> Fetched {
        Fetched {
            etag: Some(etag.into()),
            stored_md5: stored.map(str::to_owned),
            ..Fetched::unhashed(Bytes::from_static(data))
        }
    }

    #[test]
    fn a_chunk_read_in_pieces_is_checked_whole() {
        let md5_abc = "900150983cd24fb0d6963f7d28e17f72";
        let multipart_etag = "0123456789abcdef0123456789abcdef-2";
        let mut d = ChunkDigest::default();
        d.add(&piece(b"ab", multipart_etag, Some(md5_abc))).unwrap();
        d.add(&piece(b"c", multipart_etag, Some(md5_abc))).unwrap();
        d.finish(Some(multipart_etag)).unwrap();

        let mut d = ChunkDigest::default();
        d.add(&piece(b"ab", multipart_etag, Some(md5_abc))).unwrap();
        d.add(&piece(b"d", multipart_etag, Some(md5_abc))).unwrap();
        let err = d.finish(Some(multipart_etag)).unwrap_err().to_string();
        assert!(err.contains("stored with it at upload"), "{err}");

        // a plain ETag is checked too
        let mut d = ChunkDigest::default();
        d.add(&piece(b"abd", md5_abc, None)).unwrap();
        let err = d.finish(None).unwrap_err().to_string();
        assert!(err.contains(&format!("ETag {md5_abc}")), "{err}");

        let mut d = ChunkDigest::default();
        d.add(&piece(b"ab", "aaaa-2", None)).unwrap();
        let err = d.add(&piece(b"c", "bbbb-2", None)).unwrap_err();
        assert!(
            err.to_string().contains("changed while it was read"),
            "{err}"
        );
    }
}
