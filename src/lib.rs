//! s3napback: cycling, incremental, compressed, encrypted backups to S3, a drop-in
//! successor of s3napback.pl + js3tream. Data flows one way, one folder per stage:
//! text -> settings (`config`, `logconfig`) -> plan (`plan`) -> programs (`process`) ->
//! backup (`backup`) -> store (`store`), and back: `restore`, `inspect`. `commands` wires
//! the command line to the stages.

/// Stage 1, text -> settings: the configuration file parsed, validated and loaded.
pub mod config;

/// Stage 1, text -> settings: the log4perl log configuration turned into log4rs.
pub mod logconfig;

/// Stage 2, settings -> plan: the cycle schedule, the facts gathered for it, what each
/// item will do, its source programs, and the legacy log lines describing it.
pub mod plan;

/// Stage 3, running programs: pipelines of argument vectors, signals, progress, gpg
/// checks (used by backup and restore).
pub mod process;

/// Stage 4, plan -> store: a job run for real: stream, chunks, staging, commit, DiffDir
/// snapshot files and the run lock.
pub mod backup;

/// Stage 5, the bucket: the `Store` trait, the js3tream key layout, S3 and in-memory
/// stores, retries and staged commits.
pub mod store;

/// Back from the store: restore and cat a chain of slots into files or a stream.
pub mod restore;

/// Looking at the store: the bucket's slots read back into items (catalog, inventory,
/// coverage) and the read-only commands list, verify and status.
pub mod inspect;

/// Wiring: the command line, each command connected to its stage, the run summary and
/// notifications; returns the exit status.
pub mod commands;

/// Shared: the run's clock, read once at start-up, and local-time conversions.
pub mod clock;

/// Shared leaf: exit statuses and the error that stops a run before any item.
pub mod exit;
