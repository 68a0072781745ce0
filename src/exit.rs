//! Exit statuses of the tool and the error that stops a run before any item is processed.
//! A leaf: every command returns these, `main` is the only place that exits.

/// Exit status: everything done.
pub const EXIT_OK: u8 = 0;
/// Exit status: some item failed, the others were done.
pub const EXIT_ITEM_FAILED: u8 = 1;
/// Exit status: configuration or usage error; nothing was done.
pub const EXIT_USAGE: u8 = 2;

/// An error that stops the run before any item is processed (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Fatal(pub String);
