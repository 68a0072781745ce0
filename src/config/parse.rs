//! Apache-style config text -> directives and blocks with file:line (nom).
//! Implements every rule of LEGACY.md §2 (Perl Config::ApacheFormat with
//! `duplicate_directives => combine`, `inheritance_support => 0`, `fix_booleans => 1`):
//!
//! - one directive per line, `Name value value ...`, names `\w+`, case-insensitive;
//!   a directive without values has the single value `1` (and is marked [`Directive::bare`]);
//! - blank lines and lines whose first non-blank character is `#` are skipped;
//! - a line ending in `\` continues on the next line (whose leading white space is dropped);
//! - values split on white space, `"..."` / `'...'` quote (with `\"` and `\'` escapes);
//! - `yes`/`on`/`true` become `1`, `no`/`off`/`false` become `0` (directive values only);
//! - `<Name args...>` ... `</Name>` blocks, nestable; an unclosed block ends at end of file;
//! - `Include PATH` (file, directory, or glob) is expanded in place.
//!
//! Repeated directives are kept as separate [`Directive`]s in file order; combining them
//! (LEGACY.md "duplicate_directives => combine") is done by the reader in `settings`.

use std::fmt;
use std::path::{Path, PathBuf};

use nom::IResult;
use nom::branch::alt;
use nom::bytes::complete::{take_till1, take_while1};
use nom::character::complete::{multispace0, multispace1, one_of, space0};
use nom::combinator::{all_consuming, eof, map, rest};
use nom::multi::many0;
use nom::sequence::{delimited, pair, preceded, terminated};

use super::limits::{
    MAX_BLOCK_DEPTH, MAX_FILE_BYTES, MAX_FILES, MAX_INCLUDE_DEPTH, MAX_TOTAL_BYTES,
    read_regular_file,
};

/// Where something was written: file and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file, as it was named (the `-c` path, or the `Include` target).
    pub file: PathBuf,
    /// 1-based line number; 0 when the whole file is meant (e.g. it cannot be read).
    pub line: usize,
}

