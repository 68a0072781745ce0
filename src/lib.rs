//! s3napback: cycling, incremental, compressed, encrypted backups to S3, a drop-in
//! successor of s3napback.pl + js3tream. Data flows one way:
//! text -> settings (`config`) -> plan (`schedule`, `plan`) -> pipelines -> store.

pub mod app;
pub mod backup;
pub mod catalog;
pub mod chunker;
pub mod cli;
pub mod clock;
pub mod config;
pub mod coverage;
pub mod deepcheck;
pub mod exit;
pub mod facts;
pub mod gpg;
pub mod inspect;
pub mod interrupt;
pub mod inventory;
pub mod list;
pub mod logconfig;
pub mod notify;
pub mod pipeline;
pub mod plan;
pub mod progress;
pub mod report;
pub mod restore;
pub mod run_lock;
pub mod schedule;
pub mod snapshot;
pub mod sources;
pub mod status;
pub mod store;
pub mod summary;
pub mod verify;
