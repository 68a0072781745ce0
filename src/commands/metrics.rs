//! `MetricsFile PATH`: after every backup run (not in test mode) the run's items in the
//! Prometheus text exposition format, for node_exporter's textfile collector, written
//! atomically (a temporary file in the same directory, then renamed). The configs of one
//! run that name the same file share it. `status --prometheus` prints the bucket's view in
//! the same format ([`render_status`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use time::OffsetDateTime;

use super::summary::{ItemSummary, Outcome};

/// The labels of one item: config file, kind, item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Labels {
    pub config: String,
    pub kind: String,
    pub item: String,
}

impl Labels {
    /// `{config="…",kind="…",item="…"}`, values escaped as the format says.
    pub fn render(&self) -> String {
        format!(
            "{{config=\"{}\",kind=\"{}\",item=\"{}\"}}",
            escape(&self.config),
            escape(&self.kind),
            escape(&self.item)
        )
    }
}

/// A label value escaped: backslash, double quote and line feed.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

const LAST_SUCCESS: &str = "s3napback_last_success_timestamp_seconds";

/// One metric family: name, HELP text, and its samples.
struct Family {
    name: &'static str,
    help: &'static str,
    samples: Vec<(String, String)>,
}

fn render_families(families: &[Family]) -> String {
    let mut out = String::new();
    for f in families {
        let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
        let _ = writeln!(out, "# TYPE {} gauge", f.name);
        for (labels, value) in &f.samples {
            let _ = writeln!(out, "{}{labels} {value}", f.name);
        }
    }
    out
}

/// The last-success timestamps of a previous metrics file, by rendered labels.
pub fn previous_successes(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.strip_prefix(LAST_SUCCESS))
        .filter(|rest| rest.starts_with('{'))
        .filter_map(|rest| {
            let end = rest.rfind('}')?;
            let value = rest[end + 1..].trim();
            value
                .parse::<f64>()
                .ok()
                .map(|_| (rest[..=end].to_owned(), value.to_owned()))
        })
        .collect()
}

/// The metrics of a backup run: its items (as the summary has them), the run's exit
/// status, at `now`; an item skipped or failed keeps its last success from `previous`
/// (the file as the last run left it).
pub fn render_run(
    items: &[&ItemSummary],
    exit_status: u8,
    now: OffsetDateTime,
    previous: &str,
) -> String {
    let before = previous_successes(previous);
    let now = now.unix_timestamp().to_string();
    let mut success = Vec::new();
    let mut run = Vec::new();
    let mut ok = Vec::new();
    let mut bytes = Vec::new();
    let mut duration = Vec::new();
    for item in items {
        let labels = Labels {
            config: item.config.clone(),
            kind: item.kind.clone(),
            item: item.name.clone(),
        }
        .render();
        match item.outcome {
            Outcome::Stored => success.push((labels.clone(), now.clone())),
            _ => {
                if let Some(value) = before.get(&labels) {
                    success.push((labels.clone(), value.clone()));
                }
            }
        }
        run.push((labels.clone(), now.clone()));
        let failed = item.outcome == Outcome::Failed;
        ok.push((labels.clone(), if failed { "0" } else { "1" }.to_owned()));
        bytes.push((labels.clone(), item.bytes.to_string()));
        duration.push((labels, format!("{:.3}", item.seconds)));
    }
    render_families(&[
        Family {
            name: LAST_SUCCESS,
            help: "When the item was last stored (a run that skipped or failed it keeps the time before).",
            samples: success,
        },
        Family {
            name: "s3napback_last_run_timestamp_seconds",
            help: "When the last backup run that had the item in its configs ended.",
            samples: run,
        },
        Family {
            name: "s3napback_last_run_success",
            help: "1 when the last run stored or (by schedule) skipped the item, 0 when it failed.",
            samples: ok,
        },
        Family {
            name: "s3napback_last_stored_bytes",
            help: "Bytes the last run stored for the item (0 when it stored nothing).",
            samples: bytes,
        },
        Family {
            name: "s3napback_last_duration_seconds",
            help: "Seconds the last run spent on the item.",
            samples: duration,
        },
        Family {
            name: "s3napback_run_exit_status",
            help: "The exit status of the last backup run (0 all done, 1 an item failed, 2 usage).",
            samples: vec![(String::new(), exit_status.to_string())],
        },
    ])
}

