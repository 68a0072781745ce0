//! A commit interrupted after its marker (issue 16, item 5): the CopyObjects into the slot
//! fail, so the slot's own keys may mix two streams while the marker names the complete
//! staged one. Until the next run finishes the commit, that staged stream is the slot's
//! newest backup for `restore`; the DiffDir state that belongs to it (here the Subversion
//! revision) waits beside the real file and is installed when the commit is finished, so
//! the next DIFF dumps only what is new and the chain loads every revision once.

use std::fs;

use crate::backup::harness::{Site, fetch, gunzip, prefixes};
use crate::support::proxy::{Fault, FaultProxy, Rule};
use crate::support::s3::moto;
use crate::support::svn::SvnRepo;

/// The revision numbers a dump stream holds.
fn revisions(dump: &[u8]) -> Vec<u64> {
    String::from_utf8_lossy(dump)
        .lines()
        .filter_map(|l| l.strip_prefix("Revision-number: "))
        .map(|n| n.parse().unwrap())
        .collect()
}

#[test]
fn a_failed_copy_leaves_the_new_state_restorable_and_the_next_run_installs_its_revision() {
    let server = moto();
    let store = server.store();
    let proxy = FaultProxy::start(&server.endpoint);
    let site = Site::new();
    let repo = SvnRepo::new(3);
    let r = repo.path().display().to_string();
    let body = format!("S3Retries 1\n<Subversion {r}>\nDiffs 6\nFulls 2\n</Subversion>\n");
    let conf = site.config_via(&server, &proxy.endpoint, 700, true, &body);
    let conf = conf.to_str().unwrap();
    let revision_file = site
        .diff_dir()
        .join(format!("{}.diff", r.replace('/', "_")));
    let restored_youngest = |now: &str| {
        let out = site.path(&format!("chain-{}.dump", now.replace(' ', "_")));
        let run = site.run(
            &["restore", "-c", conf, "--into", out.to_str().unwrap(), &r],
            now,
        );
        assert_eq!(run.status, 0, "{}", run.log);
        SvnRepo::from_dump(&fs::read(&out).unwrap()).youngest()
    };

    // 2026-11-12 (slot 7 of 14): the FULL of revisions 0..3
    let run = site.run(&["-c", conf], "2026-11-12 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    assert_eq!(fs::read_to_string(&revision_file).unwrap().trim(), "3");

    // 2026-11-13 (slot 8, DIFF of 4..5): every copy into the slot fails
    repo.commit_file("trunk/file.txt", "four\n");
    repo.commit_file("trunk/file.txt", "five\n");
    proxy.add(Rule::copies(Fault::Status(500, "InternalError")));
    let run = site.run(&["-c", conf], "2026-11-13 03:00:00");
    assert_eq!(run.status, 1, "{}", run.log);
    run.expect("its new stream is complete; the next run finishes replacing");
    // the real revision file is not advanced yet: its new content waits beside it
    assert_eq!(fs::read_to_string(&revision_file).unwrap().trim(), "3");
    // while pending, the staged DIFF is the slot's newest backup
    assert_eq!(restored_youngest("2026-11-13 12:00:00"), 5);

    // 2026-11-14 (slot 9): the run finishes the commit first, installs revision 5, then
    // dumps only revision 6
    proxy.clear();
    repo.commit_file("trunk/file.txt", "six\n");
    let run = site.run(&["-c", conf], "2026-11-14 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect(&format!("{r}-8-DIFF: finished replacing it with the"));
    assert_eq!(fs::read_to_string(&revision_file).unwrap().trim(), "6");
    let diff = gunzip(&site.decrypt(&fetch(&store, &format!("{r}-9-DIFF"))));
    assert_eq!(revisions(&diff), [6], "the DIFF holds only what is new");
    assert!(
        prefixes(&store)
            .iter()
            .all(|p| !p.starts_with(".s3napback")),
        "{:?}",
        prefixes(&store)
    );
    // the chain loads with every revision once
    assert_eq!(restored_youngest("2026-11-14 12:00:00"), 6);
    assert_eq!(repo.youngest(), 6);
}
