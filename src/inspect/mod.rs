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
pub mod tamper;
pub mod verify;

use crate::clock::to_local;
use std::collections::HashSet;

use crate::config::collisions::identity;
use crate::config::{CycleType, Item, ItemKind, Settings};
use crate::inspect::catalog::{
    SlotKind, physical_item, slots_of, stored_item, subversion_dir_items,
};
use crate::inspect::coverage::{SlotState, by_time};
use crate::plan::schedule::{SlotType, scheduled_slots};
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
    /// For an item configured in several scopes: how their slots share names.
    pub shared: Option<String>,
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
                    time: to_local(slot.backup_time()),
                    full: name.slot_type != Some(SlotType::Diff)
                        || slot.stamp.is_some_and(|s| s.chain_start),
                    complete: ok(slot),
                    stamped: slot.stamp.is_some(),
                })
                .collect(),
        )
    };
    let mut views = Vec::new();
    let all: Vec<&Item> = settings.scopes.iter().flat_map(|s| &s.items).collect();
    let mut seen = HashSet::new();
    for item in all.iter().copied() {
        // an item configured in several scopes is one item with one set of slots
        if !seen.insert(identity(item)) {
            continue;
        }
        let occurrences: Vec<&Item> = all
            .iter()
            .copied()
            .filter(|other| identity(other) == identity(item))
            .collect();
        let frequency = occurrences
            .iter()
            .map(|i| i.cycle.frequency)
            .min()
            .unwrap_or(item.cycle.frequency);
        let shared = (occurrences.len() > 1).then(|| shared_slots(&occurrences));
        if item.kind == ItemKind::SubversionDir {
            let dir = physical_item(SlotKind::Tree, &item.name, style);
            let repos = subversion_dir_items(slots, &dir);
            if repos.is_empty() {
                views.push(ItemView {
                    label: format!("SubversionDir {}", item.name),
                    frequency,
                    states: Vec::new(),
                    repository: None,
                    shared: shared.clone(),
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
                    shared: shared.clone(),
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
            shared,
        });
    }
    if all.is_empty() {
        views.extend(bucket_items(slots).into_iter().map(|(kind, item)| {
            let label = match kind {
                SlotKind::Tree => format!("Directory {item}"),
                SlotKind::MySql => format!("MySQL {item}"),
                SlotKind::PostgreSql => format!("PostgreSQL {item}"),
            };
            ItemView {
                label,
                frequency: 1,
                states: states(kind, &item),
                repository: None,
                shared: None,
            }
        }));
    }
    views
}

/// Every item the bucket's slot names show (kind and item part as listed), in order: what
/// a config of the bucket alone (no items: a lost host) reads. A tree item may as well be
/// a Subversion repository; its name does not tell.
pub fn bucket_items(slots: &[Slot]) -> Vec<(SlotKind, String)> {
    let mut seen = std::collections::BTreeSet::new();
    slots
        .iter()
        .filter_map(|s| catalog::parse_prefix(&s.prefix))
        .filter(|n| seen.insert((n.kind as u8, n.item.clone())))
        .map(|n| (n.kind, n.item))
        .collect()
}

/// How the slots of an item configured in several scopes share names: where each
/// occurrence is and what it schedules, which slot names two of them both write (they
/// replace each other), and that a restore takes the slots by date.
fn shared_slots(occurrences: &[&Item]) -> String {
    let first = occurrences[0];
    let incremental = matches!(first.kind, ItemKind::Directory | ItemKind::Subversion);
    let describe = |i: &Item| match i.cycle.cycle_type {
        CycleType::Simple => format!(
            "{}: SimpleCycle, Frequency {}, Diffs {}, Fulls {}",
            i.origin, i.cycle.frequency, i.cycle.diffs, i.cycle.fulls
        ),
        CycleType::Hanoi => format!(
            "{}: HanoiCycle, Frequency {}, Discs {}",
            i.origin, i.cycle.frequency, i.cycle.discs
        ),
    };
    let role = |i: &Item, number: i64, t: Option<SlotType>| match (i.cycle.cycle_type, t) {
        (CycleType::Hanoi, _) => format!("disc {number} at {}", i.origin),
        (CycleType::Simple, Some(t)) => format!("{} slot {number} at {}", t.as_str(), i.origin),
        (CycleType::Simple, None) => format!("slot {number} at {}", i.origin),
    };
    let name = |number: i64, t: Option<SlotType>| {
        let base = stored_item(first).map_or_else(|| first.name.clone(), |(_, n)| n);
        match (first.kind, t) {
            (ItemKind::MySql, _) => format!("MySQL/{base}-{number}"),
            (ItemKind::PostgreSql, _) => format!("PostgreSQL/{base}-{number}"),
            (_, Some(t)) => format!("{base}-{number}-{}", t.as_str()),
            (_, None) => format!("{base}-{number}"),
        }
    };
    let mut common = Vec::new();
    for (a, x) in occurrences.iter().enumerate() {
        for y in &occurrences[a + 1..] {
            let (Some(xs), Some(ys)) = (
                scheduled_slots(&x.cycle, incremental, 10_000),
                scheduled_slots(&y.cycle, incremental, 10_000),
            ) else {
                continue;
            };
            for (number, t) in xs.into_iter().filter(|s| ys.contains(s)) {
                common.push(format!(
                    "{} is {} and {}",
                    name(number, t),
                    role(x, number, t),
                    role(y, number, t)
                ));
            }
        }
    }
    let replaced = match common.len() {
        0 => "no scheduled slot name is written by two of them".to_string(),
        n if n > 3 => format!(
            "their slots replace each other: {} (and {} more)",
            common[..3].join("; "),
            n - 3
        ),
        _ => format!("their slots replace each other: {}", common.join("; ")),
    };
    let places: Vec<String> = occurrences.iter().map(|i| describe(i)).collect();
    format!(
        "configured {} times ({}); {replaced}; a DIFF builds on the newest backup of any of \
         them and a restore takes the slots by date",
        occurrences.len(),
        places.join("; ")
    )
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
