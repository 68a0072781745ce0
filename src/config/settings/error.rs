//! The one error a configuration's settings give, and how it names its line.

use std::fmt;

use crate::config::parse::Origin;

/// Why a configuration cannot be used. Every message names the file (and line when known).
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The message names the file (and line when known): `FILE:LINE: what is wrong`.
    #[error("{0}")]
    Invalid(String),
}

/// `FILE:LINE: message`.
pub(super) fn invalid(origin: &Origin, message: impl fmt::Display) -> SettingsError {
    SettingsError::Invalid(format!("{origin}: {message}"))
}
