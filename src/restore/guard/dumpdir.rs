//! GNU incremental dumpdirs: the listing a directory member carries (in the data of a `D`
//! member, or in a pax `GNU.dumpdir` record). Before `tar -x -g` extracts the directory it
//! carries out the dumpdir's renames (`R` from, `T` to, `X` a parent for a temporary
//! directory; GNU tar 1.34 `incremen.c`, `try_purge_directory`), with names relative to
//! the restore directory, so those names are judged like member names. `Y`, `N` and `D`
//! entries only say which files of the directory to keep: tar deletes the others.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::tree::{Tree, components};

/// One entry of a dumpdir whose names tar acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op<'a> {
    /// `X`: tar makes a temporary directory `NAME/tar.XXXXXX` for a cycle of renames.
    Temp(&'a [u8]),
    /// An `R` entry and the `T` entry after it: tar renames `from` to `to` (an empty name
    /// is the temporary directory).
    Rename { from: &'a [u8], to: &'a [u8] },
}

/// Splits a dumpdir into its entries (each a code letter and a name, NUL-terminated, the
/// list ended by an empty entry) and returns what tar acts on. Refuses what GNU tar would
/// reject or could read otherwise: a missing end, an unknown code, `R` without `T`, `T`
/// without `R`, an empty `R`/`T` name without an `X` before it.
pub fn parse(data: &[u8]) -> Result<Vec<Op<'_>>, String> {
    let mut ops = Vec::new();
    let mut rest = data;
    let mut temp = false;
    let mut from: Option<&[u8]> = None;
    loop {
        let Some(end) = rest.iter().position(|&b| b == 0) else {
            return Err("a dumpdir without its terminating empty entry".into());
        };
        let entry = &rest[..end];
        rest = &rest[end + 1..];
        let Some((&code, name)) = entry.split_first() else {
            break;
        };
        if from.is_some() && code != b'T' {
            return Err(format!(
                "a dumpdir whose `R` entry is followed by `{}`, not `T`",
                code.escape_ascii()
            ));
        }
        match code {
            b'Y' | b'N' | b'D' => {}
            b'X' => {
                temp = true;
                ops.push(Op::Temp(name));
            }
            b'R' | b'T' if name.is_empty() && !temp => {
                return Err(format!(
                    "a dumpdir `{}` entry with an empty name and no `X` entry",
                    code as char
                ));
            }
            b'R' => from = Some(name),
            b'T' => match from.take() {
                Some(from) => ops.push(Op::Rename { from, to: name }),
                None => return Err("a dumpdir `T` entry without an `R` entry".into()),
            },
            other => {
                return Err(format!(
                    "a dumpdir entry of unknown kind `{}`",
                    other.escape_ascii()
                ));
            }
        }
    }
    if from.is_some() {
        return Err("a dumpdir whose last `R` entry has no `T`".into());
    }
    Ok(ops)
}

/// How a dumpdir entry is shown in a refusal: its code and name.
pub fn show(code: u8, name: &[u8]) -> String {
    format!("{}{}", code as char, String::from_utf8_lossy(name))
}

/// The last component of the names the guard gives tar's temporary directories of the
/// rename cycles of one dumpdir (`X/tar.XXXXXX`, each a fresh directory whose name mkdtemp
/// picks), numbered: no member can name them, as no tar name holds a NUL.
fn temp_name(n: usize) -> Vec<u8> {
    format!("tar.XXXXXX\0{n}").into_bytes()
}

