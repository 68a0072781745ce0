//! A failed start-of-run listing is not an empty bucket (issue 16, item 4): "already done
//! today", the chain rule and the finishing of interrupted commits all read it, so a real
//! run stores nothing, removes nothing, and fails with an ERROR naming the bucket and the
//! cause (exit 1). Test mode keeps the legacy's behaviour: the listing's failure is a
//! DEBUG line and the plan is printed as for an empty bucket.

use std::fs;

use crate::backup::harness::{Site, bucket, make_tree};
use crate::support::proxy::{Fault, FaultProxy, Rule};
use crate::support::s3::moto;

#[test]
fn a_failed_listing_stores_and_removes_nothing_and_fails_the_run() {
    let server = moto();
    let store = server.store();
    let proxy = FaultProxy::start(&server.endpoint);
    let site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let body = format!(
        "Diffs 6\nFulls 2\nS3Retries 1\nDirectory {}\n",
        src.display()
    );
    let conf = site.config_via(&server, &proxy.endpoint, 1000, true, &body);
    let conf = conf.to_str().unwrap();
    let name = src.display().to_string();
    let snapshot = site
        .diff_dir()
        .join(format!("{}.diff", name.replace('/', "_")));

    // 2026-11-12 (slot 7 of 14) is a FULL day: a slot to keep
    let first = site.run(&["-c", conf], "2026-11-12 03:00:00");
    assert_eq!(first.status, 0, "{}", first.log);
    let before = bucket(&store);
    let state = fs::read(&snapshot).unwrap();

    // the next day every listing fails (a 500 after its retry; an AccessDenied alike)
    for fault in [
        Fault::Status(500, "InternalError"),
        Fault::Status(403, "AccessDenied"),
    ] {
        proxy.clear();
        proxy.add(Rule::listings(fault.clone()));
        let mark = proxy.seen().len();
        let run = site.run(&["-c", conf], "2026-11-13 03:00:00");
        assert_eq!(run.status, 1, "{fault:?}: {}", run.log);
        run.expect(&format!(
            "Backup.S3napback ERROR cannot list bucket {}: ",
            server.bucket
        ))
        .expect("; nothing was stored or removed");
        let code = match fault {
            Fault::Status(_, code) => code,
            _ => unreachable!(),
        };
        run.expect(code);
        assert!(
            !run.log.contains(&format!("Directory {name} -> ")),
            "no item was started:\n{}",
            run.log
        );
        assert!(bucket(&store) == before, "the bucket changed:\n{}", run.log);
        assert_eq!(
            fs::read(&snapshot).unwrap(),
            state,
            "the snapshot file changed"
        );
        // only listings reached the proxy: nothing was written or deleted
        assert!(
            proxy.seen()[mark..]
                .iter()
                .all(|s| s.method == "GET" || s.method == "HEAD"),
            "{:?}",
            &proxy.seen()[mark..]
        );

        // test mode: the legacy's lines, as for an empty bucket, exit 0
        let test = site.run(&["-t", "-c", conf], "2026-11-13 03:00:00");
        assert_eq!(test.status, 0, "{}", test.log);
        test.expect("Backup.S3napback INFO Buckets already done today:\n")
            .expect(&format!(
                "Backup.S3napback.Directory INFO Directory {name} -> {}:{name}-8-DIFF\n",
                server.bucket
            ));
        assert!(!test.log.contains("ERROR"), "{}", test.log);
    }

    // the listing works again: the run goes on as usual
    proxy.clear();
    let run = site.run(&["-c", conf], "2026-11-13 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    run.expect(&format!("{}:{name}-8-DIFF: stored", server.bucket));
}
