//! Which items of a config file have journals, what their slot keys look like and which
//! slot numbers their cycles write.

use std::path::PathBuf;

use crate::config::{Item, ItemKind, Settings};
use crate::plan::schedule::{self, Day};
use crate::plan::{Facts, mysql_name, postgres_name, subversion_dir_member};

/// One item as its journal sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalItem {
    /// How the item is named in logs (`Directory /etc`).
    pub label: String,
    /// The item part of its slot prefixes (logical: `/etc`, `MySQL/--all-databases`).
    pub part: String,
    /// Slots are `PART-N-FULL`/`PART-N-DIFF` (Directory, Subversion), else `PART-N`.
    pub typed: bool,
    /// The journal file.
    pub path: PathBuf,
    /// One past the highest slot number its cycle writes (`None`: not known).
    pub bound: Option<i64>,
}

/// The item part of the slot prefixes of an item of `kind` named `name` (its
/// `display` name for databases, see `plan::mysql_name`).
pub fn part_of(kind: ItemKind, name: &str, display: &str) -> String {
    match kind {
        ItemKind::MySql | ItemKind::PostgreSql => format!("{}/{display}", kind.legacy_name()),
        _ => name.to_owned(),
    }
}

/// The journal path of an item of `kind` named `name` (`display` for databases).
pub fn path_of(settings: &Settings, kind: ItemKind, name: &str, display: &str) -> PathBuf {
    super::journal_path(&settings.diff_dir, &part_of(kind, name, display))
}

/// Every item of `settings` with its journal (the members of a SubversionDir as `facts`
/// found them), each part once; an item configured in several scopes takes the widest
/// cycle bound.
pub fn journal_items(settings: &Settings, facts: &Facts, day: Day) -> Vec<JournalItem> {
    let mut out: Vec<JournalItem> = Vec::new();
    let mut add = |item: &Item, kind: ItemKind, name: &str| {
        let display = match kind {
            ItemKind::MySql => mysql_name(item).display,
            ItemKind::PostgreSql => postgres_name(item).display,
            _ => name.to_owned(),
        };
        let part = part_of(kind, name, &display);
        let typed = matches!(kind, ItemKind::Directory | ItemKind::Subversion);
        let bound = schedule::slot_bound(&item.cycle, day, typed);
        if let Some(seen) = out.iter_mut().find(|j| j.part == part) {
            seen.bound = seen.bound.max(bound);
            return;
        }
        out.push(JournalItem {
            label: format!("{} {name}", kind.legacy_name()),
            path: super::journal_path(&settings.diff_dir, &part),
            part,
            typed,
            bound,
        });
    };
    for item in settings.scopes.iter().flat_map(|s| s.items.iter()) {
        match item.kind {
            ItemKind::SubversionDir => {
                if let Some(Ok(members)) = facts.svn_dirs.get(&item.name) {
                    for m in members {
                        let repo = subversion_dir_member(&item.name, m);
                        add(item, ItemKind::Subversion, &repo);
                    }
                }
            }
            kind => add(item, kind, &item.name),
        }
    }
    out
}
