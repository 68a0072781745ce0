//! Where a member would land: its name split into components (no `..`, not absolute), the
//! PATH filter of a partial restore, and the restore directory as GNU tar will find it
//! when it reaches the member: what this stream made so far (tar runs behind the guard),
//! else what is on disk. Where a dumpdir of this stream renamed something, the disk no
//! longer tells: there only what a later directory member makes is gone through.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// A member name as components, or why it is refused. A leading `./` is dropped (what
/// `tar -C DIR .` writes); empty components and one trailing `/` are what tar strips too.
pub fn components(name: &[u8]) -> Result<Vec<&[u8]>, String> {
    if name.first() == Some(&b'/') {
        return Err("it is an absolute name".into());
    }
    let mut rest = name;
    while let Some(tail) = rest.strip_prefix(b"./") {
        rest = tail;
    }
    if rest == b"." {
        rest = b"";
    }
    let parts: Vec<&[u8]> = rest
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .collect();
    if parts.contains(&&b".."[..]) {
        return Err("its name contains `..`".into());
    }
    if parts.contains(&&b"."[..]) {
        return Err("its name contains a `.` component".into());
    }
    Ok(parts)
}

fn join(parts: &[&[u8]]) -> Vec<u8> {
    parts.join(&b'/')
}

fn show(parts: &[&[u8]]) -> String {
    String::from_utf8_lossy(&join(parts)).into_owned()
}

/// The PATHs of a partial restore: a member is extracted when its name is one of them or
/// lies below one (GNU tar's matching of member names given on the command line, without
/// wildcards). Remembers which PATHs matched something.
#[derive(Debug, Default)]
pub struct PathFilter {
    paths: Vec<(String, Vec<u8>, AtomicBool)>,
}

impl PathFilter {
    /// A filter for these PATHs (`home/foo/docs`; a leading `/` or `./` is ignored). No
    /// PATHs: every member is extracted.
    pub fn new(paths: &[String]) -> Result<PathFilter, String> {
        let mut out = Vec::new();
        for p in paths {
            let parts = components(p.trim_start_matches('/').as_bytes())
                .map_err(|why| format!("PATH {p}: {why}"))?;
            if parts.is_empty() {
                return Err(format!("PATH {p} names the whole archive; leave it out"));
            }
            out.push((p.clone(), join(&parts), AtomicBool::new(false)));
        }
        Ok(PathFilter { paths: out })
    }

    /// Whether a member (as components) is extracted; marks the PATHs it matches.
    pub fn admits(&self, parts: &[&[u8]]) -> bool {
        if self.paths.is_empty() {
            return true;
        }
        let name = join(parts);
        let mut hit = false;
        for (_, p, matched) in &self.paths {
            if name == *p || (name.starts_with(p) && name.get(p.len()) == Some(&b'/')) {
                matched.store(true, Ordering::Relaxed);
                hit = true;
            }
        }
        hit
    }

    /// The PATHs no member matched so far.
    pub fn unmatched(&self) -> Vec<String> {
        self.paths
            .iter()
            .filter(|(_, _, m)| !m.load(Ordering::Relaxed))
            .map(|(p, _, _)| p.clone())
            .collect()
    }
}

/// What a member of this stream leaves at its path, where it matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    /// A directory where the disk had none (GNU tar replaces a symlink or file found there
    /// by a new directory; `--keep-directory-symlink` is never given).
    Dir,
    /// A symlink or hard link (or a file where the stream made one before): nothing tar
    /// may go through.
    NotDir,
}

/// The restore directory, and what this slot's stream has put into it so far.
#[derive(Debug)]
pub struct Tree {
    root: PathBuf,
    /// `root` with every symlink resolved: where "inside" ends.
    canonical: PathBuf,
    made: HashMap<Vec<u8>, Made>,
    /// Paths found on disk as directories (or symlinks to directories) inside: tar only
    /// removes things until a member of this stream replaces them, which `made` records.
    seen_dirs: HashSet<Vec<u8>>,
    /// Where a dumpdir rename of this stream moved something away or to: below these,
    /// what is on disk now is no guide to what tar will find.
    moved: HashSet<Vec<u8>>,
}

impl Tree {
    /// The tree of the restore directory `root` (which exists), with nothing made yet.
    pub fn new(root: &Path) -> io::Result<Tree> {
        Ok(Tree {
            root: root.to_path_buf(),
            canonical: root.canonicalize()?,
            made: HashMap::new(),
            seen_dirs: HashSet::new(),
            moved: HashSet::new(),
        })
    }

