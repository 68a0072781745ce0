//! PURE: (settings, clock facts, DiffDir facts, bucket listing) -> what to do for every item,
//! in the legacy order (LEGACY.md §4 to §9). No I/O here: `facts` gathers what the plan needs.

pub mod facts;
pub mod repeat;
pub mod report;
pub mod retention;
pub mod schedule;
pub mod sources;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use time::{Date, OffsetDateTime};

use crate::config::{Item, ItemKind, ObjectLock, Settings, collisions};
use crate::plan::schedule::{Day, Slot, SlotType};
use crate::plan::sources::{Encryption, Source};
use crate::store::keys::KeyStyle;
use crate::store::lock::Retention;

/// What is known about a Subversion repository before planning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SvnFacts {
    /// `svnlook youngest REPO`, or why it failed.
    pub youngest: Result<u64, String>,
    /// The revision saved in the DiffDir state file (None: no file), or why it is unreadable.
    pub last_saved: Result<Option<u64>, String>,
}

/// Everything the planner needs to know about the world.
#[derive(Debug, Clone)]
pub struct Facts {
    pub day: Option<Day>,
    /// `-f`: ignore "not a backup day", "already performed today" and "already done today".
    pub force: bool,
    /// Local day-of-year (0-based) of the mtime of each DiffDir state file that exists.
    pub state_mtime_yday: HashMap<PathBuf, i64>,
    /// Per Subversion repository path.
    pub svn: HashMap<String, SvnFacts>,
    /// Per SubversionDir: the entries for which `svnadmin verify` succeeded, in the order
    /// the directory listing returned them (readdir, not sorted).
    pub svn_dirs: HashMap<String, Result<Vec<String>, String>>,
    /// Prefixes (as the server spells them) with an object modified today.
    pub done_today: BTreeSet<String>,
    /// The DIFF slots (prefixes as the server spells them) that the restore chain of their
    /// Directory or Subversion item needs today: modified after the item's newest complete
    /// FULL (LEGACY.md §12). Rewriting one would lose what it holds.
    pub chain_diffs: HashMap<String, ChainLink>,
    /// Today's local date (with `day`).
    pub today: Option<Date>,
    /// Each Directory and Subversion item's restore chain now (by name as configured).
    pub chains: HashMap<String, CurrentChain>,
    /// How the server spells keys (Garage and MinIO strip the leading `/`).
    pub key_style: KeyStyle,
    /// The `--now` time, when the run acts at one (see [`Plan::state_mtime`]).
    pub fixed_now: Option<OffsetDateTime>,
    /// The run's clock (see [`Plan::started`]).
    pub now: Option<OffsetDateTime>,
}

impl Default for Facts {
    fn default() -> Facts {
        Facts {
            day: None,
            force: false,
            state_mtime_yday: HashMap::new(),
            svn: HashMap::new(),
            svn_dirs: HashMap::new(),
            done_today: BTreeSet::new(),
            chain_diffs: HashMap::new(),
            chains: HashMap::new(),
            today: None,
            key_style: KeyStyle::Faithful,
            fixed_now: None,
            now: None,
        }
    }
}

/// A DIFF slot in its item's restore chain: the local dates of that DIFF and of the FULL
/// the chain starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainLink {
    pub diff: Date,
    pub full: Date,
}

/// An item's restore chain as the bucket holds it now: the FULL slot and the DIFF slots
/// that build on it, oldest first (prefixes as listed), with each DIFF's dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentChain {
    pub full: String,
    pub diffs: Vec<(String, ChainLink)>,
}

impl CurrentChain {
    /// Every slot of the chain, the FULL first.
    pub fn prefixes(&self) -> Vec<String> {
        std::iter::once(self.full.clone())
            .chain(self.diffs.iter().map(|(p, _)| p.clone()))
            .collect()
    }
}

/// Object Lock for one run (`ObjectLockMode`): the lock its slot's objects get, and the
/// slots of the item's restore chain it builds on (the FULL and earlier DIFFs, prefixes
/// as listed), whose locks are extended to the same date once it is stored, so that
/// nothing a kept DIFF needs loses its lock before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLock {
    pub retention: Retention,
    pub extend: Vec<String>,
}

/// Why a DIFF day's run backs up a FULL instead: its DIFF slot holds a DIFF the restore
/// chain needs (a FULL day failed or was skipped since).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    /// The DIFF slot that is kept, e.g. `/etc-1-DIFF`.
    pub diff_prefix: String,
    pub link: ChainLink,
}

