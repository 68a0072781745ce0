//! Taking over a legacy rotation: a DiffDir snapshot file and a bucket written exactly as
//! s3napback.pl + js3tream wrote them (LEGACY.md §7, §8), then runs of this tool. The next
//! DIFF holds only the changes since the legacy run, and the mixed chain restores.

use std::fs;
use std::time::Duration;

use super::harness::{
    Site, extract, fetch, js3tream_put, legacy_stream, make_tree, restored, tar_members, tree,
};
use crate::support::s3::moto;

#[test]
fn the_next_diff_continues_a_legacy_rotation() {
    let server = moto();
    let store = server.store();
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let name = src.display().to_string();
    let snapshot = site
        .diff_dir()
        .join(format!("{}.diff", name.replace('/', "_")));

    // The legacy run of 2026-11-12 (slot 7, FULL): its own shell pipeline, reproduced.
    let encrypted = legacy_stream(&site, &name, &snapshot, true);
    let full = format!("{name}-7-FULL");
    js3tream_put(&store, &full, &encrypted, 1000);
    assert!(snapshot.exists());

    std::thread::sleep(Duration::from_millis(1100));
    fs::write(src.join("a.txt"), "changed after the legacy run\n").unwrap();
    fs::write(src.join("after.txt"), "new after the legacy run\n").unwrap();
    fs::remove_file(src.join("sub/b.txt")).unwrap();

    let body = format!("<Cycle daily>\n\tDiffs 6\n\tFulls 2\n\tDirectory {name}\n</Cycle>\n");
    let conf = site.config(&server, 1000, true, &body);
    let run = site.run(&["-c", conf.to_str().unwrap()], "2026-11-13 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    let diff = format!("{name}-8-DIFF");
    run.expect(&format!("Directory {name} -> {}:{diff}", server.bucket));

    let members = tar_members(&site.decrypt(&fetch(&store, &diff)));
    let files: Vec<&String> = members.iter().filter(|m| !m.ends_with('/')).collect();
    assert!(files.iter().any(|m| m.ends_with("a.txt")), "{members:?}");
    assert!(
        files.iter().any(|m| m.ends_with("after.txt")),
        "{members:?}"
    );
    assert!(
        !files
            .iter()
            .any(|m| m.ends_with("data.bin") || m.ends_with("c d.txt")),
        "only changes since the legacy run: {members:?}"
    );

    let out = site.path("out");
    for prefix in [&full, &diff] {
        extract(&site.decrypt(&fetch(&store, prefix)), &out);
    }
    assert_eq!(tree(&restored(&out, &src)), tree(&src));
}
