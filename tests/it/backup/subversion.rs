//! Subversion items against LEGACY.md §7, with real repositories (`svnadmin`, `svnlook`)
//! and a moto server whose clock (libfaketime) matches the planning clock (`--now`), so
//! "done today" and every LastModified are fixed. Expected log lines are written out.
//!
//! The schedule: `Diffs 6`, `Fulls 2` (14 slots). 2026-11-12 is day-of-year 315 (slot 7,
//! FULL); 2026-11-13 is slot 8, 2026-11-14 slot 9 (DIFF days).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::harness::{Run, Site, fetch, gunzip, js3tream_put, pipe_through, prefixes};
use crate::support::clock::system_time;
use crate::support::s3::{S3Server, moto};
use crate::support::svn::SvnRepo;
use crate::support::tool;

pub(super) const CYCLE: &str = "\tDiffs 6\n\tFulls 2\n";
const CHUNK: u64 = 700;

/// A site, a moto server on a fake clock, and the config writer.
pub(super) struct Bench {
    site: Site,
    server: S3Server,
}

impl Bench {
    pub(super) fn new() -> Bench {
        Bench {
            site: Site::new(),
            server: moto(),
        }
    }

    pub(super) fn conf(&self, body: &str) -> String {
        let conf = self.site.config(&self.server, CHUNK, true, body);
        conf.display().to_string()
    }

    /// Runs the tool at `now` (local = UTC) with the S3 server's clock at the same moment;
    /// the DiffDir files the run wrote get `now` as their mtime, as if written then.
    pub(super) fn run(&self, args: &[&str], now: &str) -> Run {
        let run = self.site.run(args, now);
        let when = system_time(now);
        for entry in fs::read_dir(self.site.diff_dir()).unwrap().flatten() {
            let modified = entry.metadata().unwrap().modified().unwrap();
            let fresh = modified
                .elapsed()
                .is_ok_and(|age| age < Duration::from_secs(600));
            if fresh && entry.file_name() != ".s3napback.lock" {
                let file = fs::File::options().write(true).open(entry.path()).unwrap();
                file.set_modified(when).unwrap();
            }
        }
        run
    }

    /// `s3napback ARGS... -c CONF` (a read-only command), with stdout kept apart.
    pub(super) fn command(&self, conf: &str, args: &[&str], now: &str) -> std::process::Output {
        let (k, v) = self.site.gpg.env();
        self.server.set_clock(now);
        let mut all = vec![args[0], "-c", conf];
        all.extend_from_slice(&args[1..]);
        tool::command(all, now).env(k, v).output().unwrap()
    }

    /// A SubversionDir: the directory `repos` of the site with a link NAME to each
    /// repository.
    pub(super) fn repos_dir(&self, repos: &[(&str, SvnRepo)]) -> PathBuf {
        let dir = self.site.path("repos");
        fs::create_dir(&dir).unwrap();
        for (name, repo) in repos {
            std::os::unix::fs::symlink(repo.path(), dir.join(name)).unwrap();
        }
        dir
    }

    /// The revision file of a repository in DiffDir.
    pub(super) fn revision_file(&self, repo: &str) -> PathBuf {
        self.site
            .diff_dir()
            .join(format!("{}.diff", repo.replace('/', "_")))
    }

    fn bucket(&self) -> &str {
        &self.server.bucket
    }

    fn gpg(&self) -> String {
        format!("gpg --batch  -r {} -e", self.site.gpg.recipient())
    }
}

/// The log lines of a run, without the lines this tool adds to real runs (the
/// `stored N bytes in M objects` report after each upload, the end-of-run summary, the
/// first run's note that an item's journal starts).
fn legacy_lines(run: &Run) -> Vec<String> {
    run.log
        .lines()
        .filter(|l| {
            let journal_starts = l.contains(": the journal ") && l.contains(" starts now: ");
            !(l.contains(": stored ") || l.contains(" INFO Summary: ") || journal_starts)
        })
        .map(String::from)
        .collect()
}

