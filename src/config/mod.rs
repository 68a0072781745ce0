//! The Apache-style configuration file (`s3napback.conf`): parsing (`parse`) and the
//! validated settings the rest of the tool works from (`settings`). LEGACY.md §2 and §3.

pub mod parse;
pub mod settings;

pub use parse::{Block, Document, Entry, Origin, ParseError, load};
pub use settings::{CycleSettings, CycleType, Item, ItemKind, Scope, Settings, SettingsError};
