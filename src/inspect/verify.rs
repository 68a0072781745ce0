//! `s3napback verify`: every slot complete (indices contiguous from 0, ChunkSize pieces,
//! the trailing short chunk), ETags sane; with `--deep` every chunk's MD5 and every stream
//! readable to its end. Then per configured item the dates it can be restored for.
//! Exit 1 on any problem, and when a configured item has no complete FULL.

use std::collections::BTreeMap;
use std::path::Path;

use crate::clock::Clock;
use crate::inspect::catalog::{SlotKind, parse_prefix};
use crate::inspect::coverage::windows;
use crate::inspect::deepcheck;
use crate::inspect::inventory::Inventory;
use crate::inspect::{item_views, subversion_prefixes};
use crate::store::is_plain_md5;
use crate::store::keys::{Slot, check_complete, parse_chunk_key};

/// True for an ETag S3 servers give: a plain MD5, or a multipart `MD5-PARTS`.
pub fn is_sane_etag(etag: &str) -> bool {
    match etag.split_once('-') {
        None => is_plain_md5(etag),
        Some((md5, parts)) => {
            is_plain_md5(md5) && !parts.is_empty() && parts.bytes().all(|b| b.is_ascii_digit())
        }
    }
}

/// The problems visible in the listing alone: structure (store::keys::check_complete,
/// judged from the slot's own chunk 0, so a ChunkSize changed since is no problem), an
/// empty stream (no gzip or gpg output is empty: a legacy upload of a failed pipeline),
/// missing or malformed ETags.
pub fn shallow_problems(slot: &Slot) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(p) = check_complete(slot) {
        problems.push(p.to_string());
    }
    if !slot.chunks.is_empty() && slot.size == 0 {
        problems.push("stream is empty (0 bytes)".to_string());
    }
    for chunk in &slot.chunks {
        let index = parse_chunk_key(&chunk.key).map_or(0, |(_, i)| i);
        match chunk.etag.as_deref() {
            None => problems.push(format!("chunk {index}: no ETag")),
            Some(e) if !is_sane_etag(e) => {
                problems.push(format!("chunk {index}: malformed ETag {e:?}"))
            }
            Some(_) => {}
        }
    }
    problems
}

/// `s3napback verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Also download every chunk, check its MD5, decrypt and read every stream to its end.
    #[arg(long)]
    pub deep: bool,
    /// Check the slots as they were at the end of this local date (YYYY-MM-DD), on a
    /// versioned bucket (ObjectLockMode): what `restore --at` would use.
    #[arg(long, value_name = "DATE")]
    pub at: Option<String>,
    /// Further configurations, /etc/s3napback/NAME.conf or /etc/s3napback/NAME: all
    /// checked, one exit status for all.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
}

/// Runs the command; returns the exit status.
pub fn run(args: &VerifyArgs, config: Option<&Path>, _clock: &Clock) -> anyhow::Result<u8> {
    let until = args
        .at
        .as_deref()
        .map(crate::clock::end_of_at)
        .transpose()?;
    let inv = Inventory::open_as_of(config, until)?;
    let dumps = subversion_prefixes(&inv.settings, &inv.slots, inv.key_style);
    let deep = if args.deep {
        let checks: Vec<deepcheck::SlotCheck<'_>> = inv
            .slots
            .iter()
            .map(|slot| deepcheck::SlotCheck {
                slot,
                // Subversion slots are named like trees but hold gzip'd dumps.
                tree: !dumps.contains(&slot.prefix)
                    && parse_prefix(&slot.prefix).is_none_or(|n| n.kind == SlotKind::Tree),
                structure_ok: check_complete(slot).is_ok(),
                encryption_required: inv.settings.gpg_recipient.is_some(),
            })
            .collect();
        deepcheck::check_slots(
            &*inv.store,
            &checks,
            inv.settings.temp_dir.as_deref(),
            deepcheck::PARALLEL_SLOTS,
        )
    } else {
        Vec::new()
    };
    let mut problems: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (index, slot) in inv.slots.iter().enumerate() {
        let mut found = shallow_problems(slot);
        found.extend(deep.get(index).into_iter().flatten().cloned());
        for p in &found {
            println!("{}: {p}", slot.prefix);
        }
        problems.insert(&slot.prefix, found);
    }
    let bad = problems.values().filter(|p| !p.is_empty()).count();
    let ok = |s: &Slot| problems.get(s.prefix.as_str()).is_none_or(|p| p.is_empty());
    let mut unrestorable = 0;
    for view in item_views(&inv.settings, &inv.slots, inv.key_style, ok) {
        let ws = windows(&view.states);
        if ws.is_empty() {
            let held: Vec<&str> = view.states.iter().map(|s| s.prefix.as_str()).collect();
            if held.is_empty() {
                println!(
                    "{}: not restorable (no complete FULL); no slots",
                    view.label
                );
            } else {
                println!(
                    "{}: not restorable (no complete FULL); slots: {}",
                    view.label,
                    held.join(", ")
                );
            }
            unrestorable += 1;
        }
        for w in ws {
            println!("{}: {w}", view.label);
        }
    }
    println!(
        "{} slots checked{}, {bad} with problems",
        inv.slots.len(),
        if args.deep { " (deep)" } else { "" }
    );
    Ok(if bad > 0 || unrestorable > 0 {
        crate::exit::EXIT_ITEM_FAILED
    } else {
        crate::exit::EXIT_OK
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ObjectInfo;
    use crate::store::keys::{chunk_key, group_slots};
    use time::OffsetDateTime;

    const MD5: &str = "900150983cd24fb0d6963f7d28e17f72";

    fn slot(sizes: &[(u64, u64, Option<&str>)]) -> Slot {
        group_slots(sizes.iter().map(|&(i, size, etag)| ObjectInfo {
            key: chunk_key("/etc-3-FULL", i),
            size,
            last_modified: OffsetDateTime::UNIX_EPOCH,
            etag: etag.map(String::from),
        }))
        .pop()
        .unwrap()
    }

    #[test]
    fn good_slots_have_no_problems() {
        let s = slot(&[(0, 10, Some(MD5)), (1, 0, Some(MD5))]);
        assert!(shallow_problems(&s).is_empty());
        let s = slot(&[(0, 3, Some(&format!("{MD5}-2")))]);
        assert!(shallow_problems(&s).is_empty());
    }

    #[test]
    fn problems_name_the_chunk() {
        let s = slot(&[(0, 10, Some(MD5)), (2, 3, Some(MD5))]);
        assert_eq!(shallow_problems(&s), vec!["chunk 1 is missing"]);
        let s = slot(&[(0, 10, Some(MD5)), (1, 7, Some(MD5)), (2, 3, None)]);
        assert_eq!(
            shallow_problems(&s),
            vec!["chunk 1 has 7 bytes, expected 10", "chunk 2: no ETag"]
        );
        let s = slot(&[(0, 0, Some("x"))]);
        assert_eq!(
            shallow_problems(&s),
            vec!["stream is empty (0 bytes)", "chunk 0: malformed ETag \"x\""]
        );
        assert!(!is_sane_etag(&format!("{MD5}-")));
    }
}