/// A tar snapshot or Subversion revision file in DiffDir, to be replaced only on success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateFile {
    /// tar `-g` snapshot; `fresh` on FULL slots (tar starts from no snapshot).
    TarSnapshot { path: PathBuf, fresh: bool },
    /// The revision to record after a successful Subversion upload.
    SvnRevision { path: PathBuf, head: u64 },
}

/// A backup to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub slot: Slot,
    /// The object prefix, e.g. `/etc-3-FULL` or `MySQL/--all-databases-5`.
    pub prefix: String,
    pub source: Source,
    pub encryption: Option<Encryption>,
    /// `UseTempFile`: the buffer file in TempDir.
    pub temp_file: Option<PathBuf>,
    pub state: Option<StateFile>,
    /// Set when a DIFF day backs up a FULL to keep the restore chain (see [`chain_guard`]).
    pub promoted: Option<Promotion>,
    /// `ObjectLockMode`: how the stored objects are locked.
    pub lock: Option<RunLock>,
}

/// The decision for one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Not a backup day (and no `-f`).
    NotBackupDay,
    /// The DiffDir state file was written today.
    AlreadyPerformedToday,
    /// The bucket already has this slot from today.
    AlreadyDoneToday(Run),
    /// Subversion DIFF with no revision newer than the saved one: only a log line.
    NoNewRevisions,
    /// SubversionDir: its repositories follow as their own jobs.
    Expanded,
    /// The item cannot be backed up (an unreadable revision file, a missing SubversionDir ...).
    Failed(String),
    /// The item cannot be backed up (a Subversion repository that is missing), but the
    /// legacy ran something for it: test mode prints `legacy` as the legacy did (byte for
    /// byte), a real run fails the item with `why`.
    Broken { legacy: Run, why: String },
    /// Back it up.
    Run(Run),
}

/// One item and what to do with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub kind: ItemKind,
    /// The name as configured (`all`, `postgres@inventory`, `/etc`, `DIR/ENTRY`).
    pub name: String,
    /// The name as the `KIND NAME -> B:P` line shows it (`--all-databases`, `SOCK/DB`, ``).
    pub display_name: String,
    /// `Some("directory")` for block items: the legacy logs `directory => NAME` first.
    pub block: Option<String>,
    pub decision: Decision,
}

/// The whole plan for one config file.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub bucket: String,
    pub chunk_size: u64,
    pub jobs: Vec<Job>,
    /// With `--now`, the mtime the DiffDir state files written by the run get, so that a
    /// later run at the same `--now` date sees them as written that day.
    pub state_mtime: Option<std::time::SystemTime>,
    /// The run's clock (`--now` or the system's): every slot it stores is stamped with it
    /// (`store::stamp`). `None` only where nothing is stored.
    pub started: Option<OffsetDateTime>,
}

/// `DIFFDIR/NAME` with every `/` turned into `_`, plus `.diff` (LEGACY.md §7).
pub fn state_file_path(settings: &Settings, name: &str) -> PathBuf {
    let mut dir = settings.diff_dir.display().to_string();
    if !dir.ends_with('/') {
        dir.push('/');
    }
    PathBuf::from(format!("{dir}{}", collisions::state_file_name(name)))
}

/// `TEMPDIR/T` where T is `Bucket:PREFIX.temp` with `/` turned into `_`.
fn temp_file_path(settings: &Settings, prefix: &str) -> Option<PathBuf> {
    let mut dir = settings.temp_dir.as_ref()?.display().to_string();
    if !dir.ends_with('/') {
        dir.push('/');
    }
    let name = format!("{}:{prefix}.temp", settings.bucket).replace('/', "_");
    Some(PathBuf::from(format!("{dir}{name}")))
}

/// How MySQL and PostgreSQL names map to dump arguments and object names (LEGACY.md §6).
pub struct DatabaseName {
    /// The name as stored in the prefix and shown in logs (`--all-databases`, `SOCK/DB`, ``).
    pub display: String,
    /// The dump command's source.
    pub source: Source,
}

/// `all` -> `--all-databases`; `SOCKET:DB` (split at the last `:`) -> `SOCKET/DB`.
pub fn mysql_name(item: &Item) -> DatabaseName {
    let (socket, database, display) = collisions::mysql_parts(&item.name);
    DatabaseName {
        display,
        source: Source::MySqlDump {
            compressor: item.cycle.compressor,
            socket: socket.map(str::to_string),
            options: item.cycle.mysql_options.clone(),
            database,
        },
    }
}

