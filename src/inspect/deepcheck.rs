//! `verify --deep`: download every chunk of a slot, check each against the MD5 stored with
//! it at upload and against its ETag when that can be an MD5, then decrypt (OpenPGP) and
//! read the stream to its end through gzip, and for tree slots through `tar -t`, to prove
//! the archive is readable. With GpgRecipient set, OpenPGP data that gpg does not really
//! decrypt (see [`crate::process::gpg_status`]) is a problem.

use std::io::{self, Write};
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::inspect::content::{Content, detect};
use crate::process::gpg_status::{self, StatusFile};
use crate::process::pipeline::{Output, Pipeline, PipelineError};
use crate::store::keys::{Slot, parse_chunk_key};
use crate::store::multipart::{ChunkDigest, PieceMismatch, piece_ranges};
use crate::store::{Fetched, Md5Mismatch, ObjectInfo, ReadStore};

/// The problem with chunk `index` whose listed ETag is `etag`, given its bytes: see
/// [`Fetched::md5_mismatch`].
pub fn md5_problem(index: u64, etag: Option<&str>, data: &Fetched) -> Option<String> {
    data.md5_mismatch(etag).map(|m| mismatch_problem(index, m))
}

fn mismatch_problem(index: u64, mismatch: Md5Mismatch) -> String {
    match mismatch {
        Md5Mismatch::Stored { md5, stored } => format!(
            "chunk {index}: MD5 {md5} does not match the MD5 {stored} stored with it at upload"
        ),
        Md5Mismatch::Etag { md5, etag } => {
            format!("chunk {index}: MD5 {md5} does not match ETag {etag}")
        }
    }
}

fn piece_problem(index: u64, mismatch: PieceMismatch) -> String {
    match mismatch {
        PieceMismatch::Md5(m) => mismatch_problem(index, m),
        changed @ PieceMismatch::Changed { .. } => format!("chunk {index}: {changed}"),
    }
}

/// Downloads one chunk piece by piece into `out` (a chunk of at most
/// [`crate::store::multipart::MULTIPART_ABOVE`] bytes in one piece), keeping the first two
/// bytes of the slot in `head`; returns its problems. `Err` when `out` cannot be written.
fn download_chunk(
    store: &dyn ReadStore,
    chunk: &ObjectInfo,
    index: u64,
    head: &mut Vec<u8>,
    out: &mut impl Write,
) -> io::Result<Option<String>> {
    let ranges = piece_ranges(chunk.size);
    let whole = ranges.len() == 1;
    let mut digest = ChunkDigest::default();
    for (start, len) in ranges {
        let fetched = if whole {
            store.get_sized(&chunk.key, chunk.size)
        } else {
            store.get_range(&chunk.key, None, start, len)
        };
        let data = match fetched {
            Ok(d) => d,
            Err(e) => {
                return Ok(Some(format!(
                    "chunk {index}: download failed: {}",
                    crate::store::error_chain(&e)
                )));
            }
        };
        if whole && let Some(problem) = md5_problem(index, chunk.etag.as_deref(), &data) {
            return Ok(Some(problem));
        }
        if !whole && let Err(m) = digest.add(&data) {
            return Ok(Some(piece_problem(index, m)));
        }
        if head.len() < 2 {
            head.extend_from_slice(&data[..data.len().min(2 - head.len())]);
        }
        out.write_all(&data)?;
    }
    if whole {
        return Ok(None);
    }
    Ok(digest
        .finish(chunk.etag.as_deref())
        .err()
        .map(|m| piece_problem(index, m)))
}

/// Whether a stream starting with `head` is gzip (else it is taken as OpenPGP); the same
/// judgement restore makes.
pub fn is_gzip(head: &[u8]) -> bool {
    detect(head) == Content::Gzip
}

