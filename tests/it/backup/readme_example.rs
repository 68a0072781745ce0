//! The legacy README's own example config ("Defining backup sets",
//! `compat-tests/cases/08-readme-example.conf`), run for real for two weeks of dates: the
//! same six directories in a daily SimpleCycle and again in a decaying HanoiCycle (one
//! snapshot file and one set of slot names for both), a weekly cycle with an Exclude,
//! block items, a whole-machine block, a SubversionDir and a Subversion repository. Small
//! directories under a scratch "machine" stand in for `/etc`, `/usr` ...; the two MySQL
//! blocks are left out (they need a server: `backup::databases` runs MySQL for real).
//! Every day exits 0 and says once which items share what; every directory restores to
//! the state it had at its newest backup, exactly; `/etc` also as of a day in the middle;
//! the Subversion chain loads with every revision once.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::harness::{Site, tree};
use super::reused_slots::Days;
use crate::support::svn::SvnRepo;

/// The README directories that change every day (both cycles), weekly, and in blocks.
const TWO_CYCLES: [&str; 6] = [
    "/etc",
    "/home/build",
    "/home/notebook",
    "/home/trac",
    "/usr",
    "/var",
];
const WEEKLY: [&str; 7] = ["/bin", "/boot", "/lib", "/lib64", "/opt", "/root", "/sbin"];

/// The README config from `08-readme-example.conf`, its paths moved under `machine`
/// (`/` becomes `machine/`), without the global lines (the site writes them) and the
/// MySQL blocks.
fn readme_config(machine: &Path) -> String {
    let case =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("compat-tests/cases/08-readme-example.conf");
    let text = fs::read_to_string(case).unwrap();
    let m = machine.display().to_string();
    let body = &text[text.find("# make diffs").unwrap()..];
    let mut out = String::new();
    let mut in_mysql = false;
    for line in body.lines() {
        let t = line.trim();
        if t.starts_with("<MySQL") {
            in_mysql = true;
        }
        if in_mysql {
            in_mysql = !t.starts_with("</MySQL>");
            continue;
        }
        let moved = if let Some(rest) = t.strip_prefix("@ROOT@") {
            format!("{m}{rest}")
        } else {
            t.to_string()
        };
        let moved = match moved.split_once(' ') {
            Some((word, path))
                if ["Directory", "Exclude", "<Directory", "<Subversion"].contains(&word) =>
            {
                let (path, close) = path.strip_suffix('>').map_or((path, ""), |p| (p, ">"));
                format!("{word} {m}{path}{close}")
            }
            Some((word, path)) if word == "<SubversionDir" => {
                let path = path.trim_end_matches('>').replace("@ROOT@", &m);
                format!("{word} {path}>")
            }
            _ => moved,
        };
        out.push_str(&moved);
        out.push('\n');
    }
    out
}

/// Writes day `n`'s changes into a directory: a file changed, one added, one removed.
fn change(dir: &Path, n: usize) {
    fs::create_dir_all(dir.join("sub")).unwrap();
    fs::write(dir.join("a.txt"), format!("{} on day {n}\n", dir.display())).unwrap();
    fs::write(dir.join(format!("sub/day-{n}.txt")), format!("day {n}\n")).unwrap();
    let _ = fs::remove_file(dir.join(format!("sub/day-{}.txt", n.saturating_sub(3))));
}

/// A tree without the paths under `excluded` (relative to the tree).
fn without(mut t: BTreeMap<String, Vec<u8>>, excluded: &[&str]) -> BTreeMap<String, Vec<u8>> {
    t.retain(|k, _| {
        !excluded
            .iter()
            .any(|e| k == e || k.starts_with(&format!("{e}/")))
    });
    t
}