impl Origin {
    /// An origin for `file` at 1-based `line`.
    pub fn new(file: impl Into<PathBuf>, line: usize) -> Origin {
        Origin {
            file: file.into(),
            line,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// One `Name value value ...` line (values already unquoted, booleans already fixed).
#[derive(Debug, Clone, PartialEq)]
pub struct Directive {
    /// The name as written (compare case-insensitively).
    pub name: String,
    /// Values; a directive with no value has the single value `1`.
    pub values: Vec<String>,
    /// True when the line had no value at all (so `values` is the implied `["1"]`).
    /// `GpgRecipient` alone means "no encryption".
    pub bare: bool,
    /// Where the directive was written (the first line of a continued line).
    pub origin: Origin,
}

impl Directive {
    /// True when the directive's name is `name`, compared case-insensitively.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// A `<Name args...> ... </Name>` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// The name as written (compare case-insensitively).
    pub name: String,
    /// The arguments of the opening tag, split and unquoted like values (booleans not fixed).
    pub args: Vec<String>,
    /// The block's own lines and nested blocks, in file order.
    pub body: Vec<Entry>,
    /// Where the opening tag was written.
    pub origin: Origin,
}

impl Block {
    /// True when the block's name is `name`, compared case-insensitively.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// A line or a block, in file order (after `Include` expansion).
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// A `Name value ...` line.
    Directive(Directive),
    /// A `<Name ...> ... </Name>` block.
    Block(Block),
}

/// A parsed file with its includes expanded in place.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The file that was loaded.
    pub path: PathBuf,
    /// Top-level lines and blocks in file order.
    pub entries: Vec<Entry>,
    /// Non-fatal findings of the parser (e.g. an `Include` glob matching nothing),
    /// each naming file:line.
    pub warnings: Vec<String>,
}

/// A syntax error, naming file and line.
///
/// Displays as `FILE:LINE: message`, or `FILE: message` when no line applies (line 0).
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// Where the error is.
    pub origin: Origin,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    fn new(origin: Origin, message: impl Into<String>) -> ParseError {
        ParseError {
            origin,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.origin.line == 0 {
            write!(f, "{}: {}", self.origin.file.display(), self.message)
        } else {
            write!(f, "{}: {}", self.origin, self.message)
        }
    }
}

impl std::error::Error for ParseError {}

/// Reads and parses a config file, expanding `Include`.
pub fn load(path: &Path) -> Result<Document, ParseError> {
    let mut parser = Parser::default();
    let entries = parser.parse_file(path, None)?;
    Ok(Document {
        path: path.to_path_buf(),
        entries,
        warnings: parser.warnings,
    })
}

/// Parses config text as if it had been read from `path` (relative `Include`s are also
/// tried beside `path`). The file itself is not read.
pub fn parse_str(path: &Path, text: &str) -> Result<Document, ParseError> {
    let mut parser = Parser::default();
    if let Ok(canon) = path.canonicalize() {
        parser.reading.push(canon);
    }
    let entries = parser.parse_text(path, text)?;
    Ok(Document {
        path: path.to_path_buf(),
        entries,
        warnings: parser.warnings,
    })
}

/// One logical line: the text after joining continuations and trimming, with the number
/// of its first physical line.
#[derive(Debug, PartialEq)]
struct Line {
    text: String,
    number: usize,
}

/// Splits text into logical lines: comments and blank lines dropped, `\` continuations
/// joined (the next line's leading white space dropped), the result trimmed.
fn logical_lines(text: &str) -> Vec<Line> {
    let physical: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < physical.len() {
        let number = i + 1;
        let first = physical[i];
        i += 1;
        let trimmed = first.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut joined = first.trim_end().to_string();
        while joined.ends_with('\\') {
            joined.pop();
            let Some(next) = physical.get(i) else { break };
            i += 1;
            joined.push_str(next.trim_start());
            let keep = joined.trim_end().len();
            joined.truncate(keep);
        }
        out.push(Line {
            text: joined.trim().to_string(),
            number,
        });
    }
    out
}

/// What one logical line is.
#[derive(Debug, PartialEq)]
enum LineKind<'a> {
    /// `<Name args>`: name and the unparsed argument text.
    Open(&'a str, &'a str),
    /// `</Name>`.
    Close(&'a str),
    /// `Name values`: name and the unparsed value text (empty when bare).
    Directive(&'a str, &'a str),
}

/// `\w+`.
fn word(i: &str) -> IResult<&str, &str> {
    take_while1(|c: char| c.is_alphanumeric() || c == '_')(i)
}

/// A name followed by nothing, or by white space and the rest.
fn name_and_rest(i: &str) -> IResult<&str, (&str, &str)> {
    pair(word, alt((eof, preceded(multispace1, rest))))(i)
}

/// Inside `</...>`: the name, white space allowed around it.
fn close_inner(i: &str) -> IResult<&str, &str> {
    delimited(space0, word, space0)(i)
}

/// Classifies a non-empty logical line.
fn classify(text: &str) -> Result<LineKind<'_>, String> {
    if let Some(after) = text.strip_prefix('<') {
        let Some(inner) = after.strip_suffix('>') else {
            return Err(format!("bad block tag {text:?}: missing '>' at the end"));
        };
        if let Some(close) = inner.strip_prefix('/') {
            return all_consuming(close_inner)(close)
                .map(|(_, name)| LineKind::Close(name))
                .map_err(|_| format!("bad closing tag {text:?}"));
        }
        return all_consuming(name_and_rest)(inner)
            .map(|(_, (name, args))| LineKind::Open(name, args))
            .map_err(|_| format!("bad block tag {text:?}: expected <Name args...>"));
    }
    all_consuming(name_and_rest)(text)
        .map(|(_, (name, values))| LineKind::Directive(name, values))
        .map_err(|_| format!("unable to parse line {text:?}: expected `Name value ...`"))
}

/// A quoted value: `"..."` or `'...'`, where `\"` and `\'` stand for the bare quote and
/// any other backslash pair is kept as written. An unterminated quote is a failure
/// (not a backtrackable error).
fn quoted(i: &str) -> IResult<&str, String> {
    let (body, quote) = one_of("\"'")(i)?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((at, c)) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some((_, q @ ('"' | '\''))) => out.push(q),
                Some((_, other)) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else if c == quote {
            return Ok((&body[at + c.len_utf8()..], out));
        } else {
            out.push(c);
        }
    }
    Err(nom::Err::Failure(nom::error::Error::new(
        i,
        nom::error::ErrorKind::Char,
    )))
}

/// An unquoted value: everything up to the next white space.
fn unquoted(i: &str) -> IResult<&str, String> {
    map(take_till1(char::is_whitespace), String::from)(i)
}

/// White-space separated values, quoted or not.
fn value_list(i: &str) -> IResult<&str, Vec<String>> {
    preceded(
        multispace0,
        many0(terminated(alt((quoted, unquoted)), multispace0)),
    )(i)
}

