//! Items that the legacy naming would make share a DiffDir snapshot file or an object
//! prefix (`/srv/a_b` and `/srv/a/b`; MySQL `a/b` and `a:b`; PostgreSQL `u@db` and `db`;
//! a Subversion repository and a Directory of the same path; an item written twice). One
//! would overwrite or rotate the other's backups, so they are refused before any work.
//!
//! The naming rules themselves live here so that the planner uses the very same ones.

use std::collections::HashMap;

use super::parse::Origin;
use super::settings::{Item, ItemKind, Scope, SettingsError};

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

/// Refuses two items (in any scopes of one file) that share a snapshot file or a prefix.
/// The message names both items and both config lines.
pub fn check(scopes: &[Scope]) -> Result<(), SettingsError> {
    let mut seen: HashMap<(&'static str, String), (&Item, &Origin)> = HashMap::new();
    for item in scopes.iter().flat_map(|s| &s.items) {
        for claim in claims(item) {
            if let Some((first, origin)) = seen.get(&claim) {
                return Err(SettingsError::Invalid(format!(
                    "{}: {} {:?} and {} {:?} (at {origin}) would share {} {:?}; \
                     back up each thing once, under names that stay distinct",
                    item.origin,
                    item.kind.legacy_name(),
                    item.name,
                    first.kind.legacy_name(),
                    first.name,
                    claim.0,
                    claim.1,
                )));
            }
            seen.insert(claim, (item, &item.origin));
        }
    }
    Ok(())
}