/// The programs that read a stream stored in `file` to its end: `gpg --batch
/// [--status-file STATUS] -d` when encrypted (`gpg_status`: where gpg writes its status
/// lines), then `tar -tzf -` for trees or `gzip -t` for dumps.
pub fn decode_stages(file: &Path, gpg_status: Option<&Path>, tree: bool) -> Vec<Vec<String>> {
    let file = file.display().to_string();
    let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<String>>();
    let gpg = |status: &Path| {
        s(&[
            "gpg",
            "--batch",
            "--status-file",
            &status.display().to_string(),
            "-d",
            &file,
        ])
    };
    match (gpg_status, tree) {
        (Some(status), true) => vec![gpg(status), s(&["tar", "-tzf", "-"])],
        (Some(status), false) => vec![gpg(status), s(&["gzip", "-t"])],
        (None, true) => vec![s(&["tar", "-tzf", &file])],
        (None, false) => vec![s(&["gzip", "-t", &file])],
    }
}

/// How a decode failure is reported: `gpg -d failed: exit status 2: LAST LINE`.
pub fn describe_failure(err: &PipelineError) -> String {
    match err {
        PipelineError::StageFailed {
            program,
            status,
            stderr_tail,
            ..
        } => {
            let what = match program.as_str() {
                "gpg" => "gpg -d",
                "tar" => "tar -t",
                "gzip" => "gzip -t",
                other => other,
            };
            let lines: Vec<&str> = stderr_tail
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            let last = lines[lines.len().saturating_sub(3)..].join("; ");
            if last.is_empty() {
                format!("{what} failed: {status}")
            } else {
                format!("{what} failed: {status}: {last}")
            }
        }
        other => other.to_string(),
    }
}

/// Downloads, checks and decodes one slot; returns its problems (without the prefix).
/// `structure_ok`: decode only a structurally complete slot (a gap makes decoding moot).
/// `encryption_required` (GpgRecipient is set): OpenPGP data gpg does not decrypt is a
/// problem.
pub fn check_slot(
    store: &dyn ReadStore,
    slot: &Slot,
    tree: bool,
    structure_ok: bool,
    encryption_required: bool,
    temp_dir: Option<&Path>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let file = match temp_dir {
        Some(d) => tempfile::NamedTempFile::new_in(d),
        None => tempfile::NamedTempFile::new(),
    };
    let mut file = match file {
        Ok(f) => f,
        Err(e) => return vec![format!("cannot create a temp file: {e}")],
    };
    let mut head = Vec::new();
    for chunk in &slot.chunks {
        let index = parse_chunk_key(&chunk.key).map_or(0, |(_, i)| i);
        match download_chunk(store, chunk, index, &mut head, &mut file) {
            Ok(problem) => problems.extend(problem),
            Err(e) => return vec![format!("cannot write the temp file: {e}")],
        }
    }
    if !structure_ok || !problems.is_empty() || head.is_empty() {
        return problems;
    }
    if let Err(e) = file.flush() {
        return vec![format!("cannot write the temp file: {e}")];
    }
    let status = if is_gzip(&head) {
        None
    } else {
        match StatusFile::new() {
            Ok(s) => Some(s),
            Err(e) => return vec![format!("cannot create a temp file: {e}")],
        }
    };
    let stages = decode_stages(file.path(), status.as_ref().map(StatusFile::path), tree);
    if let Err(e) = read_to_end(&stages) {
        problems.push(describe_failure(&e));
    } else if let Some(status) = status.filter(|_| encryption_required)
        && let Err(why) = gpg_status::judge(&status.read(), true)
    {
        problems.push(format!(
            "not encrypted ({why}) although GpgRecipient is set"
        ));
    }
    problems
}

/// How many slots `verify --deep` checks at once: downloads overlap each other and the
/// decoding programs (gpg, gzip, tar) of the other slots.
pub const PARALLEL_SLOTS: usize = 4;

/// One slot for [`check_slots`], with what [`check_slot`] needs to know about it.
pub struct SlotCheck<'a> {
    pub slot: &'a Slot,
    /// A tar stream (checked with `tar -t`), else a dump (`gzip -t`).
    pub tree: bool,
    /// Structurally complete (decode only then).
    pub structure_ok: bool,
    /// GpgRecipient is set: OpenPGP data gpg does not decrypt is a problem.
    pub encryption_required: bool,
}

