//! Apache-style config text -> directives and blocks with file:line (nom).
//! Implements every rule of LEGACY.md §2.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where something was written: file and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub line: usize,
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
    pub origin: Origin,
}

/// A `<Name args...> ... </Name>` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// The name as written (compare case-insensitively).
    pub name: String,
    pub args: Vec<String>,
    pub body: Vec<Entry>,
    pub origin: Origin,
}

/// A line or a block, in file order (after `Include` expansion).
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Directive(Directive),
    Block(Block),
}

/// A parsed file with its includes expanded in place.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub path: PathBuf,
    pub entries: Vec<Entry>,
}

/// A syntax error, naming file and line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct ParseError {
    pub origin: Origin,
    pub message: String,
}

/// Reads and parses a config file, expanding `Include`.
pub fn load(_path: &Path) -> Result<Document, ParseError> {
    todo!("config parser")
}
