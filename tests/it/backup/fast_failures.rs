//! The failure paths of the fast settings (`Compressor pigz`, which runs this program's
//! own `s3napback gzip` stage, and `GpgCompression no`), proven from the outside as
//! reused_slots does for the legacy commands. Two items are backed up on the 11th (FULL,
//! slot 0) and the 12th (DIFF, slot 1); then a run rewrites one of those slots while one
//! stage of the first item's pipeline fails. Afterwards: exit status 1; the ERROR names the
//! item and the failing stage; every object of the failing item is byte for byte what it
//! was (its old slot intact, nothing staged left); its DiffDir state file is unchanged and
//! its old slots still restore the day-12 state; the second item of the same run was
//! backed up all the same. And `s3napback gzip`, run as a program, writes what `gzip -d`
//! reads.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use s3napback::store::ReadStore;
use s3napback::store::keys::staging_dir;

use super::harness::bucket;
use super::harness::{Run, Site, gunzip, make_tree, noise, pipe_command, restored, tree, words};
use super::reused_slots::{Days, state_file, untrusted_copy};
use crate::support::clock::DAY_1;
use crate::support::tool;

/// Large enough that a stage of a big stream is caught while it runs.
const CHUNK: u64 = 256 << 10;

/// An item with the fast settings on a one-FULL, one-DIFF cycle.
fn fast_item(name: &str) -> String {
    format!(
        "<Directory {name}>\n\tDiffs 1\n\tFulls 1\n\tCompressor pigz\n\tGpgCompression no\n\
         </Directory>\n"
    )
}

/// Two fast items after two good days; the first one is made to fail.
struct Fast {
    days: Days,
    /// The failing item's source and name.
    src: PathBuf,
    name: String,
    /// The item that is backed up in the same run.
    other_src: PathBuf,
    other: String,
    /// Its config file: the main one, or `other.conf` named on the command line.
    other_conf: PathBuf,
    /// Arguments after `-c CONF` (the second config's NAME when it has its own).
    extra: Vec<String>,
    /// The failing item's tree as the day-12 backup holds it.
    day12: BTreeMap<String, Vec<u8>>,
    /// The bucket and the failing item's state file after day 12.
    before: BTreeMap<String, Vec<u8>>,
    state: Vec<u8>,
    other_state: Vec<u8>,
}

impl Fast {
    /// Both items in one config file.
    fn new() -> Fast {
        Fast::setup(false)
    }

    /// The second item in a config file of its own, unencrypted, `other` in
    /// S3NAPBACK_CONFIG_DIR, named on the command line after `-c`: one run, two config
    /// files, and gpg runs only for the first item.
    fn with_second_config() -> Fast {
        Fast::setup(true)
    }

