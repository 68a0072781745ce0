//! The compression stage of `Compressor pigz`, `s3napback gzip`: stdin to stdout as gzip,
//! compressed on every core. The input is cut into 1 MiB blocks, each compressed on its
//! own thread into gzip members (as pigz's output, plain gzip that `gzip -d` and `tar -xz`
//! read) and written in order. Inside a block, a 64 KiB segment whose bytes are spread
//! so evenly that deflate could hardly shrink it (order-0 entropy of at least
//! [`INCOMPRESSIBLE_BITS`] bits a byte: compressed or encrypted files) is stored as it is
//! instead of deflated, the shortcut zstd, restic and borg take; the rest is deflated at
//! gzip's default level 6. zlib-rs does the deflating.

use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

use flate2::Compression;
use flate2::write::GzEncoder;

/// The unit of parallel work (and of gzip members, apart from stored runs).
pub const BLOCK: usize = 1 << 20;

/// The unit of the compressible-or-not judgement.
pub const SEGMENT: usize = 64 << 10;

/// Order-0 entropy (bits a byte) from which a segment is stored, not deflated: at 7.9,
/// Huffman coding saves at most about 1 %, and such data (random, compressed,
/// encrypted) leaves LZ77 nothing to match.
pub const INCOMPRESSIBLE_BITS: f64 = 7.9;

/// Threads by default: one per core, at most this many (8 deflate faster than one gpg
/// encrypts; memory stays under about 4 × threads × [`BLOCK`] in and as much out).
pub const MAX_THREADS: usize = 8;

/// The argument vector that runs this stage: this program's `gzip` subcommand.
pub fn stage() -> Vec<String> {
    let exe = std::env::current_exe()
        .ok()
        .filter(|p| p.exists())
        .map_or_else(|| "s3napback".to_string(), |p| p.display().to_string());
    vec![exe, "gzip".to_string()]
}

/// `s3napback gzip`: compresses stdin to stdout with `threads` threads (0: one per core,
/// at most [`MAX_THREADS`]).
/// Dies of SIGPIPE when its reader goes away, as pigz and gzip do, so the pipeline
/// names the stage after it as the cause.
pub fn run(level: u32, threads: usize) -> io::Result<()> {
    // SAFETY: restoring the default disposition of one signal before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS)),
        n => n,
    };
    // stdout unbuffered (a copy of fd 1): whole members go out in one write each
    use std::os::fd::AsFd;
    let stdout = std::fs::File::from(io::stdout().as_fd().try_clone_to_owned()?);
    compress(
        io::stdin().lock(),
        stdout,
        Compression::new(level.min(9)),
        threads,
    )
}

/// A block to compress and where its result goes.
type Job = (Vec<u8>, SyncSender<Vec<u8>>);

/// Compresses `input` into `output` as gzip, `threads` blocks at a time, in order. The
/// output does not depend on `threads`.
pub fn compress(
    mut input: impl Read,
    mut output: impl Write + Send,
    level: Compression,
    threads: usize,
) -> io::Result<()> {
    let threads = threads.max(1);
    std::thread::scope(|scope| {
        let (jobs, queue) = sync_channel::<Job>(threads);
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..threads {
            let queue = queue.clone();
            scope.spawn(move || work(&queue, level));
        }
        // the results in input order: the writer takes each block's receiver in turn
        let (order, results) = sync_channel::<Receiver<Vec<u8>>>(threads * 2);
        let writer = scope.spawn(move || -> io::Result<()> {
            for result in results {
                // a closed channel means the reading side failed and stopped
                let Ok(data) = result.recv() else { break };
                output.write_all(&data)?;
            }
            output.flush()
        });
        let read = feed(&mut input, &jobs, &order, level);
        drop((jobs, order));
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("writer panicked")));
        written.and(read)
    })
}

/// Reads `input` block by block and queues each for compression (its receiver first, so
/// the writer keeps the order). An empty input still gives one (empty) gzip member.
fn feed(
    input: &mut impl Read,
    jobs: &SyncSender<Job>,
    order: &SyncSender<Receiver<Vec<u8>>>,
    level: Compression,
) -> io::Result<()> {
    let mut blocks = 0u64;
    loop {
        let block = read_block(input)?;
        if block.is_empty() && blocks > 0 {
            return Ok(());
        }
        let last = block.is_empty();
        let (deliver, result) = sync_channel(1);
        if order.send(result).is_err() {
            return Ok(()); // the writer stopped: its error is the one to report
        }
        if last {
            let _ = deliver.send(compress_block(&[], level));
            return Ok(());
        }
        if jobs.send((block, deliver)).is_err() {
            return Err(io::Error::other("the compression threads stopped"));
        }
        blocks += 1;
    }
}