/// One configured item as `status --prometheus` reports it.
#[derive(Debug, Clone)]
pub struct StatusSample {
    pub labels: Labels,
    /// Its newest restorable backup, if any.
    pub newest: Option<OffsetDateTime>,
    /// Not stale, not tampered with.
    pub ok: bool,
}

/// `status --prometheus`: every configured item's newest restorable backup and verdict.
pub fn render_status(samples: &[StatusSample]) -> String {
    let newest = samples
        .iter()
        .filter_map(|s| Some((s.labels.render(), s.newest?.unix_timestamp().to_string())))
        .collect();
    let ok = samples
        .iter()
        .map(|s| (s.labels.render(), if s.ok { "1" } else { "0" }.to_owned()))
        .collect();
    render_families(&[
        Family {
            name: "s3napback_newest_restorable_timestamp_seconds",
            help: "When the item's newest restorable backup in the bucket was stored.",
            samples: newest,
        },
        Family {
            name: "s3napback_status_ok",
            help: "1 when status finds the item's newest backup recent enough (and, with ObjectLockMode, untouched), else 0.",
            samples: ok,
        },
    ])
}

/// `status --prometheus` over every config file: one exposition of all their items, exit
/// status the worst of theirs.
pub fn status(
    args: &crate::inspect::status::StatusArgs,
    configs: &[std::path::PathBuf],
    clock: &crate::clock::Clock,
) -> anyhow::Result<u8> {
    let mut samples = Vec::new();
    let mut code = crate::exit::EXIT_OK;
    for config in configs {
        let report = crate::inspect::status::check(args, Some(config), clock)?;
        code = code.max(report.code);
        samples.extend(report.items.into_iter().map(|i| StatusSample {
            labels: Labels {
                config: config.display().to_string(),
                kind: i.kind,
                item: i.item,
            },
            newest: i.newest,
            ok: i.ok,
        }));
    }
    print!("{}", render_status(&samples));
    Ok(code)
}

/// Writes `text` to `path` atomically: a temporary file in the same directory, readable
/// by all (node_exporter), renamed over `path`.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file = tempfile::Builder::new()
        .prefix(".s3napback-metrics")
        .tempfile_in(dir)?;
    file.write_all(text.as_bytes())?;
    file.as_file().sync_all()?;
    std::fs::set_permissions(
        file.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, outcome: Outcome, bytes: u64) -> ItemSummary {
        ItemSummary {
            config: "/etc/s3napback/a \"b\".conf".into(),
            bucket: "b".into(),
            kind: "Directory".into(),
            name: name.into(),
            outcome,
            prefix: None,
            bytes,
            chunks: 1,
            seconds: 1.5,
            reason: None,
            error: None,
        }
    }

    #[test]
    fn a_failed_item_keeps_its_last_success_and_labels_are_escaped() {
        let t0 = OffsetDateTime::from_unix_timestamp(1_794_452_400).unwrap();
        let stored = item("/etc", Outcome::Stored, 42);
        let first = render_run(&[&stored], 0, t0, "");
        assert!(first.contains(
            "s3napback_last_success_timestamp_seconds{config=\"/etc/s3napback/a \\\"b\\\".conf\",kind=\"Directory\",item=\"/etc\"} 1794452400\n"
        ), "{first}");
        let failed = item("/etc", Outcome::Failed, 0);
        let t1 = t0 + time::Duration::days(1);
        let second = render_run(&[&failed], 1, t1, &first);
        assert!(second.contains("item=\"/etc\"} 1794452400\n"), "{second}");
        assert!(second.contains("s3napback_last_run_success{"), "{second}");
        assert!(second.contains("item=\"/etc\"} 0\n"), "{second}");
        assert!(second.contains("s3napback_run_exit_status 1\n"), "{second}");
        assert!(second.contains(&format!("item=\"/etc\"}} {}\n", t1.unix_timestamp())));
    }
}
