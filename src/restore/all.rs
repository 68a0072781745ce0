//! `restore --all --into DIR`: every item of the config, or, with a config of the bucket
//! alone (a lost host), every item found in the bucket, each as `restore ITEM` would
//! restore it. Directories are extracted into DIR; database and Subversion dumps land as
//! files: `DIR/MySQL/NAME.sql`, `DIR/PostgreSQL/NAME.sql`, `DIR/Subversion/PATH.dump`
//! (`/` in names turned into `_`). One summary line per item; a failed item does not
//! stop the others, and makes the exit status 1.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};

use super::{
    Decode, RestoreArgs, Source, TARGET, Target, When, apply_slot, chain, destination,
    encryption_required, resolve, restore_item,
};
use crate::clock::Clock;
use crate::config::ItemKind;
use crate::exit::{EXIT_OK, Fatal};
use crate::inspect::catalog::{SlotKind, parse_prefix, slots_of};
use crate::store::keys::KeyStyle;

/// The exit status when an item failed.
const EXIT_SOME_FAILED: u8 = 1;

/// Runs `restore --all`.
pub(super) fn run(args: &RestoreArgs, source: &Source, when: &When, clock: &Clock) -> Result<u8> {
    let Some(into) = &args.into else {
        bail!(Fatal("restore --all needs --into DIR".into()));
    };
    if !args.paths.is_empty() {
        bail!(Fatal(
            "restore --all restores whole items: leave out PATHs".into()
        ));
    }
    let targets = targets(source)?;
    if targets.is_empty() {
        bail!(
            "bucket {} holds no slots of any item to restore",
            source.settings.bucket
        );
    }
    let mut failed = Vec::new();
    for (item, target) in &targets {
        let target = match target.kind {
            // an item found in the bucket: its stream says whether it is a directory
            ItemKind::Directory if target.cycle.is_none() => sniffed(source, item, target, when),
            _ => target.clone(),
        };
        let item_args = RestoreArgs {
            into: Some(dump_path(into, item, &target)),
            to_stdout: false,
            paths: Vec::new(),
            item: Some(item.clone()),
            all: false,
            at: args.at.clone(),
            allow_unencrypted: args.allow_unencrypted,
        };
        let parent = item_args.into.as_deref().and_then(Path::parent);
        let made = match (target.kind, parent) {
            (ItemKind::Directory, _) | (_, None) => Ok(()),
            (_, Some(dir)) => {
                std::fs::create_dir_all(dir).map_err(|e| anyhow!("creating {}: {e}", dir.display()))
            }
        };
        let result = made
            .and_then(|()| destination(&item_args, item, target.kind))
            .and_then(|dest| {
                restore_item(
                    source,
                    item,
                    &target,
                    when,
                    clock,
                    &dest,
                    args.allow_unencrypted,
                )
                .map(|()| dest.describe())
            });
        match result {
            Ok(place) => log::info!(
                target: TARGET,
                "restore --all: {} {item}: restored into {place}",
                target.kind.legacy_name()
            ),
            Err(e) => {
                log::error!(
                    target: TARGET,
                    "restore --all: {} {item}: failed: {e:#}",
                    target.kind.legacy_name()
                );
                failed.push(item.clone());
            }
        }
    }
    log::info!(
        target: TARGET,
        "restore --all: {} of {} items restored into {}{}",
        targets.len() - failed.len(),
        targets.len(),
        into.display(),
        if failed.is_empty() {
            String::new()
        } else {
            format!("; failed: {}", failed.join(", "))
        }
    );
    Ok(if failed.is_empty() {
        EXIT_OK
    } else {
        EXIT_SOME_FAILED
    })
}

/// Where an item lands under `into`: the directory itself for a Directory, else a file
/// named for the item.
fn dump_path(into: &Path, item: &str, target: &Target) -> PathBuf {
    let file = |dir: &str, name: &str, ext: &str| {
        let name = name.trim_start_matches('/').replace('/', "_");
        let name = if name.is_empty() { "all".into() } else { name };
        into.join(dir).join(format!("{name}.{ext}"))
    };
    match target.kind {
        ItemKind::Directory => into.to_path_buf(),
        ItemKind::MySql => file("MySQL", &target.stored, "sql"),
        ItemKind::PostgreSql => file("PostgreSQL", &target.stored, "sql"),
        ItemKind::Subversion | ItemKind::SubversionDir => file("Subversion", item, "dump"),
    }
}

