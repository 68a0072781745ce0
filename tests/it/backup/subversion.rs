//! Subversion items: a FULL from revision 0, then a DIFF of only the new revisions; the
//! chain loads into a fresh repository with the same youngest revision and content.

use std::fs;

use super::harness::{Site, fetch, gunzip};
use crate::support::s3::moto;
use crate::support::svn::SvnRepo;

#[test]
fn full_then_diff_chain_loads_with_svnadmin() {
    let repo = SvnRepo::new(3);
    let server = moto();
    let store = server.store();
    let site = Site::new();
    let name = repo.path().display().to_string();
    let body = format!("<Subversion {name}>\n\tDiffs 6\n\tFulls 2\n</Subversion>\n");
    let conf = site.config(&server, 700, true, &body);
    let conf = conf.to_str().unwrap();
    let revision_file = site
        .diff_dir()
        .join(format!("{}.diff", name.replace('/', "_")));

    let run = site.run(&["-c", conf], Some("2026-11-12 03:00:00"));
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect(&format!(
        "Subversion {name} -> {}:{name}-7-FULL",
        server.bucket
    ));
    assert_eq!(fs::read_to_string(&revision_file).unwrap().trim(), "3");

    repo.commit_file("trunk/file.txt", "revision 4\n");
    let head = repo.commit_file("trunk/added.txt", "added in 5\n");
    let run = site.run(&["-c", conf], Some("2026-11-13 03:00:00"));
    assert_eq!(run.status, 0, "{}", run.log);
    assert_eq!(fs::read_to_string(&revision_file).unwrap().trim(), "5");

    // Nothing new the next day: no upload.
    site.run(&["-c", conf], Some("2026-11-14 03:00:00"))
        .expect(&format!(
            "{name} has no new revisions since last backup; skipping"
        ));

    let mut chain = gunzip(&site.decrypt(&fetch(&store, &format!("{name}-7-FULL"))));
    let diff = gunzip(&site.decrypt(&fetch(&store, &format!("{name}-8-DIFF"))));
    assert!(String::from_utf8_lossy(&diff).contains("Revision-number: 4"));
    assert!(!String::from_utf8_lossy(&diff).contains("Revision-number: 3"));
    chain.extend_from_slice(&diff);

    let fresh = SvnRepo::from_dump(&chain);
    assert_eq!(fresh.youngest(), head);
    assert_eq!(fresh.cat("trunk/added.txt"), repo.cat("trunk/added.txt"));
    assert_eq!(fresh.cat("trunk/file.txt"), "revision 4\n");
}

#[test]
fn subversion_dir_backs_up_every_repository_that_verifies() {
    let one = SvnRepo::new(2);
    let two = SvnRepo::new(1);
    let server = moto();
    let store = server.store();
    let site = Site::new();
    let dir = site.path("repos");
    fs::create_dir(&dir).unwrap();
    std::os::unix::fs::symlink(one.path(), dir.join("alpha")).unwrap();
    std::os::unix::fs::symlink(two.path(), dir.join("beta")).unwrap();
    fs::create_dir(dir.join("not-a-repo")).unwrap();
    let d = dir.display().to_string();
    let body = format!("<SubversionDir {d}>\n\tDiffs 0\n\tFulls 3\n</SubversionDir>\n");
    let conf = site.config(&server, 5000, false, &body);
    let run = site.run(&["-c", conf.to_str().unwrap()], Some("2026-11-12 03:00:00"));
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect("subversiondir => ");
    // Diffs 0, Fulls 3: slot 315 % 3 = 0, FULL.
    let mut found = super::harness::prefixes(&store);
    found.sort();
    assert_eq!(
        found,
        vec![format!("{d}/alpha-0-FULL"), format!("{d}/beta-0-FULL")]
    );
    let dump = gunzip(&fetch(&store, &format!("{d}/alpha-0-FULL")));
    assert!(String::from_utf8_lossy(&dump).contains("Revision-number: 2"));
}
