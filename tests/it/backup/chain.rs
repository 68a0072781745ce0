//! DIFFs are chained (each builds on the previous run, LEGACY.md §7), so a DIFF day must
//! not rewrite a DIFF slot the current restore chain needs. Schedule (`Diffs 1`,
//! `Fulls 1`, SimpleCycle): 2026-11-11 and -13 are FULL days (slot 0), -12 and -14 DIFF
//! days (slot 1). When the FULL of the 13th fails, the 14th backs up `NAME-1-FULL` with a
//! WARN, keeps `NAME-1-DIFF` of the 12th, and both "now" and `--at` the 12th restore
//! exactly; when the FULL of the 13th worked, the 14th is a plain DIFF.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::harness::bucket;
use super::harness::{Run, Site, make_tree, prefixes, restored, tree};
use super::reused_slots::{Days, state_file};
use crate::support::svn::SvnRepo;

const SCHEDULE: &str = "\tDiffs 1\n\tFulls 1\n";

/// The WARN the 14th logs for `name` (DIFF of the 12th, FULL of the 11th).
fn promotion_warning(name: &str) -> String {
    format!(
        "WARN {name}: a DIFF into {name}-1-DIFF would replace the DIFF of 2026-11-12 that \
         the restore chain since the FULL of 2026-11-11 needs; backing up a FULL \
         ({name}-1-FULL) instead"
    )
}

fn directory_days() -> (Days, PathBuf, String) {
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let name = src.display().to_string();
    let body = format!("<Directory {name}>\n{SCHEDULE}</Directory>\n");
    (Days::new(site, 1000, &body), src, name)
}

fn ok(run: Run) -> Run {
    assert_eq!(run.status, 0, "{}", run.log);
    run
}

/// Restores `name` (as of `at`, or now) and returns the restored tree.
fn restore(days: &Days, name: &str, at: Option<&str>) -> BTreeMap<String, Vec<u8>> {
    let out = days.site.path("restored");
    let _ = fs::remove_dir_all(&out);
    let mut args = vec!["--into", out.to_str().unwrap()];
    if let Some(at) = at {
        args.extend(["--at", at]);
    }
    args.push(name);
    let run = days.command("restore", &args);
    assert_eq!(run.status, 0, "{}", run.log);
    tree(&restored(&out, Path::new(name)))
}

/// Day 11 FULL; day 12 DIFF changing `sub/b.txt` (never changed again) and adding a file.
/// Returns the tree as of the 12th.
fn days_11_and_12(days: &Days, src: &Path) -> BTreeMap<String, Vec<u8>> {
    ok(days.backup("2026-11-11"));
    fs::write(src.join("sub/b.txt"), "beta, changed on the 12th only\n").unwrap();
    fs::write(src.join("new12.txt"), "new on the 12th\n").unwrap();
    ok(days.backup("2026-11-12"));
    tree(src)
}

