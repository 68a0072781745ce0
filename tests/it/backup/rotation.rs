//! A rotation written exactly as s3napback.pl + js3tream wrote it, over several days (the
//! S3 server's clock moved with libfaketime, so LastModified dates differ), restored with
//! `s3napback restore` for the newest state and for a middle date with `--at`.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::harness::{Site, js3tream_put, legacy_stream, make_tree, restored, tree};
use crate::support::s3::moto;

/// A day of the rotation: its date, its slot, and the change made to the tree before it.
type Day = (&'static str, &'static str, fn(&Path));

#[test]
fn restore_newest_and_a_middle_date_of_a_js3tream_rotation() {
    let site = Site::new();
    let server = moto();
    let store = server.store();
    let src = site.path("src/tree");
    make_tree(&src);
    let name = src.display().to_string();
    let snapshot = site.path("legacy.snap");
    let states = site.path("states");
    let body = format!("<Cycle daily>\n\tDiffs 6\n\tFulls 2\n\tDirectory {name}\n</Cycle>\n");
    let conf = site.config(&server, 1000, true, &body);
    let conf = conf.to_str().unwrap();

    // (date, slot, change before the run); 2026-11-13 was missed (no slot).
    let days: [Day; 4] = [
        ("2026-11-12", "7-FULL", |_| {}),
        ("2026-11-14", "9-DIFF", |s| {
            fs::write(s.join("a.txt"), "alpha on the 14th\n").unwrap();
            fs::remove_file(s.join("sub/b.txt")).unwrap();
        }),
        ("2026-11-19", "0-FULL", |s| {
            fs::write(s.join("new.txt"), "new on the 19th\n").unwrap();
        }),
        ("2026-11-20", "1-DIFF", |s| {
            fs::remove_dir_all(s.join("sub/with space")).unwrap();
            fs::write(s.join("a.txt"), "alpha on the 20th\n").unwrap();
        }),
    ];
    for (date, slot, change) in days {
        change(&src);
        std::thread::sleep(Duration::from_millis(1100));
        server.set_clock(&format!("{date} 03:00:00"));
        let stream = legacy_stream(&site, &name, &snapshot, slot.ends_with("FULL"));
        js3tream_put(&store, &format!("{name}-{slot}"), &stream, 1000);
        let copy = states.join(date);
        fs::create_dir_all(&copy).unwrap();
        let ok = Command::new("cp")
            .arg("-a")
            .arg(&src)
            .arg(&copy)
            .status()
            .unwrap();
        assert!(ok.success());
    }

    // A middle date: the FULL of the 12th and the DIFF of the 14th; the 13th is missing.
    let out = site.path("out-14");
    let run = site.run(
        &[
            "restore",
            "-c",
            conf,
            "--at",
            "2026-11-14",
            "--into",
            out.to_str().unwrap(),
            &name,
        ],
        "2026-11-20 04:00:00",
    );
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect(&format!("{name}-7-FULL"))
        .expect(&format!("{name}-9-DIFF"));
    run.expect("2026-11-13");
    assert!(!run.log.contains(&format!("{name}-0-FULL")), "{}", run.log);
    let want = tree(&states.join("2026-11-14/tree"));
    assert_eq!(tree(&restored(&out, &src)), want);

    // The newest state: the FULL of the 19th and the DIFF of the 20th (slot numbers wrapped).
    let out = site.path("out-newest");
    let run = site.run(
        &[
            "restore",
            "-c",
            conf,
            "--into",
            out.to_str().unwrap(),
            &name,
        ],
        "2026-11-20 04:00:00",
    );
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect(&format!("{name}-0-FULL"))
        .expect(&format!("{name}-1-DIFF"));
    assert_eq!(tree(&restored(&out, &src)), tree(&src));
}
