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

/// How deep `Include`s may nest (a guard besides the cycle check).
const MAX_INCLUDE_DEPTH: usize = 32;

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
        let text = std::fs::read_to_string(path)
            .map_err(|e| ParseError::new(Origin::new(path, 0), format!("cannot read: {e}{via}")))?;
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
        result
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
                            for entry in self.include(spec, &origin, file)? {
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
                let mut found: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
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
mod tests {
    use super::*;
    use std::fs;

    fn parse(text: &str) -> Document {
        parse_str(Path::new("test.conf"), text).expect("parses")
    }

    fn parse_err(text: &str) -> ParseError {
        parse_str(Path::new("test.conf"), text).expect_err("must fail")
    }

    fn directive(e: &Entry) -> &Directive {
        match e {
            Entry::Directive(d) => d,
            Entry::Block(b) => panic!("expected a directive, got block {b:?}"),
        }
    }

    fn block(e: &Entry) -> &Block {
        match e {
            Entry::Block(b) => b,
            Entry::Directive(d) => panic!("expected a block, got directive {d:?}"),
        }
    }

    fn values(e: &Entry) -> Vec<&str> {
        directive(e).values.iter().map(String::as_str).collect()
    }

    fn golden(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/config/golden")
            .join(name)
    }

    #[test]
    fn directive_with_values() {
        let doc = parse("Directory /etc /home\n");
        assert_eq!(doc.entries.len(), 1);
        let d = directive(&doc.entries[0]);
        assert_eq!(d.name, "Directory");
        assert_eq!(d.values, vec!["/etc", "/home"]);
        assert!(!d.bare);
        assert_eq!(d.origin, Origin::new("test.conf", 1));
    }

    #[test]
    fn names_keep_their_spelling_and_compare_case_insensitively() {
        let doc = parse("dIrEcToRy /etc\n");
        let d = directive(&doc.entries[0]);
        assert_eq!(d.name, "dIrEcToRy");
        assert!(d.is("Directory"));
        assert!(d.is("DIRECTORY"));
    }

    #[test]
    fn bare_directive_has_value_one() {
        let doc = parse("GpgRecipient\nUseTempFile   \n");
        let d = directive(&doc.entries[0]);
        assert_eq!(d.values, vec!["1"]);
        assert!(d.bare);
        assert!(directive(&doc.entries[1]).bare);
    }

    #[test]
    fn whitespace_around_lines_is_ignored() {
        let doc = parse("   \t Bucket   b.example.com  \t \n");
        assert_eq!(values(&doc.entries[0]), vec!["b.example.com"]);
    }

    #[test]
    fn comments_and_blank_lines_are_skipped_with_line_numbers_kept() {
        let doc = parse("# a comment\n\n   # indented comment\n\t\nBucket b\n");
        assert_eq!(doc.entries.len(), 1);
        assert_eq!(directive(&doc.entries[0]).origin.line, 5);
    }

    #[test]
    fn hash_later_in_a_line_is_not_a_comment() {
        let doc = parse("Directory /srv/a#b # not a comment\n");
        assert_eq!(
            values(&doc.entries[0]),
            vec!["/srv/a#b", "#", "not", "a", "comment"]
        );
    }

    #[test]
    fn continuation_joins_lines_dropping_leading_whitespace() {
        let doc = parse("Directory /srv/plain \\\n\t/srv/continued\nBucket b\n");
        let d = directive(&doc.entries[0]);
        assert_eq!(d.values, vec!["/srv/plain", "/srv/continued"]);
        assert_eq!(d.origin.line, 1);
        assert_eq!(directive(&doc.entries[1]).origin.line, 3);
    }

    #[test]
    fn continuation_without_space_joins_with_nothing_between() {
        let doc = parse("Directory /srv/pl\\\n    ain\n");
        assert_eq!(values(&doc.entries[0]), vec!["/srv/plain"]);
    }

    #[test]
    fn continuation_over_several_lines_and_at_end_of_file() {
        let doc = parse("Exclude a \\\n b \\\n c \\\n");
        assert_eq!(values(&doc.entries[0]), vec!["a", "b", "c"]);
    }

    #[test]
    fn quoted_values_keep_their_spaces() {
        let doc = parse("Directory \"/srv/with space\" '/srv/single quoted' plain\n");
        assert_eq!(
            values(&doc.entries[0]),
            vec!["/srv/with space", "/srv/single quoted", "plain"]
        );
    }

    #[test]
    fn escaped_quotes_inside_quotes_become_bare_quotes() {
        let doc = parse(r#"Directory "say \"hi\"" 'it\'s' "mixed \' \\n""#);
        assert_eq!(
            values(&doc.entries[0]),
            vec![r#"say "hi""#, "it's", r"mixed ' \\n"]
        );
    }

    #[test]
    fn quote_inside_an_unquoted_value_is_literal() {
        let doc = parse("Directory it's\n");
        assert_eq!(values(&doc.entries[0]), vec!["it's"]);
    }

    #[test]
    fn empty_quoted_value() {
        let doc = parse("GpgRecipient \"\"\n");
        let d = directive(&doc.entries[0]);
        assert_eq!(d.values, vec![""]);
        assert!(!d.bare);
    }

    #[test]
    fn booleans_are_fixed() {
        let doc = parse("A yes On TRUE\nB no OFF False\nC yesterday 2 \"on\"\n");
        assert_eq!(values(&doc.entries[0]), vec!["1", "1", "1"]);
        assert_eq!(values(&doc.entries[1]), vec!["0", "0", "0"]);
        assert_eq!(values(&doc.entries[2]), vec!["yesterday", "2", "1"]);
    }

    #[test]
    fn blocks_nest_with_case_insensitive_names() {
        let doc = parse(
            "<Cycle daily>\n  Frequency 1\n  <DIRECTORY /x>\n    Fulls 2\n  </directory>\n</CYCLE>\nBucket b\n",
        );
        assert_eq!(doc.entries.len(), 2);
        let cycle = block(&doc.entries[0]);
        assert_eq!(cycle.name, "Cycle");
        assert_eq!(cycle.args, vec!["daily"]);
        assert_eq!(cycle.origin.line, 1);
        assert_eq!(cycle.body.len(), 2);
        let dir = block(&cycle.body[1]);
        assert!(dir.is("directory"));
        assert_eq!(dir.args, vec!["/x"]);
        assert_eq!(dir.origin.line, 3);
        assert_eq!(values(&dir.body[0]), vec!["2"]);
    }

    #[test]
    fn block_args_are_split_and_unquoted_but_not_boolean_fixed() {
        let doc = parse("<Directory \"/srv/with space\" on>\n</Directory>\n<Cycle>\n</Cycle>\n");
        assert_eq!(block(&doc.entries[0]).args, vec!["/srv/with space", "on"]);
        assert!(block(&doc.entries[1]).args.is_empty());
    }

    #[test]
    fn unclosed_block_ends_silently_at_end_of_file() {
        let doc = parse("<Cycle a>\n Directory /x\n <Directory /y>\n  Fulls 1\n");
        assert_eq!(doc.entries.len(), 1);
        let cycle = block(&doc.entries[0]);
        assert_eq!(cycle.body.len(), 2);
        assert_eq!(block(&cycle.body[1]).body.len(), 1);
    }

    #[test]
    fn error_mismatched_closing_tag_names_file_and_line() {
        let e = parse_err("Bucket b\n<Cycle a>\n</Directory>\n");
        assert_eq!(e.origin, Origin::new("test.conf", 3));
        let text = e.to_string();
        assert!(text.starts_with("test.conf:3: "), "{text}");
        assert!(
            text.contains("</Directory>") && text.contains("<Cycle>"),
            "{text}"
        );
    }

    #[test]
    fn error_stray_closing_tag_names_file_and_line() {
        let e = parse_err("\n\n</Cycle>\n");
        assert!(
            e.to_string()
                .starts_with("test.conf:3: closing tag </Cycle> without an open block"),
            "{e}"
        );
    }

    #[test]
    fn error_empty_block_tag() {
        let e = parse_err("Bucket b\n<>\n");
        assert!(
            e.to_string().starts_with("test.conf:2: bad block tag"),
            "{e}"
        );
    }

    #[test]
    fn error_block_tag_without_closing_bracket() {
        let e = parse_err("<Cycle a\n");
        assert!(
            e.to_string().starts_with("test.conf:1: bad block tag"),
            "{e}"
        );
    }

    #[test]
    fn error_bad_closing_tag() {
        let e = parse_err("<Cycle a>\n</Cycle b>\n");
        assert!(
            e.to_string().starts_with("test.conf:2: bad closing tag"),
            "{e}"
        );
    }

    #[test]
    fn error_unterminated_quote_names_file_and_line() {
        let e = parse_err("Bucket b\n\nDirectory \"/srv/open\n");
        assert!(
            e.to_string().starts_with("test.conf:3: unterminated quote"),
            "{e}"
        );
        let e = parse_err("<Directory '/x>\n");
        assert!(
            e.to_string().starts_with("test.conf:1: unterminated quote"),
            "{e}"
        );
    }

    #[test]
    fn error_unparsable_line() {
        let e = parse_err("Bucket=b\n");
        assert!(
            e.to_string()
                .starts_with("test.conf:1: unable to parse line"),
            "{e}"
        );
        let e = parse_err("-x y\n");
        assert!(e.to_string().starts_with("test.conf:1: "), "{e}");
    }

    #[test]
    fn error_unreadable_file_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.conf");
        let e = load(&missing).expect_err("missing file");
        assert_eq!(e.origin.line, 0);
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("{}: cannot read: ", missing.display())),
            "{text}"
        );
    }

    #[test]
    fn include_file_in_place_and_inside_a_block() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("inc.conf"), "Exclude /a\nExclude /b\n").unwrap();
        let main = dir.path().join("main.conf");
        fs::write(
            &main,
            "Bucket b\nInclude inc.conf\nDiffDir /d\n<Cycle c>\n Include inc.conf\n</Cycle>\n",
        )
        .unwrap();
        let doc = load(&main).unwrap();
        let names: Vec<&str> = doc
            .entries
            .iter()
            .map(|e| match e {
                Entry::Directive(d) => d.name.as_str(),
                Entry::Block(b) => b.name.as_str(),
            })
            .collect();
        assert_eq!(
            names,
            vec!["Bucket", "Exclude", "Exclude", "DiffDir", "Cycle"]
        );
        let inc = directive(&doc.entries[2]);
        assert_eq!(inc.origin, Origin::new(dir.path().join("inc.conf"), 2));
        let cycle = block(&doc.entries[4]);
        assert_eq!(cycle.body.len(), 2);
        assert_eq!(values(&cycle.body[1]), vec!["/b"]);
    }

    #[test]
    fn include_directory_reads_plain_files_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let conf_d = dir.path().join("conf.d");
        fs::create_dir(&conf_d).unwrap();
        fs::write(conf_d.join("b.conf"), "Directory /b\n").unwrap();
        fs::write(conf_d.join("a.conf"), "Directory /a\n").unwrap();
        fs::write(conf_d.join("c"), "Directory /c\n").unwrap();
        fs::create_dir(conf_d.join("a-subdir")).unwrap();
        let main = dir.path().join("main.conf");
        fs::write(&main, format!("Include {}\n", conf_d.display())).unwrap();
        let doc = load(&main).unwrap();
        let got: Vec<&str> = doc.entries.iter().map(|e| values(e)[0]).collect();
        assert_eq!(got, vec!["/a", "/b", "/c"]);
    }

    #[test]
    fn include_glob_reads_matches_sorted() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("inc-z.conf"), "Directory /z\n").unwrap();
        fs::write(dir.path().join("inc-m.conf"), "Directory /m\n").unwrap();
        fs::write(dir.path().join("inc-m.txt"), "Directory /txt\n").unwrap();
        let main = dir.path().join("main.conf");
        fs::write(&main, "Include inc-*.conf\n").unwrap();
        let doc = load(&main).unwrap();
        let got: Vec<&str> = doc.entries.iter().map(|e| values(e)[0]).collect();
        assert_eq!(got, vec!["/m", "/z"]);
        assert!(doc.warnings.is_empty());
    }

    #[test]
    fn include_glob_matching_nothing_is_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("main.conf");
        fs::write(&main, "Bucket b\nInclude conf.d/*.conf\n").unwrap();
        let doc = load(&main).unwrap();
        assert_eq!(doc.entries.len(), 1);
        assert_eq!(doc.warnings.len(), 1);
        assert!(
            doc.warnings[0].starts_with(&format!("{}:2: ", main.display())),
            "{:?}",
            doc.warnings
        );
    }

    #[test]
    fn include_relative_path_is_tried_as_given_then_beside() {
        // `cargo test` runs in the crate root, where fixtures/config/include-probe.conf
        // says /from-cwd; a file of the same relative name beside main.conf says /beside.
        let dir = tempfile::tempdir().unwrap();
        let beside = dir.path().join("fixtures/config");
        fs::create_dir_all(&beside).unwrap();
        fs::write(beside.join("include-probe.conf"), "Directory /beside\n").unwrap();
        fs::write(dir.path().join("only-beside.conf"), "Directory /only\n").unwrap();
        let main = dir.path().join("main.conf");
        fs::write(
            &main,
            "Include fixtures/config/include-probe.conf\nInclude only-beside.conf\n",
        )
        .unwrap();
        let doc = load(&main).unwrap();
        assert_eq!(values(&doc.entries[0]), vec!["/from-cwd"]);
        assert_eq!(
            directive(&doc.entries[0]).origin.file,
            PathBuf::from("fixtures/config/include-probe.conf")
        );
        assert_eq!(values(&doc.entries[1]), vec!["/only"]);
    }

    #[test]
    fn error_missing_include_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("main.conf");
        fs::write(&main, "Bucket b\n\nInclude missing.conf\n").unwrap();
        let e = load(&main).expect_err("missing include");
        let text = e.to_string();
        assert!(
            text.starts_with(&format!(
                "{}:3: Include: missing.conf not found",
                main.display()
            )),
            "{text}"
        );
    }

    #[test]
    fn error_include_without_path() {
        let e = parse_err("Include\n");
        assert!(
            e.to_string()
                .starts_with("test.conf:1: Include needs a path"),
            "{e}"
        );
    }

    #[test]
    fn error_include_cycle() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.conf");
        let b = dir.path().join("b.conf");
        fs::write(&a, "Bucket x\nInclude b.conf\n").unwrap();
        fs::write(&b, "Include a.conf\n").unwrap();
        let e = load(&a).expect_err("cycle");
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("{}:1: Include cycle", b.display())),
            "{text}"
        );
        fs::write(&a, "Include a.conf\n").unwrap();
        let e = load(&a).expect_err("self include");
        assert!(e.to_string().contains("Include cycle"), "{e}");
    }

    #[test]
    fn error_in_included_file_names_that_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("inc.conf"), "\n</Cycle>\n").unwrap();
        let main = dir.path().join("main.conf");
        fs::write(&main, "Include inc.conf\n").unwrap();
        let e = load(&main).expect_err("error in include");
        assert_eq!(e.origin, Origin::new(dir.path().join("inc.conf"), 2));
    }

    #[test]
    fn crlf_line_endings() {
        let doc = parse("Bucket b\r\nDirectory /x \\\r\n  /y\r\n");
        assert_eq!(values(&doc.entries[0]), vec!["b"]);
        assert_eq!(values(&doc.entries[1]), vec!["/x", "/y"]);
    }

    #[test]
    fn all_golden_cases_parse() {
        for n in [
            "01-simple.conf",
            "02-blocks.conf",
            "03-databases.conf",
            "04-hanoi.conf",
            "05-phase-frequency.conf",
            "06-syntax.conf",
            "07-toplevel.conf",
        ] {
            let doc = load(&golden(n)).unwrap_or_else(|e| panic!("{n}: {e}"));
            assert!(!doc.entries.is_empty(), "{n}");
            assert!(doc.warnings.is_empty(), "{n}");
        }
    }

    #[test]
    fn golden_06_syntax_shapes() {
        let doc = load(&golden("06-syntax.conf")).unwrap();
        // 6 globals, the cycle block, the directory block.
        assert_eq!(doc.entries.len(), 8);
        let cycle = block(&doc.entries[6]);
        assert_eq!(cycle.name, "cycle");
        assert_eq!(cycle.args, vec!["mixed-case"]);
        assert_eq!(values(&cycle.body[3]), vec!["1"]); // UseTempFile On
        assert_eq!(values(&cycle.body[4]), vec!["/srv/with space"]);
        assert_eq!(values(&cycle.body[5]), vec!["/srv/plain", "/srv/continued"]);
        assert_eq!(directive(&cycle.body[5]).origin.line, 15);
        assert_eq!(values(&cycle.body[6]), vec!["/srv/with space/cache"]);
        let dir = block(&doc.entries[7]);
        assert_eq!(dir.name, "DIRECTORY");
        assert_eq!(dir.args, vec!["/var/lib/app"]);
        assert_eq!(values(&dir.body[3]), vec!["0"]); // UseTempFile false
    }
}
