//! `s3napback status` on Subversion items whose newest backup is past the maximum age: a
//! repository nobody committed to is OK (a backup run uploads nothing for it, LEGACY.md
//! §7), one with newer revisions, a deleted one or one without a DiffDir revision stays
//! STALE and the line says why. Real repositories, real backup runs, the clock moved with
//! `--now`. The schedule of `subversion.rs`: 2026-11-12 is slot 7 (FULL), then DIFF days.

use std::fs;

use super::subversion::{Bench, CYCLE, path, text};
use crate::support::svn::SvnRepo;

/// Four days after the first backup (2026-11-12 03:00): age 100 h, default limit 48 h.
const LATER: &str = "2026-11-16 07:00:00";

/// The status line of `label` (`Subversion /x`) in the output.
fn line_of<'a>(status: &'a str, label: &str) -> &'a str {
    status
        .lines()
        .find(|l| l.starts_with(&format!("{label}: ")))
        .unwrap_or_else(|| panic!("no line for {label} in:\n{status}"))
}

#[test]
fn status_calls_a_quiet_repository_ok_and_names_revisions_committed_after_its_backup() {
    let b = Bench::new();
    let repo = SvnRepo::new(3);
    let r = path(repo.path());
    let conf = b.conf(&format!("<Subversion {r}>\n{CYCLE}</Subversion>\n"));
    let run = b.run(&["-c", &conf], "2026-11-12 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    // The next day's run finds nothing new and uploads nothing.
    let run = b.run(&["-c", &conf], "2026-11-13 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect(&format!(
        "Backup.S3napback.Subversion INFO {r} has no new revisions since last backup; skipping\n"
    ));

    let out = b.command(&conf, &["status"], LATER);
    let status = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{status}{}", text(&out.stderr));
    let line = line_of(&status, &format!("Subversion {r}"));
    assert!(
        line.starts_with(&format!(
            "Subversion {r}: OK: newest {r}-7-FULL at 2026-11-12 03:00:"
        )) && line.ends_with(" h, max 48.0 h); no new revisions since r3"),
        "{status}"
    );
    assert!(status.contains("\n  timeline: F\n"), "{status}");

    // Two commits later the same backup is STALE, naming what it lacks.
    repo.commit_file("trunk/file.txt", "revision 4\n");
    repo.commit_file("trunk/file.txt", "revision 5\n");
    let out = b.command(&conf, &["status"], LATER);
    let status = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{status}{}", text(&out.stderr));
    let line = line_of(&status, &format!("Subversion {r}"));
    assert!(
        line.starts_with(&format!("Subversion {r}: STALE: newest {r}-7-FULL at "))
            && line.ends_with(" h, max 48.0 h); r4 to r5 not backed up"),
        "{status}"
    );

    // Within the limit the repository is not asked and the line has no clause.
    let out = b.command(&conf, &["status", "--max-age", "200"], LATER);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains(" h, max 200.0 h)\n  timeline: F\n"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn status_of_a_subversion_dir_says_why_a_deleted_repository_stays_stale() {
    let b = Bench::new();
    let repos = [
        ("quiet", SvnRepo::new(2)),
        ("deleted", SvnRepo::new(1)),
        ("stateless", SvnRepo::new(3)),
    ];
    let d = path(&b.repos_dir(&repos));
    let conf = b.conf(&format!("<SubversionDir {d}/>\n{CYCLE}</SubversionDir>\n"));
    let run = b.run(&["-c", &conf], "2026-11-12 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);

    fs::remove_dir_all(repos[1].1.path()).unwrap();
    let state = b.revision_file(&format!("{d}/stateless"));
    fs::remove_file(&state).unwrap();

    // Four days later: every slot (the server's clock dated it 2026-11-12) is past the limit.
    let out = b.command(&conf, &["status"], LATER);
    let status = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{status}{}", text(&out.stderr));
    let line = |name: &str| line_of(&status, &format!("Subversion {d}/{name}")).to_string();
    assert!(
        line("quiet").contains(": OK: newest ")
            && line("quiet").ends_with("; no new revisions since r2"),
        "{status}"
    );
    assert!(
        line("deleted").contains(": STALE: newest ")
            && line("deleted").ends_with(&format!(
                "; cannot read the repository: Subversion repository {d}/deleted does not exist"
            )),
        "{status}"
    );
    assert!(
        line("stateless").contains(": STALE: newest ")
            && line("stateless").ends_with(&format!("; no revision saved in {}", state.display())),
        "{status}"
    );
}
