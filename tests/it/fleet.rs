//! Issue 18: `status`, `list` and `verify` take the config arguments of a backup run
//! (`-c FILE` and `NAME ...`, looked up in the config directory), as a host with several
//! config files runs them: one report and one exit status for all.

use std::fs;

use s3napback::store::s3::{S3Config, S3Store};

use crate::backup::harness::{Site, make_tree};
use crate::support::s3::moto;

#[test]
fn status_list_and_verify_cover_every_config_and_exit_1_for_a_stale_one() {
    let server = moto();
    let mut site = Site::new();
    let healthy = site.path("src/healthy");
    make_tree(&healthy);
    let conf = site.config(
        &server,
        1000,
        false,
        &format!("Diffs 6\nFulls 2\nDirectory {}\n", healthy.display()),
    );
    // a second config file in the config directory, for an item never backed up
    let conf_dir = site.path("conf.d");
    fs::create_dir(&conf_dir).unwrap();
    let never = site.path("src/never");
    make_tree(&never);
    // in a bucket of its own, so that `list` over one config cannot show it
    let web_bucket = format!("{}-web", server.bucket);
    S3Store::connect(
        S3Config::new(&web_bucket)
            .with_endpoint(&server.endpoint)
            .with_region(&server.region)
            .with_credentials(&server.key, &server.secret),
    )
    .unwrap()
    .ensure_bucket()
    .unwrap();
    let text = fs::read_to_string(&conf)
        .unwrap()
        .replace(
            &format!("Directory {}", healthy.display()),
            &format!("Directory {}", never.display()),
        )
        .replace(
            &format!("Bucket {}\n", server.bucket),
            &format!("Bucket {web_bucket}\n"),
        );
    fs::write(conf_dir.join("web.conf"), text).unwrap();
    site.env.push((
        "S3NAPBACK_CONFIG_DIR".into(),
        conf_dir.display().to_string(),
    ));
    let conf = conf.to_str().unwrap();

    let run = site.run(&["-c", conf], "2026-11-12 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);

    // each alone: the first is healthy, the second stale
    let one = site.run(&["status", "-c", conf], "2026-11-12 12:00:00");
    assert_eq!(one.status, 0, "{}", one.log);
    // both: both reported, exit 1
    let both = site.run(&["status", "-c", conf, "web"], "2026-11-12 12:00:00");
    assert_eq!(both.status, 1, "{}", both.log);
    both.expect(&format!("Directory {}: OK: newest", healthy.display()))
        .expect(&format!(
            "Directory {}: STALE: no restorable backup",
            never.display()
        ));

    // verify: both items checked, one exit status; the second has nothing restorable
    let verify = site.run(&["verify", "-c", conf, "web"], "2026-11-12 12:00:00");
    assert_eq!(verify.status, 1, "{}", verify.log);
    verify
        .expect(&format!("Directory {}: ", healthy.display()))
        .expect(&format!(
            "Directory {}: not restorable (no complete FULL); no slots",
            never.display()
        ));

    // back up the second config alone; now both hold a slot
    let web = conf_dir.join("web.conf");
    let run = site.run(&["-c", web.to_str().unwrap()], "2026-11-12 04:00:00");
    assert_eq!(run.status, 0, "{}", run.log);

    // one table for both, each item named BUCKET:ITEM (two buckets); NAME adds the
    // second config's item, and without NAME it is not listed
    let list = site.run(&["list", "-c", conf, "web"], "2026-11-12 12:00:00");
    assert_eq!(list.status, 0, "{}", list.log);
    assert_eq!(list.log.matches("LAST MODIFIED").count(), 1, "{}", list.log);
    list.expect(&format!("{}:{}", server.bucket, healthy.display()))
        .expect(&format!("{web_bucket}:{}", never.display()));
    let alone = site.run(&["list", "-c", conf], "2026-11-12 12:00:00");
    assert_eq!(alone.status, 0, "{}", alone.log);
    alone.expect(&healthy.display().to_string());
    assert!(
        !alone.log.contains(&never.display().to_string()),
        "{}",
        alone.log
    );

    let verify = site.run(&["verify", "-c", conf, "web"], "2026-11-12 12:00:00");
    assert_eq!(verify.status, 0, "{}", verify.log);
    verify
        .expect(&format!("Directory {}: ", healthy.display()))
        .expect(&format!("Directory {}: ", never.display()))
        .expect("1 slots checked, 0 with problems");
    assert_eq!(
        verify
            .log
            .matches("1 slots checked, 0 with problems")
            .count(),
        2,
        "{}",
        verify.log
    );

    // a NAME that does not exist is a usage error naming it
    let missing = site.run(&["status", "-c", conf, "nosuch"], "2026-11-12 12:00:00");
    assert_eq!(missing.status, 2, "{}", missing.log);
    missing.expect("nosuch: neither");
}