    fn setup(second_config: bool) -> Fast {
        let mut site = Site::new();
        let src = site.path("src/tree");
        let other_src = site.path("src/other");
        make_tree(&src);
        make_tree(&other_src);
        let name = src.display().to_string();
        let other = other_src.display().to_string();
        let conf_dir = site.path("conf.d");
        fs::create_dir(&conf_dir).unwrap();
        let (body, extra) = if second_config {
            site.env.push((
                "S3NAPBACK_CONFIG_DIR".into(),
                conf_dir.display().to_string(),
            ));
            (fast_item(&name), vec!["other".to_string()])
        } else {
            (format!("{}{}", fast_item(&name), fast_item(&other)), vec![])
        };
        let days = Days::new(site, CHUNK, &body);
        let other_conf = if second_config {
            // the same globals but no encryption (gpg cannot fail there), the other item
            let text = fs::read_to_string(&days.conf).unwrap();
            let globals: String = text
                .split("<Directory")
                .next()
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with("GpgRecipient"))
                .map(|l| format!("{l}\n"))
                .collect();
            let conf = conf_dir.join("other.conf");
            fs::write(&conf, format!("{globals}{}", fast_item(&other))).unwrap();
            conf
        } else {
            days.conf.clone()
        };
        let mut fast = Fast {
            days,
            src,
            name,
            other_src,
            other,
            other_conf,
            extra,
            day12: BTreeMap::new(),
            before: BTreeMap::new(),
            state: Vec::new(),
            other_state: Vec::new(),
        };
        let run = fast.backup("2026-11-11");
        assert_eq!(run.status, 0, "{}", run.log);
        fs::write(fast.src.join("a.txt"), "alpha on the 12th\n").unwrap();
        fs::write(fast.other_src.join("a.txt"), "alpha on the 12th\n").unwrap();
        let run = fast.backup("2026-11-12");
        assert_eq!(run.status, 0, "{}", run.log);
        fast.day12 = tree(&fast.src);
        fast.before = bucket(&fast.days.store);
        fast.state = fs::read(state_file(&fast.days.site, &fast.name)).unwrap();
        fast.other_state = fs::read(state_file(&fast.days.site, &fast.other)).unwrap();
        // the other item changes, so its next backup differs from the one kept (a.txt
        // again: a DIFF on the 14th replaces the one of the 12th)
        fs::write(fast.other_src.join("a.txt"), "alpha after the 12th\n").unwrap();
        fs::write(fast.other_src.join("new.txt"), "new after the 12th\n").unwrap();
        fast
    }

    /// The arguments of a backup run.
    fn args(&self) -> Vec<&str> {
        let mut args = vec!["-c", self.days.conf.to_str().unwrap()];
        args.extend(self.extra.iter().map(String::as_str));
        args
    }

    /// Runs the backup at `date` 03:00 (the server's clock moved there too).
    fn backup(&self, date: &str) -> Run {
        let now = format!("{date} 03:00:00");
        self.days.set_now(&now);
        self.days.site.run(&self.args(), &now)
    }

    /// Runs the backup of `date`; once the failing item's stream is being staged for
    /// `slot` (`0-FULL`), finds the stage `is_stage` picks among the run's running
    /// children (by its argv in /proc) and SIGKILLs it.
    fn backup_killing(&self, date: &str, slot: &str, is_stage: fn(&[String]) -> bool) -> Run {
        let now = format!("{date} 03:00:00");
        self.days.set_now(&now);
        let log_path = self.days.site.path("killed-run.log");
        let log = File::create(&log_path).unwrap();
        let mut child = self
            .days
            .site
            .command(&self.args(), &now)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let staged = staging_dir(&format!("{}-{slot}", self.name));
        let deadline = Instant::now() + Duration::from_secs(120);
        let stages = loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "the run ended ({status}) before the stage was caught:\n{}",
                    fs::read_to_string(&log_path).unwrap()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the stage never ran while staging"
            );
            let running = children(child.id());
            let stage = running.iter().find(|(_, argv)| is_stage(argv));
            let staging = self
                .days
                .store
                .list(&staged)
                .is_ok_and(|staged| !staged.is_empty());
            if let (Some((pid, _)), true) = (stage, staging) {
                // SAFETY: a plain kill(2) of a process of this test's run.
                let sent = unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
                assert_eq!(sent, 0, "kill {pid}");
                break running;
            }
            std::thread::sleep(Duration::from_millis(30));
        };
        let status = child.wait().unwrap();
        let log = fs::read_to_string(&log_path).unwrap();
        // every stage was reaped: none outlives the run
        for (pid, argv) in stages {
            let left = Path::new(&format!("/proc/{pid}")).exists();
            assert!(!left, "{argv:?} outlived the run");
        }
        Run {
            status: status.code().unwrap_or(-1),
            log,
        }
    }

    /// Everything a failed run must leave as it was: see the module comment. `slot` is
    /// the slot the run rewrote (`0-FULL` or `1-DIFF`), `stage` the failing stage as the
    /// error names it, `state` the failing item's state file as it must still be.
    fn assert_failed_cleanly(&self, run: &Run, slot: &str, stage: &str, state: &[u8]) {
        let bucket_name = &self.days.server.bucket;
        assert_eq!(run.status, 1, "{}", run.log);
        run.expect(&format!(
            "ERROR Backup of Directory {} to {bucket_name}:{}-{slot} failed: {stage}",
            self.name, self.name
        ))
        .expect("was left as it was")
        .expect("the DiffDir state file was left as it was");
        // the failing item's objects, byte for byte; no staging left
        let other = format!("{}-", self.other);
        // the other item's slots and their stamps (`.s3napback/stamp/SLOT@...`)
        let other_stamp = format!(".s3napback/stamp/{other}");
        let not_other = |all: &BTreeMap<String, Vec<u8>>| -> BTreeMap<String, Vec<u8>> {
            all.iter()
                .filter(|(k, _)| !k.starts_with(&other) && !k.starts_with(&other_stamp))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let after = bucket(&self.days.store);
        let (kept, was) = (not_other(&after), not_other(&self.before));
        assert_eq!(
            kept.keys().collect::<Vec<_>>(),
            was.keys().collect::<Vec<_>>(),
            "{}",
            run.log
        );
        assert!(kept == was, "an object's bytes changed\n{}", run.log);
        assert_eq!(
            fs::read(state_file(&self.days.site, &self.name)).unwrap(),
            state,
            "the state file changed\n{}",
            run.log
        );
        // the old FULL and DIFF still give the day-12 tree
        let out = self.restore(&self.days.conf, &self.name);
        assert_eq!(tree(&restored(&out, &self.src)), self.day12);

        // the other item of the run was backed up: a new slot, its state file advanced
        run.expect(&format!("{bucket_name}:{}-{slot}: stored", self.other));
        assert!(
            after
                .iter()
                .any(|(k, v)| k.starts_with(&other) && self.before.get(k) != Some(v)),
            "the other item's slot was not replaced\n{}",
            run.log
        );
        assert_ne!(
            fs::read(state_file(&self.days.site, &self.other)).unwrap(),
            self.other_state
        );
        let out = self.restore(&self.other_conf, &self.other);
        assert_eq!(
            tree(&restored(&out, &self.other_src)),
            tree(&self.other_src)
        );
    }

    /// `s3napback restore -c CONF --into DIR ITEM` into a fresh DIR; panics unless it
    /// succeeds.
    fn restore(&self, conf: &Path, item: &str) -> PathBuf {
        let out = self.days.site.path("restored");
        let _ = fs::remove_dir_all(&out);
        let run = self.days.site.run(
            &[
                "restore",
                "-c",
                conf.to_str().unwrap(),
                "--into",
                out.to_str().unwrap(),
                item,
            ],
            &self.days.now(),
        );
        assert_eq!(run.status, 0, "{}", run.log);
        out
    }

    /// A file of `bytes` text-like bytes in the failing item: slow to deflate, so its
    /// stream runs long enough to be caught.
    fn add_big_file(&self, bytes: usize) {
        fs::write(self.src.join("big.txt"), words(bytes, 17)).unwrap();
    }
}

