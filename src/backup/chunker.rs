//! Cuts a byte stream into js3tream chunks and uploads them (LEGACY.md §8).
//!
//! The stream is cut into chunks of exactly ChunkSize bytes (short reads are filled up),
//! each stored as `PREFIX:` + 20-digit index. The last chunk is shorter than ChunkSize;
//! a stream whose length is a multiple of ChunkSize (the empty one included) therefore
//! ends with one zero-length object. Up to `parallel` uploads run at once on scoped
//! threads; the reader hands each piece over a rendezvous channel, so at most
//! `parallel + 1` pieces are in memory.
//!
//! A piece is a whole chunk up to [`crate::store::multipart::MULTIPART_ABOVE`] bytes (one PUT); larger chunks are
//! multipart uploads (`parted`) whose pieces are parts of [`part_size`] bytes, so memory
//! does not grow with ChunkSize. The reader computes each such chunk's MD5 as it passes
//! and stores it with the chunk once the upload is complete.
//!
//! The final short chunk is held back ([`HeldBack`]): the caller stores it (or, for a
//! multipart one, completes its upload) only once every stage of the pipeline has exited
//! successfully, so a stream that died half-way never ends in the short chunk that makes
//! a slot look complete.

mod parted;

use std::io::{self, Read};
use std::sync::{Arc, Mutex, mpsc};

use bytes::Bytes;
use md5::{Digest, Md5};

use crate::store::keys::chunk_key;
use crate::store::multipart::{is_multipart, part_size};
use crate::store::{Store, StoreError};
use parted::{Job, PartedChunk, Uploads};

/// What an upload wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSummary {
    /// Number of objects written (the trailing short/zero-length one included).
    pub chunks: u64,
    /// Stream length in bytes.
    pub bytes: u64,
    /// The keys written, in index order.
    pub keys: Vec<String>,
}

/// Why an upload stopped. Objects already written stay; the caller deletes them.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// ChunkSize 0 cannot cut a stream.
    #[error("chunk size must be at least one byte")]
    ZeroChunkSize,
    /// The stream (usually a pipeline) failed; its own text is kept.
    #[error("reading the stream for {prefix} (chunk {index}, after {offset} bytes): {error}")]
    Read {
        /// The slot prefix.
        prefix: String,
        /// The chunk being filled.
        index: u64,
        /// Bytes read successfully before the error.
        offset: u64,
        /// The reader's error.
        error: io::Error,
    },
    /// A chunk could not be stored.
    #[error("uploading chunk {index} of {prefix}: {}", crate::store::error_chain(.error.as_ref()))]
    Put {
        /// The slot prefix.
        prefix: String,
        /// The chunk index.
        index: u64,
        /// The store's error (names bucket and key).
        error: Box<StoreError>,
    },
}

impl UploadError {
    /// The chunk index the error concerns, if any.
    pub fn chunk_index(&self) -> Option<u64> {
        match self {
            UploadError::ZeroChunkSize => None,
            UploadError::Read { index, .. } | UploadError::Put { index, .. } => Some(*index),
        }
    }
}

/// The final chunk held back: its bytes, or its multipart upload with every part stored.
#[derive(Debug)]
enum Held {
    Whole(Bytes),
    Parted {
        chunk: Arc<PartedChunk>,
        parts: usize,
        md5: String,
    },
}

/// The last, short chunk of a stream whose full chunks are stored: not stored yet.
#[derive(Debug)]
pub struct HeldBack {
    prefix: String,
    index: u64,
    held: Held,
    stream_bytes: u64,
}

impl HeldBack {
    /// The whole stream's length (the held chunk included).
    pub fn stream_bytes(&self) -> u64 {
        self.stream_bytes
    }

    /// The index the held chunk gets (the number of chunks already stored).
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Stores the held chunk as the final one; the summary covers the whole stream.
    pub fn store(self, store: &dyn Store) -> Result<UploadSummary, UploadError> {
        let key = chunk_key(&self.prefix, self.index);
        let stored = match self.held {
            Held::Whole(body) => {
                log::debug!("PUT {key} ({} bytes, the final chunk)", body.len());
                store.put(&key, body)
            }
            Held::Parted { chunk, parts, md5 } => {
                log::debug!("completing {key} ({parts} parts, the final chunk)");
                chunk.complete(store, parts, &md5)
            }
        };
        stored.map_err(|error| UploadError::Put {
            prefix: self.prefix.clone(),
            index: self.index,
            error: Box::new(error),
        })?;
        let chunks = self.index + 1;
        Ok(UploadSummary {
            chunks,
            bytes: self.stream_bytes,
            keys: (0..chunks).map(|i| chunk_key(&self.prefix, i)).collect(),
        })
    }