/// [`check_slot`] for every slot, `parallel` at a time; the problems in the order of `checks`.
pub fn check_slots(
    store: &dyn ReadStore,
    checks: &[SlotCheck<'_>],
    temp_dir: Option<&Path>,
    parallel: usize,
) -> Vec<Vec<String>> {
    let next = AtomicUsize::new(0);
    let results: Vec<OnceLock<Vec<String>>> = checks.iter().map(|_| OnceLock::new()).collect();
    std::thread::scope(|scope| {
        for _ in 0..parallel.clamp(1, checks.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(c) = checks.get(index) else { break };
                    let found = check_slot(
                        store,
                        c.slot,
                        c.tree,
                        c.structure_ok,
                        c.encryption_required,
                        temp_dir,
                    );
                    let _ = results[index].set(found);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|r| r.into_inner().unwrap_or_default())
        .collect()
}

/// Runs the stages, discards their output, checks every stage's status.
fn read_to_end(stages: &[Vec<String>]) -> Result<(), PipelineError> {
    let mut pipeline = Pipeline::start(stages, Output::Reader)?;
    if let Some(reader) = pipeline.reader() {
        let _ = io::copy(reader, &mut io::sink());
    }
    pipeline.finish().map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetched(data: &'static [u8]) -> Fetched {
        Fetched::unhashed(bytes::Bytes::from_static(data))
    }

    #[test]
    fn md5_is_checked_only_against_plain_etags() {
        let md5_abc = "900150983cd24fb0d6963f7d28e17f72";
        assert_eq!(md5_problem(0, Some(md5_abc), &fetched(b"abc")), None);
        assert_eq!(
            md5_problem(3, Some(md5_abc), &fetched(b"abd")).unwrap(),
            format!("chunk 3: MD5 4911e516e5aa21d327512e0c8b197616 does not match ETag {md5_abc}")
        );
        assert_eq!(md5_problem(0, Some("abc-2"), &fetched(b"x")), None);
        assert_eq!(md5_problem(0, None, &fetched(b"x")), None);
        assert!(crate::store::is_plain_md5(md5_abc));
        assert!(!crate::store::is_plain_md5(
            "900150983cd24fb0d6963f7d28e17f72-3"
        ));
        let kms = Fetched {
            etag_is_md5: false,
            stored_md5: Some(md5_abc.into()),
            ..fetched(b"abd")
        };
        let kms_etag = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            md5_problem(2, Some(kms_etag), &kms).unwrap(),
            format!(
                "chunk 2: MD5 4911e516e5aa21d327512e0c8b197616 does not match the MD5 \
                 {md5_abc} stored with it at upload"
            )
        );
        let kms_ok = Fetched {
            stored_md5: None,
            ..kms
        };
        assert_eq!(md5_problem(2, Some(kms_etag), &kms_ok), None);
    }

    #[test]
    fn stages_per_kind() {
        let f = Path::new("/tmp/x");
        assert_eq!(
            decode_stages(f, None, false),
            vec![vec!["gzip", "-t", "/tmp/x"]]
        );
        assert_eq!(
            decode_stages(f, None, true),
            vec![vec!["tar", "-tzf", "/tmp/x"]]
        );
        assert_eq!(
            decode_stages(f, Some(Path::new("/tmp/s")), true)[0],
            vec!["gpg", "--batch", "--status-file", "/tmp/s", "-d", "/tmp/x"]
        );
        assert!(is_gzip(&[0x1f, 0x8b, 8]));
        assert!(!is_gzip(&[0x85, 0x02]));
    }

    #[test]
    fn failures_are_named_by_their_program() {
        let e = PipelineError::StageFailed {
            stage: 0,
            program: "gpg".into(),
            status: "exit status 2".into(),
            stderr_tail: "gpg: one\ngpg: decryption failed: No secret key\n".into(),
        };
        assert_eq!(
            describe_failure(&e),
            "gpg -d failed: exit status 2: gpg: one; gpg: decryption failed: No secret key"
        );
    }

    #[test]
    fn decoding_real_streams() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"hello").unwrap();
        std::fs::write(&good, gz.finish().unwrap()).unwrap();
        assert!(read_to_end(&decode_stages(&good, None, false)).is_ok());
        let bad = dir.path().join("bad.gz");
        std::fs::write(&bad, [0x1f, 0x8b, 8, 0, 1, 2, 3]).unwrap();
        let err = read_to_end(&decode_stages(&bad, None, false)).unwrap_err();
        assert!(describe_failure(&err).starts_with("gzip -t failed: exit status 1"));
    }
}
