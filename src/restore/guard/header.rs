//! One 512-byte tar header block read the way GNU tar 1.34 reads it (`list.c`): checksum,
//! numeric fields, the ustar name prefix, and the extension headers that rename the next
//! member (GNU `L`/`K`, pax `x`). Where GNU tar could read a field differently from this
//! module, the field is refused instead of guessed.

use tar::PaxExtensions;

/// The size of a tar block.
pub const BLOCK: usize = 512;

const NAME: std::ops::Range<usize> = 0..100;
const SIZE: std::ops::Range<usize> = 124..136;
const CHKSUM: std::ops::Range<usize> = 148..156;
const TYPEFLAG: usize = 156;
const LINKNAME: std::ops::Range<usize> = 157..257;
const MAGIC: std::ops::Range<usize> = 257..263;
const PREFIX: std::ops::Range<usize> = 345..500;
/// `isextended` of an old GNU sparse header, and of each sparse extension block.
const GNU_SPARSE_EXTENDED: usize = 482;
const GNU_EXT_SPARSE_EXTENDED: usize = 504;

/// Whether a block is all zeros (an end-of-archive block).
pub fn is_zero(block: &[u8; BLOCK]) -> bool {
    block.iter().all(|&b| b == 0)
}

/// GNU tar's `from_header`, for the cases it and this reader agree on: an optional leading
/// NUL, leading blanks, octal digits, then the end of the field, a NUL or a blank; or (when
/// `base256` is allowed) a positive base-256 number. Anything else is `None`.
fn number(field: &[u8], base256: bool) -> Option<u64> {
    if base256 && field.first() == Some(&0x80) {
        return field[1..]
            .iter()
            .try_fold(0u64, |v, &b| v.checked_mul(256)?.checked_add(u64::from(b)));
    }
    let mut rest = field;
    if rest.first() == Some(&0) {
        rest = &rest[1..];
    }
    while let [b, tail @ ..] = rest
        && b.is_ascii_whitespace()
    {
        rest = tail;
    }
    let digits = rest
        .iter()
        .take_while(|b| (b'0'..=b'7').contains(b))
        .count();
    if digits == 0 {
        return None;
    }
    let value = rest[..digits].iter().try_fold(0u64, |v, &b| {
        v.checked_mul(8)?.checked_add(u64::from(b - b'0'))
    })?;
    match rest.get(digits) {
        None | Some(0) => Some(value),
        Some(b) if b.is_ascii_whitespace() => Some(value),
        Some(_) => None,
    }
}

/// Whether the recorded checksum matches the block (POSIX unsigned or Sun signed sum).
pub fn checksum_ok(block: &[u8; BLOCK]) -> bool {
    let Some(recorded) = number(&block[CHKSUM], false) else {
        return false;
    };
    let (mut unsigned, mut signed) = (0i64, 0i64);
    for (i, &b) in block.iter().enumerate() {
        let b = if CHKSUM.contains(&i) { b' ' } else { b };
        unsigned += i64::from(b);
        signed += i64::from(b as i8);
    }
    i64::try_from(recorded).is_ok_and(|r| r == unsigned || r == signed)
}

/// Sets the size field of a header block (octal, as GNU tar writes sizes below 8 GiB)
/// and its checksum: the header of a member whose data the guard rewrote.
pub fn set_size(block: &mut [u8], size: u64) {
    block[SIZE].copy_from_slice(format!("{size:011o}\0").as_bytes());
    block[CHKSUM].fill(b' ');
    let sum: u64 = block[..BLOCK].iter().map(|&b| u64::from(b)).sum();
    block[CHKSUM].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}

/// The bytes of a NUL-terminated field.
fn c_string(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    &field[..end]
}

/// The fields of a header block that decide where its member goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawHeader {
    pub typeflag: u8,
    /// `prefix/name` for ustar and POSIX headers (magic `ustar\0`, as GNU tar checks it),
    /// else `name`.
    pub name: Vec<u8>,
    pub link_name: Vec<u8>,
    /// The size field; `None` when GNU tar might read it otherwise.
    pub size: Option<u64>,
    /// An old GNU sparse header followed by sparse extension blocks.
    pub sparse_extended: bool,
}

