//! One slot's stream: its chunks fetched in parallel a few ahead of the reader and handed
//! over in index order, each checked against its listed size and its MD5: against the MD5
//! stored with it at upload, and against its ETag when that can be an MD5.
//!
//! A chunk larger than [`crate::store::multipart::MULTIPART_ABOVE`] is fetched in ranged pieces (so memory does not
//! grow with ChunkSize): its MD5 is computed as the pieces pass and checked before its
//! last piece is handed over, so a corrupted chunk fails the stream before it ends.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use crate::store::keys::parse_chunk_key;
use crate::store::multipart::{ChunkDigest, PieceMismatch, piece_ranges};
use crate::store::{Fetched, Md5Mismatch, ObjectInfo, ReadStore, StoreError};
use bytes::{Buf, Bytes};

/// How many chunks (or pieces of a large chunk) are downloading or waiting at once (the
/// one being read included): enough parallel GETs to hide each request's latency, and at
/// most this many in memory.
pub const PREFETCH: usize = 4;

/// Why a chunk of a slot's stream could not be delivered. Each names the chunk; a store
/// failure keeps its [`StoreError`] as the source (so a missing object stays NotFound).
#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    /// The listing has a gap: chunk `pos` is not there.
    #[error("chunk {pos} is missing (next is {next})")]
    Missing {
        /// The missing index.
        pos: u64,
        /// The key listed in its place.
        next: String,
    },
    /// The store could not deliver it (after its retries).
    #[error("chunk {pos}")]
    Store {
        /// The chunk index.
        pos: u64,
        /// What the store said.
        #[source]
        error: Box<StoreError>,
    },
    /// The body does not have the listed size.
    #[error("chunk {key} has {got} bytes, the listing says {listed}")]
    Size {
        /// The chunk key as listed.
        key: String,
        /// Bytes received.
        got: u64,
        /// Bytes listed.
        listed: u64,
    },
    /// The body's MD5 is not the MD5 stored with it, or not its (plain MD5) ETag.
    #[error("chunk {key} is corrupted: {mismatch}")]
    Corrupted {
        /// The chunk key as listed.
        key: String,
        /// How the MD5 differs.
        mismatch: Md5Mismatch,
    },
    /// The pieces of a large chunk came from different versions of it.
    #[error("chunk {key} is unusable: {mismatch}")]
    Changed {
        /// The chunk key as listed.
        key: String,
        /// What the answers said.
        mismatch: PieceMismatch,
    },
    /// The download thread ended without a result.
    #[error("a chunk download ended without a result")]
    Lost,
}

impl ChunkError {
    /// True when the chunk is not in the bucket (a gap, or gone since the listing).
    pub fn is_missing(&self) -> bool {
        match self {
            ChunkError::Missing { .. } => true,
            ChunkError::Store { error, .. } => matches!(**error, StoreError::NotFound { .. }),
            _ => false,
        }
    }
}

/// Checks a downloaded chunk against its listing entry and what its GET said: size, the
/// MD5 stored with it at upload when it has one, and its listed ETag when that can be an
/// MD5 (32 hex digits of an object not encrypted with SSE-KMS/SSE-C; multipart ETags carry
/// a `-N` suffix and are skipped). The MD5 is the store's when it computed one on the way,
/// so a chunk is hashed once.
pub fn check_chunk(info: &ObjectInfo, data: &Fetched) -> Result<(), ChunkError> {
    if data.len() as u64 != info.size {
        return Err(ChunkError::Size {
            key: info.key.clone(),
            got: data.len() as u64,
            listed: info.size,
        });
    }
    match data.md5_mismatch(info.etag.as_deref()) {
        Some(mismatch) => Err(ChunkError::Corrupted {
            key: info.key.clone(),
            mismatch,
        }),
        None => Ok(()),
    }
}

/// What one download delivers: a whole chunk already checked, or a piece of a large one.
enum Delivery {
    Checked(Bytes),
    Piece {
        piece: Fetched,
        /// The chunk the piece belongs to, and whether it is its last piece.
        info: Arc<ObjectInfo>,
        last: bool,
    },
}

