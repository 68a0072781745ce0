//! A slot's stream decoded: decrypted by `gpg --batch -d` when it is OpenPGP (a child
//! process whose exit status, gpg's integrity check, is judged at the end of the stream),
//! then decompressed in process as `gzip -dc` reads it: gzip members one after the other,
//! each CRC and length checked, a stream cut short an error. Decompressing here instead
//! of in a `gzip -dc` child saves a pipe hop of the largest stream and is faster than
//! GNU gzip's inflate.

use std::io::{self, Read};

use flate2::bufread::MultiGzDecoder;

use crate::process::pipeline::{Output, Pipeline, PipelineError};

/// The stream decrypted by `gpg --batch -d` when `encrypted`, else `input` itself.
pub fn decrypt(
    input: impl Read + Send + 'static,
    encrypted: bool,
) -> Result<Box<dyn Read + Send>, PipelineError> {
    if !encrypted {
        return Ok(Box::new(input));
    }
    let gpg = ["gpg", "--batch", "-d"].map(String::from).to_vec();
    let pipeline = Pipeline::start_with_input(&[gpg], input, Output::Reader)?;
    Ok(Box::new(FinishAtEnd(Some(pipeline))))
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

/// Reads a pipeline's output; at its end, checks how every stage exited (gpg's integrity
/// check), so a failing stage is an error of this reader.
struct FinishAtEnd(Option<Pipeline>);

impl Read for FinishAtEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(pipeline) = self.0.as_mut() else {
            return Ok(0);
        };
        let n = pipeline.read(buf)?;
        if n == 0 && !buf.is_empty() {
            let pipeline = self.0.take().expect("present above");
            pipeline.finish().map_err(io::Error::other)?;
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