#[test]
fn the_legacy_readme_example_runs_for_two_weeks_and_each_directory_restores_exactly() {
    let site = Site::new();
    let machine = site.path("m");
    let all_dirs: Vec<&str> = TWO_CYCLES
        .iter()
        .chain(&WEEKLY)
        .copied()
        .chain(["/home/foobar"])
        .collect();
    for d in &all_dirs {
        change(&machine.join(&d[1..]), 0);
    }
    fs::create_dir_all(machine.join("opt/useless")).unwrap();
    fs::write(machine.join("opt/useless/junk"), "excluded\n").unwrap();
    fs::create_dir_all(machine.join("home/foobar/wumpus")).unwrap();
    fs::write(machine.join("home/foobar/wumpus/junk"), "excluded\n").unwrap();
    for skipped in ["proc", "dev", "sys", "var/run"] {
        fs::create_dir_all(machine.join(skipped)).unwrap();
        fs::write(machine.join(skipped).join("junk"), "excluded\n").unwrap();
    }
    // the SubversionDir (README: @ROOT@/tmp) with one repository, and the Subversion item
    let svn_dir = machine.join("tmp");
    fs::create_dir_all(&svn_dir).unwrap();
    let in_dir = SvnRepo::new(2);
    std::os::unix::fs::symlink(in_dir.path(), svn_dir.join("inrepo")).unwrap();
    let project = SvnRepo::new(3);
    fs::create_dir_all(machine.join("home/svn/repos")).unwrap();
    let project_path = machine.join("home/svn/repos/myproject");
    std::os::unix::fs::symlink(project.path(), &project_path).unwrap();

    let days = Days::new(site, 100_000, &readme_config(&machine));
    let m = machine.display().to_string();
    let name = |d: &str| format!("{m}{d}");
    let bucket = days.server.bucket.clone();
    // the tree each directory item had when its newest backup was stored
    let mut expected: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    let mut etc_on_the_11th = None;
    for n in 1..=14usize {
        // 2026-11-05 (day of year 308) is a FULL day of every SimpleCycle here and a
        // backup day of the weekly cycle (308 % 7 == 0)
        let date = format!("2026-11-{:02}", 4 + n);
        if n > 1 {
            for d in &all_dirs {
                change(&machine.join(&d[1..]), n);
            }
            if n % 2 == 0 {
                project.commit_file("trunk/file.txt", &format!("day {n}\n"));
            }
        }
        let run = days.backup(&date);
        assert_eq!(run.status, 0, "{date}:\n{}", run.log);
        // said once per run: /etc and the others are configured twice
        let shared = format!("WARN Directory \"{}\" is configured 2 times", name("/etc"));
        assert_eq!(run.log.matches(&shared).count(), 1, "{date}:\n{}", run.log);
        for d in all_dirs.iter().chain(&["/"]) {
            let item = name(d);
            let slot = format!("{bucket}:{item}-");
            let stored = run
                .log
                .lines()
                .any(|l| l.contains(&slot) && l.contains(": stored "));
            if stored {
                expected.insert(item.clone(), tree(&PathBuf::from(&item)));
            }
        }
        if date == "2026-11-11" {
            etc_on_the_11th = Some(tree(&machine.join("etc")));
        }
    }
    // every directory was backed up at least once
    for d in all_dirs.iter().chain(&["/"]) {
        assert!(expected.contains_key(&name(d)), "{} never stored", name(d));
    }

    let now = "2026-11-18 12:00:00";
    let restore = |item: &str, extra: &[&str]| -> BTreeMap<String, Vec<u8>> {
        let out = days
            .site
            .path(&format!("restored{}", item.replace('/', "_")));
        let mut args = vec!["restore", "-c", days.conf.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.extend(["--into", out.to_str().unwrap(), item]);
        let run = days.site.run(&args, now);
        assert_eq!(run.status, 0, "restore {item}:\n{}", run.log);
        tree(&out.join(item.trim_start_matches('/')))
    };
    for d in &all_dirs {
        let item = name(d);
        let excluded: &[&str] = match *d {
            "/opt" => &["useless"],
            "/home/foobar" => &["wumpus"],
            _ => &[],
        };
        let want = without(expected[&item].clone(), excluded);
        assert_eq!(restore(&item, &[]), want, "{item}");
    }
    // the whole machine, without its Excludes
    let whole = name("/");
    let want = without(
        expected[&whole].clone(),
        &["proc", "dev", "sys", "tmp", "var/run"],
    );
    assert_eq!(restore(&whole, &[]), want, "{whole}");
    // /etc as of the 11th: the chain across both cycles' slots, picked by date
    assert_eq!(
        restore(&name("/etc"), &["--at", "2026-11-11"]),
        etc_on_the_11th.unwrap()
    );

    // the Subversion repository: its chain loads with every revision once
    let conf = days.conf.to_str().unwrap();
    let project_name = project_path.display().to_string();
    let run = days.site.run(
        &[
            "restore",
            "-c",
            conf,
            "--into",
            days.site.path("project.dump").to_str().unwrap(),
            &project_name,
        ],
        now,
    );
    assert_eq!(run.status, 0, "{}", run.log);
    let loaded = SvnRepo::from_dump(&fs::read(days.site.path("project.dump")).unwrap());
    assert_eq!(loaded.youngest(), project.youngest());
    assert_eq!(loaded.cat("trunk/file.txt"), "day 14\n");

    // status: one line per item, saying how the two cycles' slots share names
    let run = days.site.run(&["status", "-c", conf], now);
    assert_eq!(run.status, 0, "{}", run.log);
    assert_eq!(
        run.log
            .matches(&format!("Directory {}: OK", name("/etc")))
            .count(),
        1,
        "{}",
        run.log
    );
    run.expect(&format!(
        "{}-0-FULL is FULL slot 0 at {}",
        name("/etc"),
        days.conf.display()
    ))
    .expect("and disc 0 at ")
    .expect("a restore takes the slots by date");
}

/// A Subversion repository in a HanoiCycle and again in a daily SimpleCycle after it: the
/// daily DIFF of a run builds on the revision the Hanoi FULL of the same run saved, so the
/// chain restores with every revision once.
#[test]
fn a_repository_in_two_cycles_loads_every_revision_once() {
    let site = Site::new();
    let repo = SvnRepo::new(3);
    let r = repo.path().display().to_string();
    let body = format!(
        "<Cycle decaying>\nCycleType HanoiCycle\nDiscs 3\nSubversion {r}\n</Cycle>\n\
         <Cycle daily>\nDiffs 6\nFulls 2\nSubversion {r}\n</Cycle>\n"
    );
    let days = Days::new(site, 100_000, &body);
    // 2026-11-12 is a FULL day of the daily cycle (slot 7), the next days DIFF days
    for (n, day) in ["2026-11-12", "2026-11-13", "2026-11-14"]
        .iter()
        .enumerate()
    {
        if n > 0 {
            repo.commit_file("trunk/file.txt", &format!("on {day}\n"));
        }
        let run = days.backup(day);
        assert_eq!(run.status, 0, "{}", run.log);
        run.expect(&format!("WARN Subversion \"{r}\" is configured 2 times"));
        if n > 0 {
            // the Hanoi FULL dumped everything up to the youngest revision just before
            run.expect(&format!(
                "INFO {r} has no new revisions since last backup; skipping"
            ));
        }
    }
    let conf = days.conf.to_str().unwrap();
    let out = days.site.path("chain.dump");
    let run = days.site.run(
        &["restore", "-c", conf, "--into", out.to_str().unwrap(), &r],
        "2026-11-14 12:00:00",
    );
    assert_eq!(run.status, 0, "{}", run.log);
    let loaded = SvnRepo::from_dump(&fs::read(&out).unwrap());
    assert_eq!(loaded.youngest(), repo.youngest());
    assert_eq!(loaded.cat("trunk/file.txt"), "on 2026-11-14\n");
}

/// A Subversion repository that is missing: test mode prints the line the legacy printed
/// (`svnadmin dump -q -r0:` with an empty HEAD), a real run fails that item with an
/// ERROR and backs up the others (exit 1).
#[test]
fn a_missing_repository_is_the_legacy_line_in_test_mode_and_an_error_in_a_real_run() {
    let site = Site::new();
    let src = site.path("src/tree");
    super::harness::make_tree(&src);
    let repo = site.path("no-repo").display().to_string();
    let body = format!("Subversion {repo}\nDirectory {}\n", src.display());
    let days = Days::new(site, 100_000, &body);
    let test = days.backup_with("2026-11-12", &["-t"]);
    assert_eq!(test.status, 0, "{}", test.log);
    test.expect(&format!(
        "INFO svnadmin dump -q -r0: --incremental {repo} | gzip | "
    ));
    let run = days.backup("2026-11-12");
    assert_eq!(run.status, 1, "{}", run.log);
    run.expect(&format!(
        "ERROR Subversion {repo}: Subversion repository {repo} does not exist"
    ))
    .expect(&format!("{}-7-FULL: stored", src.display()));
}