#[test]
fn a_failed_full_day_makes_the_next_diff_day_a_full_and_both_restores_are_exact() {
    let (days, src, name) = directory_days();
    let day_12 = days_11_and_12(&days, &src);
    // Day 13: the FULL fails (the directory is missing); slot 0 keeps the FULL of the 11th.
    let moved = days.site.path("src/moved");
    fs::rename(&src, &moved).unwrap();
    let run = days.backup("2026-11-13");
    assert_eq!(run.status, 1, "{}", run.log);
    fs::rename(&moved, &src).unwrap();
    fs::write(src.join("a.txt"), "alpha on the 14th\n").unwrap();

    // Test mode prints the same decision and changes nothing.
    let before = bucket(&days.store);
    let state_path = state_file(&days.site, &name);
    let state = fs::read(&state_path).unwrap();
    let run = ok(days.backup_with("2026-11-14", &["-t"]));
    run.expect(&promotion_warning(&name))
        .expect(&format!("-> {}:{name}-1-FULL", days.server.bucket));
    assert!(
        bucket(&days.store) == before,
        "test mode changed the bucket"
    );
    assert_eq!(fs::read(&state_path).unwrap(), state);

    let run = ok(days.backup("2026-11-14"));
    run.expect(&promotion_warning(&name));
    assert_eq!(run.log.matches("a DIFF into").count(), 1, "{}", run.log);
    let slots = prefixes(&days.store);
    for slot in ["0-FULL", "1-DIFF", "1-FULL"] {
        assert!(slots.contains(&format!("{name}-{slot}")), "{slots:?}");
    }
    // The DIFF of the 12th is kept byte for byte.
    let diff_12 = |b: &BTreeMap<String, Vec<u8>>| {
        b.iter()
            .filter(|(k, _)| k.starts_with(&format!("{name}-1-DIFF:")))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(diff_12(&bucket(&days.store)), diff_12(&before));

    assert_eq!(restore(&days, &name, None), tree(&src));
    assert_eq!(restore(&days, &name, Some("2026-11-12")), day_12);
    assert_ne!(day_12, tree(&src));
}

#[test]
fn a_diff_slot_older_than_the_newest_full_is_rewritten_as_a_diff() {
    let (days, src, name) = directory_days();
    days_11_and_12(&days, &src);
    fs::write(src.join("new13.txt"), "new on the 13th\n").unwrap();
    ok(days.backup("2026-11-13"));
    fs::write(src.join("a.txt"), "alpha on the 14th\n").unwrap();
    let run = ok(days.backup("2026-11-14"));
    assert!(!run.log.contains("a DIFF into"), "{}", run.log);
    run.expect(&format!("-> {}:{name}-1-DIFF", days.server.bucket));
    let slots = prefixes(&days.store);
    assert!(!slots.contains(&format!("{name}-1-FULL")), "{slots:?}");
    assert_eq!(restore(&days, &name, None), tree(&src));
}

#[test]
fn a_subversion_diff_the_chain_needs_becomes_a_full_dump() {
    let repo = SvnRepo::new(3);
    let name = repo.path().display().to_string();
    let body = format!("<Subversion {name}>\n{SCHEDULE}</Subversion>\n");
    let days = Days::new(Site::new(), 700, &body);
    ok(days.backup("2026-11-11"));
    repo.commit_file("trunk/file.txt", "revision 4, on the 12th\n");
    ok(days.backup("2026-11-12"));
    // Day 13: revision 2 damaged, the FULL dump fails; slot 0 keeps the FULL of the 11th.
    let rev2 = repo.path().join("db/revs/0/2");
    let good_rev2 = fs::read(&rev2).unwrap();
    fs::write(&rev2, b"garbage\n").unwrap();
    assert_eq!(days.backup("2026-11-13").status, 1);
    fs::write(&rev2, good_rev2).unwrap();
    repo.commit_file("trunk/other.txt", "revision 5, on the 14th\n");

    let run = ok(days.backup("2026-11-14"));
    run.expect(&promotion_warning(&name));
    let slots = prefixes(&days.store);
    assert!(slots.contains(&format!("{name}-1-DIFF")), "{slots:?}");
    let load = |at: Option<&str>| {
        let file = days.site.path("svn.dump");
        let _ = fs::remove_file(&file);
        let mut args = vec!["--into", file.to_str().unwrap()];
        if let Some(at) = at {
            args.extend(["--at", at]);
        }
        args.push(&name);
        let run = days.command("restore", &args);
        assert_eq!(run.status, 0, "{}", run.log);
        SvnRepo::from_dump(&fs::read(&file).unwrap())
    };
    let now = load(None);
    assert_eq!(now.youngest(), 5);
    assert_eq!(now.cat("trunk/file.txt"), "revision 4, on the 12th\n");
    assert_eq!(now.cat("trunk/other.txt"), "revision 5, on the 14th\n");
    assert_eq!(load(Some("2026-11-12")).youngest(), 4);
}
