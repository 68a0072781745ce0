//! The decision on one member once its headers are read: left out by the PATHs of a
//! partial restore, refused, or handed on to tar (and noted in the tree).

use std::io::Read;

use super::header::RawHeader;
use super::tree::components;
use super::{TarGuard, dumpdir};

impl<R: Read> TarGuard<R> {
    /// Decides whether the member is extracted (the PATH filter) and, if so, whether it is
    /// safe, its dumpdirs included; notes what it makes. The last of `dumpdirs` is
    /// `rewritable` when it is a `D` member's data the guard may rewrite.
    pub(super) fn admit(
        &mut self,
        raw: &RawHeader,
        name: &[u8],
        link: &[u8],
        size: u64,
        dumpdirs: &[Vec<u8>],
        rewritable: bool,
    ) -> Result<bool, String> {
        // only the last dumpdir, the `D` member's own data, can be rewritten
        let last = dumpdirs.len().saturating_sub(1);
        match raw.typeflag {
            b'V' if size == 0 => return Ok(true),
            b'N' => return Err("an obsolete GNU rename header".into()),
            b'1'..=b'6' | b'V' if size != 0 => {
                return Err(format!(
                    "type {} with {size} bytes of data",
                    raw.typeflag as char
                ));
            }
            _ => {}
        }
        let parts = components(name)?;
        if !self.filter.admits(&parts) {
            for (i, data) in dumpdirs.iter().enumerate() {
                dumpdir::judge(data, &mut self.tree, false, rewritable && i == last)?;
            }
            return Ok(false);
        }
        let is_dir = match raw.typeflag {
            b'5' | b'D' => true,
            // BSD tar's convention, which GNU tar follows: a file ending in `/` is a directory
            b'0' | b'\0' | b'7' => name.ends_with(b"/"),
            _ => false,
        };
        if parts.is_empty() && !is_dir {
            return Err("an empty name".into());
        }
        self.tree.check_parents(&parts)?;
        if raw.typeflag == b'1' {
            let target = components(link).map_err(|why| format!("its link target: {why}"))?;
            if target.is_empty() {
                return Err("a hard link with an empty target".into());
            }
            self.tree.check_parents(&target).map_err(|why| {
                format!("its link target {}: {why}", String::from_utf8_lossy(link))
            })?;
        }
        // tar carries out the renames before it makes the directory itself
        for (i, data) in dumpdirs.iter().enumerate() {
            dumpdir::judge(data, &mut self.tree, true, rewritable && i == last)?;
        }
        if !parts.is_empty() {
            self.tree.record(&parts, raw.typeflag, is_dir);
        }
        Ok(true)
    }
}
