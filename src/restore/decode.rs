//! A slot's stream decoded: decrypted by `gpg --batch -d` when it is OpenPGP (a child
//! process whose exit status, gpg's integrity check, is judged at the end of the stream,
//! and whose status lines say whether it decrypted at all, see
//! [`crate::process::gpg_status`]), then decompressed in process as `gzip -dc`
//! reads it: gzip members one after the other, each CRC and length checked, a stream cut
//! short an error. Decompressing here instead of in a `gzip -dc` child saves a pipe hop of
//! the largest stream and is faster than GNU gzip's inflate.

use std::io::{self, Read};
use std::path::PathBuf;

use flate2::bufread::MultiGzDecoder;

use crate::process::gpg_status::{self, StatusFile};
use crate::process::pipeline::{Output, Pipeline, PipelineError};

/// A slot stored without encryption although GpgRecipient says every slot is encrypted.
#[derive(Debug, thiserror::Error)]
#[error(
    "it is not encrypted ({what}) although GpgRecipient is set in {}, so anyone who can \
     write to the bucket could have put it there; --allow-unencrypted restores it anyway",
    config.display()
)]
pub struct NotEncrypted {
    /// What the slot holds instead (`gzip, not OpenPGP`, ...).
    pub what: String,
    /// The config file whose GpgRecipient requires encryption.
    pub config: PathBuf,
}

/// The stream decrypted by `gpg --batch -d` when `encrypted`, else `input` itself. With
/// `required_by` (the config file that sets GpgRecipient), OpenPGP data gpg does not
/// really decrypt is refused ([`NotEncrypted`]): before its first byte is passed on when
/// gpg prints it as it is, else at the end of the stream.
pub fn decrypt(
    input: impl Read + Send + 'static,
    encrypted: bool,
    required_by: Option<PathBuf>,
) -> Result<Box<dyn Read + Send>, PipelineError> {
    if !encrypted {
        return Ok(Box::new(input));
    }
    let status = StatusFile::new().map_err(PipelineError::Plumbing)?;
    let mut gpg: Vec<String> = vec!["gpg".into(), "--batch".into()];
    gpg.extend(status.args());
    gpg.push("-d".into());
    let pipeline = Pipeline::start_with_input(&[gpg], input, Output::Reader)?;
    Ok(Box::new(GpgReader {
        pipeline: Some(pipeline),
        status,
        required_by,
        checked: false,
        failed: false,
    }))
}

/// Reads `input` decompressed (gzip, every member in turn).
pub fn gunzip(input: impl Read + Send + 'static) -> Gunzip<impl Read + Send> {
    Gunzip(MultiGzDecoder::new(io::BufReader::with_capacity(
        BUFFER, input,
    )))
}

/// Read size of the compressed side: large reads keep the inflate loop and the pipe
/// from gpg busy with few system calls.
const BUFFER: usize = 256 << 10;

/// The compressed data itself is damaged (bad header, bad CRC or length, cut short).
/// The decoder's complaint is part of the message, not a source: an error chain printed
/// whole (`{:#}`) would say it twice.
#[derive(Debug, thiserror::Error)]
#[error("its gzip data is damaged: {0}")]
pub struct GzipError(io::Error);

/// A decompressing reader; an error of the compressed data is a [`GzipError`], an error
/// of the stream below (a chunk that failed, gpg that failed) comes through as it was.
pub struct Gunzip<R>(MultiGzDecoder<io::BufReader<R>>);

impl<R: Read> Read for Gunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            // errors of the reader below are `other` errors carrying their cause
            if e.kind() == io::ErrorKind::Other && e.get_ref().is_some() {
                e
            } else {
                io::Error::new(io::ErrorKind::InvalidData, GzipError(e))
            }
        })
    }
}

/// Reads gpg's output; at its first byte and at its end checks that gpg decrypted (when
/// required), and at its end how gpg exited (its integrity check), so a failure is an
/// error of this reader.
struct GpgReader {
    pipeline: Option<Pipeline>,
    status: StatusFile,
    required_by: Option<PathBuf>,
    /// The status was judged at the first byte.
    checked: bool,
    /// An error was returned: gpg is stopped, no more reads.
    failed: bool,
}