/// The running (not yet exited) children of process `parent`: (pid, argv) from /proc.
fn children(parent: u32) -> Vec<(u32, Vec<String>)> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(status) = fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let ppid = status
            .lines()
            .find_map(|l| l.strip_prefix("PPid:"))
            .and_then(|p| p.trim().parse::<u32>().ok());
        let exited = status.lines().any(|l| l.starts_with("State:\tZ"));
        if ppid != Some(parent) || exited {
            continue;
        }
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let argv = cmdline
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        found.push((pid, argv));
    }
    found
}

/// `.../s3napback gzip`: the `Compressor pigz` stage.
fn is_gzip_stage(argv: &[String]) -> bool {
    argv.len() == 2
        && argv[1] == "gzip"
        && Path::new(&argv[0]).file_name() == Some("s3napback".as_ref())
}

fn is_gpg(argv: &[String]) -> bool {
    argv.first().map(String::as_str) == Some("gpg")
}

#[test]
fn a_missing_directory_keeps_the_old_full() {
    let fast = Fast::new();
    fs::rename(&fast.src, fast.days.site.path("src/moved")).unwrap();
    let run = fast.backup("2026-11-13");
    fast.assert_failed_cleanly(
        &run,
        "0-FULL",
        "`tar` (pipeline stage 0) failed with exit status 2",
        &fast.state,
    );
    run.expect("Cannot stat: No such file or directory");
}

#[test]
fn a_fatal_tar_error_keeps_the_old_diff() {
    let mut fast = Fast::new();
    // The FULL of the 13th: the DIFF of the 12th is then no longer in the restore chain
    // and the 14th rewrites it as a DIFF (see backup::chain).
    let run = fast.backup("2026-11-13");
    assert_eq!(run.status, 0, "{}", run.log);
    fast.before = bucket(&fast.days.store);
    // A damaged snapshot file: GNU tar stops with "Error is not recoverable" (exit 2).
    let state_path = state_file(&fast.days.site, &fast.name);
    fs::write(&state_path, "GNU tar-1.35-2\n").unwrap();
    fs::write(fast.src.join("a.txt"), "alpha on the 14th\n").unwrap();
    let run = fast.backup("2026-11-14");
    fast.assert_failed_cleanly(
        &run,
        "1-DIFF",
        "`tar` (pipeline stage 0) failed with exit status 2",
        b"GNU tar-1.35-2\n",
    );
}