/// `USER@DB` keeps only DB; `all` gives an empty name.
pub fn postgres_name(item: &Item) -> DatabaseName {
    let (user, database) = collisions::postgres_parts(&item.name);
    DatabaseName {
        display: database.unwrap_or_default().to_string(),
        source: Source::PgDump {
            compressor: item.cycle.compressor,
            user: user.map(str::to_string),
            database: database.map(str::to_string),
        },
    }
}

/// Builds the plan: every item of every scope, kinds in legacy order within a scope.
pub fn plan(settings: &Settings, facts: &Facts) -> Plan {
    let day = facts.day.expect("facts.day is set by the caller");
    let encryption = settings.gpg_recipient.as_ref().map(|r| Encryption {
        recipient: r.clone(),
        keyring: settings.gpg_keyring.clone(),
        compress: true,
    });
    let mut jobs = Vec::new();
    for scope in &settings.scopes {
        let mut items: Vec<&Item> = scope.items.iter().collect();
        items.sort_by_key(|i| i.kind);
        for item in items {
            plan_item(settings, facts, day, &encryption, item, &mut jobs);
        }
    }
    Plan {
        bucket: settings.bucket.clone(),
        chunk_size: settings.chunk_size,
        jobs,
        state_mtime: facts.fixed_now.map(std::time::SystemTime::from),
        started: facts.now,
    }
}

