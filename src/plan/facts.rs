//! Gathers what the planner needs to know (I/O lives here, not in `plan`): DiffDir state
//! file times, Subversion revisions, SubversionDir members, today's objects in the bucket
//! and the DIFFs each item's restore chain needs.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use time::OffsetDateTime;

use crate::clock::{Clock, to_local};
use crate::config::{Item, ItemKind, Settings};
use crate::plan::schedule;
use crate::plan::{CurrentChain, Facts, SvnFacts, state_file_path, subversion_dir_member};
use crate::store::ObjectInfo;
use crate::store::keys::KeyStyle;
use crate::store::keys::{Slot, check_complete, group_slots};

/// Prefixes of complete slots backed up on the clock's local date (LEGACY.md §9: their
/// newest object modified that day; a stamped slot by its stamp, `store::stamp`). An incomplete slot (a killed run, an interrupted commit) is not done:
/// the run redoes it. The reserved namespace (staging, commit markers) is never a slot.
pub fn done_today(slots: &[Slot], clock: &Clock) -> BTreeSet<String> {
    slots
        .iter()
        .filter(|slot| check_complete(slot).is_ok())
        .filter(|slot| to_local(slot.backup_time()).date() == clock.today())
        .map(|slot| slot.prefix.clone())
        .collect()
}

/// How the server spells keys, judged read-only from a listing: a key starting with `/`
/// proves keys are kept as written; without one, leading slashes are taken as stripped
/// (harmless either way: no listed key then starts with `/`).
pub fn key_style_from_listing(listing: &[ObjectInfo]) -> KeyStyle {
    if listing.is_empty() || listing.iter().any(|o| o.key.starts_with('/')) {
        KeyStyle::Faithful
    } else {
        KeyStyle::StripLeadingSlashes
    }
}

/// The local day-of-year of a file's mtime, if the file exists.
fn mtime_yday(path: &Path) -> Option<i64> {
    let modified = fs::metadata(path).ok()?.modified().ok()?;
    let local = to_local(OffsetDateTime::from(modified));
    Some(i64::from(local.ordinal()) - 1)
}

/// `svnlook youngest REPO`.
fn svn_youngest(repo: &str) -> Result<u64, String> {
    if !Path::new(repo).is_dir() {
        return Err(format!("Subversion repository {repo} does not exist"));
    }
    let out = duct::cmd("svnlook", ["youngest", repo])
        .stderr_capture()
        .stdout_capture()
        .unchecked()
        .run()
        .map_err(|e| format!("cannot run svnlook youngest {repo}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "svnlook youngest {repo} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .map_err(|_| format!("svnlook youngest {repo} printed {:?}", text.trim()))
}

/// The revision number saved in a Subversion state file (`None` when there is none yet);
/// the one reader of these files, for the backup run and `status` alike.
pub fn saved_revision(path: &Path) -> Result<Option<u64>, String> {
    match fs::read_to_string(path) {
        Ok(text) => text.trim().parse().map(Some).map_err(|_| {
            format!(
                "{}: not a revision number: {:?}",
                path.display(),
                text.trim()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// What a backup run knows about a Subversion repository: its youngest revision and the
/// revision its DiffDir state file saved (also read by `status`).
pub fn subversion_facts(settings: &Settings, repo: &str) -> SvnFacts {
    SvnFacts {
        youngest: svn_youngest(repo),
        last_saved: saved_revision(&state_file_path(settings, repo)),
    }
}

/// The entries of DIR that `svnadmin verify` accepts, in the order the directory listing
/// returns them (readdir, not sorted: the legacy's order, LEGACY.md §7). The legacy also
/// tried `.` and `..`, which fail the check silently; `read_dir` never returns them.
fn verified_repositories(dir: &str) -> Result<Vec<String>, String> {
    let names: Vec<String> = fs::read_dir(dir)
        .map_err(|e| format!("SubversionDir {dir}: {e}"))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    Ok(names
        .into_iter()
        .filter(|name| {
            let repo = subversion_dir_member(dir, name);
            duct::cmd("svnadmin", ["verify", "-q", repo.as_str()])
                .stdout_null()
                .stderr_null()
                .unchecked()
                .run()
                .map(|o| o.status.success())
                .unwrap_or(false)
        })
        .collect())
}

/// An item's restore chain now (its name as configured; slots by prefix as listed): the
/// read side's judgement (`restore::chain::current_chain`), handed in so that planning
/// does not depend on restoring.
pub type ChainOf<'a> = &'a dyn Fn(&[Slot], &str, KeyStyle) -> Option<CurrentChain>;

/// Gathers the facts for one config file. `listing` is the bucket listing (empty when it
/// failed); `key_style` tells how the server spells keys.
pub fn gather(
    settings: &Settings,
    clock: &Clock,
    force: bool,
    listing: &[ObjectInfo],
    key_style: KeyStyle,
    chain_of: ChainOf<'_>,
) -> Facts {
    let day = clock.day();
    let slots = group_slots(listing.iter().cloned());
    let mut facts = Facts {
        day: Some(day),
        today: Some(clock.today()),
        force,
        done_today: done_today(&slots, clock),
        key_style,
        fixed_now: clock.fixed_instant(),
        now: Some(clock.now()),
        ..Facts::default()
    };
    let mut pending: Vec<Item> = settings
        .scopes
        .iter()
        .flat_map(|s| s.items.iter())
        .filter(|i| force || schedule::is_backup_day(&i.cycle, day))
        .cloned()
        .collect();
    while let Some(item) = pending.pop() {
        match item.kind {
            ItemKind::Directory | ItemKind::Subversion => {
                let path = state_file_path(settings, &item.name);
                if let Some(yday) = mtime_yday(&path) {
                    facts.state_mtime_yday.insert(path.clone(), yday);
                }
                if let Some(chain) = chain_of(&slots, &item.name, key_style) {
                    facts.chain_diffs.extend(chain.diffs.iter().cloned());
                    facts.chains.insert(item.name.clone(), chain);
                }
                if item.kind == ItemKind::Subversion {
                    facts
                        .svn
                        .entry(item.name.clone())
                        .or_insert_with(|| subversion_facts(settings, &item.name));
                }
            }
            ItemKind::SubversionDir => {
                let members = verified_repositories(&item.name);
                if let Ok(names) = &members {
                    for name in names {
                        pending.push(Item {
                            kind: ItemKind::Subversion,
                            name: subversion_dir_member(&item.name, name),
                            ..item.clone()
                        });
                    }
                }
                facts.svn_dirs.insert(item.name.clone(), members);
            }
            ItemKind::MySql | ItemKind::PostgreSql => {}
        }
    }
    facts
}