/// Every item to restore, by name: the config's (SubversionDir repositories as found in
/// the bucket), or when the config names none, every item the bucket's slot names show.
fn targets(source: &Source) -> Result<Vec<(String, Target)>> {
    let Source {
        settings,
        key_style,
        slots,
        ..
    } = source;
    let configured: Vec<_> = settings.scopes.iter().flat_map(|s| &s.items).collect();
    let mut names = BTreeSet::new();
    let mut out = Vec::new();
    if configured.is_empty() {
        for slot in slots {
            let Some(name) = parse_prefix(&slot.prefix) else {
                continue;
            };
            let item = match name.kind {
                SlotKind::Tree => logical_tree_name(&name.item, *key_style),
                SlotKind::MySql => format!("MySQL/{}", name.item),
                SlotKind::PostgreSql => format!("PostgreSQL/{}", name.item),
            };
            if names.insert(item.clone()) {
                let kind = match name.kind {
                    SlotKind::Tree => ItemKind::Directory,
                    SlotKind::MySql => ItemKind::MySql,
                    SlotKind::PostgreSql => ItemKind::PostgreSql,
                };
                let target = Target {
                    kind,
                    cycle: None,
                    slot_kind: name.kind,
                    stored: name.item,
                };
                out.push((item, target));
            }
        }
        return Ok(out);
    }
    for item in configured {
        let found: Vec<String> = if item.kind == ItemKind::SubversionDir {
            repositories_under(source, &item.name)
        } else {
            vec![item.name.clone()]
        };
        for name in found {
            if names.insert(format!("{:?} {name}", item.kind)) {
                let target = resolve(settings, *key_style, slots, &name)?;
                out.push((name, target));
            }
        }
    }
    Ok(out)
}

/// The tree item names in the bucket directly below a SubversionDir `dir`.
fn repositories_under(source: &Source, dir: &str) -> Vec<String> {
    let dir = dir.trim_end_matches('/');
    let mut found = BTreeSet::new();
    for slot in &source.slots {
        if let Some(name) = parse_prefix(&slot.prefix)
            && name.kind == SlotKind::Tree
        {
            let item = logical_tree_name(&name.item, source.key_style);
            if item
                .strip_prefix(dir)
                .and_then(|r| r.strip_prefix('/'))
                .is_some_and(|e| !e.is_empty() && !e.contains('/'))
            {
                found.insert(item);
            }
        }
    }
    found.into_iter().collect()
}

/// A tree item's name as configured, from its name as listed (servers that strip the
/// leading `/` of keys list `etc` for `/etc`).
fn logical_tree_name(listed: &str, style: KeyStyle) -> String {
    if style == KeyStyle::Faithful || listed.starts_with('/') {
        listed.to_owned()
    } else {
        format!("/{listed}")
    }
}

/// A tree item found only in the bucket is a Subversion repository when the first slot of
/// its chain holds a Subversion dump, else a Directory (its first bytes decide, read
/// through gpg and gunzip).
fn sniffed(source: &Source, item: &str, target: &Target, when: &When) -> Target {
    let item_slots = slots_of(&source.slots, target.slot_kind, &target.stored);
    let candidates = chain::candidates(&item_slots);
    let Ok(selection) = chain::select_chain(&candidates, when.until, item, &when.text) else {
        return target.clone();
    };
    let Some(first) = source
        .slots
        .iter()
        .find(|s| s.prefix == selection.chain[0].prefix)
    else {
        return target.clone();
    };
    let mut head = Head(Vec::new());
    let encrypted_by = encryption_required(&source.settings, true);
    // the sink refuses more than the head: the error that stops the stream is expected
    let _ = apply_slot(
        &source.store,
        first,
        encrypted_by.as_deref(),
        Decode::Gunzip,
        &mut head,
    );
    if head.0.starts_with(b"SVN-fs-dump-format-version") {
        Target {
            kind: ItemKind::Subversion,
            ..target.clone()
        }
    } else {
        target.clone()
    }
}

/// A sink that keeps the first bytes of a stream and then refuses the rest.
struct Head(Vec<u8>);

/// How many bytes tell a Subversion dump.
const HEAD_BYTES: usize = 64;

impl Write for Head {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = HEAD_BYTES.saturating_sub(self.0.len());
        if room == 0 {
            return Err(io::Error::other("enough read"));
        }
        let n = room.min(buf.len());
        self.0.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