fn plan_item(
    settings: &Settings,
    facts: &Facts,
    day: Day,
    encryption: &Option<Encryption>,
    item: &Item,
    jobs: &mut Vec<Job>,
) {
    let mut job = Job {
        kind: item.kind,
        name: item.name.clone(),
        display_name: item.name.clone(),
        block: item.block.clone(),
        decision: Decision::Expanded,
    };
    if !facts.force && !schedule::is_backup_day(&item.cycle, day) {
        job.decision = Decision::NotBackupDay;
        jobs.push(job);
        return;
    }
    let incremental = matches!(item.kind, ItemKind::Directory | ItemKind::Subversion);
    let slot = match schedule::slot(&item.cycle, day, incremental) {
        Ok(slot) => slot,
        Err(overflow) => {
            // Unreachable after validation (config::settings checks schedule::LIMITS).
            job.decision = Decision::Failed(format!("{}: {overflow}", item.origin));
            jobs.push(job);
            return;
        }
    };
    let performed_today = |path: &PathBuf| {
        !facts.force
            && facts
                .state_mtime_yday
                .get(path)
                .is_some_and(|&y| day.yday.checked_add(item.cycle.phase) == Some(y))
    };
    let run = |slot: Slot, prefix: String, source: Source, state: Option<StateFile>| Run {
        slot,
        promoted: None,
        lock: None,
        temp_file: item
            .cycle
            .use_temp_file
            .then(|| temp_file_path(settings, &prefix))
            .flatten(),
        prefix,
        source,
        encryption: encryption.clone().map(|e| Encryption {
            compress: item.cycle.gpg_compression,
            ..e
        }),
        state,
    };
    job.decision = match item.kind {
        ItemKind::Directory => {
            let path = state_file_path(settings, &item.name);
            if performed_today(&path) {
                Decision::AlreadyPerformedToday
            } else {
                let source = Source::Tar {
                    compressor: item.cycle.compressor,
                    excludes: item.cycle.excludes.clone(),
                    snapshot: path.clone(),
                    name: item.name.clone(),
                };
                let promoted = chain_guard(facts, &item.name, slot);
                let slot = promoted.as_ref().map_or(slot, |(full, _)| *full);
                let fresh = slot.slot_type == Some(SlotType::Full);
                let state = StateFile::TarSnapshot { path, fresh };
                Decision::Run(Run {
                    promoted: promoted.map(|(_, why)| why),
                    ..run(slot, slot_prefix(&item.name, slot), source, Some(state))
                })
            }
        }
        ItemKind::Subversion => {
            let path = state_file_path(settings, &item.name);
            if performed_today(&path) {
                Decision::AlreadyPerformedToday
            } else {
                match facts.svn.get(&item.name) {
                    None => Decision::Failed(format!("no facts gathered for {}", item.name)),
                    Some(SvnFacts {
                        youngest: Err(why),
                        last_saved: Ok(saved),
                    }) => {
                        // What the legacy ran without a youngest revision (LEGACY.md §13):
                        // `svnadmin dump -rFROM:` with an empty HEAD, into the slot its
                        // rules give.
                        let slot = match saved {
                            None => Slot {
                                slot_type: Some(SlotType::Full),
                                ..slot
                            },
                            Some(_) => slot,
                        };
                        let from = match (slot.slot_type, saved) {
                            (Some(SlotType::Diff), Some(saved)) => saved.saturating_add(1),
                            _ => 0,
                        };
                        let source = Source::SvnDump {
                            compressor: item.cycle.compressor,
                            repo: item.name.clone(),
                            from,
                            to: None,
                        };
                        Decision::Broken {
                            legacy: run(slot, slot_prefix(&item.name, slot), source, None),
                            why: why.clone(),
                        }
                    }
                    Some(svn) => match subversion_step(svn, slot, &item.name, &path) {
                        Err(why) => Decision::Failed(why),
                        Ok(SvnStep::NoNewRevisions) => Decision::NoNewRevisions,
                        Ok(SvnStep::Dump { slot, from, head }) => {
                            let promoted = chain_guard(facts, &item.name, slot);
                            let (slot, from) = match &promoted {
                                Some((full, _)) => (*full, 0),
                                None => (slot, from),
                            };
                            let source = Source::SvnDump {
                                compressor: item.cycle.compressor,
                                repo: item.name.clone(),
                                from,
                                to: Some(head),
                            };
                            let state = StateFile::SvnRevision { path, head };
                            let prefix = slot_prefix(&item.name, slot);
                            Decision::Run(Run {
                                promoted: promoted.map(|(_, why)| why),
                                ..run(slot, prefix, source, Some(state))
                            })
                        }
                    },
                }
            }
        }
        ItemKind::SubversionDir => {
            jobs.push(job);
            match facts.svn_dirs.get(&item.name) {
                Some(Ok(entries)) => {
                    for entry in entries {
                        let repo = Item {
                            kind: ItemKind::Subversion,
                            name: subversion_dir_member(&item.name, entry),
                            block: None,
                            ..item.clone()
                        };
                        plan_item(settings, facts, day, encryption, &repo, jobs);
                    }
                }
                Some(Err(why)) => jobs.push(Job {
                    decision: Decision::Failed(why.clone()),
                    block: None,
                    ..jobs.last().cloned().expect("just pushed")
                }),
                None => {}
            }
            return;
        }
        ItemKind::MySql | ItemKind::PostgreSql => {
            let db = if item.kind == ItemKind::MySql {
                mysql_name(item)
            } else {
                postgres_name(item)
            };
            let prefix = format!(
                "{}/{}",
                item.kind.legacy_name(),
                slot_prefix(&db.display, slot)
            );
            job.display_name = db.display;
            Decision::Run(run(slot, prefix, db.source, None))
        }
    };
    if let (Decision::Run(r), Some(lock)) = (&mut job.decision, &settings.object_lock) {
        r.lock = Some(run_lock(lock, facts, item, r, incremental));
    }
    if let Decision::Run(r) = &job.decision
        && !facts.force
        && facts.done_today.contains(&physical(facts, &r.prefix))
    {
        job.decision = Decision::AlreadyDoneToday(r.clone());
    }
    jobs.push(job);
}

/// The lock of a run (see [`RunLock`]): until its slot's next scheduled rewrite plus the
/// grace (`plan::retention`); a DIFF extends the chain it builds on to the same date.
fn run_lock(
    lock: &ObjectLock,
    facts: &Facts,
    item: &Item,
    run: &Run,
    incremental: bool,
) -> RunLock {
    let today = facts.today.expect("facts.today is set by the caller");
    let until = retention::retain_until(
        &item.cycle,
        today,
        run.slot.number,
        incremental,
        lock.grace_days,
    );
    let extend = match (run.slot.slot_type, facts.chains.get(&item.name)) {
        (Some(SlotType::Diff), Some(chain)) => chain.prefixes(),
        _ => Vec::new(),
    };
    RunLock {
        retention: Retention {
            mode: lock.mode,
            until,
        },
        extend,
    }
}

/// `NAME-SLOT-TYPE`, or `NAME-SLOT` for slots without a type (databases).
fn slot_prefix(name: &str, slot: Slot) -> String {
    match slot.slot_type {
        Some(t) => format!("{name}-{}-{}", slot.number, t.as_str()),
        None => format!("{name}-{}", slot.number),
    }
}