#[test]
fn gpg_failing_on_a_broken_keyring_keeps_the_old_full() {
    let fast = Fast::with_second_config();
    // GpgKeyring names a damaged keyring: the recipient is still found in the default
    // one, and gpg writes a whole encrypted stream, but exits with status 2.
    let keyring = fast.days.site.path("broken.kbx");
    fs::write(&keyring, noise(3000, 5)).unwrap();
    let mut conf = fs::read_to_string(&fast.days.conf).unwrap();
    conf.push_str(&format!("GpgKeyring {}\n", keyring.display()));
    fs::write(&fast.days.conf, conf).unwrap();
    let run = fast.backup("2026-11-13");
    fast.assert_failed_cleanly(
        &run,
        "0-FULL",
        "`gpg` (pipeline stage 2) failed with exit status 2",
        &fast.state,
    );
    run.expect("keydb_search failed");
}

#[test]
fn gpg_refusing_the_key_is_the_cause_not_the_gzip_stage_it_cut_off() {
    let mut fast = Fast::with_second_config();
    // gpg exits at once; the gzip stage, still compressing, dies writing to it
    fast.add_big_file(8 << 20);
    let untrusted = untrusted_copy(&fast.days.site.gpg);
    fast.days
        .site
        .env
        .push(("GNUPGHOME".into(), untrusted.path_str()));
    let run = fast.backup("2026-11-13");
    fast.days.site.env.pop();
    fast.assert_failed_cleanly(
        &run,
        "0-FULL",
        "`gpg` (pipeline stage 2) failed with exit status 2",
        &fast.state,
    );
    assert!(
        !run.log.contains("(pipeline stage 1) failed"),
        "{}",
        run.log
    );
}

#[test]
fn the_gzip_stage_killed_mid_stream_keeps_the_old_full() {
    let fast = Fast::new();
    fast.add_big_file(48 << 20);
    let run = fast.backup_killing("2026-11-13", "0-FULL", is_gzip_stage);
    fast.assert_failed_cleanly(
        &run,
        "0-FULL",
        "`s3napback gzip` (pipeline stage 1) failed with killed by signal 9",
        &fast.state,
    );
}

#[test]
fn gpg_killed_is_the_cause_not_the_gzip_stage_it_cut_off() {
    let fast = Fast::new();
    fast.add_big_file(48 << 20);
    let run = fast.backup_killing("2026-11-13", "0-FULL", is_gpg);
    fast.assert_failed_cleanly(
        &run,
        "0-FULL",
        "`gpg` (pipeline stage 2) failed with killed by signal 9",
        &fast.state,
    );
    // the gzip stage died of the closed pipe; it is not what the error blames
    assert!(
        !run.log.contains("(pipeline stage 1) failed"),
        "{}",
        run.log
    );
}

/// `s3napback gzip` as a pipeline runs it: stdin to stdout through the real binary.
fn gzip_stage(input: &[u8]) -> Vec<u8> {
    pipe_command(tool::command(["gzip"], DAY_1), input)
}

/// What `gzip -dc` makes of `s3napback gzip`'s output of `input` (GNU gzip fails on
/// anything but a clean gzip stream, trailing garbage included).
fn round_trip(input: &[u8]) {
    let compressed = gzip_stage(input);
    assert_eq!(&compressed[..2], &[0x1f, 0x8b], "a gzip stream");
    let back = gunzip(&compressed);
    assert!(
        back == input,
        "gzip -dc gave {} bytes of {}",
        back.len(),
        input.len()
    );
    // and `gzip -t` finds nothing to say
    let tested = std::process::Command::new("gzip")
        .arg("-t")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(&compressed)?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(tested.status.success(), "{tested:?}");
    assert!(tested.stderr.is_empty(), "{tested:?}");
}

#[test]
fn the_gzip_stage_writes_what_gzip_d_reads_at_the_edges() {
    const BLOCK: usize = 1 << 20;
    // nothing at all
    round_trip(b"");
    // exactly one block, of text and of incompressible bytes
    round_trip(&words(BLOCK, 3));
    round_trip(&noise(BLOCK, 4));
    // a block boundary in the middle of an incompressible run (which is stored), the run
    // not aligned to the 64 KiB segments either
    let mut data = words(BLOCK - 100_000 - 123, 5);
    data.extend(noise(200_000, 6));
    data.extend(words(BLOCK / 2 + 77, 7));
    round_trip(&data);
}
