//! What the names in a bucket say: a slot prefix parsed back into its item, slot number
//! and type (LEGACY.md §6), and the slots of one configured item.

use crate::schedule::SlotType;
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