/// One download, delivered once (by the thread that fetched it).
type Pending = Receiver<Result<Delivery, ChunkError>>;

/// Reads the chunks of one slot in order as one stream. Errors name the chunk.
///
/// A dispatcher thread walks the chunks (and the pieces of large ones) in order; for each
/// it queues a `Pending` in a bounded queue (which blocks it while `ahead - 1` wait
/// unread) and then starts that download on a thread of its own. The reader takes the
/// pendings in queue order, so the stream comes out in key order whatever order the GETs
/// finish in, and at most `ahead` downloads are running or held at once.
pub struct ChunkReader {
    pending: Receiver<Pending>,
    current: Bytes,
    digest: ChunkDigest,
    finished: bool,
}

impl ChunkReader {
    /// Starts fetching `chunks` (sorted by index, as [`crate::store::keys::Slot`] holds
    /// them) from `store`, [`PREFETCH`] at a time.
    pub fn new(store: Arc<dyn ReadStore>, chunks: Vec<ObjectInfo>) -> ChunkReader {
        ChunkReader::with_prefetch(store, chunks, PREFETCH)
    }

    /// Like [`ChunkReader::new`] with at most `ahead` (at least 1) downloads at once; 1
    /// fetches each chunk only when the reader needs it.
    pub fn with_prefetch(
        store: Arc<dyn ReadStore>,
        chunks: Vec<ObjectInfo>,
        ahead: usize,
    ) -> ChunkReader {
        let (queue, pending) = sync_channel::<Pending>(ahead.max(1) - 1);
        std::thread::spawn(move || {
            for (pos, info) in chunks.into_iter().enumerate() {
                let pos = pos as u64;
                let ranges = piece_ranges(info.size);
                let pieces = ranges.len();
                let info = Arc::new(info);
                for (n, (start, len)) in ranges.into_iter().enumerate() {
                    let (deliver, chunk) = sync_channel(1);
                    if queue.send(chunk).is_err() {
                        return; // the reader is gone
                    }
                    if let Err(e) = check_position(pos, &info) {
                        let _ = deliver.send(Err(e));
                        return;
                    }
                    let (store, info) = (store.clone(), info.clone());
                    std::thread::spawn(move || {
                        let got = if pieces == 1 {
                            fetch(store.as_ref(), pos, &info).map(Delivery::Checked)
                        } else {
                            fetch_piece(store.as_ref(), pos, &info, start, len).map(|piece| {
                                Delivery::Piece {
                                    piece,
                                    info: info.clone(),
                                    last: n + 1 == pieces,
                                }
                            })
                        };
                        let _ = deliver.send(got);
                    });
                }
            }
        });
        ChunkReader {
            pending,
            current: Bytes::new(),
            digest: ChunkDigest::default(),
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
        // let go of the spent chunk before waiting for the next one
        self.current = Bytes::new();
        let delivered = match self.pending.recv() {
            Ok(chunk) => chunk.recv().unwrap_or(Err(ChunkError::Lost)),
            Err(_) => {
                self.finished = true;
                return Ok(());
            }
        };
        match delivered.and_then(|d| self.take(d)) {
            Ok(data) => self.current = data,
            Err(e) => {
                self.finished = true;
                return Err(io::Error::other(e));
            }
        }
        Ok(())
    }

    /// The bytes of a delivery; the last piece of a large chunk only once the whole chunk
    /// checks.
    fn take(&mut self, delivery: Delivery) -> Result<Bytes, ChunkError> {
        let (piece, info, last) = match delivery {
            Delivery::Checked(data) => return Ok(data),
            Delivery::Piece { piece, info, last } => (piece, info, last),
        };
        let failed = |mismatch| match mismatch {
            PieceMismatch::Md5(mismatch) => ChunkError::Corrupted {
                key: info.key.clone(),
                mismatch,
            },
            mismatch => ChunkError::Changed {
                key: info.key.clone(),
                mismatch,
            },
        };
        self.digest.add(&piece).map_err(failed)?;
        if last {
            std::mem::take(&mut self.digest)
                .finish(info.etag.as_deref())
                .map_err(failed)?;
        }
        Ok(piece.data)
    }
}

/// The chunk at position `pos` of the slot must have index `pos`: a gap is a missing chunk.
fn check_position(pos: u64, info: &ObjectInfo) -> Result<(), ChunkError> {
    match parse_chunk_key(&info.key) {
        Some((_, index)) if index == pos => Ok(()),
        _ => Err(ChunkError::Missing {
            pos,
            next: info.key.clone(),
        }),
    }
}

fn fetch(store: &dyn ReadStore, pos: u64, info: &ObjectInfo) -> Result<Bytes, ChunkError> {
    let data = store
        .get_sized(&info.key, info.size)
        .map_err(|error| ChunkError::Store {
            pos,
            error: Box::new(error),
        })?;
    check_chunk(info, &data)?;
    Ok(data.data)
}

fn fetch_piece(
    store: &dyn ReadStore,
    pos: u64,
    info: &ObjectInfo,
    start: u64,
    len: u64,
) -> Result<Fetched, ChunkError> {
    store
        .get_range(&info.key, None, start, len)
        .map_err(|error| ChunkError::Store {
            pos,
            error: Box::new(error),
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn fetched(data: &'static [u8]) -> Fetched {
        Fetched::unhashed(Bytes::from_static(data))
    }

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
        assert!(check_chunk(&info(3, Some(good)), &fetched(b"abc")).is_ok());
        assert!(check_chunk(&info(3, None), &fetched(b"abc")).is_ok());
        assert!(check_chunk(&info(3, Some("abcd-2")), &fetched(b"abc")).is_ok());
        let err = check_chunk(&info(3, Some(good)), &fetched(b"abd"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/x-1-FULL:00000000000000000002") && err.contains("corrupted"),
            "{err}"
        );
        let err = check_chunk(&info(4, Some(good)), &fetched(b"abc")).unwrap_err();
        assert!(!err.is_missing());
        assert!(err.to_string().contains("3 bytes"), "{err}");
    }

    #[test]
    fn a_missing_chunk_stays_not_found() {
        let gap = check_position(1, &info(3, None)).unwrap_err();
        assert!(gap.is_missing(), "{gap}");
        let gone = ChunkError::Store {
            pos: 2,
            error: Box::new(StoreError::NotFound {
                bucket: "b".into(),
                key: "/x-1-FULL:00000000000000000002".into(),
            }),
        };
        assert!(gone.is_missing());
        // The cause is printed once: by the source chain, not by the text.
        let chain = format!("{:#}", anyhow::Error::new(gone));
        assert_eq!(chain.matches("no such object").count(), 1, "{chain}");
    }

    #[test]
    fn a_large_chunk_is_read_in_pieces_and_checked_whole() {
        use crate::store::Store;
        use crate::store::memory::MemoryStore;
        let size = crate::store::multipart::MULTIPART_ABOVE as usize + 9;
        let data: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
        let store = Arc::new(MemoryStore::new("b"));
        store
            .put("/x:00000000000000000000", data.clone().into())
            .unwrap();
        let listed = store.list("/x").unwrap();
        let mut out = Vec::new();
        ChunkReader::new(store.clone(), listed.clone())
            .read_to_end(&mut out)
            .unwrap();
        assert!(out == data, "the stream read in pieces is the chunk");

        // a listed ETag the bytes do not match fails the stream before its last piece
        let mut wrong = listed;
        wrong[0].etag = Some(crate::store::md5_hex(b"other"));
        let mut out = Vec::new();
        let err = ChunkReader::new(store, wrong)
            .read_to_end(&mut out)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/x:00000000000000000000 is corrupted"),
            "{err}"
        );
        assert!(out.len() < size, "the last piece was withheld");
    }
}
