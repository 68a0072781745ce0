//! A DIFF whose commit is finished late, by a later run, keeps its own place in the order
//! of backups (issue 22, item 2). Schedule (`Diffs 1`, `Fulls 2`, SimpleCycle): 2026-11-11
//! (slot 2) and -13 (slot 0) are FULL days, -12 (slot 3) and -14 (slot 1) DIFF days. The 12th's DIFF is stored but every copy
//! into its slot fails (as if the run were killed right after its commit marker); the 13th
//! (a FULL day) first finishes that commit, which re-dates the DIFF slot to the 13th, then
//! stores its FULL within the same second. Before slots were stamped, restore took the
//! re-dated DIFF as newer than the FULL, and its dumpdir deleted every file made since the
//! 12th (exit 0). Now restore gives the 13th's tree, `--at` the 12th gives the 12th's, and
//! `status` and the next DIFF night agree.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::harness::{Site, make_tree, restored, tree};
use crate::support::proxy::{Fault, FaultProxy, Rule};
use crate::support::s3::{S3Server, garage, moto};

type Tree = BTreeMap<String, Vec<u8>>;

fn late_commit_keeps_its_night(server: S3Server) {
    let proxy = FaultProxy::start(&server.endpoint);
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let name = src.display().to_string();
    let body = format!("S3Retries 1\n<Directory {name}>\n\tDiffs 1\n\tFulls 2\n</Directory>\n");
    let conf = site.config_via(&server, &proxy.endpoint, 1000, true, &body);
    let conf = conf.to_str().unwrap();
    let backup = |date: &str| site.run(&["-c", conf], &format!("{date} 03:00:00"));
    let restore = |now: &str, at: Option<&str>| -> Tree {
        let out = site.path(&format!("out-{}", now.replace([' ', ':'], "_")));
        let mut args = vec!["restore", "-c", conf, "--into", out.to_str().unwrap()];
        if let Some(at) = at {
            args.extend(["--at", at]);
        }
        args.push(&name);
        let run = site.run(&args, now);
        assert_eq!(run.status, 0, "{}", run.log);
        tree(&restored(&out, Path::new(&name)))
    };

    let run = backup("2026-11-11");
    assert_eq!(run.status, 0, "{}", run.log);

    // the 12th: a DIFF stored, its commit left to the next run
    fs::write(src.join("twelfth.txt"), "made on the 12th\n").unwrap();
    fs::remove_file(src.join("sub/b.txt")).unwrap();
    let on_12th = tree(&src);
    proxy.add(Rule::copies(Fault::Status(500, "InternalError")));
    let run = backup("2026-11-12");
    assert_eq!(run.status, 1, "{}", run.log);
    run.expect("its new stream is complete; the next run finishes replacing");
    proxy.clear();

    // the 13th, a FULL day: files the 12th's DIFF does not know
    fs::write(src.join("thirteenth.txt"), "made on the 13th\n").unwrap();
    fs::create_dir_all(src.join("new/dir")).unwrap();
    fs::write(src.join("new/dir/deep.txt"), "deep\n").unwrap();
    let on_13th = tree(&src);
    let run = backup("2026-11-13");
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect(&format!("{name}-3-DIFF: finished replacing it with the"));

    assert_eq!(restore("2026-11-13 06:00:00", None), on_13th);
    // the late DIFF is not lost for its own night
    assert_eq!(restore("2026-11-13 06:00:00", Some("2026-11-12")), on_12th);
    let status = site.run(&["status", "-c", conf], "2026-11-13 06:00:00");
    assert_eq!(status.status, 0, "{}", status.log);
    // as the server lists it (Garage strips the leading `/`)
    status.expect(&format!(
        "{}-0-FULL at 2026-11-13",
        name.trim_start_matches('/')
    ));

    // the 14th: a DIFF on the 13th's FULL; the chain is FULL of the 13th + this DIFF
    fs::write(src.join("fourteenth.txt"), "made on the 14th\n").unwrap();
    let on_14th = tree(&src);
    let run = backup("2026-11-14");
    assert_eq!(run.status, 0, "{}", run.log);
    assert_eq!(restore("2026-11-14 06:00:00", None), on_14th);
}

#[test]
fn a_diff_committed_late_is_never_applied_after_a_newer_full_moto() {
    let server = moto();
    server.set_clock("2026-11-10 03:00:00");
    late_commit_keeps_its_night(server);
}

#[test]
fn a_diff_committed_late_is_never_applied_after_a_newer_full_garage() {
    late_commit_keeps_its_night(garage());
}
