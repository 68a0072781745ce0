//! The command line (clap): the legacy flags (`-c -t -f -d NAME...`) for the backup run,
//! plus subcommands for looking at and restoring what is in the bucket.

use std::path::PathBuf;

use crate::commands::prepare::PrepareArgs;
use crate::inspect::list::ListArgs;
use crate::inspect::status::StatusArgs;
use crate::inspect::verify::VerifyArgs;
use crate::restore::{CatArgs, RestoreArgs};
use clap::{Args, Parser, Subcommand};

/// Cycling, incremental, compressed, encrypted backups to S3 (successor of s3napback.pl).
#[derive(Debug, Parser)]
#[command(
    name = "s3napback",
    bin_name = "s3napback",
    version,
    disable_help_flag = true,
    subcommand_precedence_over_arg = true,
    after_help = "Exit status: 0 all good, 1 some item failed, 2 configuration or usage error,\n\
                  130/143 interrupted by SIGINT/SIGTERM (the interrupted item's objects deleted).\n\
                  A NAME adds /etc/s3napback/NAME.conf (or /etc/s3napback/NAME) after the -c file.\n\n\
                  Examples:\n  \
                  s3napback -t -c /etc/s3napback/s3napback.conf     # what would be done\n  \
                  s3napback -c /etc/s3napback/s3napback.conf --json # back up; summary as JSON"
)]
pub struct Cli {
    #[command(flatten)]
    pub run: RunArgs,

    #[command(subcommand)]
    pub command: Option<Command>,

    /// Print this help (exits with status 2, as the legacy -h did).
    #[arg(short = 'h', action = clap::ArgAction::SetTrue, global = false)]
    pub short_help: bool,

    /// Print this help.
    #[arg(long = "help", action = clap::ArgAction::Help, global = true)]
    pub long_help: Option<bool>,
}

/// Options shared by every command.
#[derive(Debug, Args, Clone, Default)]
pub struct Common {
    /// The configuration file.
    #[arg(short = 'c', value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// The log configuration (log4perl syntax); default: s3napback.logconfig beside the
    /// program as called (e.g. a link s3napback.pl), then beside the binary, then
    /// /etc/s3napback/s3napback.logconfig, else INFO to stderr.
    #[arg(long = "logconfig", value_name = "FILE", global = true)]
    pub logconfig: Option<PathBuf>,

    /// Debug messages for every log category.
    #[arg(short = 'd', global = true)]
    pub debug: bool,

    /// Act as if the local time were this ('YYYY-MM-DD HH:MM:SS', zone from TZ).
    #[arg(long = "now", value_name = "TIME", global = true)]
    pub now: Option<String>,
}

/// The backup run (no subcommand): the legacy command line.
#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: Common,

    /// Test mode: print what would be done; change nothing.
    #[arg(short = 't')]
    pub test: bool,

    /// Force: ignore "already done today" and non-backup days (may overwrite a slot).
    #[arg(short = 'f')]
    pub force: bool,

    /// Print the end-of-run summary as one JSON document on stdout (schema in doc/operating.md).
    #[arg(long)]
    pub json: bool,

    /// Further configurations, /etc/s3napback/NAME.conf or /etc/s3napback/NAME.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
}

/// Subcommands beyond the legacy run.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every slot in the bucket.
    #[command(after_help = "Example:\n  s3napback list -c /etc/s3napback/s3napback.conf --json")]
    List(WithCommon<ListArgs>),
    /// Restore an item as of a date: newest FULL, then its DIFFs, decrypted and extracted.
    #[command(after_help = "Examples:\n  \
        s3napback restore -c /etc/s3napback/s3napback.conf --into /srv/restore /home/foo\n  \
        s3napback restore -c /etc/s3napback/s3napback.conf --at 2026-11-12 --to-stdout all > all.sql\n  \
        s3napback restore -c /root/restore.conf --all --into /root/restored   (a lost host: the config names only the bucket)")]
    Restore(WithCommon<RestoreArgs>),
    /// Write one slot's stream, decrypted, to stdout.
    #[command(
        after_help = "Example:\n  s3napback cat -c /etc/s3napback/s3napback.conf /etc-3-FULL | tar -tz"
    )]
    Cat(WithCommon<CatArgs>),
    /// Check that every slot is complete and intact, and which dates are restorable.
    #[command(after_help = "Example:\n  s3napback verify -c /etc/s3napback/s3napback.conf --deep")]
    Verify(WithCommon<VerifyArgs>),
    /// Per item: newest backup, its age, the slot timeline; exit 1 when too old.
    #[command(
        after_help = "Example:\n  s3napback status -c /etc/s3napback/s3napback.conf --max-age 36"
    )]
    Status(WithCommon<StatusArgs>),
    /// Prepare the bucket for S3 Object Lock: create it locked, or enable versioning and
    /// Object Lock; the lifecycle rule for old versions. Idempotent.
    #[command(
        name = "prepare-bucket",
        after_help = "Examples:\n  \
        s3napback prepare-bucket -t -c /etc/s3napback/s3napback.conf   # what it would do\n  \
        s3napback prepare-bucket -c /etc/s3napback/s3napback.conf      # do it (admin credentials)"
    )]
    PrepareBucket(WithCommon<PrepareArgs>),
    /// Print a shell completion script to stdout.
    #[command(after_help = "Example:\n  \
        s3napback completions bash > /usr/share/bash-completion/completions/s3napback")]
    Completions(CompletionsArgs),
    /// Print the manual page (roff) to stdout.
    #[command(after_help = "Example:\n  s3napback man > s3napback.1 && man -l s3napback.1")]
    Man(ManArgs),
    /// The `Compressor pigz` stage: gzip stdin to stdout on every core (backup runs start
    /// it; it stores data that does not compress instead of deflating it).
    #[command(hide = true)]
    Gzip(GzipArgs),
}

impl Command {
    /// The options every subcommand has.
    pub fn common(&self) -> &Common {
        match self {
            Command::List(a) => &a.common,
            Command::Restore(a) => &a.common,
            Command::Cat(a) => &a.common,
            Command::Verify(a) => &a.common,
            Command::Status(a) => &a.common,
            Command::PrepareBucket(a) => &a.common,
            Command::Completions(a) => &a.common,
            Command::Man(a) => &a.common,
            Command::Gzip(a) => &a.common,
        }
    }
}

/// A subcommand's own arguments (defined by the stage that runs it) with the options every
/// command has.
#[derive(Debug, Args)]
pub struct WithCommon<T: Args> {
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub args: T,
}

/// `s3napback completions SHELL`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[command(flatten)]
    pub common: Common,
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `s3napback gzip`.
#[derive(Debug, Args)]
pub struct GzipArgs {
    #[command(flatten)]
    pub common: Common,
    /// The deflate level, 1 (fastest) to 9 (smallest).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=9))]
    pub level: u32,
    /// Compression threads (default: one per core, at most 8).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

/// `s3napback man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    #[command(flatten)]
    pub common: Common,
}