impl GpgReader {
    /// gpg's status judged, when encryption is required.
    fn require(&self, finished: bool) -> Result<(), NotEncrypted> {
        let Some(config) = &self.required_by else {
            return Ok(());
        };
        gpg_status::judge(&self.status.read(), finished).map_err(|why| NotEncrypted {
            what: why.to_string(),
            config: config.clone(),
        })
    }

    /// Stops gpg and returns `err` (and an error for every later read).
    fn fail(&mut self, err: io::Error) -> io::Error {
        self.failed = true;
        if let Some(pipeline) = self.pipeline.take() {
            pipeline.abort();
        }
        err
    }
}

impl Read for GpgReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.failed {
            return Err(io::Error::other("gpg was stopped after an error"));
        }
        let Some(pipeline) = self.pipeline.as_mut() else {
            return Ok(0);
        };
        let n = pipeline.read(buf).map_err(|e| self.fail(e))?;
        if n > 0 && !self.checked {
            self.checked = true;
            self.require(false)
                .map_err(|e| self.fail(io::Error::other(e)))?;
        }
        if n == 0 && !buf.is_empty() {
            let pipeline = self.pipeline.take().expect("present above");
            if let Err(e) = pipeline.finish() {
                self.failed = true;
                return Err(io::Error::other(e));
            }
            self.require(true)
                .map_err(|e| self.fail(io::Error::other(e)))?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read_all(input: Vec<u8>) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        gunzip(io::Cursor::new(input)).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn members_are_read_one_after_the_other() {
        let mut both = gz(b"first ");
        both.extend(gz(b"second"));
        assert_eq!(read_all(both).unwrap(), b"first second");
        // no member at all is cut short, as `gzip -dc` says of it
        let err = read_all(Vec::new()).unwrap_err();
        assert!(
            err.get_ref().is_some_and(|e| e.is::<GzipError>()),
            "{err:?}"
        );
    }

    #[test]
    fn damage_and_truncation_are_gzip_errors() {
        let good = gz(&vec![7u8; 100_000]);
        let cut = good[..good.len() - 6].to_vec();
        let mut flipped = good.clone();
        let at = flipped.len() - 5;
        flipped[at] ^= 1; // the length field of the trailer
        for bad in [cut, flipped] {
            let err = read_all(bad).unwrap_err();
            assert!(
                err.get_ref().is_some_and(|e| e.is::<GzipError>()),
                "{err:?}"
            );
            assert!(
                err.to_string().starts_with("its gzip data is damaged"),
                "{err}"
            );
            // as a restore reports it: the whole chain, each cause once
            let chain = format!("{:#}", anyhow::Error::from(err));
            let parts: Vec<&str> = chain.split(": ").collect();
            assert!(parts.windows(2).all(|w| w[0] != w[1]), "{chain}");
        }
    }

    #[test]
    fn a_stream_cut_anywhere_but_between_members_is_damaged() {
        let first = gz(&vec![1u8; 3000]);
        let whole = [first.clone(), gz(b"second member")].concat();
        for cut in 1..whole.len() {
            let result = read_all(whole[..cut].to_vec());
            if cut == first.len() {
                // as for `gzip -d`: a whole member is a whole gzip stream
                assert_eq!(result.unwrap(), vec![1u8; 3000]);
                continue;
            }
            let err = result.unwrap_err();
            assert!(
                err.get_ref().is_some_and(|e| e.is::<GzipError>()),
                "cut at {cut} of {}: {err:?}",
                whole.len()
            );
        }
    }

    #[test]
    fn errors_below_come_through_unchanged() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("chunk 3 is missing"))
            }
        }
        let err = gunzip(Failing).read(&mut [0; 16]).unwrap_err();
        assert_eq!(err.to_string(), "chunk 3 is missing");
    }
}
