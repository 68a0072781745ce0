//! doc/restore.md "After losing the host", followed literally (issue 24): a host backs up
//! two directories and a PostgreSQL database; then, with only the config of the bucket alone
//! that the page shows (its values replaced by this test's bucket, key file, endpoint and
//! region) and the page's commands (its paths replaced by this test's), `list`, `status`
//! and `restore --all` bring everything back exactly.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::backup::harness::{Site, make_tree, tree};
use crate::support::db::Postgres;
use crate::support::s3::{S3Server, garage, moto};

const PAGE: &str = include_str!("../../doc/restore.md");

/// The fenced blocks of the page's "After losing the host" section.
fn blocks() -> Vec<Vec<String>> {
    let section = PAGE
        .split("\n## After losing the host\n")
        .nth(1)
        .expect("doc/restore.md has the section")
        .split("\n## ")
        .next()
        .unwrap();
    let mut out = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in section.lines().map(str::trim) {
        match (line.starts_with("```"), current.take()) {
            (true, None) => current = Some(Vec::new()),
            (true, Some(block)) => out.push(block),
            (false, Some(mut block)) => {
                block.push(line.to_owned());
                current = Some(block);
            }
            (false, None) => {}
        }
    }
    out
}

fn lost_host_comes_back(server: S3Server) {
    let pg = Postgres::start();
    pg.sql("postgres", "CREATE DATABASE inventory");
    pg.sql(
        "inventory",
        "CREATE TABLE parts (id int primary key, label text); INSERT INTO parts VALUES (1, 'bolt');",
    );
    let mut site = Site::new();
    site.env = pg.tool_env();
    let (etc, srv) = (site.path("host/etc"), site.path("host/srv/www"));
    make_tree(&etc);
    fs::create_dir_all(&srv).unwrap();
    fs::write(srv.join("index.html"), "<p>hello</p>\n").unwrap();
    let body = format!(
        "<Directory {}>\n\tDiffs 6\n\tFulls 2\n</Directory>\n\
         <Directory {}>\n\tDiffs 6\n\tFulls 2\n</Directory>\n\
         <PostgreSQL postgres@inventory>\n\tFulls 7\n</PostgreSQL>\n",
        etc.display(),
        srv.display()
    );
    let conf = site.config(&server, 1000, true, &body);
    let conf = conf.to_str().unwrap();
    let run = site.run(&["-c", conf], "2026-11-12 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    let dump = site.path("expected.sql");
    let run = site.run(
        &[
            "restore",
            "-c",
            conf,
            "--into",
            dump.to_str().unwrap(),
            "postgres@inventory",
        ],
        "2026-11-12 04:00:00",
    );
    assert_eq!(run.status, 0, "{}", run.log);

    // the lost host: the page's config with this test's values, nothing else
    let blocks = blocks();
    assert_eq!(blocks.len(), 2, "{blocks:?}");
    let keyfile = site.path("key.txt");
    let minimal: String = blocks[0]
        .iter()
        .map(|line| {
            let name = line.split_whitespace().next().unwrap_or_default();
            let value = match name {
                "Bucket" => server.bucket.clone(),
                "S3Keyfile" => keyfile.display().to_string(),
                "S3Endpoint" => server.endpoint.clone(),
                "S3Region" => server.region.clone(),
                other => panic!("the page's config has {other}: the test must know it"),
            };
            format!("{name} {value}\n")
        })
        .collect();
    let restore_conf = site.path("restore.conf");
    fs::write(&restore_conf, minimal).unwrap();
    let restored = site.path("restored");
    for command in &blocks[1] {
        let command = command
            .replace("/root/restore.conf", restore_conf.to_str().unwrap())
            .replace("/root/restored", restored.to_str().unwrap());
        let args: Vec<&str> = command.split_whitespace().collect();
        assert_eq!(args[0], "s3napback", "{command}");
        let run = site.run(&args[1..], "2026-11-12 06:00:00");
        assert_eq!(run.status, 0, "{command}: {}", run.log);
        if args[1] == "list" {
            let etc_listed = etc.display().to_string();
            run.expect(etc_listed.trim_start_matches('/'))
                .expect("PostgreSQL/inventory");
        }
        if args[1] == "restore" {
            run.expect("3 of 3 items restored");
        }
    }
    let back = |p: &Path| tree(&restored.join(p.strip_prefix("/").unwrap()));
    assert_eq!(back(&etc), tree(&etc));
    assert_eq!(back(&srv), tree(&srv));
    let expected: BTreeMap<&str, Vec<u8>> = [("inventory", fs::read(&dump).unwrap())].into();
    let got: BTreeMap<&str, Vec<u8>> = [(
        "inventory",
        fs::read(restored.join("PostgreSQL/inventory.sql")).unwrap(),
    )]
    .into();
    assert!(expected == got, "the dump differs");
}

#[test]
fn the_restore_page_brings_a_lost_host_back() {
    let server = moto();
    server.set_clock("2026-11-12 03:00:00");
    lost_host_comes_back(server);
}

#[test]
fn the_restore_page_brings_a_lost_host_back_garage() {
    lost_host_comes_back(garage());
}
