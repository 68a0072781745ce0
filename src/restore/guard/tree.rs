//! Where a member would land: its name split into components (no `..`, not absolute), the
//! PATH filter of a partial restore, and the restore directory as GNU tar will find it
//! when it reaches the member: what this stream's members made and its dumpdirs renamed
//! so far, in order (tar runs behind the guard), else what is on disk. A rename tar
//! carries out in the restore directory moves what was at its `R` name to its `T` name
//! (or fails): the guard follows both outcomes back to what was there, so a move through
//! directories the same stream renamed is gone through exactly when every outcome is a
//! directory or nothing, and a symlink a rename moved is still a symlink at its new name.

use std::collections::HashMap;
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

/// The most evaluations one path may cost before it is refused: every rename a path
/// was moved through can double the outcomes to follow (it succeeded or failed).
const MAX_OUTCOMES: usize = 100_000;
/// The most events one outcome is followed back through (each one step of recursion).
const MAX_DEPTH: usize = 1_000;

/// What may be at a path at some point of the stream: every outcome the renames before it
/// allow (each may have succeeded or failed), merged.
#[derive(Debug, Clone, Default)]
struct Kinds {
    /// A directory (tar goes through it; what is below is what was there).
    dir: bool,
    /// Nothing: tar creates a directory if it needs one.
    missing: bool,
    /// Something tar must not go through, and why (the first such outcome found).
    bad: Option<String>,
}

impl Kinds {
    fn dir() -> Kinds {
        Kinds {
            dir: true,
            ..Kinds::default()
        }
    }

    fn missing() -> Kinds {
        Kinds {
            missing: true,
            ..Kinds::default()
        }
    }

    fn bad(why: String) -> Kinds {
        Kinds {
            bad: Some(why),
            ..Kinds::default()
        }
    }

    fn merge(&mut self, other: Kinds) {
        self.dir |= other.dir;
        self.missing |= other.missing;
        if self.bad.is_none() {
            self.bad = other.bad;
        }
    }
}

/// A rename of a dumpdir of this stream, as tar carries it out: `from` to `to` (names
/// joined by `/`).
#[derive(Debug)]
struct Rename {
    from: Vec<u8>,
    to: Vec<u8>,
}

/// The event of this stream that last touched a path before some point.
enum Latest {
    /// A member made `Made` at this prefix of the path (the whole path when its length is
    /// the path's).
    Make(usize, Vec<u8>, Made),
    /// The rename with this number.
    Rename(usize),
}

/// The restore directory, and what this slot's stream has done to it so far, in order:
/// the makes of its members (where they matter) and the renames of its dumpdirs. Tar runs
/// behind the guard, so what tar finds at a path is found by going back through these
/// events, and only where none touched the path or a directory above it, on disk.
#[derive(Debug)]
pub struct Tree {
    root: PathBuf,
    /// `root` with every symlink resolved: where "inside" ends.
    canonical: PathBuf,
    /// The number of the next event: makes and renames share one count.
    clock: usize,
    /// The makes at each path, oldest first, with their event numbers.
    makes: HashMap<Vec<u8>, Vec<(usize, Made)>>,
    /// The renames with their event numbers, oldest first.
    renames: Vec<(usize, Rename)>,
    /// For each path some rename moved away or to, those renames (indexes into `renames`).
    touched: HashMap<Vec<u8>, Vec<usize>>,
    /// What the disk showed at a path before this stream touched it.
    disk: HashMap<Vec<u8>, Kinds>,
    /// One evaluation's outcomes per path and point, and how many it took so far.
    memo: HashMap<(Vec<u8>, usize), Kinds>,
    spent: usize,
}

/// Whether `key` is `prefix` or lies below it.
fn under(key: &[u8], prefix: &[u8]) -> bool {
    key.starts_with(prefix) && (key.len() == prefix.len() || key[prefix.len()] == b'/')
}

/// The prefixes of a joined name that are names themselves, shortest first, the name last.
fn prefixes(key: &[u8]) -> impl Iterator<Item = &[u8]> {
    key.iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'/')
        .map(|(i, _)| &key[..i])
        .chain(std::iter::once(key))
}

