//! `s3napback restore` and `s3napback cat` (LEGACY.md §12, automated): pick the chain of
//! slots ([`chain`]), stream each slot's chunks in order ([`stream`]), decrypt when the
//! data is OpenPGP (refusing unencrypted slots when GpgRecipient is set, unless
//! `--allow-unencrypted`), then extract (Directory, through the [`guard`], see [`extract`])
//! or decompress (databases, Subversion).

mod all;
pub mod chain;
pub mod decode;
pub mod extract;
pub mod guard;
pub mod stream;

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use time::Date;

use crate::clock::{Clock, local_day_bounds, local_stamp, to_local};
use crate::config::{CycleSettings, Item, ItemKind, Settings};
use crate::exit::{EXIT_OK, Fatal};
use crate::inspect::catalog::{SlotKind, physical_item, slots_of, stored_item};
use crate::inspect::content::{Content, detect};
use crate::inspect::inventory::Inventory;
use crate::plan::schedule::{Day, is_backup_day};
use crate::process::progress::Progress;
use crate::store::ReadStore;
use crate::store::keys::KeyStyle;
use crate::store::keys::{Slot, check_complete};

use chain::select_chain;
use decode::NotEncrypted;
use extract::Extraction;
use stream::ChunkReader;

/// The log category of restore messages.
const TARGET: &str = "Backup::S3napback";

/// `s3napback restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// Restore the state as of the end of this local date (YYYY-MM-DD); default: now. On
    /// a versioned bucket (ObjectLockMode) the bucket as it was then: versions written
    /// later (an overwrite, a delete) do not count.
    #[arg(long, value_name = "DATE")]
    pub at: Option<String>,
    /// Directory to extract into (a file for database and Subversion dumps); nothing is
    /// written outside it. Writing into / needs an explicit `--into /`.
    #[arg(long, value_name = "DIR")]
    pub into: Option<std::path::PathBuf>,
    /// Write the decompressed dump (databases, Subversion) to stdout.
    #[arg(long)]
    pub to_stdout: bool,
    /// Restore slots stored without encryption even though GpgRecipient is set (refused by
    /// default: whoever can write to the bucket could have put them there).
    #[arg(long)]
    pub allow_unencrypted: bool,
    /// Restore every item into `--into DIR`: the config's items, or with a config of the
    /// bucket alone every item found in the bucket. Directories are extracted into DIR,
    /// database and Subversion dumps land as files under DIR/MySQL, DIR/PostgreSQL and
    /// DIR/Subversion; one summary line per item, exit 1 if any failed.
    #[arg(long, conflicts_with_all = ["item", "to_stdout"])]
    pub all: bool,
    /// The item as configured: a Directory path, a MySQL/PostgreSQL name, a Subversion path.
    #[arg(required_unless_present = "all")]
    pub item: Option<String>,
    /// Only these paths of a Directory item (as tar names them, e.g. home/foo/file).
    pub paths: Vec<String>,
}

/// `s3napback cat`.
#[derive(Debug, clap::Args)]
pub struct CatArgs {
    /// The slot prefix, e.g. /etc-3-FULL or MySQL/--all-databases-5.
    pub prefix: String,
    /// The slot as it was at the end of this local date (YYYY-MM-DD), on a versioned
    /// bucket (ObjectLockMode); default: as it is now.
    #[arg(long, value_name = "DATE")]
    pub at: Option<String>,
    /// Restore slots stored without encryption even though GpgRecipient is set (refused by
    /// default: whoever can write to the bucket could have put them there).
    #[arg(long)]
    pub allow_unencrypted: bool,
}

/// What a restore argument names.
#[derive(Debug, Clone)]
struct Target {
    kind: ItemKind,
    /// The item's schedule, when it is configured.
    cycle: Option<CycleSettings>,
    slot_kind: SlotKind,
    /// The item part of its slot names, spelled as the server lists it.
    stored: String,
}

