//! What the names in a bucket say: a slot prefix parsed back into its item, slot number
//! and type (LEGACY.md §6), and the slots of one configured item.

use crate::plan::schedule::SlotType;
use crate::store::keys::Slot;

/// The kinds of slot name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotKind {
    /// `NAME-N-FULL` / `NAME-N-DIFF`: a Directory or Subversion item.
    Tree,
    /// `MySQL/NAME-N`.
    MySql,
    /// `PostgreSQL/NAME-N`.
    PostgreSql,
}

/// A slot prefix taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotName {
    pub kind: SlotKind,
    /// The item part as stored (`/etc`, `--all-databases`, `/var/run/x.sock/shop`, ``).
    pub item: String,
    pub number: i64,
    /// FULL/DIFF for trees, None for databases.
    pub slot_type: Option<SlotType>,
}

/// Parses a slot prefix (`/etc-3-FULL`, `MySQL/--all-databases-5`, `PostgreSQL/-3`).
pub fn parse_prefix(prefix: &str) -> Option<SlotName> {
    let split_number = |s: &str| -> Option<(String, i64)> {
        let (item, number) = s.rsplit_once('-')?;
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some((item.to_string(), number.parse().ok()?))
    };
    for (head, kind) in [
        ("MySQL/", SlotKind::MySql),
        ("PostgreSQL/", SlotKind::PostgreSql),
    ] {
        if let Some(rest) = prefix.strip_prefix(head) {
            let (item, number) = split_number(rest)?;
            return Some(SlotName {
                kind,
                item,
                number,
                slot_type: None,
            });
        }
    }
    let (rest, slot_type) = if let Some(r) = prefix.strip_suffix("-FULL") {
        (r, SlotType::Full)
    } else {
        (prefix.strip_suffix("-DIFF")?, SlotType::Diff)
    };
    let (item, number) = split_number(rest)?;
    Some(SlotName {
        kind: SlotKind::Tree,
        item,
        number,
        slot_type: Some(slot_type),
    })
}

/// The slots whose item part is `item` (spelled as the server spells it) and kind `kind`.
pub fn slots_of<'a>(slots: &'a [Slot], kind: SlotKind, item: &str) -> Vec<(SlotName, &'a Slot)> {
    slots
        .iter()
        .filter_map(|s| parse_prefix(&s.prefix).map(|n| (n, s)))
        .filter(|(n, _)| n.kind == kind && n.item == item)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_legacy_form() {
        let n = parse_prefix("/etc-3-FULL").unwrap();
        assert_eq!(
            (n.kind, n.item.as_str(), n.number),
            (SlotKind::Tree, "/etc", 3)
        );
        assert_eq!(n.slot_type, Some(SlotType::Full));
        let n = parse_prefix("/srv/with space-12-DIFF").unwrap();
        assert_eq!((n.item.as_str(), n.number), ("/srv/with space", 12));
        assert_eq!(parse_prefix("/-39-DIFF").unwrap().item, "/");
        let n = parse_prefix("MySQL/--all-databases-5").unwrap();
        assert_eq!(
            (n.kind, n.item.as_str(), n.number),
            (SlotKind::MySql, "--all-databases", 5)
        );
        let n = parse_prefix("MySQL//var/run/mysqld/mysqld.sock/shop-4").unwrap();
        assert_eq!(n.item, "/var/run/mysqld/mysqld.sock/shop");
        let n = parse_prefix("PostgreSQL/-3").unwrap();
        assert_eq!(
            (n.kind, n.item.as_str(), n.number),
            (SlotKind::PostgreSql, "", 3)
        );
        assert_eq!(parse_prefix("etc-1300-FULL").unwrap().number, 1300);
        assert_eq!(parse_prefix("random-object"), None);
        assert_eq!(parse_prefix("/etc-x-FULL"), None);
    }
}

/// The slot kind and the stored item part (logical spelling) of a configured item, as
/// `plan` names its prefixes: Directory/Subversion NAME, `MySQL/` + mapped name,
/// `PostgreSQL/` + mapped name. None for SubversionDir (its repositories are items of
/// their own, see [`subversion_dir_items`]).
pub fn stored_item(item: &crate::config::Item) -> Option<(SlotKind, String)> {
    use crate::config::ItemKind;
    match item.kind {
        ItemKind::Directory | ItemKind::Subversion => Some((SlotKind::Tree, item.name.clone())),
        ItemKind::SubversionDir => None,
        ItemKind::MySql => Some((SlotKind::MySql, crate::plan::mysql_name(item).display)),
        ItemKind::PostgreSql => Some((
            SlotKind::PostgreSql,
            crate::plan::postgres_name(item).display,
        )),
    }
}