fn assert_lines(run: &Run, expected: &[String]) {
    assert_eq!(legacy_lines(run), expected, "full log:\n{}", run.log);
}

pub(super) fn path(p: &Path) -> String {
    p.display().to_string()
}

pub(super) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The revision numbers a dump stream holds.
fn revisions(dump: &[u8]) -> Vec<u64> {
    text(dump)
        .lines()
        .filter_map(|l| l.strip_prefix("Revision-number: "))
        .map(|n| n.parse().unwrap())
        .collect()
}

#[test]
fn first_backup_on_a_diff_day_is_full_and_its_chain_restores() {
    let b = Bench::new();
    let repo = SvnRepo::new(3);
    let r = path(repo.path());
    let bk = b.bucket().to_string();
    let conf = b.conf(&format!("<Subversion {r}>\n{CYCLE}</Subversion>\n"));
    let revision = || fs::read_to_string(b.revision_file(&r)).unwrap();
    let head = |day: &str| {
        vec![
            "Backup.S3napback INFO Starting s3napback".to_string(),
            format!(
                "Backup.S3napback INFO Getting current contents of bucket {bk} modified on {day}..."
            ),
            "Backup.S3napback INFO Buckets already done today:".to_string(),
        ]
    };

    // 2026-11-13 is a DIFF day (slot 8), but there is no revision file yet: FULL.
    let run = b.run(&["-c", &conf], "2026-11-13 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    let mut expected = head("2026-11-13");
    expected.extend([
        format!("Backup.S3napback INFO subversion => {r}"),
        format!("Backup.S3napback.Subversion INFO Subversion {r} -> {bk}:{r}-8-FULL"),
    ]);
    assert_lines(&run, &expected);
    assert_eq!(revision().trim(), "3");

    // Again the same day: the revision file was written today.
    let run = b.run(&["-c", &conf], "2026-11-13 04:00:00");
    let mut expected = head("2026-11-13");
    expected.extend([
        format!("Backup.S3napback INFO {bk}:{r}-8-FULL"),
        format!("Backup.S3napback INFO subversion => {r}"),
        format!("Backup.S3napback.Subversion WARN Skipping {r} -- was already backed up today"),
    ]);
    assert_lines(&run, &expected);

    // -f ignores that: a new revision goes to today's DIFF slot (test mode first).
    repo.commit_file("trunk/file.txt", "revision 4\n");
    let run = b.run(&["-t", "-f", "-c", &conf], "2026-11-13 05:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    let gpg = b.gpg();
    let expected = vec![
        "Backup.S3napback INFO Starting s3napback".to_string(),
        "Backup.S3napback WARN TEST MODE ONLY, NO REAL ACTIONS WILL BE TAKEN".to_string(),
        "Backup.S3napback WARN FORCE MODE; DATA MAY BE OVERWRITTEN".to_string(),
        format!(
            "Backup.S3napback INFO Getting current contents of bucket {bk} modified on 2026-11-13..."
        ),
        "Backup.S3napback INFO Buckets already done today:".to_string(),
        format!("Backup.S3napback INFO {bk}:{r}-8-FULL"),
        format!("Backup.S3napback INFO subversion => {r}"),
        format!("Backup.S3napback.Subversion INFO Subversion {r} -> {bk}:{r}-8-DIFF"),
        format!("Backup.S3napback.Subversion INFO s3 delete {bk}:{r}-8-DIFF"),
        format!(
            "Backup.S3napback.Subversion INFO svnadmin dump -q -r4:4 --incremental {r} | gzip \
             | {gpg} | s3 put --chunk-size 700 {bk}:{r}-8-DIFF"
        ),
    ];
    assert_lines(&run, &expected);
    assert_eq!(revision().trim(), "3", "test mode changes nothing");
    let run = b.run(&["-f", "-c", &conf], "2026-11-13 06:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect(&format!(
        "Backup.S3napback.Subversion INFO Subversion {r} -> {bk}:{r}-8-DIFF\n"
    ));
    assert_eq!(revision().trim(), "4");

    // The next day: a DIFF of the new revisions only.
    repo.commit_file("trunk/added.txt", "added in 5\n");
    let youngest = repo.commit_file("trunk/file.txt", "revision 6\n");
    let run = b.run(&["-c", &conf], "2026-11-14 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    let mut expected = head("2026-11-14");
    expected.extend([
        format!("Backup.S3napback INFO subversion => {r}"),
        format!("Backup.S3napback.Subversion INFO Subversion {r} -> {bk}:{r}-9-DIFF"),
    ]);
    assert_lines(&run, &expected);
    assert_eq!(revision().trim(), "6");

    // Nothing new the day after: the single line, no slot, the revision file untouched.
    let before = fs::metadata(b.revision_file(&r))
        .unwrap()
        .modified()
        .unwrap();
    let run = b.run(&["-c", &conf], "2026-11-15 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    let mut expected = head("2026-11-15");
    expected.extend([
        format!("Backup.S3napback INFO subversion => {r}"),
        format!(
            "Backup.S3napback.Subversion INFO {r} has no new revisions since last backup; skipping"
        ),
    ]);
    assert_lines(&run, &expected);
    assert_eq!(
        fs::metadata(b.revision_file(&r))
            .unwrap()
            .modified()
            .unwrap(),
        before
    );
    let store = b.server.store();
    assert_eq!(
        prefixes(&store),
        [
            format!("{r}-8-DIFF"),
            format!("{r}-8-FULL"),
            format!("{r}-9-DIFF")
        ]
    );
    let diff = gunzip(&b.site.decrypt(&fetch(&store, &format!("{r}-9-DIFF"))));
    assert_eq!(revisions(&diff), [5, 6]);

    // The first FULL (slot 8) starts the chain for restore, list, verify and status.
    let out = b.command(
        &conf,
        &["restore", "--to-stdout", &r],
        "2026-11-15 12:00:00",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let fresh = SvnRepo::from_dump(&out.stdout);
    assert_eq!(fresh.youngest(), youngest);
    assert_eq!(fresh.cat("trunk/file.txt"), "revision 6\n");
    assert_eq!(fresh.cat("trunk/added.txt"), "added in 5\n");
    let out = b.command(&conf, &["list", "--json"], "2026-11-15 12:00:00");
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let full = &rows.as_array().unwrap()[1];
    assert_eq!(
        (&full["item"], &full["slot"], &full["type"]),
        (&r.clone().into(), &8.into(), &"FULL".into())
    );
    let out = b.command(&conf, &["verify", "--deep"], "2026-11-15 12:00:00");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains(&format!(
            "Subversion {r}: restorable for 2026-11-13 .. 2026-11-14 (FULL {r}-8-FULL + 2 DIFFs)\n"
        )),
        "{}",
        text(&out.stdout)
    );
    let out = b.command(&conf, &["status"], "2026-11-15 12:00:00");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let status = text(&out.stdout);
    assert!(
        status.starts_with(&format!(
            "Subversion {r}: OK: newest {r}-9-DIFF at 2026-11-14 03:00:"
        )) && status.contains("\n  timeline: FDD\n"),
        "{status}"
    );
}

#[test]
fn subversion_dir_in_directory_order_and_test_mode_against_todays_slots() {
    let b = Bench::new();
    let repos = [
        ("zeta", SvnRepo::new(2)),
        ("alpha", SvnRepo::new(1)),
        ("mid", SvnRepo::new(3)),
    ];
    let dir = b.repos_dir(&repos);
    fs::create_dir(dir.join("not-a-repo")).unwrap();
    fs::write(dir.join("README"), "not a repository either\n").unwrap();
    let d = path(&dir);
    let bk = b.bucket().to_string();
    let conf = b.conf(&format!("<SubversionDir {d}>\n{CYCLE}</SubversionDir>\n"));
    // The legacy took the entries as the directory listing returned them (not sorted): on
    // ext4 (hash order) and tmpfs (newest first) that is not alpha, mid, zeta.
    let order: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| repos.iter().any(|(r, _)| r == n))
        .collect();
    let head = |test: bool, done: &[String]| {
        let mut v = vec!["Backup.S3napback INFO Starting s3napback".to_string()];
        if test {
            v.push("Backup.S3napback WARN TEST MODE ONLY, NO REAL ACTIONS WILL BE TAKEN".into());
        }
        v.push(format!(
            "Backup.S3napback INFO Getting current contents of bucket {bk} modified on 2026-11-13..."
        ));
        v.push("Backup.S3napback INFO Buckets already done today:".into());
        v.extend(
            done.iter()
                .map(|p| format!("Backup.S3napback INFO {bk}:{p}")),
        );
        v.push(format!("Backup.S3napback INFO subversiondir => {d}"));
        v
    };
    let youngest = |name: &str| repos.iter().find(|(r, _)| *r == name).unwrap().1.youngest();
    let gpg = b.gpg();

    // Test mode on an empty bucket: what each repository would do, nothing done.
    let run = b.run(&["-t", "-c", &conf], "2026-11-13 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    let mut expected = head(true, &[]);
    for n in &order {
        let h = youngest(n);
        expected.extend([
            format!("Backup.S3napback.Subversion INFO Subversion {d}/{n} -> {bk}:{d}/{n}-8-FULL"),
            format!("Backup.S3napback.Subversion INFO s3 delete {bk}:{d}/{n}-8-FULL"),
            format!(
                "Backup.S3napback.Subversion INFO svnadmin dump -q -r0:{h} --incremental {d}/{n} \
                 | gzip | {gpg} | s3 put --chunk-size 700 {bk}:{d}/{n}-8-FULL"
            ),
        ]);
    }
    assert_lines(&run, &expected);
    assert!(prefixes(&b.server.store()).is_empty());
    assert_eq!(fs::read_dir(b.site.diff_dir()).unwrap().count(), 0);

    // The real run, in the same order.
    let run = b.run(&["-c", &conf], "2026-11-13 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    let mut expected = head(false, &[]);
    expected.extend(order.iter().map(|n| {
        format!("Backup.S3napback.Subversion INFO Subversion {d}/{n} -> {bk}:{d}/{n}-8-FULL")
    }));
    assert_lines(&run, &expected);
    let mut done: Vec<String> = order.iter().map(|n| format!("{d}/{n}-8-FULL")).collect();
    done.sort();
    assert_eq!(prefixes(&b.server.store()), done);

    // Test mode later that day: today's slots listed, then the skips.
    let run = b.run(&["-t", "-c", &conf], "2026-11-13 09:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    let mut expected = head(true, &done);
    expected.extend(order.iter().map(|n| {
        format!("Backup.S3napback.Subversion WARN Skipping {d}/{n} -- was already backed up today")
    }));
    assert_lines(&run, &expected);

    // Without the revision files (a host migrated without them) the bucket still says
    // "done today" for the FULL slots a first backup would write.
    for n in &order {
        fs::remove_file(b.revision_file(&format!("{d}/{n}"))).unwrap();
    }
    let run = b.run(&["-t", "-c", &conf], "2026-11-13 10:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    let mut expected = head(true, &done);
    for n in &order {
        expected.extend([
            format!("Backup.S3napback.Subversion INFO Subversion {d}/{n} -> {bk}:{d}/{n}-8-FULL"),
            format!(
                "Backup.S3napback.Subversion WARN Skipping {bk}:{d}/{n}-8-FULL -- already done today"
            ),
        ]);
    }
    assert_lines(&run, &expected);
}

/// The legacy pipeline: `svnadmin dump -q -rFROM:TO --incremental REPO | gzip | gpg -e`.
fn legacy_svn_stream(site: &Site, repo: &SvnRepo, from: u64, to: u64) -> Vec<u8> {
    let out = Command::new("svnadmin")
        .args(["dump", "-q", &format!("-r{from}:{to}"), "--incremental"])
        .arg(repo.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let gz = pipe_through(&["gzip".to_string()], &out.stdout);
    let gpg = site
        .gpg
        .argv(&["--trust-model", "always", "-r", site.gpg.recipient(), "-e"]);
    pipe_through(&gpg, &gz)
}

#[test]
fn a_legacy_subversion_chain_continued_restores_to_the_youngest_revision() {
    let b = Bench::new();
    let repo = SvnRepo::new(3);
    let r = path(repo.path());
    let store = b.server.store();

    // The legacy run of 2026-11-12 (slot 7, FULL): its dump, its upload, its revision file.
    b.server.set_clock("2026-11-12 03:00:00");
    js3tream_put(
        &store,
        &format!("{r}-7-FULL"),
        &legacy_svn_stream(&b.site, &repo, 0, 3),
        700,
    );
    fs::write(b.revision_file(&r), "3\n").unwrap();
    fs::File::options()
        .write(true)
        .open(b.revision_file(&r))
        .unwrap()
        .set_modified(system_time("2026-11-12 03:00:00"))
        .unwrap();

    repo.commit_file("trunk/file.txt", "revision 4\n");
    let youngest = repo.commit_file("trunk/new.txt", "revision 5\n");
    let conf = b.conf(&format!(
        "<Cycle daily>\n{CYCLE}\tSubversion {r}\n</Cycle>\n"
    ));
    let run = b.run(&["-c", &conf], "2026-11-13 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect(&format!(
        "Backup.S3napback.Subversion INFO Subversion {r} -> {}:{r}-8-DIFF\n",
        b.bucket()
    ));
    let diff = gunzip(&b.site.decrypt(&fetch(&store, &format!("{r}-8-DIFF"))));
    assert_eq!(revisions(&diff), [4, 5]);

    let out = b.command(
        &conf,
        &["restore", "--to-stdout", &r],
        "2026-11-13 12:00:00",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let fresh = SvnRepo::from_dump(&out.stdout);
    assert_eq!(fresh.youngest(), youngest);
    assert_eq!(fresh.cat("trunk/new.txt"), "revision 5\n");
    assert_eq!(fresh.cat("trunk/file.txt"), "revision 4\n");
    assert_eq!(
        fresh.cat("trunk/sub/other.txt"),
        repo.cat("trunk/sub/other.txt")
    );
}

#[test]
fn a_revision_file_beyond_the_youngest_fails_that_item_only_and_changes_nothing() {
    let b = Bench::new();
    let (replaced, healthy) = (SvnRepo::new(3), SvnRepo::new(2));
    let (r, h) = (path(replaced.path()), path(healthy.path()));
    let store = b.server.store();
    let held = legacy_svn_stream(&b.site, &replaced, 0, 3);
    js3tream_put(&store, &format!("{r}-7-FULL"), &held, 700);
    let file = b.revision_file(&r);
    fs::write(&file, "9\n").unwrap();
    let conf = b.conf(&format!(
        "<Cycle daily>\n{CYCLE}\tSubversion {r}\n\tSubversion {h}\n</Cycle>\n"
    ));

    let run = b.run(&["-c", &conf], "2026-11-13 03:00:00");
    assert_eq!(run.status, 1, "{}", run.log);
    run.expect(&format!(
        "Backup.S3napback.Subversion ERROR Subversion {r}: the revision 9 saved in {} is \
         newer than the youngest revision 3 of {r} (a replaced repository?); delete that \
         file to start with a FULL\n",
        file.display()
    ));
    run.expect(&format!(
        "Backup.S3napback.Subversion INFO Subversion {h} -> {}:{h}-8-FULL\n",
        b.bucket()
    ));
    assert_eq!(fs::read_to_string(&file).unwrap(), "9\n");
    let mut expected = vec![format!("{r}-7-FULL"), format!("{h}-8-FULL")];
    expected.sort();
    assert_eq!(prefixes(&store), expected);
    assert_eq!(fetch(&store, &format!("{r}-7-FULL")), held);
}