/// Finds ITEM among the configured items (SubversionDir entries included) and works out
/// how its slots are named.
fn resolve(settings: &Settings, key_style: KeyStyle, slots: &[Slot], item: &str) -> Result<Target> {
    let mut found: Option<(ItemKind, CycleSettings)> = None;
    for scope in &settings.scopes {
        for it in &scope.items {
            let hit = match it.kind {
                ItemKind::SubversionDir => {
                    let dir = it.name.trim_end_matches('/');
                    item.strip_prefix(dir)
                        .and_then(|r| r.strip_prefix('/'))
                        .is_some_and(|e| !e.is_empty() && !e.contains('/'))
                        .then_some(ItemKind::Subversion)
                }
                kind if it.name == item => Some(kind),
                _ => None,
            };
            if let Some(kind) = hit {
                found.get_or_insert((kind, it.cycle.clone()));
            }
        }
    }
    let (kind, cycle) = match found {
        Some((k, c)) => (k, Some(c)),
        None => {
            let stored = physical_item(SlotKind::Tree, item, key_style);
            if slots_of(slots, SlotKind::Tree, &stored).is_empty() {
                bail!(
                    "{item} is not an item of {} and the bucket {} has no slots of it",
                    settings.path.display(),
                    settings.bucket
                );
            }
            log::warn!(target: TARGET, "{item} is not configured in {}; restoring its slots as a Directory", settings.path.display());
            (ItemKind::Directory, None)
        }
    };
    let probe = Item {
        kind,
        name: item.to_string(),
        block: None,
        cycle: cycle.clone().unwrap_or_default(),
        origin: crate::config::Origin::new("", 0),
    };
    let (slot_kind, logical) = stored_item(&probe).unwrap_or((SlotKind::Tree, item.to_string()));
    let stored = physical_item(slot_kind, &logical, key_style);
    Ok(Target {
        kind,
        cycle,
        slot_kind,
        stored,
    })
}

/// Backup days of `cycle` strictly after `full` and up to `end` (and before `today`)
/// on which none of `have` was made: the schedule says a slot is missing there.
pub fn missing_backup_days(
    cycle: &CycleSettings,
    full: Date,
    end: Date,
    today: Date,
    have: &[Date],
) -> Vec<Date> {
    let mut out = Vec::new();
    let mut d = full;
    for _ in 0..800 {
        let Some(next) = d.next_day() else { break };
        d = next;
        if d > end || d >= today {
            break;
        }
        let noon = d.midnight().assume_utc() + time::Duration::hours(12);
        let day = Day {
            yday: i64::from(d.ordinal()) - 1,
            epoch_days: noon.unix_timestamp().div_euclid(86_400),
        };
        if is_backup_day(cycle, day) && !have.contains(&d) {
            out.push(d);
        }
    }
    out
}

/// Where a restore writes.
enum Destination {
    /// Extracted into DIR.
    Dir(PathBuf, Extraction),
    /// The decompressed dump to this file.
    File(PathBuf),
    /// The decompressed dump to stdout.
    Stdout,
}

impl Destination {
    fn describe(&self) -> String {
        match self {
            Destination::Dir(d, _) => d.display().to_string(),
            Destination::File(f) => f.display().to_string(),
            Destination::Stdout => "the standard output".into(),
        }
    }
}