/// The item part as a server with `style` spells it in listings (Garage strips the
/// leading `/`: `/etc` is listed as `etc`).
pub fn physical_item(kind: SlotKind, logical: &str, style: crate::store::keys::KeyStyle) -> String {
    let sample = match kind {
        SlotKind::Tree => format!("{logical}-0-FULL"),
        SlotKind::MySql => format!("MySQL/{logical}-0"),
        SlotKind::PostgreSql => format!("PostgreSQL/{logical}-0"),
    };
    parse_prefix(&style.apply(&sample)).map_or_else(|| logical.to_string(), |n| n.item)
}

/// The repositories of a SubversionDir found in the bucket: the item parts (as listed) of
/// tree slots directly under `dir` (physical spelling), sorted and without repeats.
pub fn subversion_dir_items(slots: &[Slot], physical_dir: &str) -> Vec<String> {
    let head = format!("{}/", physical_dir.trim_end_matches('/'));
    let mut items: Vec<String> = slots
        .iter()
        .filter_map(|s| parse_prefix(&s.prefix))
        .filter(|n| n.kind == SlotKind::Tree)
        .filter(|n| n.item.strip_prefix(&head).is_some_and(|r| !r.contains('/')))
        .map(|n| n.item)
        .collect();
    items.sort();
    items.dedup();
    items
}

#[cfg(test)]
mod stored_tests {
    use super::*;
    use crate::config::{CycleSettings, Item, ItemKind};
    use crate::store::keys::KeyStyle;

    fn item(kind: ItemKind, name: &str) -> Item {
        Item {
            kind,
            name: name.into(),
            block: None,
            cycle: CycleSettings::default(),
            origin: crate::config::Origin::new("t.conf", 1),
        }
    }

    #[test]
    fn items_map_to_their_stored_names() {
        let cases = [
            (ItemKind::Directory, "/etc", SlotKind::Tree, "/etc"),
            (ItemKind::Subversion, "/svn/a", SlotKind::Tree, "/svn/a"),
            (ItemKind::MySql, "all", SlotKind::MySql, "--all-databases"),
            (
                ItemKind::MySql,
                "/s.sock:shop",
                SlotKind::MySql,
                "/s.sock/shop",
            ),
            (ItemKind::PostgreSql, "all", SlotKind::PostgreSql, ""),
            (ItemKind::PostgreSql, "pg@inv", SlotKind::PostgreSql, "inv"),
        ];
        for (kind, name, slot_kind, stored) in cases {
            assert_eq!(
                stored_item(&item(kind, name)),
                Some((slot_kind, stored.to_string())),
                "{name}"
            );
        }
        assert_eq!(stored_item(&item(ItemKind::SubversionDir, "/svn")), None);
    }

    #[test]
    fn physical_spelling_follows_the_key_style() {
        let strip = KeyStyle::StripLeadingSlashes;
        assert_eq!(physical_item(SlotKind::Tree, "/etc", strip), "etc");
        assert_eq!(
            physical_item(SlotKind::Tree, "/etc", KeyStyle::Faithful),
            "/etc"
        );
        assert_eq!(physical_item(SlotKind::MySql, "/s/db", strip), "/s/db");
        assert_eq!(
            physical_item(SlotKind::MySql, "/s/db", KeyStyle::StripAndCollapseSlashes),
            "s/db"
        );
        assert_eq!(physical_item(SlotKind::PostgreSql, "", strip), "");
    }

    #[test]
    fn subversion_dir_repositories_are_found() {
        let slot = |p: &str| Slot {
            prefix: p.into(),
            chunks: vec![],
            last_modified: time::OffsetDateTime::UNIX_EPOCH,
            size: 0,
            commit_pending: false,
            staged: false,
            stamp: None,
        };
        let slots = [
            slot("/svn/a-0-FULL"),
            slot("/svn/a-1-DIFF"),
            slot("/svn/b-0-FULL"),
            slot("/svn/b/c-0-FULL"),
            slot("/svnx-0-FULL"),
            slot("MySQL//svn/d-0"),
        ];
        assert_eq!(
            subversion_dir_items(&slots, "/svn/"),
            vec!["/svn/a", "/svn/b"]
        );
    }
}
