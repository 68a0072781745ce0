//! The Apache-style configuration file (`s3napback.conf`): parsing (`parse`) and the
//! validated settings the rest of the tool works from (`settings`). LEGACY.md §2 and §3.
#![allow(dead_code)]

pub mod collisions;
pub mod limits;
pub mod parse;
pub mod settings;

use std::path::Path;

use crate::exit::Fatal;

#[allow(unused_imports)]
pub use parse::{Block, Directive, Document, Entry, Origin, ParseError, load, parse_str};
#[allow(unused_imports)]
pub use settings::{
    Compressor, CycleSettings, CycleType, Item, ItemKind, ObjectLock, Scope, Settings,
    SettingsError,
};

/// Why a configuration file could not be loaded: a syntax error or an invalid setting.
/// Both display as one line naming the file (and line when known).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or parsed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The file parsed but its settings are unusable.
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

/// Reads, parses (expanding `Include`) and validates a configuration file.
pub fn load_settings(path: &Path) -> Result<Settings, ConfigError> {
    let doc = load(path)?;
    Ok(Settings::from_document(&doc)?)
}

/// Reads a config file for a read-only command ([`Settings::for_reading`]): `Bucket`
/// and the connection suffice; an unusable one stops the command ([`Fatal`]).
pub fn load_settings_for_reading(path: &Path) -> Result<Settings, Fatal> {
    let doc = load(path).map_err(|e| Fatal(format!("{e:#}")))?;
    Settings::for_reading(&doc).map_err(|e| Fatal(format!("{e:#}")))
}

/// Loads and validates a config file; an unusable one stops the run ([`Fatal`]).
pub fn load_settings_or_fatal(path: &Path) -> Result<Settings, Fatal> {
    load_settings(path).map_err(|e| Fatal(format!("{e:#}")))
}
