//! Issue 18: `MetricsFile` and `status --prometheus`, checked by Prometheus' own
//! `promtool check metrics`; the last-success timestamp survives a failed run; the
//! configs of one run share the file.

use std::fs;
use std::io::Write;
use std::process::{Command, Stdio};

use crate::backup::harness::{Site, make_tree};
use crate::support::s3::moto;

/// `promtool check metrics` on `text`: its verdict (empty when clean).
fn promtool(text: &str) -> String {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool refused:\n{}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn the_metrics_file_passes_promtool_and_keeps_the_last_success_through_a_failure() {
    let server = moto();
    let mut site = Site::new();
    let src = site.path("src/tree");
    make_tree(&src);
    let textfiles = site.path("textfile");
    fs::create_dir(&textfiles).unwrap();
    let prom = textfiles.join("s3napback.prom");
    let body = format!(
        "MetricsFile {}\nDiffs 6\nFulls 2\nDirectory {}\n",
        prom.display(),
        src.display()
    );
    let conf = site.config(&server, 1000, false, &body);
    // a second config of the same run, sharing the file
    let conf_dir = site.path("conf.d");
    fs::create_dir(&conf_dir).unwrap();
    let other = site.path("src/other");
    make_tree(&other);
    let text = fs::read_to_string(&conf).unwrap().replace(
        &format!("Directory {}", src.display()),
        &format!("Directory {}", other.display()),
    );
    fs::write(conf_dir.join("other.conf"), text).unwrap();
    site.env.push((
        "S3NAPBACK_CONFIG_DIR".into(),
        conf_dir.display().to_string(),
    ));
    let conf = conf.to_str().unwrap();

    // 2026-11-12 03:00:00 UTC = 1794452400
    let run = site.run(&["-c", conf, "other"], "2026-11-12 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    let first = fs::read_to_string(&prom).unwrap();
    promtool(&first);
    let labels = format!(
        "{{config=\"{conf}\",kind=\"Directory\",item=\"{}\"}}",
        src.display()
    );
    for line in [
        format!("s3napback_last_success_timestamp_seconds{labels} 1794452400"),
        format!("s3napback_last_run_timestamp_seconds{labels} 1794452400"),
        format!("s3napback_last_run_success{labels} 1"),
        "s3napback_run_exit_status 0".to_string(),
        "# TYPE s3napback_last_stored_bytes gauge".to_string(),
    ] {
        assert!(first.lines().any(|l| l == line), "{line:?} in\n{first}");
    }
    assert!(
        first.contains(&format!("item=\"{}\"}}", other.display())),
        "{first}"
    );

    // the next day the item fails (its directory is gone): the success stays
    fs::rename(&src, site.path("src/moved")).unwrap();
    let run = site.run(&["-c", conf, "other"], "2026-11-13 03:00:00");
    assert_eq!(run.status, 1, "{}", run.log);
    let second = fs::read_to_string(&prom).unwrap();
    promtool(&second);
    for line in [
        format!("s3napback_last_success_timestamp_seconds{labels} 1794452400"),
        format!("s3napback_last_run_timestamp_seconds{labels} 1794538800"),
        format!("s3napback_last_run_success{labels} 0"),
        format!("s3napback_last_stored_bytes{labels} 0"),
        "s3napback_run_exit_status 1".to_string(),
    ] {
        assert!(second.lines().any(|l| l == line), "{line:?} in\n{second}");
    }
    // no temporary file is left beside it
    assert_eq!(fs::read_dir(&textfiles).unwrap().count(), 1);

    // test mode writes nothing
    let run = site.run(&["-t", "-c", conf], "2026-11-14 03:00:00");
    assert_eq!(run.status, 0, "{}", run.log);
    assert_eq!(fs::read_to_string(&prom).unwrap(), second);

    // status --prometheus: the bucket's view of both configs, in one exposition
    let status = site
        .command(
            &["status", "--prometheus", "-c", conf, "other"],
            "2026-11-13 12:00:00",
        )
        .output()
        .unwrap();
    let out = String::from_utf8(status.stdout).unwrap();
    promtool(&out);
    assert_eq!(
        status.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    // the slot's stamp: the backup run's own clock (--now), not the server's
    let newest: i64 = out
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!(
                "s3napback_newest_restorable_timestamp_seconds{labels} "
            ))
        })
        .unwrap_or_else(|| panic!("no newest timestamp in\n{out}"))
        .parse()
        .unwrap();
    assert_eq!(newest, 1794452400);
    assert!(
        out.lines()
            .any(|l| l == format!("s3napback_status_ok{labels} 1")),
        "{out}"
    );
    assert_eq!(
        out.matches("# TYPE s3napback_status_ok gauge").count(),
        1,
        "{out}"
    );
    assert!(
        out.contains(&format!("item=\"{}\"}}", other.display())),
        "{out}"
    );
}
