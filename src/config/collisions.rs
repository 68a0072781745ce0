//! Items that the legacy naming makes share a DiffDir snapshot file or an object prefix.
//!
//! Two kinds, told apart by what the items back up:
//! - the same thing named in several scopes (the legacy README backs up `/etc` in a daily
//!   SimpleCycle and again in a decaying HanoiCycle): the legacy ran it, so it runs, each
//!   occurrence on its own schedule, into the same slot names and the same snapshot file;
//!   real runs say so in one WARN ([`Collisions::repeats`]);
//! - distinct things whose names collide (`/srv/a_b` and `/srv/a/b` share
//!   `_srv_a_b.diff`; MySQL `a/b` and `a:b` share `MySQL/a/b`; PostgreSQL `u@db` and
//!   `db`; a Subversion repository and a Directory of the same path): one would overwrite
//!   or rotate the other's backups, so real runs fail both with an ERROR naming both and
//!   what they share ([`Collisions::conflicts`]) and run every other item. Test mode
//!   prints the legacy's lines for them.
//!
//! The naming rules themselves live here so that the planner uses the very same ones.

use std::collections::{BTreeMap, HashMap};

use super::settings::{Item, ItemKind, Scope, Settings};

/// The DiffDir state file name of a Directory or Subversion item, without DiffDir:
/// every `/` turned into `_`, plus `.diff` (LEGACY.md §7).
pub fn state_file_name(name: &str) -> String {
    format!("{}.diff", name.replace('/', "_"))
}

/// A MySQL item name split as the legacy does (LEGACY.md §6): `SOCKET:DB` at the last `:`,
/// `all` meaning `--all-databases`. Returns (socket, database, display name in prefixes).
pub fn mysql_parts(name: &str) -> (Option<&str>, String, String) {
    let (socket, db) = match name.rsplit_once(':') {
        Some((s, d)) => (Some(s), d),
        None => (None, name),
    };
    let database = if db == "all" { "--all-databases" } else { db }.to_string();
    let display = match socket {
        Some(s) => format!("{s}/{database}"),
        None => database.clone(),
    };
    (socket, database, display)
}

/// A PostgreSQL item name split as the legacy does: `USER@DB` at the first `@`, `all` (no
/// database: `pg_dumpall`). Returns (user, database).
pub fn postgres_parts(name: &str) -> (Option<&str>, Option<&str>) {
    let (user, db) = match name.split_once('@') {
        Some((u, d)) => (Some(u), d),
        None => (None, name),
    };
    (user, (db != "all").then_some(db))
}

/// What an item claims: (what it is, the shared name).
fn claims(item: &Item) -> Vec<(&'static str, String)> {
    match item.kind {
        ItemKind::Directory | ItemKind::Subversion => vec![
            ("the snapshot file", state_file_name(&item.name)),
            ("the object prefix", item.name.clone()),
        ],
        ItemKind::SubversionDir => vec![(
            "the repositories of",
            item.name.trim_end_matches('/').to_string(),
        )],
        ItemKind::MySql => vec![(
            "the object prefix",
            format!("MySQL/{}", mysql_parts(&item.name).2),
        )],
        ItemKind::PostgreSql => {
            let db = postgres_parts(&item.name).1.unwrap_or_default();
            vec![("the object prefix", format!("PostgreSQL/{db}"))]
        }
    }
}

/// What an item backs up, whatever its spelling: two items with the same identity are the
/// same thing (`MySQL all` and `MySQL --all-databases`; `SubversionDir /svn` and
/// `/svn/`), and may be configured in several scopes.
pub fn identity(item: &Item) -> (ItemKind, String) {
    let what = match item.kind {
        ItemKind::Directory | ItemKind::Subversion => item.name.clone(),
        ItemKind::SubversionDir => item.name.trim_end_matches('/').to_string(),
        ItemKind::MySql => {
            let (socket, database, _) = mysql_parts(&item.name);
            format!("{socket:?}:{database}")
        }
        ItemKind::PostgreSql => format!("{:?}", postgres_parts(&item.name)),
    };
    (item.kind, what)
}

/// The collisions of one config file's items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collisions {
    /// Per item (kind, name as configured) that collides with a different item: the
    /// ERROR that fails it in real runs, naming both items, their lines and what they share.
    pub conflicts: HashMap<(ItemKind, String), String>,
    /// One line per thing configured in several places: where, and what the occurrences
    /// share (said once per real run, at WARN).
    pub repeats: Vec<String>,
}

impl Collisions {
    /// The ERROR that fails `kind NAME` in real runs, if it collides with another item.
    pub fn conflict(&self, kind: ItemKind, name: &str) -> Option<&str> {
        self.conflicts
            .get(&(kind, name.to_string()))
            .map(String::as_str)
    }
}

/// The collisions of the items of one loaded config file (every scope).
pub fn of(settings: &Settings) -> Collisions {
    find(&settings.scopes)
}

/// Finds the items (in any scopes of one file) that share a snapshot file or a prefix.
pub fn find(scopes: &[Scope]) -> Collisions {
    let items: Vec<&Item> = scopes.iter().flat_map(|s| &s.items).collect();
    let mut out = Collisions::default();
    // the same thing in several places, in file order of its first occurrence
    let mut places: BTreeMap<(usize, (ItemKind, String)), Vec<&Item>> = BTreeMap::new();
    let mut first_at: HashMap<(ItemKind, String), usize> = HashMap::new();
    for (at, item) in items.iter().enumerate() {
        let id = identity(item);
        let first = *first_at.entry(id.clone()).or_insert(at);
        places.entry((first, id)).or_default().push(item);
    }
    for occurrences in places.values().filter(|o| o.len() > 1) {
        let first = occurrences[0];
        let lines: Vec<String> = occurrences.iter().map(|i| i.origin.to_string()).collect();
        let shared: Vec<String> = claims(first)
            .into_iter()
            .map(|(what, name)| format!("{what} {name:?}"))
            .collect();
        out.repeats.push(format!(
            "{} {:?} is configured {} times ({}): each backs it up on its own schedule, \
             sharing {}; a DIFF builds on the newest backup of any of them, their slot names \
             replace each other, and a restore takes the slots by date",
            first.kind.legacy_name(),
            first.name,
            occurrences.len(),
            lines.join(", "),
            shared.join(" and "),
        ));
    }
    // distinct things sharing a name
    let mut seen: HashMap<(&'static str, String), &Item> = HashMap::new();
    for item in &items {
        for claim in claims(item) {
            match seen.get(&claim) {
                Some(other) if identity(other) != identity(item) => {
                    let message = format!(
                        "{} {:?} (at {}) and {} {:?} (at {}) share {} {:?}: neither is \
                         backed up until one of them is renamed or removed",
                        item.kind.legacy_name(),
                        item.name,
                        item.origin,
                        other.kind.legacy_name(),
                        other.name,
                        other.origin,
                        claim.0,
                        claim.1,
                    );
                    for party in [item, other] {
                        out.conflicts
                            .entry((party.kind, party.name.clone()))
                            .or_insert_with(|| message.clone());
                    }
                }
                Some(_) => {}
                None => {
                    seen.insert(claim, item);
                }
            }
        }
    }
    out
}