impl RawHeader {
    /// Reads a block whose checksum was found good.
    pub fn parse(block: &[u8; BLOCK]) -> RawHeader {
        let name = c_string(&block[NAME]);
        let prefix = c_string(&block[PREFIX]);
        let name = if &block[MAGIC] == b"ustar\0" && !prefix.is_empty() {
            [prefix, b"/", name].concat()
        } else {
            name.to_vec()
        };
        let typeflag = block[TYPEFLAG];
        RawHeader {
            typeflag,
            name,
            link_name: c_string(&block[LINKNAME]).to_vec(),
            size: number(&block[SIZE], true),
            sparse_extended: typeflag == b'S' && block[GNU_SPARSE_EXTENDED] != 0,
        }
    }
}

/// Whether another sparse extension block follows this one.
pub fn sparse_block_extended(block: &[u8; BLOCK]) -> bool {
    block[GNU_EXT_SPARSE_EXTENDED] != 0
}

/// What the extension headers before a member say about it. Each list holds every value
/// seen; more than one distinct value is refused (GNU tar would pick one).
#[derive(Debug, Default)]
pub struct Extensions {
    pub names: Vec<Vec<u8>>,
    pub link_names: Vec<Vec<u8>>,
    pub sizes: Vec<u64>,
    /// pax `GNU.dumpdir` records (a directory's dumpdir in a POSIX incremental archive).
    pub dumpdirs: Vec<Vec<u8>>,
}

/// The pax keyword of a dumpdir.
const PAX_DUMPDIR: &[u8] = b"GNU.dumpdir";

/// pax keywords that rename a member or change its size.
const PAX_NAME_KEYS: &[&str] = &["path", "GNU.sparse.name"];

impl Extensions {
    /// Takes in the data of an `L`, `K` or `x` header.
    pub fn add(&mut self, typeflag: u8, data: &[u8]) -> Result<(), String> {
        match typeflag {
            b'L' => self.names.push(c_string(data).to_vec()),
            b'K' => self.link_names.push(c_string(data).to_vec()),
            b'x' => {
                for ext in PaxExtensions::new(data) {
                    let ext = ext.map_err(|e| format!("a malformed pax header ({e})"))?;
                    let key = ext.key_bytes();
                    let value = ext.value_bytes();
                    if PAX_NAME_KEYS.iter().any(|k| k.as_bytes() == key) {
                        self.names.push(value.to_vec());
                    } else if key == b"linkpath" {
                        self.link_names.push(value.to_vec());
                    } else if key == PAX_DUMPDIR {
                        self.dumpdirs.push(value.to_vec());
                    } else if key == b"size" {
                        let size = std::str::from_utf8(value)
                            .ok()
                            .and_then(|v| v.parse::<u64>().ok())
                            .ok_or_else(|| {
                                format!(
                                    "a pax size that is not a number ({})",
                                    String::from_utf8_lossy(value)
                                )
                            })?;
                        self.sizes.push(size);
                    }
                }
            }
            _ => unreachable!("only extension headers are added"),
        }
        Ok(())
    }

    /// The member's name, link name and data size once the extensions are applied.
    pub fn apply(&self, header: &RawHeader) -> Result<(Vec<u8>, Vec<u8>, u64), String> {
        let name = one_of(&self.names, "names")?.unwrap_or_else(|| header.name.clone());
        let link =
            one_of(&self.link_names, "link names")?.unwrap_or_else(|| header.link_name.clone());
        let size = match one_of(&self.sizes, "sizes")? {
            Some(size) => size,
            None => header
                .size
                .ok_or("a size field GNU tar may read differently")?,
        };
        Ok((name, link, size))
    }

    /// Whether a pax header sets the member's size (its header's size field is then not
    /// the one tar reads).
    pub fn sets_size(&self) -> bool {
        !self.sizes.is_empty()
    }

    /// The member's pax dumpdir, if it has one.
    pub fn dumpdir(&self) -> Result<Option<Vec<u8>>, String> {
        one_of(&self.dumpdirs, "dumpdirs")
    }
}