/// Judges the dumpdir of a member as tar will act on it: each `R` and `T` name like a
/// member name (not absolute, no `..`, reached only through directories inside), in order,
/// each rename noted in `tree` once checked. When the member is not `extracted` (a partial
/// restore leaves it out, so tar never sees it) only the names themselves are judged.
///
/// `X`, the parent of the temporary directory of a rename cycle (a swap of two
/// directories), is as `tar -c` was given the source: absolute for this tool's backups.
/// GNU tar 1.34 makes that directory at the name itself, not under `-C DIR`, so the guard
/// hands tar the name inside the restore directory instead ([`rebase_temp`]), and judges
/// it like a member name: only a `rewritable` dumpdir (the data of a `D` member whose size
/// no pax header sets) may have one.
pub fn judge(
    data: &[u8],
    tree: &mut Tree,
    extracted: bool,
    rewritable: bool,
) -> Result<(), String> {
    let ops = parse(data)?;
    let temp_names: Vec<Vec<u8>> = (0..ops.iter().filter(|op| matches!(op, Op::Temp(_))).count())
        .map(temp_name)
        .collect();
    let mut temp: Option<Vec<&[u8]>> = None;
    let mut temps = temp_names.iter();
    for op in ops {
        match op {
            Op::Temp(name) if !rewritable => {
                return Err(format!(
                    "its dumpdir entry `{}`: a temporary directory for a rename cycle, in a \
                     pax header, which this tool does not rewrite into the restore directory",
                    show(b'X', name)
                ));
            }
            Op::Temp(name) => {
                let mut parts = components(strip_root(name))
                    .map_err(|why| format!("its dumpdir entry `{}`: {why}", show(b'X', name)))?;
                // each `X` is a temporary directory of its own
                parts.extend(temps.next().map(Vec::as_slice));
                if extracted {
                    tree.check_parents(&parts).map_err(|why| {
                        format!("its dumpdir entry `{}`: {why}", show(b'X', name))
                    })?;
                    tree.make_temp(&parts);
                }
                temp = Some(parts);
            }
            Op::Rename { from, to } => {
                let from_parts = entry_parts(b'R', from, temp.as_deref())?;
                let to_parts = entry_parts(b'T', to, temp.as_deref())?;
                if !extracted {
                    continue;
                }
                for (code, name, parts) in [(b'R', from, &from_parts), (b'T', to, &to_parts)] {
                    tree.check_parents(parts).map_err(|why| {
                        format!("its dumpdir entry `{}`: {why}", show(code, name))
                    })?;
                }
                tree.rename(&from_parts, &to_parts);
            }
        }
    }
    Ok(())
}

/// The most renames of one dumpdir [`arrange`] puts in order (it compares each pair).
const MAX_ARRANGED: usize = 1024;

/// A part of a dumpdir as [`arrange`] sees it: entries `start..end`.
#[derive(Clone, Copy)]
enum Unit {
    /// A `Y`, `N` or `D` entry, or the terminating empty one.
    Listing(usize),
    /// An `R` entry and its `T`.
    Rename(usize),
    /// An `X` entry and the renames of its cycle, up to the one back out of the
    /// temporary directory (an empty `R` name).
    Cycle(usize, usize),
}