    /// Notes what a member leaves at `parts`, when later members must know: links always;
    /// directories only where the disk has no directory yet, other files only where this
    /// stream made something before (or a rename moved something). So the model stays
    /// small: a regular file or device cannot be gone through, a directory on disk stays one.
    pub fn record(&mut self, parts: &[&[u8]], typeflag: u8, is_dir: bool) {
        let key = join(parts);
        let made = if is_dir {
            let on_disk = !self.made.contains_key(&key)
                && self.moved_at(parts).is_none()
                && std::fs::symlink_metadata(self.root.join(OsStr::from_bytes(&key)))
                    .is_ok_and(|m| m.is_dir());
            if on_disk {
                return;
            }
            Made::Dir
        } else if matches!(typeflag, b'1' | b'2')
            || self.made.contains_key(&key)
            || self.moved_at(parts).is_some()
        {
            Made::NotDir
        } else {
            return;
        };
        self.seen_dirs.remove(&key);
        self.made.insert(key, made);
    }

    /// Notes a rename of a dumpdir (`from` to `to`, either empty for tar's temporary
    /// directory): whatever this stream made or the disk showed at and below both paths
    /// is forgotten (the rename may move a symlink there, or fail), and going through them
    /// is refused until a directory member of the stream makes them again.
    pub fn rename(&mut self, from: &[&[u8]], to: &[&[u8]]) {
        for parts in [from, to] {
            if parts.is_empty() {
                continue;
            }
            let key = join(parts);
            let under =
                |p: &Vec<u8>| p.starts_with(&key) && (p.len() == key.len() || p[key.len()] == b'/');
            self.made.retain(|p, _| !under(p));
            self.seen_dirs.retain(|p| !under(p));
            self.moved.insert(key);
        }
    }

    /// The renamed path `parts` is at or below, if any.
    fn moved_at(&self, parts: &[&[u8]]) -> Option<String> {
        if self.moved.is_empty() {
            return None;
        }
        (1..=parts.len()).find_map(|n| {
            self.moved
                .contains(&join(&parts[..n]))
                .then(|| show(&parts[..n]))
        })
    }

    /// Checks that tar reaches `parts` only through directories inside the restore
    /// directory: each leading component is a directory this stream makes, a directory on
    /// disk, a symlink on disk that resolves to a directory inside, or not there yet (tar
    /// creates it as a directory). The last component itself is not followed by tar.
    pub fn check_parents(&mut self, parts: &[&[u8]]) -> Result<(), String> {
        // Once a component is new (made by this stream over something else, or missing),
        // nothing below it exists yet but what the stream makes.
        let mut fresh = false;
        for depth in 1..parts.len() {
            let here = &parts[..depth];
            let key = join(here);
            let disk = self.root.join(OsStr::from_bytes(&key));
            let moved = self.moved_at(here);
            match self.made.get(&key) {
                Some(Made::NotDir) => {
                    return Err(format!(
                        "it goes through {}, which an earlier member of this slot made a link or file",
                        show(here)
                    ));
                }
                Some(Made::Dir) => {
                    if !fresh
                        && moved.is_none()
                        && !std::fs::symlink_metadata(&disk).is_ok_and(|m| m.is_dir())
                    {
                        fresh = true;
                    }
                }
                None if moved.is_some() => {
                    return Err(format!(
                        "it goes through {}, where a dumpdir of this slot renamed {} \
                         (no directory member made it since)",
                        show(here),
                        moved.unwrap_or_default()
                    ));
                }
                None if fresh || self.seen_dirs.contains(&key) => {}
                None => match std::fs::symlink_metadata(&disk) {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => fresh = true,
                    Err(e) => return Err(format!("{}: {e}", disk.display())),
                    Ok(m) if m.is_dir() => {
                        self.seen_dirs.insert(key);
                    }
                    Ok(m) if m.file_type().is_symlink() => {
                        self.check_link(here, &disk)?;
                        self.seen_dirs.insert(key);
                    }
                    Ok(_) => {
                        return Err(format!(
                            "it goes through {}, which is not a directory in {}",
                            show(here),
                            self.root.display()
                        ));
                    }
                },
            }
        }
        Ok(())
    }

    /// A symlink on disk is gone through only by a restore into `/`, which may write
    /// anywhere by definition (`/lib -> usr/lib`). Into any other directory, even a symlink
    /// that resolves inside is refused: a member tar extracts before this one may have
    /// replaced what it resolves through, and legitimate streams make a directory before
    /// they write below it.
    fn check_link(&self, here: &[&[u8]], disk: &Path) -> Result<(), String> {
        if self.canonical == Path::new("/") {
            return Ok(());
        }
        let target = std::fs::read_link(disk)
            .map(|t| t.display().to_string())
            .unwrap_or_else(|_| "?".into());
        let whereto = match disk.canonicalize() {
            Ok(real) if !real.starts_with(&self.canonical) => {
                format!("outside {}", self.root.display())
            }
            Ok(_) => format!("already in {}", self.root.display()),
            Err(_) => "which does not exist".to_string(),
        };
        Err(format!(
            "it goes through {}, a symlink to {target}, {whereto} (tar would follow it)",
            show(here)
        ))
    }
}

#[cfg(test)]
mod tests;
