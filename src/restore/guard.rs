//! A filter between the decompressed tar stream of a slot and `tar -x`: it reads every
//! header before tar does and refuses a member that would make tar write outside the
//! restore directory (a name with `..` or an absolute name, a path through a symlink, a
//! hard link whose target is reached that way), or whose header GNU tar could read
//! differently from this filter. It also drops the members a partial restore leaves out,
//! so that tar extracts exactly what was checked (hostile names are refused there too).
//! The renames of GNU incremental dumpdirs are judged like member names (`dumpdir`).
//! Bytes pass unchanged otherwise, in the same read, so GNU incremental semantics
//! (`-g /dev/null` deletions and renames) stay tar's.

mod admit;
mod dumpdir;
mod header;
mod tree;

use std::io::{self, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use header::{BLOCK, Extensions, RawHeader, check_global, checksum_ok, is_zero};
pub use tree::PathFilter;
use tree::Tree;

/// The largest extension header (long name, pax attributes) accepted.
const MAX_EXTENSION: u64 = 8 << 20;
/// The largest dumpdir (the data of a `D` member: the names in one directory) accepted.
const MAX_DUMPDIR: u64 = 256 << 20;

/// Why the guard stopped the stream: the member and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("refused tar member {member:?} at byte {offset}: {reason}")]
pub struct Refusal {
    /// The member's name as the archive gives it (lossy UTF-8).
    pub member: String,
    /// Offset of its header in the decompressed stream.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
}

/// Where the filter is in the stream.
enum State {
    /// At a header block.
    Header,
    /// Inside a member's data (and padding): `left` bytes, handed on unless `drop`.
    Data { left: u64, drop: bool },
    /// After the end-of-archive blocks: the rest (the record's zero padding) is read to
    /// the end and dropped, so the decoding before the guard finishes and is checked, and
    /// tar, which stops reading at the end-of-archive blocks, is never sent bytes it
    /// leaves unread (writing them raced with its exit: a broken pipe).
    Trailer,
}

/// Reads a plain tar stream from `input` and yields it, member by member, once checked.
pub struct TarGuard<R: Read> {
    input: BufReader<R>,
    tree: Tree,
    filter: Arc<PathFilter>,
    state: State,
    /// Checked bytes not yet handed out.
    out: Vec<u8>,
    out_pos: usize,
    /// Stream offset of the next byte read from `input`.
    offset: u64,
    zero_blocks: u32,
}

impl<R: Read> TarGuard<R> {
    /// A guard for extracting into `root` (an existing directory), admitting the members
    /// `filter` admits.
    pub fn new(input: R, root: &Path, filter: Arc<PathFilter>) -> io::Result<TarGuard<R>> {
        Ok(TarGuard {
            input: BufReader::with_capacity(1 << 16, input),
            tree: Tree::new(root)?,
            filter,
            state: State::Header,
            out: Vec::new(),
            out_pos: 0,
            offset: 0,
            zero_blocks: 0,
        })
    }

    /// Reads one block; `None` at the end of the input (a partial block is dropped: tar
    /// then reports the archive as truncated).
    fn block(&mut self) -> io::Result<Option<[u8; BLOCK]>> {
        let mut block = [0u8; BLOCK];
        let mut got = 0;
        while got < BLOCK {
            match self.input.read(&mut block[got..])? {
                0 => return Ok(None),
                n => got += n,
            }
        }
        self.offset += BLOCK as u64;
        Ok(Some(block))
    }

    fn refuse(&self, member: &[u8], offset: u64, reason: String) -> io::Error {
        io::Error::other(Refusal {
            member: String::from_utf8_lossy(member).into_owned(),
            offset,
            reason,
        })
    }

    /// Reads the headers of the next member (extension headers included), checks it and
    /// queues what is to be handed on. False at the end of the input.
    fn next_member(&mut self) -> io::Result<bool> {
        let mut pending: Vec<u8> = Vec::new();
        let mut ext = Extensions::default();
        loop {
            let at = self.offset;
            let Some(block) = self.block()? else {
                return Ok(false);
            };
            if is_zero(&block) {
                if !pending.is_empty() {
                    return Err(self.refuse(b"", at, "extension headers without a member".into()));
                }
                self.out.extend_from_slice(&block);
                self.zero_blocks += 1;
                if self.zero_blocks == 2 {
                    self.state = State::Trailer;
                }
                return Ok(true);
            }
            self.zero_blocks = 0;
            if !checksum_ok(&block) {
                return Err(self.refuse(b"", at, "a damaged header (bad checksum)".into()));
            }
            let raw = RawHeader::parse(&block);
            if matches!(raw.typeflag, b'L' | b'K' | b'x' | b'g') {
                let data = self.member_data(&raw, raw.size, at, MAX_EXTENSION)?;
                pending.extend_from_slice(&block);
                pending.extend_from_slice(&data);
                let size = raw.size.unwrap_or(0) as usize;
                if raw.typeflag == b'g' {
                    check_global(&data[..size]).map_err(|why| self.refuse(&raw.name, at, why))?;
                } else {
                    ext.add(raw.typeflag, &data[..size])
                        .map_err(|why| self.refuse(&raw.name, at, why))?;
                }
                continue;
            }
            let header_at = pending.len();
            pending.extend_from_slice(&block);
            if raw.sparse_extended {
                loop {
                    let Some(more) = self.block()? else {
                        return Ok(false);
                    };
                    pending.extend_from_slice(&more);
                    if !header::sparse_block_extended(&more) {
                        break;
                    }
                }
            }
            let (name, link, size) = ext
                .apply(&raw)
                .map_err(|why| self.refuse(&raw.name, at, why))?;
            let mut dumpdirs: Vec<Vec<u8>> = ext
                .dumpdir()
                .map_err(|why| self.refuse(&name, at, why))?
                .into_iter()
                .collect();
            let mut left = size
                .checked_next_multiple_of(BLOCK as u64)
                .ok_or_else(|| self.refuse(&name, at, format!("a size of {size} bytes")))?;
            let own_dumpdir = raw.typeflag == b'D';
            if own_dumpdir {
                let mut data = self.member_data(&raw, Some(size), at, MAX_DUMPDIR)?;
                data.truncate(size as usize);
                // what tar is handed, and judged: renames tar can carry out as meant
                dumpdirs.push(dumpdir::arrange(&data, !ext.sets_size()).unwrap_or(data));
                left = 0;
            }
            let rewritable = own_dumpdir && !ext.sets_size();
            let keep = self
                .admit(&raw, &name, &link, size, &dumpdirs, rewritable)
                .map_err(|why| self.refuse(&name, at, why))?;
            if own_dumpdir && let Some(mut data) = dumpdirs.pop() {
                if rewritable && let Some(rebased) = dumpdir::rebase_temp(&data, self.tree.root()) {
                    data = rebased;
                }
                if data.len() as u64 != size {
                    header::set_size(
                        &mut pending[header_at..header_at + BLOCK],
                        data.len() as u64,
                    );
                }
                let padded = data.len().next_multiple_of(BLOCK);
                data.resize(padded, 0);
                pending.extend_from_slice(&data);
            }
            if keep {
                self.out.extend_from_slice(&pending);
            }
            self.state = State::Data { left, drop: !keep };
            return Ok(true);
        }
    }

    /// The data of an extension header or a dumpdir (`size` bytes, at most `max`),
    /// padding included.
    fn member_data(
        &mut self,
        raw: &RawHeader,
        size: Option<u64>,
        at: u64,
        max: u64,
    ) -> io::Result<Vec<u8>> {
        let size = size.ok_or_else(|| {
            self.refuse(
                &raw.name,
                at,
                "a size field GNU tar may read differently".into(),
            )
        })?;
        if size > max {
            return Err(self.refuse(
                &raw.name,
                at,
                format!(
                    "{} of {size} bytes (at most {max})",
                    if raw.typeflag == b'D' {
                        "a dumpdir"
                    } else {
                        "an extension header"
                    }
                ),
            ));
        }
        let mut data = vec![0u8; size.next_multiple_of(BLOCK as u64) as usize];
        self.input.read_exact(&mut data)?;
        self.offset += data.len() as u64;
        Ok(data)
    }
}

impl<R: Read> Read for TarGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_pos < self.out.len() {
                let n = buf.len().min(self.out.len() - self.out_pos);
                buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
                self.out_pos += n;
                if self.out_pos == self.out.len() {
                    self.out.clear();
                    self.out_pos = 0;
                }
                return Ok(n);
            }
            match self.state {
                State::Trailer => {
                    io::copy(&mut self.input, &mut io::sink())?;
                    return Ok(0);
                }
                State::Data { left: 0, .. } => self.state = State::Header,
                State::Data { left, drop } => {
                    let want = (buf.len() as u64).min(left) as usize;
                    let n = self.input.read(&mut buf[..want])?;
                    if n == 0 {
                        return Ok(0);
                    }
                    self.offset += n as u64;
                    self.state = State::Data {
                        left: left - n as u64,
                        drop,
                    };
                    if !drop {
                        return Ok(n);
                    }
                }
                State::Header => {
                    if !self.next_member()? {
                        return Ok(0);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