/// Up to [`BLOCK`] bytes (fewer only at the end of the input).
fn read_block(input: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut block = Vec::with_capacity(BLOCK);
    input.take(BLOCK as u64).read_to_end(&mut block)?;
    Ok(block)
}

/// A compression thread: takes blocks until the queue closes.
fn work(queue: &Mutex<Receiver<Job>>, level: Compression) {
    loop {
        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok((block, deliver)) = job else { return };
        let _ = deliver.send(compress_block(&block, level));
    }
}

/// One block as gzip members: each run of compressible segments deflated at `level`,
/// each run of incompressible ones stored.
pub fn compress_block(block: &[u8], level: Compression) -> Vec<u8> {
    let mut out = Vec::with_capacity(block.len() / 2 + 64);
    let mut start = 0;
    let mut runs = block.chunks(SEGMENT).map(incompressible).peekable();
    if block.is_empty() {
        member(&mut out, &[], level);
    }
    let mut end = 0;
    while let Some(stored) = runs.next() {
        end = (end + SEGMENT).min(block.len());
        if runs.peek() != Some(&stored) {
            let level = if stored { Compression::none() } else { level };
            member(&mut out, &block[start..end], level);
            start = end;
        }
    }
    out
}

fn member(out: &mut Vec<u8>, data: &[u8], level: Compression) {
    let mut gz = GzEncoder::new(out, level);
    gz.write_all(data).expect("writing to memory");
    gz.finish().expect("writing to memory");
}

/// Whether deflate could hardly shrink `segment`: its order-0 entropy is at least
/// [`INCOMPRESSIBLE_BITS`]. Short segments are always deflated.
pub fn incompressible(segment: &[u8]) -> bool {
    if segment.len() < 4096 {
        return false;
    }
    let mut counts = [0u32; 256];
    for &b in segment {
        counts[b as usize] += 1;
    }
    let n = segment.len() as f64;
    let weighted: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| f64::from(c) * f64::from(c).log2())
        .sum();
    n.log2() - weighted / n >= INCOMPRESSIBLE_BITS
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::MultiGzDecoder;

    fn gunzip(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        MultiGzDecoder::new(data).read_to_end(&mut out).unwrap();
        out
    }

    /// Text-like bytes, then random ones, then text again (a tar of mixed files).
    fn mixed(len: usize) -> Vec<u8> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut random = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let words = ["backup ", "restore ", "slot ", "chunk ", "cycle\n"];
        let mut data = Vec::with_capacity(len);
        while data.len() < len / 3 {
            data.extend_from_slice(words[(random() % 5) as usize].as_bytes());
        }
        while data.len() < 2 * len / 3 {
            data.extend_from_slice(&random().to_le_bytes());
        }
        while data.len() < len {
            data.extend_from_slice(words[(random() % 5) as usize].as_bytes());
        }
        data.truncate(len);
        data
    }

    fn compressed(data: &[u8], threads: usize) -> Vec<u8> {
        let mut out = Vec::new();
        compress(data, &mut out, Compression::default(), threads).unwrap();
        out
    }

    #[test]
    fn output_is_gzip_of_the_input_whatever_the_threads() {
        let data = mixed(5 * BLOCK + 12345);
        let one = compressed(&data, 1);
        assert_eq!(gunzip(&one), data);
        assert_eq!(compressed(&data, 3), one, "the same bytes with 3 threads");
        // the text is deflated, the random third stored: about a third of the size plus
        assert!(
            one.len() < data.len() / 2,
            "{} of {}",
            one.len(),
            data.len()
        );
        assert!(
            one.len() > data.len() / 3,
            "{} of {}",
            one.len(),
            data.len()
        );
    }

    #[test]
    fn empty_input_is_one_empty_member() {
        let out = compressed(b"", 2);
        assert_eq!(&out[..2], &[0x1f, 0x8b]);
        assert_eq!(gunzip(&out), b"");
    }

    #[test]
    fn entropy_tells_random_from_text() {
        let data = mixed(3 * SEGMENT * 3);
        let third = data.len() / 3;
        assert!(!incompressible(&data[..SEGMENT]));
        assert!(incompressible(&data[third + 64..third + 64 + SEGMENT]));
        assert!(!incompressible(&[0u8; SEGMENT]));
        assert!(
            !incompressible(&data[third..third + 100]),
            "short: deflated"
        );
    }

    #[test]
    fn a_failing_reader_is_an_error_and_a_failing_writer_too() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk gone"))
            }
        }
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from(io::ErrorKind::BrokenPipe))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let err = compress(Broken, Vec::new(), Compression::default(), 2).unwrap_err();
        assert_eq!(err.to_string(), "disk gone");
        let data = mixed(3 * BLOCK);
        let err = compress(&data[..], Broken, Compression::default(), 2).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
