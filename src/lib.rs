//! s3napback: cycling, incremental, compressed, encrypted backups to S3, a drop-in
//! successor of s3napback.pl + js3tream. Data flows one way, one folder per stage:
//! text -> settings (`config`, `logconfig`) -> plan (`plan`) -> programs (`process`) ->
//! backup (`backup`) -> store (`store`), and back: `restore`, `inspect`. `commands` wires
//! the command line to the stages.
//!
//! The modules, one per stage, in data-flow order:
//! - [`config`]: Stage 1, text -> settings: the configuration file parsed, validated and
//!   loaded.
//! - [`logconfig`]: Stage 1, text -> settings: the log4perl log configuration turned into
//!   log4rs.
//! - [`plan`]: Stage 2, settings -> plan: the cycle schedule, the facts gathered for it,
//!   what each item will do, its source programs, and the legacy log lines describing it.
//! - [`process`]: Stage 3, running programs: pipelines of argument vectors, signals,
//!   progress, gpg checks (used by backup and restore).
//! - [`backup`]: Stage 4, plan -> store: a job run for real: stream, chunks, staging,
//!   commit, DiffDir snapshot files and the run lock.
//! - [`store`]: Stage 5, the bucket: the `ReadStore` / `Store` traits, the js3tream key
//!   layout, S3 and in-memory stores, retries and staged commits.
//! - [`restore`]: Back from the store: restore and cat a chain of slots into files or a
//!   stream.
//! - [`inspect`]: Looking at the store: the bucket's slots read back into items (catalog,
//!   inventory, coverage) and the read-only commands list, verify and status.
//! - [`commands`]: Wiring: the command line, each command connected to its stage, the run
//!   summary and notifications; returns the exit status.
//! - [`journal`]: Beside the stages: the per-item journal in DiffDir of what this host
//!   wrote to the bucket; "already done today" and the `TAMPERED` reports come from it.
//! - [`clock`]: Shared: the run's clock, read once at start-up, and local-time conversions.
//! - [`exit`]: Shared leaf: exit statuses and the error that stops a run before any item.

pub mod backup;
pub mod clock;
pub mod commands;
pub mod config;
pub mod exit;
pub mod inspect;
pub mod journal;
pub mod logconfig;
pub mod plan;
pub mod process;
pub mod restore;
pub mod store;