/// Splits a value text into values (quotes removed, escapes resolved).
fn split_values(text: &str) -> Result<Vec<String>, String> {
    match all_consuming(value_list)(text) {
        Ok((_, values)) => Ok(values),
        Err(nom::Err::Failure(e)) | Err(nom::Err::Error(e)) => {
            Err(format!("unterminated quote in {:?}", e.input))
        }
        Err(nom::Err::Incomplete(_)) => Err(format!("cannot split values {text:?}")),
    }
}

/// `fix_booleans`: yes/on/true -> 1, no/off/false -> 0 (case-insensitive).
fn fix_boolean(value: String) -> String {
    match value.to_ascii_lowercase().as_str() {
        "yes" | "on" | "true" => "1".to_string(),
        "no" | "off" | "false" => "0".to_string(),
        _ => value,
    }
}

/// True when an `Include` path is a glob pattern.
fn is_glob(spec: &str) -> bool {
    spec.contains(['*', '?', '['])
}

/// A file to include: itself, or every plain file of a directory sorted by name.
fn expand_target(path: &Path, origin: &Origin) -> Result<Vec<PathBuf>, ParseError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let read = std::fs::read_dir(path).map_err(|e| {
        ParseError::new(
            origin.clone(),
            format!("Include: cannot list directory {}: {e}", path.display()),
        )
    })?;
    let mut files = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| {
            ParseError::new(
                origin.clone(),
                format!("Include: cannot list directory {}: {e}", path.display()),
            )
        })?;
        let p = entry.path();
        if p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    Ok(files)
}

/// Parser state shared across included files.
#[derive(Default)]
struct Parser {
    /// Canonical paths of the files being read (the include chain), for cycle detection.
    reading: Vec<PathBuf>,
    warnings: Vec<String>,
    /// Files read so far, every `Include` of the same file counted ([`MAX_FILES`]).
    files_read: usize,
    /// Bytes read so far ([`MAX_TOTAL_BYTES`]).
    bytes_read: u64,
    /// Blocks open in the including files around the file being parsed.
    outer_blocks: usize,
}

impl Parser {
    /// Reads and parses one file; `included_from` is the `Include` line, if any.
    fn parse_file(
        &mut self,
        path: &Path,
        included_from: Option<&Origin>,
    ) -> Result<Vec<Entry>, ParseError> {
        let via = included_from
            .map(|o| format!(" (included from {o})"))
            .unwrap_or_default();
        if let Some(origin) = included_from {
            self.files_read += 1;
            if self.files_read > MAX_FILES {
                return Err(ParseError::new(
                    origin.clone(),
                    format!("Include: more than {MAX_FILES} files read for one configuration"),
                ));
            }
        }
        let text = read_regular_file(path, MAX_FILE_BYTES)
            .map_err(|e| ParseError::new(Origin::new(path, 0), format!("cannot read: {e}{via}")))?;
        self.bytes_read += text.len() as u64;
        if let Some(origin) = included_from
            && self.bytes_read > MAX_TOTAL_BYTES
        {
            return Err(ParseError::new(
                origin.clone(),
                format!("Include: more than {MAX_TOTAL_BYTES} bytes read for one configuration"),
            ));
        }
        let canon = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if let Some(origin) = included_from {
            if self.reading.contains(&canon) {
                return Err(ParseError::new(
                    origin.clone(),
                    format!("Include cycle: {} is already being read", path.display()),
                ));
            }
            if self.reading.len() >= MAX_INCLUDE_DEPTH {
                return Err(ParseError::new(
                    origin.clone(),
                    format!("Include nested more than {MAX_INCLUDE_DEPTH} deep"),
                ));
            }
        }
        self.reading.push(canon);
        let result = self.parse_text(path, &text);
        self.reading.pop();
        result.map_err(|mut e| {
            if e.origin.file == path {
                e.message.push_str(&via);
            }
            e
        })
    }