    /// Gives the held chunk up: a multipart upload is aborted (its parts deleted).
    pub fn discard(self, store: &dyn Store) {
        if let Held::Parted { chunk, .. } = self.held {
            chunk.abort(store);
        }
    }
}

/// Reads `reader` to its end and stores it as chunks `chunk_key(prefix, 0..)` of
/// `chunk_size` bytes, with up to `parallel` (at least 1) uploads in flight, the final
/// short chunk included. See [`upload_full_chunks`] to hold that one back.
pub fn upload_stream(
    store: &dyn Store,
    prefix: &str,
    reader: impl Read,
    chunk_size: u64,
    parallel: usize,
) -> Result<UploadSummary, UploadError> {
    upload_full_chunks(store, prefix, reader, chunk_size, parallel)?.store(store)
}

/// Reads `reader` to its end and stores every full chunk `chunk_key(prefix, 0..)` of
/// `chunk_size` bytes, with up to `parallel` (at least 1) uploads in flight; the final
/// short (possibly empty) chunk is returned, not stored.
///
/// On the first failed upload reading stops and the error names the chunk; a read error
/// is returned with the reader's text. Either way every upload already started has
/// finished when this returns, and every multipart upload left open is aborted, so the
/// caller can list and delete the partial upload.
pub fn upload_full_chunks(
    store: &dyn Store,
    prefix: &str,
    mut reader: impl Read,
    chunk_size: u64,
    parallel: usize,
) -> Result<HeldBack, UploadError> {
    if chunk_size == 0 {
        return Err(UploadError::ZeroChunkSize);
    }
    let uploads = Uploads::new(store, prefix);
    let (tx, rx) = mpsc::sync_channel::<Job>(0);
    let rx = Mutex::new(rx);

    let read = std::thread::scope(|s| {
        for _ in 0..parallel.max(1) {
            s.spawn(|| uploads.work(&rx));
        }
        let mut cutter = Cutter {
            uploads: &uploads,
            tx,
            prefix,
            chunk_size,
            index: 0,
            bytes: 0,
        };
        let held = cutter.run(&mut reader);
        (held, cutter.index, cutter.bytes)
        // the sender drops with the cutter: the workers finish what they hold and stop
    });
    let (held, index, bytes) = read;
    let failed = |e: UploadError, held: Option<Held>| {
        if let Some(Held::Parted { chunk, .. }) = held {
            chunk.abort(store);
        }
        uploads.abort_open();
        Err(e)
    };
    let held = match held {
        Err(read_error) => return failed(read_error, None),
        Ok(held) => held,
    };
    if let Some(e) = uploads.take_error() {
        return failed(e, held);
    }
    let Some(held) = held else {
        return failed(
            UploadError::Read {
                prefix: prefix.to_owned(),
                index,
                offset: bytes,
                error: io::Error::other("the upload workers stopped"),
            },
            None,
        );
    };
    Ok(HeldBack {
        prefix: prefix.to_owned(),
        index,
        held,
        stream_bytes: bytes,
    })
}

/// The reader's side: cuts the stream into pieces and hands them to the workers.
struct Cutter<'a> {
    uploads: &'a Uploads<'a>,
    tx: mpsc::SyncSender<Job>,
    prefix: &'a str,
    chunk_size: u64,
    /// The chunk being filled.
    index: u64,
    /// Bytes read so far.
    bytes: u64,
}