impl Tree {
    /// The tree of the restore directory `root` (which exists), with nothing made yet.
    pub fn new(root: &Path) -> io::Result<Tree> {
        Ok(Tree {
            root: root.to_path_buf(),
            canonical: root.canonicalize()?,
            clock: 0,
            makes: HashMap::new(),
            renames: Vec::new(),
            touched: HashMap::new(),
            disk: HashMap::new(),
            memo: HashMap::new(),
            spent: 0,
        })
    }

    /// Notes what a member leaves at `parts`, when later members must know: links always;
    /// directories where the disk has no directory yet or where this stream did something
    /// at or above them before; other files only in the latter case. So the model stays
    /// small: a regular file or device cannot be gone through, a directory on disk that
    /// nothing in the stream touched stays one.
    pub fn record(&mut self, parts: &[&[u8]], typeflag: u8, is_dir: bool) {
        let key = join(parts);
        let touched = self.touched_at_or_above(&key);
        let made = if is_dir {
            if !touched
                && self
                    .on_disk(&key)
                    .is_ok_and(|k| k.dir && !k.missing && k.bad.is_none())
            {
                return;
            }
            Made::Dir
        } else if matches!(typeflag, b'1' | b'2') || touched {
            Made::NotDir
        } else {
            return;
        };
        let at = self.tick();
        self.makes.entry(key).or_default().push((at, made));
    }

    /// Notes a rename of a dumpdir (`from` to `to`, whose parents were checked), which
    /// tar carries out in order: what is at `to` and below is what was at `from` (the
    /// rename succeeded) or what was there before (it failed); `from` is empty or as
    /// before.
    pub fn rename(&mut self, from: &[&[u8]], to: &[&[u8]]) {
        let (from, to) = (join(from), join(to));
        let at = self.tick();
        let index = self.renames.len();
        self.touched.entry(from.clone()).or_default().push(index);
        if to != from {
            self.touched.entry(to.clone()).or_default().push(index);
        }
        self.renames.push((at, Rename { from, to }));
    }

    /// Notes the temporary directory tar makes for a rename cycle at `parts` (whose
    /// parents were checked): a new, empty directory.
    pub fn make_temp(&mut self, parts: &[&[u8]]) {
        let at = self.tick();
        self.makes
            .entry(join(parts))
            .or_default()
            .push((at, Made::Dir));
    }

