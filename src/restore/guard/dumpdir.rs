//! GNU incremental dumpdirs: the listing a directory member carries (in the data of a `D`
//! member, or in a pax `GNU.dumpdir` record). Before `tar -x -g` extracts the directory it
//! carries out the dumpdir's renames (`R` from, `T` to, `X` a parent for a temporary
//! directory; GNU tar 1.34 `incremen.c`, `try_purge_directory`), with names relative to
//! the restore directory, so those names are judged like member names. `Y`, `N` and `D`
//! entries only say which files of the directory to keep: tar deletes the others.

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
/// without `R`, a second `X`, an empty `R`/`T` name without `X`.
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
            b'X' if temp => return Err("a dumpdir with a second `X` entry".into()),
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

/// Judges the dumpdir of a member as tar will act on it: each `R` and `T` name like a
/// member name (not absolute, no `..`, reached only through directories inside), in order,
/// each rename noted in `tree` once checked. When the member is not `extracted` (a partial
/// restore leaves it out, so tar never sees it) only the names themselves are judged.
/// `X` is refused: GNU tar 1.34 makes its temporary directory relative to its working
/// directory, not `-C DIR`, so a rename cycle never restores and could write elsewhere.
pub fn judge(data: &[u8], tree: &mut Tree, extracted: bool) -> Result<(), String> {
    for op in parse(data)? {
        match op {
            Op::Temp(name) => {
                return Err(format!(
                    "its dumpdir entry `{}`: a temporary directory for a rename cycle, which \
                     GNU tar makes outside the restore directory",
                    show(b'X', name)
                ));
            }
            Op::Rename { from, to } => {
                let from_parts = entry_parts(b'R', from)?;
                let to_parts = entry_parts(b'T', to)?;
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

/// The name of an `R` or `T` entry as components.
fn entry_parts(code: u8, name: &[u8]) -> Result<Vec<&[u8]>, String> {
    let shown = || show(code, name);
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