impl Cutter<'_> {
    /// Reads to the end: the final chunk, or `None` when the workers stopped it.
    fn run(&mut self, reader: &mut impl Read) -> Result<Option<Held>, UploadError> {
        while !self.uploads.aborted() {
            let held = if is_multipart(self.chunk_size) {
                self.parted_chunk(reader)?
            } else {
                self.whole_chunk(reader)?
            };
            if held.is_some() {
                return Ok(held);
            }
            self.index += 1;
        }
        Ok(None)
    }

    /// Reads up to `len` bytes (fewer only at the end of the stream).
    fn piece(&mut self, reader: &mut impl Read, len: u64) -> Result<Vec<u8>, UploadError> {
        let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(usize::MAX));
        match reader.by_ref().take(len).read_to_end(&mut buf) {
            Ok(n) => {
                self.bytes += n as u64;
                Ok(buf)
            }
            Err(error) => {
                self.uploads.stop();
                Err(UploadError::Read {
                    prefix: self.prefix.to_owned(),
                    index: self.index,
                    offset: self.bytes + buf.len() as u64,
                    error,
                })
            }
        }
    }

    /// One chunk as one PUT: `Some` when it is the final, short one.
    fn whole_chunk(&mut self, reader: &mut impl Read) -> Result<Option<Held>, UploadError> {
        let buf = self.piece(reader, self.chunk_size)?;
        if (buf.len() as u64) < self.chunk_size {
            return Ok(Some(Held::Whole(buf.into())));
        }
        let job = Job::Whole {
            index: self.index,
            body: buf.into(),
        };
        let _ = self.tx.send(job);
        Ok(None)
    }

    /// One chunk as a multipart upload, its parts handed out as they are read: `Some`
    /// when it is the final, short one. A final chunk that fits in its first part is
    /// held whole.
    fn parted_chunk(&mut self, reader: &mut impl Read) -> Result<Option<Held>, UploadError> {
        let part = part_size(self.chunk_size);
        let mut md5 = Md5::new();
        let mut filled = 0u64;
        let mut chunk: Option<Arc<PartedChunk>> = None;
        let mut parts = 0usize;
        loop {
            let want = part.min(self.chunk_size - filled);
            let buf = self.piece(reader, want)?;
            let n = buf.len() as u64;
            let chunk = match &chunk {
                Some(c) => c.clone(),
                None if n < want => return Ok(Some(Held::Whole(buf.into()))),
                None => match self.uploads.start(self.index) {
                    Some(c) => chunk.insert(c).clone(),
                    None => return Ok(None), // the failure is recorded
                },
            };
            if n > 0 {
                md5.update(&buf);
                parts += 1;
                let number = parts as i32;
                let job = Job::Part {
                    chunk: chunk.clone(),
                    number,
                    body: buf.into(),
                };
                if self.tx.send(job).is_err() {
                    return Ok(None);
                }
            }
            filled += n;
            let md5 = || crate::store::hex(&md5.clone().finalize());
            if n < want {
                return Ok(Some(Held::Parted {
                    chunk,
                    parts,
                    md5: md5(),
                }));
            }
            if filled == self.chunk_size {
                let _ = self.tx.send(Job::Complete {
                    chunk,
                    parts,
                    md5: md5(),
                });
                return Ok(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ReadStore;
    use crate::store::memory::{MemoryStore, Op};

    fn store() -> MemoryStore {
        MemoryStore::new("mem")
    }

    fn sizes(store: &MemoryStore) -> Vec<usize> {
        store.objects().iter().map(|(_, b)| b.len()).collect()
    }

    fn keys(store: &MemoryStore) -> Vec<String> {
        store.objects().into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn js3tream_chunk_layout() {
        for (len, want) in [
            (0usize, vec![0usize]),
            (99, vec![99]),
            (100, vec![100, 0]),
            (101, vec![100, 1]),
            (300, vec![100, 100, 100, 0]),
        ] {
            let store = store();
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let sum = upload_stream(&store, "/p-1-FULL", &data[..], 100, 3).unwrap();
            assert_eq!(sizes(&store), want, "len {len}");
            assert_eq!(sum.chunks, want.len() as u64);
            assert_eq!(sum.bytes, len as u64);
            assert_eq!(sum.keys[0], "/p-1-FULL:00000000000000000000");
            let joined: Vec<u8> = store
                .objects()
                .iter()
                .flat_map(|(_, b)| b.to_vec())
                .collect();
            assert_eq!(joined, data);
        }
    }

    #[test]
    fn parallelism_is_bounded() {
        let store = store();
        // the first PUTs are held until 4 run at once: the uploads do run in parallel,
        // and the counter shows they never exceed the bound
        store.hold_puts_until_in_flight(4);
        let data = vec![7u8; 10_000];
        upload_stream(&store, "x", &data[..], 100, 4).unwrap();
        assert_eq!(store.max_puts_in_flight(), 4);
        assert_eq!(
            store.objects().len(),
            101,
            "100 chunks and the empty end chunk"
        );
    }

    #[test]
    fn put_failure_names_the_chunk_and_stops_reading() {
        let store = store();
        store.set_put_delay(std::time::Duration::from_millis(5));
        store.fail_key(Op::Put, &chunk_key("x", 2));
        let data = vec![1u8; 100_000];
        let err = upload_stream(&store, "x", &data[..], 100, 2).unwrap_err();
        assert_eq!(err.chunk_index(), Some(2));
        assert!(err.to_string().contains("chunk 2 of x"), "{err}");
        assert!(err.to_string().contains("injected fault"), "{err}");
        assert!(store.objects().len() < 20);
    }

    #[test]
    fn zero_chunk_size_is_refused() {
        let store = store();
        assert!(matches!(
            upload_stream(&store, "x", &b""[..], 0, 1),
            Err(UploadError::ZeroChunkSize)
        ));
    }

    #[test]
    fn the_final_short_piece_is_held_back_until_stored() {
        let store = store();
        let data: Vec<u8> = (0..250u32).map(|i| i as u8).collect();
        let held = upload_full_chunks(&store, "x", &data[..], 100, 2).unwrap();
        assert_eq!((held.index(), held.stream_bytes()), (2, 250));
        assert_eq!(keys(&store), [chunk_key("x", 0), chunk_key("x", 1)]);
        let sum = held.store(&store).unwrap();
        assert_eq!((sum.chunks, sum.bytes), (3, 250));
        assert_eq!(store.get(&chunk_key("x", 2)).unwrap().len(), 50);
    }

    #[test]
    fn a_multiple_of_the_chunk_size_holds_back_an_empty_piece() {
        let store = store();
        let held = upload_full_chunks(&store, "x", &[7u8; 200][..], 100, 3).unwrap();
        assert_eq!((held.index(), held.stream_bytes()), (2, 200));
        assert_eq!(store.objects().len(), 2);
        // Dropped (a stage failed): nothing more is stored, no short chunk exists.
        drop(held);
        assert!(sizes(&store).iter().all(|&n| n == 100));
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    const BIG: u64 = crate::store::multipart::MULTIPART_ABOVE + 1;
    const PART: usize = crate::store::multipart::PIECE_SIZE as usize;

    #[test]
    fn large_chunks_are_multipart_uploads_in_the_legacy_layout() {
        let store = store();
        let data = pattern(2 * BIG as usize + 5);
        let sum = upload_stream(&store, "/p-1-FULL", &data[..], BIG, 3).unwrap();
        assert_eq!(sizes(&store), [BIG as usize, BIG as usize, 5]);
        assert_eq!(sum.chunks, 3);
        let joined: Vec<u8> = store
            .objects()
            .iter()
            .flat_map(|(_, b)| b.to_vec())
            .collect();
        assert_eq!(joined, data);
        assert!(
            store.open_uploads().is_empty(),
            "{:?}",
            store.open_uploads()
        );
    }

    #[test]
    fn a_large_final_chunk_stays_an_open_upload_until_stored() {
        let data = pattern(BIG as usize + PART + 7);
        let store = store();
        let held = upload_full_chunks(&store, "x", &data[..], BIG, 2).unwrap();
        assert_eq!(keys(&store), [chunk_key("x", 0)]);
        let open = store.open_uploads();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].0, chunk_key("x", 1));
        assert_eq!(open[0].2, [PART, 7], "its parts are stored already");
        held.store(&store).unwrap();
        assert_eq!(sizes(&store), [BIG as usize, PART + 7]);
        assert!(store.open_uploads().is_empty());

        // a stage failed: the upload is aborted and no final chunk exists
        let store = self::store();
        let held = upload_full_chunks(&store, "x", &data[..], BIG, 2).unwrap();
        held.discard(&store);
        assert_eq!(keys(&store), [chunk_key("x", 0)]);
        assert!(store.open_uploads().is_empty());
    }

    #[test]
    fn a_failed_part_names_its_chunk_and_leaves_no_open_upload() {
        let store = store();
        // PUT calls: chunk 0's three parts, then chunk 1's first part fails
        store.fail_nth(Op::Put, 4);
        let data = pattern(3 * BIG as usize);
        let err = upload_stream(&store, "x", &data[..], BIG, 1).unwrap_err();
        assert_eq!(err.chunk_index(), Some(1), "{err}");
        assert!(err.to_string().contains("injected fault"), "{err}");
        assert!(
            store.open_uploads().is_empty(),
            "{:?}",
            store.open_uploads()
        );
        assert!(keys(&store).len() <= 1);
    }

    #[test]
    fn parts_upload_in_parallel_within_the_bound() {
        let store = store();
        store.hold_puts_until_in_flight(3);
        let data = pattern(2 * BIG as usize);
        upload_stream(&store, "x", &data[..], BIG, 3).unwrap();
        assert_eq!(store.max_puts_in_flight(), 3);
        assert_eq!(sizes(&store), [BIG as usize, BIG as usize, 0]);
    }

    #[test]
    fn a_read_error_in_a_large_chunk_aborts_its_upload() {
        let store = store();
        let data = pattern(BIG as usize + PART + 3);
        let failing = (&data[..]).chain(FailingReader);
        let err = upload_full_chunks(&store, "x", failing, BIG, 2).unwrap_err();
        assert!(matches!(err, UploadError::Read { index: 1, .. }), "{err}");
        assert!(
            store.open_uploads().is_empty(),
            "{:?}",
            store.open_uploads()
        );
    }

    struct FailingReader;

    impl Read for FailingReader {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("gzip died"))
        }
    }
}