    /// The restore directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn tick(&mut self) -> usize {
        self.clock += 1;
        self.clock - 1
    }

    /// Whether an event of this stream touched `key` or a directory above it.
    fn touched_at_or_above(&self, key: &[u8]) -> bool {
        (!self.makes.is_empty() || !self.touched.is_empty())
            && prefixes(key).any(|p| self.makes.contains_key(p) || self.touched.contains_key(p))
    }

    /// Checks that tar reaches `parts` only through directories inside the restore
    /// directory: whatever this stream's events may have left at each leading component
    /// is a directory (made by the stream, or on disk), nothing (tar creates it as a
    /// directory), or, into `/`, a symlink on disk. The last component itself is not
    /// followed by tar.
    pub fn check_parents(&mut self, parts: &[&[u8]]) -> Result<(), String> {
        for depth in 1..parts.len() {
            let key = join(&parts[..depth]);
            self.memo.clear();
            self.spent = 0;
            let kinds = self.kinds(&key, self.clock, 0);
            if let Some(why) = kinds.bad {
                return Err(why);
            }
        }
        Ok(())
    }

    /// What may be at `key` just before event number `t`.
    fn kinds(&mut self, key: &[u8], t: usize, depth: usize) -> Kinds {
        let Some(latest) = self.latest(key, t) else {
            return self.on_disk(key).unwrap_or_else(Kinds::bad);
        };
        if let Some(k) = self.memo.get(&(key.to_vec(), t)) {
            return k.clone();
        }
        self.spent += 1;
        if self.spent > MAX_OUTCOMES || depth > MAX_DEPTH {
            return Kinds::bad(format!(
                "it goes through {}, where this slot's dumpdir renames leave more outcomes \
                 than the guard follows ({MAX_OUTCOMES} evaluations, {MAX_DEPTH} renames deep)",
                String::from_utf8_lossy(key)
            ));
        }
        let depth = depth + 1;
        let kinds = match latest {
            Latest::Make(_, at, Made::NotDir) => Kinds::bad(format!(
                "it goes through {}, which an earlier member of this slot made a link or file",
                String::from_utf8_lossy(&at)
            )),
            Latest::Make(_, at, Made::Dir) if at.len() == key.len() => Kinds::dir(),
            Latest::Make(i, at, Made::Dir) => {
                // a directory where there was none is new and empty; one made over a
                // directory (tar keeps it) holds what it held
                if self.kinds(&at, i, depth).dir {
                    let mut kinds = self.kinds(key, i, depth);
                    kinds.merge(Kinds::missing());
                    kinds
                } else {
                    Kinds::missing()
                }
            }
            Latest::Rename(index) => {
                let (i, rename) = &self.renames[index];
                let (i, from, to) = (*i, rename.from.clone(), rename.to.clone());
                // the rename failed
                let mut kinds = self.kinds(key, i, depth);
                if under(key, &to) {
                    // it succeeded: what was at `from` is here
                    let moved = [&from[..], &key[to.len()..]].concat();
                    let mut was = self.kinds(&moved, i, depth);
                    if let Some(why) = was.bad.take() {
                        was.bad = Some(format!(
                            "{why}, and a dumpdir of this slot renamed {} to {}",
                            String::from_utf8_lossy(&from),
                            String::from_utf8_lossy(&to)
                        ));
                    }
                    kinds.merge(was);
                }
                if under(key, &from) && !under(key, &to) {
                    kinds.merge(Kinds::missing());
                }
                kinds
            }
        };
        self.memo.insert((key.to_vec(), t), kinds.clone());
        kinds
    }

    /// The latest event before `t` at `key` or a directory above it.
    fn latest(&self, key: &[u8], t: usize) -> Option<Latest> {
        let mut best: Option<(usize, Latest)> = None;
        for p in prefixes(key) {
            if let Some(list) = self.makes.get(p) {
                let n = list.partition_point(|&(at, _)| at < t);
                if let Some(&(at, made)) = n.checked_sub(1).map(|n| &list[n])
                    && best.as_ref().is_none_or(|(b, _)| at > *b)
                {
                    best = Some((at, Latest::Make(at, p.to_vec(), made)));
                }
            }
            if let Some(list) = self.touched.get(p) {
                let n = list.partition_point(|&r| self.renames[r].0 < t);
                if let Some(&r) = n.checked_sub(1).map(|n| &list[n]) {
                    let at = self.renames[r].0;
                    if best.as_ref().is_none_or(|(b, _)| at > *b) {
                        best = Some((at, Latest::Rename(r)));
                    }
                }
            }
        }
        best.map(|(_, latest)| latest)
    }

    /// What the disk shows at `key`, as tar would go through it: a directory, nothing, a
    /// symlink (gone through only into `/`) or something else (refused).
    fn on_disk(&mut self, key: &[u8]) -> Result<Kinds, String> {
        if let Some(k) = self.disk.get(key) {
            return Ok(k.clone());
        }
        let disk = self.root.join(OsStr::from_bytes(key));
        let kinds = match std::fs::symlink_metadata(&disk) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Kinds::missing(),
            Err(e) => return Err(format!("{}: {e}", disk.display())),
            Ok(m) if m.is_dir() => Kinds::dir(),
            Ok(m) if m.file_type().is_symlink() => match self.check_link(key, &disk) {
                Ok(()) => Kinds::dir(),
                Err(why) => Kinds::bad(why),
            },
            Ok(_) => Kinds::bad(format!(
                "it goes through {}, which is not a directory in {}",
                String::from_utf8_lossy(key),
                self.root.display()
            )),
        };
        self.disk.insert(key.to_vec(), kinds.clone());
        Ok(kinds)
    }

    /// A symlink on disk is gone through only by a restore into `/`, which may write
    /// anywhere by definition (`/lib -> usr/lib`). Into any other directory, even a symlink
    /// that resolves inside is refused: a member tar extracts before this one may have
    /// replaced what it resolves through, and legitimate streams make a directory before
    /// they write below it.
    fn check_link(&self, here: &[u8], disk: &Path) -> Result<(), String> {
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
            String::from_utf8_lossy(here)
        ))
    }
}

#[cfg(test)]
mod tests;
