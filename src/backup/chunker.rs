//! Cuts a byte stream into js3tream chunks and uploads them (LEGACY.md §8).
//!
//! The stream is read into pieces of exactly ChunkSize bytes (short reads are filled up),
//! each stored as `PREFIX:` + 20-digit index. The last piece is shorter than ChunkSize;
//! a stream whose length is a multiple of ChunkSize (the empty one included) therefore
//! ends with one zero-length object. Up to `parallel` PUTs run at once on scoped threads;
//! the reader hands each full piece over a rendezvous channel, so at most `parallel + 1`
//! chunks are in memory.
//!
//! The final short piece is held back ([`HeldBack`]): the caller stores it only once every
//! stage of the pipeline has exited successfully, so a stream that died half-way never
//! ends in the short chunk that makes a slot look complete.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};

use bytes::Bytes;

use crate::store::keys::chunk_key;
use crate::store::{Store, StoreError};

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

/// The last, short piece of a stream whose full chunks are stored: not stored yet.
#[derive(Debug)]
pub struct HeldBack {
    prefix: String,
    index: u64,
    body: Bytes,
    stream_bytes: u64,
}

impl HeldBack {
    /// The whole stream's length (the held piece included).
    pub fn stream_bytes(&self) -> u64 {
        self.stream_bytes
    }

    /// The index the held piece gets (the number of chunks already stored).
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Stores the held piece as the final chunk; the summary covers the whole stream.
    pub fn store(self, store: &dyn Store) -> Result<UploadSummary, UploadError> {
        let key = chunk_key(&self.prefix, self.index);
        log::debug!("PUT {key} ({} bytes, the final chunk)", self.body.len());
        store
            .put(&key, self.body)
            .map_err(|error| UploadError::Put {
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
}

/// Reads `reader` to its end and stores it as chunks `chunk_key(prefix, 0..)` of
/// `chunk_size` bytes, with up to `parallel` (at least 1) PUTs in flight, the final
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
/// `chunk_size` bytes, with up to `parallel` (at least 1) PUTs in flight; the final short
/// (possibly empty) piece is returned, not stored.
///
/// On the first failed PUT reading stops and the error names the chunk; a read error is
/// returned with the reader's text. Either way every PUT already started has finished
/// when this returns, so the caller can list and delete the partial upload.
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
    let parallel = parallel.max(1);
    let abort = AtomicBool::new(false);
    let put_error: Mutex<Option<UploadError>> = Mutex::new(None);
    let (tx, rx) = mpsc::sync_channel::<(u64, Bytes)>(0);
    let rx = Mutex::new(rx);

    let (chunks, bytes, held, read_error) = std::thread::scope(|s| {
        for _ in 0..parallel {
            s.spawn(|| {
                loop {
                    let msg = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok((index, body)) = msg else { break };
                    if abort.load(Ordering::SeqCst) {
                        continue;
                    }
                    let key = chunk_key(prefix, index);
                    log::debug!("PUT {key} ({} bytes)", body.len());
                    if let Err(error) = store.put(&key, body) {
                        abort.store(true, Ordering::SeqCst);
                        let mut slot = put_error.lock().unwrap_or_else(|p| p.into_inner());
                        // keep the lowest failing index: the most useful one to report
                        if slot.as_ref().and_then(UploadError::chunk_index) > Some(index)
                            || slot.is_none()
                        {
                            *slot = Some(UploadError::Put {
                                prefix: prefix.to_owned(),
                                index,
                                error: Box::new(error),
                            });
                        }
                    }
                }
            });
        }

        let mut index = 0u64;
        let mut bytes = 0u64;
        let mut held = None;
        let mut read_error = None;
        while !abort.load(Ordering::SeqCst) {
            let mut buf = Vec::with_capacity(usize::try_from(chunk_size).unwrap_or(usize::MAX));
            match reader.by_ref().take(chunk_size).read_to_end(&mut buf) {
                Ok(n) => {
                    bytes += n as u64;
                    if (n as u64) < chunk_size {
                        held = Some(Bytes::from(buf));
                        break;
                    }
                    if tx.send((index, Bytes::from(buf))).is_err() {
                        break;
                    }
                    index += 1;
                }
                Err(error) => {
                    read_error = Some(UploadError::Read {
                        prefix: prefix.to_owned(),
                        index,
                        offset: bytes + buf.len() as u64,
                        error,
                    });
                    abort.store(true, Ordering::SeqCst);
                    break;
                }
            }
        }
        drop(tx);
        (index, bytes, held, read_error)
    });

    if let Some(e) = read_error {
        return Err(e);
    }
    if let Some(e) = put_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let Some(body) = held else {
        return Err(UploadError::Read {
            prefix: prefix.to_owned(),
            index: chunks,
            offset: bytes,
            error: io::Error::other("the upload workers stopped"),
        });
    };
    Ok(HeldBack {
        prefix: prefix.to_owned(),
        index: chunks,
        body,
        stream_bytes: bytes,
    })
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
}
