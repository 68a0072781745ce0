//! The upload workers of the chunker: whole chunks as PUTs, large chunks as multipart
//! uploads whose parts any worker may take, completed once their last part is stored.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, mpsc};

use bytes::Bytes;

use super::UploadError;
use crate::store::keys::chunk_key;
use crate::store::multipart::UploadedPart;
use crate::store::{Store, StoreError};

/// What a worker does next.
pub(super) enum Job {
    /// Store one whole chunk.
    Whole { index: u64, body: Bytes },
    /// Store one part of a chunk.
    Part {
        chunk: Arc<PartedChunk>,
        number: i32,
        body: Bytes,
    },
    /// Complete a chunk once its `parts` parts are stored, then store its MD5.
    Complete {
        chunk: Arc<PartedChunk>,
        parts: usize,
        md5: String,
    },
}

/// One chunk stored as a multipart upload.
#[derive(Debug)]
pub(super) struct PartedChunk {
    index: u64,
    key: String,
    upload_id: String,
    state: Mutex<PartsState>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct PartsState {
    stored: Vec<UploadedPart>,
    /// A part failed or was skipped: the upload cannot complete.
    broken: bool,
    /// Completed or aborted: nothing is left open.
    closed: bool,
}

impl PartedChunk {
    fn state(&self) -> MutexGuard<'_, PartsState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn part_done(&self, part: Option<UploadedPart>) {
        let mut state = self.state();
        match part {
            Some(p) => state.stored.push(p),
            None => state.broken = true,
        }
        self.changed.notify_all();
    }

    /// Waits until `parts` parts are stored (or one failed), then completes the upload
    /// and stores the chunk's MD5 with it; a broken upload is aborted instead.
    pub(super) fn complete(
        &self,
        store: &dyn Store,
        parts: usize,
        md5: &str,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        while state.stored.len() < parts && !state.broken {
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        if state.broken {
            drop(state);
            self.abort(store);
            return Err(StoreError::Request {
                op: "CompleteMultipartUpload",
                bucket: store.bucket().to_owned(),
                key: self.key.clone(),
                summary: "a part was not stored; the upload was aborted".into(),
                code: None,
                permanent: true,
                source: None,
            });
        }
        let mut stored = state.stored.clone();
        drop(state);
        stored.sort_by_key(|p| p.number);
        let done = store
            .complete_multipart(&self.key, &self.upload_id, &stored)
            .and_then(|()| store.store_md5(&self.key, md5));
        match done {
            Ok(()) => self.state().closed = true,
            Err(_) => self.abort(store),
        }
        done
    }

    /// Aborts the upload unless it is closed already (a failure is logged: the bucket's
    /// lifecycle rule or the next run's cleanup removes what is left).
    pub(super) fn abort(&self, store: &dyn Store) {
        let mut state = self.state();
        if state.closed {
            return;
        }
        state.closed = true;
        drop(state);
        if let Err(e) = store.abort_multipart(&self.key, &self.upload_id) {
            log::warn!(
                "aborting the multipart upload of {}: {}",
                self.key,
                crate::store::error_chain(&e)
            );
        }
    }
}

/// The shared state of one stream's upload: its store, the stop flag, the first error
/// and the multipart uploads it started.
pub(super) struct Uploads<'a> {
    store: &'a dyn Store,
    prefix: &'a str,
    stop: AtomicBool,
    error: Mutex<Option<UploadError>>,
    started: Mutex<Vec<Arc<PartedChunk>>>,
}

impl<'a> Uploads<'a> {
    pub(super) fn new(store: &'a dyn Store, prefix: &'a str) -> Uploads<'a> {
        Uploads {
            store,
            prefix,
            stop: AtomicBool::new(false),
            error: Mutex::new(None),
            started: Mutex::new(Vec::new()),
        }
    }

    /// Whether a failure stopped the upload.
    pub(super) fn aborted(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Stops the upload: the workers skip what they receive from now on.
    pub(super) fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Records a failed store call for chunk `index` and stops the upload; the lowest
    /// failing index is kept (the most useful one to report).
    fn fail(&self, index: u64, error: StoreError) {
        self.stop();
        let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().and_then(UploadError::chunk_index) > Some(index) || slot.is_none() {
            *slot = Some(UploadError::Put {
                prefix: self.prefix.to_owned(),
                index,
                error: Box::new(error),
            });
        }
    }

    /// The first failure, if any.
    pub(super) fn take_error(&self) -> Option<UploadError> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Starts the multipart upload of chunk `index`; `None` when that failed (recorded).
    pub(super) fn start(&self, index: u64) -> Option<Arc<PartedChunk>> {
        let key = chunk_key(self.prefix, index);
        match self.store.create_multipart(&key) {
            Ok(upload_id) => {
                let chunk = Arc::new(PartedChunk {
                    index,
                    key,
                    upload_id,
                    state: Mutex::default(),
                    changed: Condvar::new(),
                });
                self.started
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(chunk.clone());
                Some(chunk)
            }
            Err(e) => {
                self.fail(index, e);
                None
            }
        }
    }

    /// Aborts every multipart upload started and not completed.
    pub(super) fn abort_open(&self) {
        let started = std::mem::take(&mut *self.started.lock().unwrap_or_else(|p| p.into_inner()));
        for chunk in started {
            chunk.abort(self.store);
        }
    }

    /// A worker: takes jobs until the reader hangs up.
    pub(super) fn work(&self, rx: &Mutex<mpsc::Receiver<Job>>) {
        loop {
            let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
            let Ok(job) = job else { break };
            match job {
                Job::Whole { index, body } => {
                    if self.aborted() {
                        continue;
                    }
                    let key = chunk_key(self.prefix, index);
                    log::debug!("PUT {key} ({} bytes)", body.len());
                    if let Err(e) = self.store.put(&key, body) {
                        self.fail(index, e);
                    }
                }
                Job::Part {
                    chunk,
                    number,
                    body,
                } => {
                    if self.aborted() {
                        chunk.part_done(None);
                        continue;
                    }
                    log::debug!("PUT {} part {number} ({} bytes)", chunk.key, body.len());
                    match self
                        .store
                        .upload_part(&chunk.key, &chunk.upload_id, number, body)
                    {
                        Ok(part) => chunk.part_done(Some(part)),
                        Err(e) => {
                            // after a failure the upload may have been aborted under
                            // this part: that failure is the one to report
                            let consequence = self.aborted();
                            chunk.part_done(None);
                            if !consequence {
                                self.fail(chunk.index, e);
                            }
                        }
                    }
                }
                Job::Complete { chunk, parts, md5 } => {
                    if self.aborted() {
                        chunk.abort(self.store);
                        continue;
                    }
                    // a chunk broken by an earlier failure is no news: that one is kept
                    if let Err(e) = chunk.complete(self.store, parts, &md5)
                        && !self.aborted()
                    {
                        self.fail(chunk.index, e);
                    }
                }
            }
        }
    }
}