/// The dumpdir as tar should be handed it, when tar wrote it in a way it cannot carry
/// out itself (GNU tar 1.34); `None` when it is fine as it is, or malformed.
///
/// - A rename cycle of three or more directories (`mv a t; mv b a; mv c b; mv t c`) is
///   written once per directory but one, each time from another start: tar would carry
///   out the rotation that many times and restore the wrong directories under each name.
///   The repeats (cycles moving the same directories to the same names) are dropped, so
///   the data shrinks: only when the dumpdir is `rewritable` (the member's size is its
///   header's, which the guard then sets).
/// - A directory moved out of a directory that was itself moved is named
///   by the parent's new name, in the order of the new tree (`mv a/b b; mv a z` gives
///   `Rsrc/z/b Tsrc/b` before `Rsrc/a Tsrc/z`), so `tar -x` fails "Cannot rename". Here a
///   rename whose `R` or `T` name lies below another's `T` name goes after it; otherwise
///   the order stays (a cycle keeps its place). More than [`MAX_ARRANGED`] renames, or
///   renames that depend on each other in a circle, are left as they are. This does not
///   change the length.
pub fn arrange(data: &[u8], rewritable: bool) -> Option<Vec<u8>> {
    // every entry NUL-terminated (then each name is its entry without code and NUL)
    if !data.ends_with(&[0]) {
        return None;
    }
    let entries: Vec<&[u8]> = data.split_inclusive(|&b| b == 0).collect();
    let code = |i: usize| entries.get(i).and_then(|e| e.first()).copied();
    let name = |i: usize| &entries[i][1..entries[i].len() - 1];
    let mut units = Vec::new();
    let mut i = 0;
    while i < entries.len() {
        match code(i) {
            Some(b'X') => {
                let mut j = i + 1;
                loop {
                    if code(j) != Some(b'R') || code(j + 1) != Some(b'T') {
                        return None;
                    }
                    j += 2;
                    if name(j - 2).is_empty() {
                        break;
                    }
                }
                units.push(Unit::Cycle(i, j));
                i = j;
            }
            Some(b'R') if code(i + 1) == Some(b'T') => {
                units.push(Unit::Rename(i));
                i += 2;
            }
            Some(b'R' | b'T') => return None,
            _ => {
                units.push(Unit::Listing(i));
                i += 1;
            }
        }
    }
    let emit = |units: &[Unit]| {
        let mut out = Vec::with_capacity(data.len());
        for unit in units {
            let (from, to) = match *unit {
                Unit::Listing(i) => (i, i + 1),
                Unit::Rename(i) => (i, i + 2),
                Unit::Cycle(i, j) => (i, j),
            };
            for entry in &entries[from..to] {
                out.extend_from_slice(entry);
            }
        }
        out
    };
    let mut changed = false;
    if rewritable && units.iter().any(|u| matches!(u, Unit::Cycle(..))) {
        // what a cycle does: each directory it moves and where to, the temporary hop
        // resolved (its first rename goes into the temporary directory, its last out)
        let moves = |i: usize, j: usize| {
            let pairs = (i + 1..j).step_by(2).map(|k| (name(k), name(k + 1)));
            // a cycle ends with its one rename out of the temporary directory (the units
            // were cut there), so what went in lands at that rename's `T`: one pass
            let back = name(j - 1);
            let mut moves: Vec<(&[u8], &[u8])> = pairs
                .filter(|(from, _)| !from.is_empty())
                .map(|(from, to)| (from, if to.is_empty() { back } else { to }))
                .collect();
            moves.sort();
            moves
        };
        let mut seen = std::collections::HashSet::new();
        let before = units.len();
        units.retain(|u| match *u {
            Unit::Cycle(i, j) => seen.insert(moves(i, j)),
            _ => true,
        });
        changed = units.len() != before;
    }
    let renames: Vec<usize> = units
        .iter()
        .filter_map(|u| match *u {
            Unit::Rename(i) => Some(i),
            _ => None,
        })
        .collect();
    if renames.len() < 2 || renames.len() > MAX_ARRANGED {
        return changed.then(|| emit(&units));
    }
    let below = |key: &[u8], dir: &[u8]| {
        key.len() > dir.len() && key.starts_with(dir) && key[dir.len()] == b'/'
    };
    let n = renames.len();
    // after[q]: the renames that must follow q; waiting[p]: how many p must follow
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut waiting = vec![0usize; n];
    for p in 0..n {
        let (from, to) = (name(renames[p]), name(renames[p] + 1));
        for q in (0..n).filter(|&q| q != p) {
            let dir = name(renames[q] + 1);
            if below(from, dir) || below(to, dir) {
                after[q].push(p);
                waiting[p] += 1;
            }
        }
    }
    let mut ready: std::collections::BTreeSet<usize> =
        (0..n).filter(|&p| waiting[p] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(q) = ready.pop_first() {
        order.push(q);
        for &p in &after[q] {
            waiting[p] -= 1;
            if waiting[p] == 0 {
                ready.insert(p);
            }
        }
    }
    if order.len() != n || order.iter().enumerate().all(|(k, &q)| k == q) {
        return changed.then(|| emit(&units));
    }
    let mut next = order.iter();
    let arranged: Vec<Unit> = units
        .iter()
        .map(|u| match u {
            Unit::Rename(_) => next.next().map_or(*u, |&q| Unit::Rename(renames[q])),
            other => *other,
        })
        .collect();
    Some(emit(&arranged))
}

/// A name without its leading `/`s, as GNU tar strips member names.
fn strip_root(name: &[u8]) -> &[u8] {
    let start = name.iter().position(|&b| b != b'/').unwrap_or(name.len());
    &name[start..]
}

/// The dumpdir with its `X` name moved into the restore directory `root` (the name
/// without its leading `/`s, below `root`), when it has an `X` entry: what tar is handed
/// so that it makes the temporary directory of a rename cycle where the renames happen.
pub fn rebase_temp(data: &[u8], root: &Path) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() + root.as_os_str().len() + 1);
    let mut found = false;
    for entry in data.split_inclusive(|&b| b == 0) {
        match entry.split_first() {
            Some((b'X', name)) => {
                found = true;
                let mut base = root.as_os_str().as_bytes().to_vec();
                if !base.ends_with(b"/") {
                    base.push(b'/');
                }
                out.push(b'X');
                out.extend_from_slice(&base);
                out.extend_from_slice(strip_root(name));
            }
            _ => out.extend_from_slice(entry),
        }
    }
    found.then_some(out)
}

/// The name of an `R` or `T` entry as components; an empty name is the temporary
/// directory of the `X` entry before it (`parse` refuses one without).
fn entry_parts<'a>(
    code: u8,
    name: &'a [u8],
    temp: Option<&[&'a [u8]]>,
) -> Result<Vec<&'a [u8]>, String> {
    let shown = || show(code, name);
    if name.is_empty()
        && let Some(temp) = temp
    {
        return Ok(temp.to_vec());
    }
    let parts =
        components(name).map_err(|why| format!("its dumpdir entry `{}`: {why}", shown()))?;
    if parts.is_empty() {
        return Err(format!(
            "its dumpdir entry `{}` names the restore directory itself",
            shown()
        ));
    }
    Ok(parts)
}
