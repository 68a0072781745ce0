//! PURE: the configured items of a settings file matched with their slots in the bucket,
//! for `verify` and `status`.

pub mod catalog;
pub mod content;
pub mod coverage;
pub mod deepcheck;
pub mod inventory;
pub mod list;
pub mod quiet;
pub mod status;
pub mod verify;

use crate::clock::to_local;
use crate::config::{ItemKind, Settings};
use crate::inspect::catalog::{
    SlotKind, physical_item, slots_of, stored_item, subversion_dir_items,
};
use crate::inspect::coverage::{SlotState, by_time};
use crate::plan::schedule::SlotType;
use crate::plan::subversion_dir_member;
use crate::store::keys::KeyStyle;
use crate::store::keys::Slot;

/// One configured item (a SubversionDir gives one per repository found) and its slots.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemView {
    /// `Directory /etc`, `MySQL --all-databases`, `Subversion /svn/a` ...
    pub label: String,
    /// The item's Frequency in days.
    pub frequency: i64,
    /// Its slots, oldest first.
    pub states: Vec<SlotState>,
    /// For a Subversion repository, its path on this host (what `svnlook` takes).
    pub repository: Option<String>,
}

/// Every configured item, in the order of the settings (scopes, then file order), with
/// its slots. `ok` decides whether a slot passed its checks.
pub fn item_views(
    settings: &Settings,
    slots: &[Slot],
    style: KeyStyle,
    ok: impl Fn(&Slot) -> bool,
) -> Vec<ItemView> {
    let states = |kind: SlotKind, physical: &str| -> Vec<SlotState> {
        by_time(
            slots_of(slots, kind, physical)
                .into_iter()
                .map(|(name, slot)| SlotState {
                    prefix: slot.prefix.clone(),
                    time: to_local(slot.last_modified),
                    full: name.slot_type != Some(SlotType::Diff),
                    complete: ok(slot),
                })
                .collect(),
        )
    };
    let mut views = Vec::new();
    for item in settings.scopes.iter().flat_map(|s| &s.items) {
        let frequency = item.cycle.frequency;
        if item.kind == ItemKind::SubversionDir {
            let dir = physical_item(SlotKind::Tree, &item.name, style);
            let repos = subversion_dir_items(slots, &dir);
            if repos.is_empty() {
                views.push(ItemView {
                    label: format!("SubversionDir {}", item.name),
                    frequency,
                    states: Vec::new(),
                    repository: None,
                });
            }
            for repo in repos {
                // Listed as DIR/ENTRY (DIR spelled as the server spells it).
                let entry = repo.rsplit_once('/').map_or(repo.as_str(), |(_, e)| e);
                views.push(ItemView {
                    label: format!("Subversion {repo}"),
                    frequency,
                    states: states(SlotKind::Tree, &repo),
                    repository: Some(subversion_dir_member(&item.name, entry)),
                });
            }
            continue;
        }
        let Some((kind, logical)) = stored_item(item) else {
            continue;
        };
        views.push(ItemView {
            label: format!("{} {}", item.kind.legacy_name(), item.name),
            frequency,
            states: states(kind, &physical_item(kind, &logical, style)),
            repository: (item.kind == ItemKind::Subversion).then(|| item.name.clone()),
        });
    }
    views
}

/// The prefixes of the slots that belong to configured Subversion repositories (their own
/// items and the repositories of SubversionDirs): named like Directory slots, but holding
/// `svnadmin dump | gzip` streams, not tar archives.
pub fn subversion_prefixes(
    settings: &Settings,
    slots: &[Slot],
    style: KeyStyle,
) -> std::collections::HashSet<String> {
    let mut out = std::collections::HashSet::new();
    for item in settings.scopes.iter().flat_map(|s| &s.items) {
        let physical = physical_item(SlotKind::Tree, &item.name, style);
        let repos = match item.kind {
            ItemKind::Subversion => vec![physical],
            ItemKind::SubversionDir => subversion_dir_items(slots, &physical),
            _ => continue,
        };
        for repo in repos {
            out.extend(
                slots_of(slots, SlotKind::Tree, &repo)
                    .into_iter()
                    .map(|(_, slot)| slot.prefix.clone()),
            );
        }
    }
    out
}