/// A pax global header must not rename or resize the members after it.
pub fn check_global(data: &[u8]) -> Result<(), String> {
    for ext in PaxExtensions::new(data) {
        let ext = ext.map_err(|e| format!("a malformed pax global header ({e})"))?;
        let key = ext.key_bytes();
        if PAX_NAME_KEYS.iter().any(|k| k.as_bytes() == key)
            || [&b"linkpath"[..], b"size", PAX_DUMPDIR].contains(&key)
        {
            return Err(format!(
                "a pax global header that sets {} for every member",
                String::from_utf8_lossy(key)
            ));
        }
    }
    Ok(())
}

fn one_of<T: Clone + PartialEq>(values: &[T], what: &str) -> Result<Option<T>, String> {
    match values {
        [] => Ok(None),
        [first, rest @ ..] if rest.iter().all(|v| v == first) => Ok(Some(first.clone())),
        _ => Err(format!("extension headers that give it conflicting {what}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_gnu_tar_reads_them() {
        assert_eq!(number(b"00000000012\0", true), Some(10));
        assert_eq!(number(b"     12 \0\0\0\0", true), Some(10));
        assert_eq!(number(b"\x0000000012\0\0", true), Some(10));
        assert_eq!(number(b"12\0garbage!!", true), Some(10));
        assert_eq!(number(b"12x\0\0\0\0\0\0\0\0\0", true), None);
        assert_eq!(number(b"\0\0\0\0\0\0\0\0\0\0\0\0", true), None);
        assert_eq!(number(b"+12\0\0\0\0\0\0\0\0\0", true), None);
        let mut big = [0u8; 12];
        big[0] = 0x80;
        big[10] = 1;
        assert_eq!(number(&big, true), Some(256));
        assert_eq!(number(&big, false), None);
        big[0] = 0xff;
        assert_eq!(number(&big, true), None);
    }

    fn header(name: &str, kind: tar::EntryType) -> [u8; BLOCK] {
        let mut h = tar::Header::new_gnu();
        h.set_path(name).unwrap();
        h.set_entry_type(kind);
        h.set_size(0);
        h.set_cksum();
        *h.as_bytes()
    }

    #[test]
    fn checksums_and_names() {
        let mut block = header("a/b", tar::EntryType::Directory);
        assert!(checksum_ok(&block));
        let raw = RawHeader::parse(&block);
        assert_eq!(raw.name, b"a/b");
        assert_eq!(raw.typeflag, b'5');
        block[0] = b'x';
        assert!(!checksum_ok(&block));
    }

    #[test]
    fn the_ustar_prefix_counts_whatever_the_version_field_says() {
        let mut h = tar::Header::new_ustar();
        h.set_path(format!("{}/file", "p".repeat(120))).unwrap();
        h.set_cksum();
        let mut block = *h.as_bytes();
        assert!(RawHeader::parse(&block).name.starts_with(b"ppp"));
        block[263..265].copy_from_slice(b"xx");
        assert_eq!(RawHeader::parse(&block).name.len(), 125);
    }

    #[test]
    fn conflicting_extension_names_are_refused() {
        let raw = RawHeader::parse(&header("short", tar::EntryType::Regular));
        let mut ext = Extensions::default();
        ext.add(b'L', b"long/name\0").unwrap();
        assert_eq!(ext.apply(&raw).unwrap().0, b"long/name");
        ext.add(b'x', b"18 path=long/name\n").unwrap();
        assert_eq!(ext.apply(&raw).unwrap().0, b"long/name");
        ext.add(b'x', b"18 path=elsewhere\n").unwrap();
        assert!(ext.apply(&raw).unwrap_err().contains("conflicting names"));
        let mut ext = Extensions::default();
        ext.add(b'x', b"12 size=700\n").unwrap();
        assert_eq!(ext.apply(&raw).unwrap().2, 700);
        assert!(check_global(b"13 path=/etc\n").is_err());
        assert!(check_global(b"17 comment=hello\n").is_ok());
    }
}