    /// Parses the text of `file` into entries.
    fn parse_text(&mut self, file: &Path, text: &str) -> Result<Vec<Entry>, ParseError> {
        let mut root: Vec<Entry> = Vec::new();
        let mut open: Vec<Block> = Vec::new();
        for line in logical_lines(text) {
            let origin = Origin::new(file, line.number);
            let kind =
                classify(&line.text).map_err(|message| ParseError::new(origin.clone(), message))?;
            match kind {
                LineKind::Close(name) => match open.pop() {
                    None => {
                        return Err(ParseError::new(
                            origin,
                            format!("closing tag </{name}> without an open block"),
                        ));
                    }
                    Some(block) if !block.is(name) => {
                        return Err(ParseError::new(
                            origin,
                            format!(
                                "closing tag </{name}> does not match <{}> opened at line {}",
                                block.name, block.origin.line
                            ),
                        ));
                    }
                    Some(block) => push_entry(&mut root, &mut open, Entry::Block(block)),
                },
                LineKind::Open(name, args) => {
                    if self.outer_blocks + open.len() >= MAX_BLOCK_DEPTH {
                        return Err(ParseError::new(
                            origin,
                            format!("<{name}> nests blocks more than {MAX_BLOCK_DEPTH} deep"),
                        ));
                    }
                    let args = split_values(args)
                        .map_err(|message| ParseError::new(origin.clone(), message))?;
                    open.push(Block {
                        name: name.to_string(),
                        args,
                        body: Vec::new(),
                        origin,
                    });
                }
                LineKind::Directive(name, values_text) => {
                    let values = split_values(values_text)
                        .map_err(|message| ParseError::new(origin.clone(), message))?;
                    if name.eq_ignore_ascii_case("include") {
                        if values.is_empty() {
                            return Err(ParseError::new(origin, "Include needs a path"));
                        }
                        for spec in &values {
                            self.outer_blocks += open.len();
                            let included = self.include(spec, &origin, file);
                            self.outer_blocks -= open.len();
                            for entry in included? {
                                push_entry(&mut root, &mut open, entry);
                            }
                        }
                        continue;
                    }
                    let bare = values.is_empty();
                    let values = if bare {
                        vec!["1".to_string()]
                    } else {
                        values.into_iter().map(fix_boolean).collect()
                    };
                    push_entry(
                        &mut root,
                        &mut open,
                        Entry::Directive(Directive {
                            name: name.to_string(),
                            values,
                            bare,
                            origin,
                        }),
                    );
                }
            }
        }
        // Blocks never closed end silently at end of file.
        while let Some(block) = open.pop() {
            push_entry(&mut root, &mut open, Entry::Block(block));
        }
        Ok(root)
    }

    /// Expands `Include spec` written at `origin` in `including`.
    fn include(
        &mut self,
        spec: &str,
        origin: &Origin,
        including: &Path,
    ) -> Result<Vec<Entry>, ParseError> {
        let mut candidates = vec![PathBuf::from(spec)];
        if Path::new(spec).is_relative()
            && let Some(dir) = including.parent()
        {
            let beside = dir.join(spec);
            if beside != candidates[0] {
                candidates.push(beside);
            }
        }
        let mut targets: Vec<PathBuf> = Vec::new();
        if is_glob(spec) {
            let mut matched = false;
            for candidate in &candidates {
                let pattern = candidate.to_string_lossy();
                let paths = glob::glob(&pattern).map_err(|e| {
                    ParseError::new(
                        origin.clone(),
                        format!("Include: bad pattern {spec:?}: {e}"),
                    )
                })?;
                let mut found: Vec<PathBuf> =
                    paths.filter_map(Result::ok).take(MAX_FILES + 1).collect();
                if found.len() > MAX_FILES {
                    return Err(ParseError::new(
                        origin.clone(),
                        format!("Include: {spec:?} matches more than {MAX_FILES} files"),
                    ));
                }
                if found.is_empty() {
                    continue;
                }
                found.sort();
                for path in found {
                    targets.extend(expand_target(&path, origin)?);
                }
                matched = true;
                break;
            }
            if !matched {
                self.warnings
                    .push(format!("{origin}: Include {spec} matches no file"));
            }
        } else {
            let Some(found) = candidates.iter().find(|c| c.exists()) else {
                let tried: Vec<String> =
                    candidates.iter().map(|c| c.display().to_string()).collect();
                return Err(ParseError::new(
                    origin.clone(),
                    format!("Include: {spec} not found (tried {})", tried.join(", ")),
                ));
            };
            targets = expand_target(found, origin)?;
        }
        let mut entries = Vec::new();
        for target in targets {
            entries.extend(self.parse_file(&target, Some(origin))?);
        }
        Ok(entries)
    }
}

/// Appends an entry to the innermost open block, or to the top level.
fn push_entry(root: &mut Vec<Entry>, open: &mut [Block], entry: Entry) {
    match open.last_mut() {
        Some(block) => block.body.push(entry),
        None => root.push(entry),
    }
}

#[cfg(test)]
mod tests;
