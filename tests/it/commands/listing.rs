//! `list --json` and the `list` table against literal text, for a bucket written here on a
//! frozen server clock (moto under libfaketime), shown in a zone that is not UTC.

use bytes::Bytes;
use s3napback::store::Store;
use s3napback::store::keys::chunk_key;

use super::{describe, run};
use crate::backup::harness::Site;
use crate::support::s3::moto;

/// Writes a bucket of three items' slots at known times; returns the site and config.
fn bucket(site: &Site) -> (crate::support::s3::S3Server, String) {
    let server = moto();
    // the server's clock stands still at each time, so LastModified is exact
    let at = |t: &str| server.freeze_clock(t);
    at("2026-11-12 04:07:50");
    let store = server.store();
    let put = |key: String, len: usize| store.put(&key, Bytes::from(vec![b'x'; len])).unwrap();
    put(chunk_key("/etc-0-FULL", 0), 1000);
    put(chunk_key("/etc-0-FULL", 1), 1000);
    put(chunk_key("/etc-0-FULL", 2), 5);
    at("2026-11-13 23:30:00");
    put(chunk_key("/etc-1-DIFF", 0), 123);
    at("2026-11-12 15:04:05");
    put(chunk_key("MySQL/--all-databases-5", 0), 1000);
    put(chunk_key("MySQL/--all-databases-5", 1), 0);
    put(chunk_key("PostgreSQL/inventory-3", 0), 42);
    let conf = site.config(
        &server,
        1000,
        false,
        "Directory /etc\nMySQL all\nPostgreSQL inventory\n",
    );
    (server, conf.display().to_string())
}

#[test]
fn list_json_prints_every_slot_as_literal_json() {
    let site = Site::new();
    let (_server, conf) = bucket(&site);
    // Europe/Berlin is UTC+1 in November: 04:07:50 UTC is 05:07:50, 23:30 the next day.
    let out = run(&site, "Europe/Berlin", &["list", "--json", "-c", &conf]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        r#"[
  {
    "prefix": "/etc-0-FULL",
    "kind": "tree",
    "item": "/etc",
    "slot": 0,
    "type": "FULL",
    "last_modified": "2026-11-12 05:07:50",
    "size": 2005,
    "chunks": 3
  },
  {
    "prefix": "/etc-1-DIFF",
    "kind": "tree",
    "item": "/etc",
    "slot": 1,
    "type": "DIFF",
    "last_modified": "2026-11-14 00:30:00",
    "size": 123,
    "chunks": 1
  },
  {
    "prefix": "MySQL/--all-databases-5",
    "kind": "mysql",
    "item": "--all-databases",
    "slot": 5,
    "type": null,
    "last_modified": "2026-11-12 16:04:05",
    "size": 1000,
    "chunks": 2
  },
  {
    "prefix": "PostgreSQL/inventory-3",
    "kind": "postgresql",
    "item": "inventory",
    "slot": 3,
    "type": null,
    "last_modified": "2026-11-12 16:04:05",
    "size": 42,
    "chunks": 1
  }
]
"#
    );
}

#[test]
fn list_prints_a_literal_table() {
    let site = Site::new();
    let (_server, conf) = bucket(&site);
    let out = run(&site, "Europe/Berlin", &["list", "-c", &conf]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "\
LAST MODIFIED        SIZE  CHUNKS  TYPE  SLOT  ITEM
2026-11-12 05:07:50  2005       3  FULL     0  /etc
2026-11-14 00:30:00   123       1  DIFF     1  /etc
2026-11-12 16:04:05  1000       2  -        5  MySQL/--all-databases
2026-11-12 16:04:05    42       1  -        3  PostgreSQL/inventory
"
    );
}