fn destination(args: &RestoreArgs, item: &str, kind: ItemKind) -> Result<Destination> {
    if kind == ItemKind::Directory {
        if args.to_stdout {
            bail!(Fatal(format!(
                "{}: a Directory item is restored into a directory: use --into DIR, not --to-stdout",
                item
            )));
        }
        let Some(dir) = &args.into else {
            bail!(Fatal(format!(
                "{}: say where to restore it with --into DIR (--into / overwrites the live files)",
                item
            )));
        };
        if dir.as_os_str() != "/" && dir.canonicalize().is_ok_and(|c| c == Path::new("/")) {
            bail!(Fatal(format!(
                "--into {} is the root directory: say --into / if you mean it",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the restore directory {}", dir.display()))?;
        return Ok(Destination::Dir(
            dir.clone(),
            Extraction::new(dir, &args.paths)?,
        ));
    }
    if !args.paths.is_empty() {
        bail!(Fatal(format!(
            "{}: PATHs only apply to Directory items",
            item
        )));
    }
    match (&args.into, args.to_stdout) {
        (Some(_), true) => bail!(Fatal("use either --into FILE or --to-stdout".into())),
        (Some(f), false) => Ok(Destination::File(f.clone())),
        (None, true) => Ok(Destination::Stdout),
        (None, false) => bail!(Fatal(format!(
            "{}: say where the dump goes: --to-stdout or --into FILE",
            item
        ))),
    }
}

/// What becomes of a slot's decrypted stream.
#[derive(Clone, Copy)]
enum Decode<'a> {
    /// Nothing: the stream as stored, decrypted (`cat`).
    AsStored,
    /// Decompressed (database and Subversion dumps).
    Gunzip,
    /// Extracted into a directory.
    Extract(&'a Extraction),
}

/// When unencrypted slots are refused: the config file whose GpgRecipient says every slot
/// is encrypted, unless `--allow-unencrypted`.
fn encryption_required(settings: &Settings, allow_unencrypted: bool) -> Option<PathBuf> {
    (settings.gpg_recipient.is_some() && !allow_unencrypted).then(|| settings.path.clone())
}

/// Streams one slot, decrypted when it is OpenPGP, then as `decode` says into `sink`.
/// With `encrypted_by`, a slot that is not encrypted (gzip, or OpenPGP that gpg does not
/// decrypt) is refused. Returns tolerated warnings.
fn apply_slot(
    store: &Arc<dyn ReadStore>,
    slot: &Slot,
    encrypted_by: Option<&Path>,
    decode: Decode,
    sink: &mut dyn Write,
) -> Result<Vec<String>> {
    let mut chunks = ChunkReader::new(store.clone(), slot.chunks.clone());
    let head = chunks.peek().context("reading its first chunk")?.to_vec();
    let progress = Progress::new(slot.prefix.clone(), Some(slot.size));
    let reader = progress.wrap(chunks);
    let encrypted = match detect(&head) {
        Content::OpenPgp => true,
        Content::Gzip => {
            if let Some(config) = encrypted_by {
                bail!(NotEncrypted {
                    what: "gzip, not OpenPGP".into(),
                    config: config.to_path_buf(),
                });
            }
            false
        }
        Content::Unknown => bail!(
            "its data is neither gzip nor OpenPGP (starts with {:02x?})",
            &head[..head.len().min(4)]
        ),
    };
    let decrypted = decode::decrypt(reader, encrypted, encrypted_by.map(Path::to_path_buf))?;
    let result = match decode {
        Decode::AsStored => copy_out(decrypted, sink),
        Decode::Gunzip => copy_out(decode::gunzip(decrypted), sink),
        Decode::Extract(extraction) => extraction.run(decode::gunzip(decrypted)),
    };
    log::info!(target: TARGET, "{}", progress.finish());
    result
}

/// Copies a decoded stream into `sink`; an error of the sink says so.
fn copy_out(mut decoded: impl io::Read, sink: &mut dyn Write) -> Result<Vec<String>> {
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = match decoded.read(&mut buf) {
            Ok(0) => return Ok(Vec::new()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // an io::Error shows the error it carries (a chunk's, gpg's, the gzip data's)
            Err(e) => return Err(e.into()),
        };
        sink.write_all(&buf[..n]).context("writing the output")?;
    }
}

/// When a restore is for: the end of `--at`'s date (or now), as text and as a date.
struct When {
    until: Option<time::OffsetDateTime>,
    text: String,
    end_date: Date,
}

impl When {
    fn of(at: Option<&str>, clock: &Clock) -> Result<When> {
        Ok(match at {
            Some(text) => {
                let date = crate::clock::parse_at(text)?;
                let (_, next) = local_day_bounds(date)?;
                When {
                    until: Some(next),
                    text: text.trim().to_string(),
                    end_date: date,
                }
            }
            None => When {
                until: None,
                text: "now".to_string(),
                end_date: clock.today(),
            },
        })
    }
}

/// What a restore reads from: the settings, the bucket and its slots.
struct Source {
    settings: Settings,
    store: Arc<dyn ReadStore>,
    key_style: KeyStyle,
    slots: Vec<Slot>,
}

/// Runs `restore`; returns the exit status.
pub fn run(args: &RestoreArgs, config: Option<&Path>, clock: &Clock) -> Result<u8> {
    let when = When::of(args.at.as_deref(), clock)?;
    // On a versioned bucket, the bucket as it was then: what was overwritten or deleted
    // since (an attacker with the run's own key) does not count.
    let Inventory {
        settings,
        store,
        key_style,
        slots,
    } = Inventory::open_as_of(config, when.until)?;
    let source = Source {
        settings,
        store: Arc::from(store),
        key_style,
        slots,
    };
    if args.all {
        return all::run(args, &source, &when, clock);
    }
    let item = args
        .item
        .as_deref()
        .ok_or_else(|| anyhow!(Fatal("name the ITEM to restore, or say --all".into())))?;
    let target = resolve(&source.settings, source.key_style, &source.slots, item)?;
    let dest = destination(args, item, target.kind)?;
    restore_item(
        &source,
        item,
        &target,
        &when,
        clock,
        &dest,
        args.allow_unencrypted,
    )?;
    Ok(EXIT_OK)
}

/// Restores the chain of `item` (`target`) as of `when` into `dest`.
fn restore_item(
    source: &Source,
    item: &str,
    target: &Target,
    when: &When,
    clock: &Clock,
    dest: &Destination,
    allow_unencrypted: bool,
) -> Result<()> {
    let Source {
        settings,
        store,
        slots,
        ..
    } = source;
    let (until, date_text, end_date) = (when.until, &when.text, when.end_date);
    let item_slots = slots_of(slots, target.slot_kind, &target.stored);
    let candidates = chain::candidates(&item_slots);
    let selection = select_chain(&candidates, until, item, date_text)?;
    for skipped in &selection.skipped {
        log::warn!(target: TARGET, "{}: {skipped}", item);
    }
    let chain: Vec<&Slot> = selection
        .chain
        .iter()
        .map(|c| {
            *slots
                .iter()
                .find(|s| s.prefix == c.prefix)
                .as_ref()
                .expect("candidates come from the slots")
        })
        .collect();
    let bucket = settings.bucket.clone();
    log::info!(
        target: TARGET,
        "Restoring {} {} as of {date_text} from {} slot(s): {}",
        target.kind.legacy_name(),
        item,
        chain.len(),
        chain
            .iter()
            .map(|s| format!("{bucket}:{} ({})", s.prefix, local_stamp(s.backup_time())))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(cycle) = &target.cycle
        && target.slot_kind == SlotKind::Tree
    {
        let have: Vec<Date> = chain
            .iter()
            .map(|s| to_local(s.backup_time()).date())
            .collect();
        for d in missing_backup_days(cycle, have[0], end_date, clock.today(), &have) {
            log::warn!(
                target: TARGET,
                "{}: {d} was a backup day but no slot of the chain is from that day",
                item
            );
        }
    }
    let (decode, mut sink): (Decode, Box<dyn Write>) = match dest {
        Destination::Dir(_, extraction) => (Decode::Extract(extraction), Box::new(io::sink())),
        Destination::File(f) => {
            let file = File::create(f).with_context(|| format!("creating {}", f.display()))?;
            (Decode::Gunzip, Box::new(io::BufWriter::new(file)))
        }
        Destination::Stdout => (
            Decode::Gunzip,
            Box::new(io::BufWriter::new(io::stdout().lock())),
        ),
    };
    let encrypted_by = encryption_required(settings, allow_unencrypted);
    let mut done: Vec<String> = Vec::new();
    for slot in &chain {
        let result = apply_slot(store, slot, encrypted_by.as_deref(), decode, &mut sink)
            .and_then(|w| sink.flush().map(|_| w).map_err(anyhow::Error::from));
        match result {
            Ok(warnings) => {
                for w in warnings {
                    log::warn!(target: TARGET, "{bucket}:{}: {w}", slot.prefix);
                }
                log::info!(
                    target: TARGET,
                    "restored {bucket}:{} ({}) into {}",
                    slot.prefix,
                    local_stamp(slot.backup_time()),
                    dest.describe()
                );
                done.push(slot.prefix.clone());
            }
            Err(e) => {
                let before = if done.is_empty() {
                    String::new()
                } else {
                    format!("restored {}; ", done.join(", "))
                };
                let holds = if done.is_empty() { "may hold" } else { "holds" };
                bail!(
                    "restore of {} failed: {before}failed in {bucket}:{}: {e:#}; {} {holds} a partial restore",
                    item,
                    slot.prefix,
                    dest.describe()
                );
            }
        }
    }
    if let Destination::Dir(_, extraction) = dest {
        for path in extraction.unmatched() {
            log::warn!(target: TARGET, "{}: PATH {path} is in none of the restored slots", item);
        }
    }
    log::info!(
        target: TARGET,
        "Restored {} as of {date_text} into {} from {} slot(s)",
        item,
        dest.describe(),
        done.len()
    );
    Ok(())
}

/// Runs `cat`; returns the exit status.
pub fn run_cat(args: &CatArgs, config: Option<&Path>, _clock: &Clock) -> Result<u8> {
    let until = args
        .at
        .as_deref()
        .map(crate::clock::end_of_at)
        .transpose()?;
    let inv = Inventory::open_as_of(config, until)?;
    let slot = inv
        .slot(&args.prefix)
        .cloned()
        .ok_or_else(|| anyhow!("no slot {} in bucket {}", args.prefix, inv.settings.bucket))?;
    if let Err(problem) = check_complete(&slot) {
        bail!(
            "slot {}:{} is incomplete: {problem}",
            inv.settings.bucket,
            slot.prefix
        );
    }
    let bucket = inv.settings.bucket.clone();
    let store: Arc<dyn ReadStore> = Arc::from(inv.store);
    let mut out = io::BufWriter::new(io::stdout().lock());
    let encrypted_by = encryption_required(&inv.settings, args.allow_unencrypted);
    apply_slot(
        &store,
        &slot,
        encrypted_by.as_deref(),
        Decode::AsStored,
        &mut out,
    )
    .and_then(|_| out.flush().map_err(anyhow::Error::from))
    .with_context(|| format!("{bucket}:{}", slot.prefix))?;
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn missing_days_follow_the_schedule() {
        let daily = CycleSettings::default();
        let have = [date!(2026 - 11 - 16), date!(2026 - 11 - 18)];
        let missing = missing_backup_days(
            &daily,
            date!(2026 - 11 - 16),
            date!(2026 - 11 - 19),
            date!(2026 - 11 - 25),
            &have,
        );
        assert_eq!(missing, [date!(2026 - 11 - 17), date!(2026 - 11 - 19)]);
        // today itself is not counted: its backup may not have run yet
        let missing = missing_backup_days(
            &daily,
            date!(2026 - 11 - 16),
            date!(2026 - 11 - 19),
            date!(2026 - 11 - 19),
            &have,
        );
        assert_eq!(missing, [date!(2026 - 11 - 17)]);
        let weekly = CycleSettings {
            frequency: 7,
            ..CycleSettings::default()
        };
        assert!(
            missing_backup_days(
                &weekly,
                date!(2026 - 11 - 16),
                date!(2026 - 11 - 19),
                date!(2026 - 12 - 1),
                &have
            )
            .len()
                <= 1
        );
    }
}