/// The chain rule (LEGACY.md §7 and §12, fixed): DIFFs build on the previous run, so a
/// DIFF slot modified after the item's newest complete FULL is part of the restore chain.
/// When today's DIFF would rewrite such a slot (a FULL day failed or was skipped since),
/// the run backs up a FULL into today's slot number instead (`NAME-SLOT-FULL`, the tar
/// snapshot fresh, the Subversion dump from revision 0), as the legacy does for a
/// repository's first backup; the old DIFF stays for a restore as of its day. A DIFF
/// already done today stays "already done today" (without `-f`). Returns the FULL slot and
/// why, or None (not a DIFF slot, or a DIFF the chain does not need).
pub fn chain_guard(facts: &Facts, name: &str, slot: Slot) -> Option<(Slot, Promotion)> {
    if slot.slot_type != Some(SlotType::Diff) {
        return None;
    }
    let diff_prefix = slot_prefix(name, slot);
    let listed = physical(facts, &diff_prefix);
    // Today's DIFF is "already done today" (LEGACY.md §9) unless `-f` asks to redo it.
    if !facts.force && facts.done_today.contains(&listed) {
        return None;
    }
    let link = *facts.chain_diffs.get(&listed)?;
    let full = Slot {
        slot_type: Some(SlotType::Full),
        ..slot
    };
    Some((full, Promotion { diff_prefix, link }))
}

/// What a Subversion repository needs today (LEGACY.md §7, steps 2 and 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SvnStep {
    /// A DIFF whose saved revision is the youngest: nothing to dump.
    NoNewRevisions,
    /// `svnadmin dump -rFROM:HEAD --incremental` into `slot`.
    Dump { slot: Slot, from: u64, head: u64 },
}

/// Steps 2 and 3 of the legacy Subversion backup: the cycle's slot, but FULL when no
/// revision was saved yet (the first backup of a repository is `REPO-SLOT-FULL` even on a
/// DIFF day); FROM 0 on FULL, else the saved revision + 1; a DIFF with nothing newer than
/// the saved revision dumps nothing. A saved revision newer than the youngest one (the
/// repository was replaced) is an error rather than an empty dump.
pub fn subversion_step(
    svn: &SvnFacts,
    cycle_slot: Slot,
    repo: &str,
    revision_file: &std::path::Path,
) -> Result<SvnStep, String> {
    let last = svn.last_saved.clone()?;
    let head = svn.youngest.clone()?;
    let slot = match last {
        None => Slot {
            slot_type: Some(SlotType::Full),
            ..cycle_slot
        },
        Some(_) => cycle_slot,
    };
    match (slot.slot_type, last) {
        (Some(SlotType::Diff), Some(saved)) => match compare_revisions(saved, head) {
            Revisions::UpToDate => Ok(SvnStep::NoNewRevisions),
            Revisions::Replaced => Err(format!(
                "the revision {saved} saved in {} is newer than the youngest revision {head} \
                 of {repo} (a replaced repository?); delete that file to start with a FULL",
                revision_file.display()
            )),
            Revisions::Pending { first, .. } => Ok(SvnStep::Dump {
                slot,
                from: first,
                head,
            }),
        },
        _ => Ok(SvnStep::Dump {
            slot,
            from: 0,
            head,
        }),
    }
}

/// How a repository's youngest revision compares with the revision saved in DiffDir (the
/// last one backed up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revisions {
    /// Nothing was committed after the saved revision.
    UpToDate,
    /// The revisions `first..=last` are not backed up yet.
    Pending { first: u64, last: u64 },
    /// The saved revision is newer than the youngest one (a replaced repository?).
    Replaced,
}

/// Compares the saved revision with the repository's youngest one.
pub fn compare_revisions(saved: u64, youngest: u64) -> Revisions {
    match saved.cmp(&youngest) {
        std::cmp::Ordering::Equal => Revisions::UpToDate,
        std::cmp::Ordering::Greater => Revisions::Replaced,
        std::cmp::Ordering::Less => Revisions::Pending {
            first: saved + 1,
            last: youngest,
        },
    }
}

/// The path of a SubversionDir member: `DIR/ENTRY` (a trailing `/` of DIR dropped).
pub fn subversion_dir_member(dir: &str, entry: &str) -> String {
    format!("{}/{entry}", dir.trim_end_matches('/'))
}

/// How the server spells a prefix in listings.
pub fn physical(facts: &Facts, prefix: &str) -> String {
    facts.key_style.apply(prefix)
}

#[cfg(test)]
mod tests;
