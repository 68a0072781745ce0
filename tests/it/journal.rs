//! The journal in DiffDir (issue 23, doc/operating.md "The journal"): someone who can
//! only write to the bucket cannot make a night skip, cannot crash or stall a run or a
//! restore, and every key this host did not write is reported as `TAMPERED` (exit 1)
//! while the night is still backed up. On real S3 servers (moto, and Garage where it
//! applies), with a real tar, gzip and gpg pipeline.

use std::fs;
use std::path::PathBuf;

use bytes::Bytes;
use s3napback::store::{ReadStore, Store};

use crate::backup::harness::{Run, Site, make_tree, restored, tree};
use crate::support::s3::{S3Server, garage, moto};

/// A Directory item in a 7-slot cycle (Diffs 6, Fulls 1): on 2026-11-11 its slot is
/// `-6-DIFF`, on 2026-11-12 `-0-FULL`, on 2026-11-13 `-1-DIFF`.
struct Nights {
    site: Site,
    server: S3Server,
    conf: PathBuf,
    src: PathBuf,
    name: String,
}

impl Nights {
    fn new(server: S3Server) -> Nights {
        let site = Site::new();
        let src = site.path("src/tree");
        make_tree(&src);
        let name = src.display().to_string();
        let body = format!("<Directory {name}>\n\tDiffs 6\n\tFulls 1\n</Directory>\n");
        server.set_clock("2026-11-10 03:00:00");
        // the bucket (each look at the server connects afresh: see `plant`)
        server.store();
        let conf = site.config(&server, 1000, true, &body);
        Nights {
            site,
            server,
            conf,
            src,
            name,
        }
    }

    fn run(&self, command: &[&str], now: &str) -> Run {
        let mut args = command.to_vec();
        args.extend(["-c", self.conf.to_str().unwrap()]);
        let run = self.site.run(&args, now);
        assert!(
            ![101, 134, -1].contains(&run.status),
            "{command:?} crashed ({}):\n{}",
            run.status,
            run.log
        );
        run
    }

    fn backup(&self, date: &str) -> Run {
        self.run(&[], &format!("{date} 03:00:00"))
    }

    /// Plants `body` under `key` as someone with the bucket's S3 key would (at `now` on
    /// the server's clock).
    fn plant(&self, key: &str, body: &[u8], now: &str) {
        self.server.set_clock(now);
        // a fresh connection: the client corrects its signing time by the server's clock
        // as it last saw it, and Garage refuses a request dated a day before its own
        self.server
            .store()
            .put(key, Bytes::copy_from_slice(body))
            .unwrap();
    }

    /// How the server lists `key`.
    fn listed(&self, key: &str) -> String {
        // a fresh connection, as in `plant`: its key-style probe must reach Garage
        self.server.store().physical_key(key)
    }

    fn journal(&self) -> PathBuf {
        self.site
            .diff_dir()
            .join(format!("{}.diff.journal", self.name.replace('/', "_")))
    }

    /// Restores the item as of the last run; the tree must equal the source now.
    fn assert_restores(&self, now: &str) {
        let out = self.site.path("restored");
        let _ = fs::remove_dir_all(&out);
        let run = self.run(
            &["restore", "--into", out.to_str().unwrap(), &self.name],
            now,
        );
        assert_eq!(run.status, 0, "{}", run.log);
        assert_eq!(
            tree(&restored(&out, &self.src)),
            tree(&self.src),
            "{}",
            run.log
        );
    }

    fn size_of(&self, key: &str) -> Option<u64> {
        let listed = self.listed(key);
        self.server
            .store()
            .list(&listed)
            .unwrap()
            .into_iter()
            .find(|o| o.key == listed)
            .map(|o| o.size)
    }
}

fn tampered(run: &Run, key: &str, why: &str) {
    run.expect(&format!("ERROR TAMPERED: {key}: {why}"));
}

fn a_planted_night_key_is_backed_up_anyway_and_reported(server: S3Server) {
    let n = Nights::new(server);
    let first = n.backup("2026-11-11");
    assert_eq!(first.status, 0, "{}", first.log);
    first
        .expect(&format!("{}-6-DIFF", n.name))
        .expect(&format!("the journal {} starts now", n.journal().display()));
    let journal = fs::read_to_string(n.journal()).unwrap();
    assert!(
        journal.starts_with("s3napback journal 1\n") && journal.ends_with("end\n"),
        "{journal}"
    );
    assert!(
        journal.contains(&format!("slot {}-6-DIFF type=DIFF ", n.name)),
        "{journal}"
    );

    // One byte under tonight's slot key, before the run (LastModified: tonight).
    let planted = format!("{}-0-FULL:00000000000000000000", n.name);
    n.plant(&planted, b"x", "2026-11-12 02:00:00");
    fs::write(n.src.join("a.txt"), "alpha on the 12th\n").unwrap();
    let night = n.backup("2026-11-12");
    assert_eq!(night.status, 1, "{}", night.log);
    assert!(
        !night.log.contains("-- already done today"),
        "{}",
        night.log
    );
    tampered(&night, &n.listed(&planted), "not written by this host");
    night.expect(&format!("{}:{}-0-FULL: stored", n.server.bucket, n.name));
    assert!(
        n.size_of(&planted).unwrap() > 1,
        "the night's stream replaced it"
    );
    n.assert_restores("2026-11-12 04:00:00");

    // The night is done now, by the journal: a rerun skips it and reports nothing.
    let rerun = n.backup("2026-11-12");
    assert_eq!(rerun.status, 0, "{}", rerun.log);
    assert!(
        rerun.log.contains("-- already done today")
            || rerun.log.contains("already performed today"),
        "{}",
        rerun.log
    );
    assert!(!rerun.log.contains("TAMPERED"), "{}", rerun.log);
    let status = n.run(&["status"], "2026-11-12 05:00:00");
    assert_eq!(status.status, 0, "{}", status.log);
}

#[test]
fn a_planted_night_key_is_backed_up_anyway_and_reported_on_moto() {
    a_planted_night_key_is_backed_up_anyway_and_reported(moto());
}

#[test]
fn a_planted_night_key_is_backed_up_anyway_and_reported_on_garage() {
    a_planted_night_key_is_backed_up_anyway_and_reported(garage());
}

/// A marker claiming 2^40 chunks of a stream that is not there.
fn marker_bomb(slot: &str) -> Vec<u8> {
    format!(
        r#"{{"slot":"{slot}","staging":".s3napback/staging/{slot}/1-1","chunks":1099511627776}}"#
    )
    .into_bytes()
}

/// The huge slot number and the marker bomb, planted before the first run (no journal
/// yet) and again after: no run, restore, status or list crashes, allocates or stalls;
/// the nights are stored and restore; the planted keys are ignored with one WARN, the
/// marker is reported and left, nothing planted is deleted.
#[test]
fn huge_slot_numbers_and_a_marker_bomb_crash_no_run_and_no_restore() {
    let n = Nights::new(moto());
    let huge = format!("{}-9223372036854775807-DIFF:00000000000000000000", n.name);
    let beyond = format!("{}-57-FULL:00000000000000000000", n.name);
    let bomb = format!(".s3napback/commit/{}-3-DIFF", n.name);
    n.plant(&huge, b"x", "2026-11-11 01:00:00");
    n.plant(&beyond, b"y", "2026-11-11 01:00:00");
    n.plant(
        &bomb,
        &marker_bomb(&format!("{}-3-DIFF", n.name)),
        "2026-11-11 01:00:00",
    );

    // No journal yet: the run stores the night, the keys outside the cycle get one WARN,
    // the marker cannot be finished (it names chunks the bucket does not hold).
    let first = n.backup("2026-11-11");
    first
        .expect(&format!(
            "WARN Directory {}: ignoring 2 keys whose slot number is outside its cycle (0 to 6): ",
            n.name
        ))
        .expect(&n.listed(&huge))
        .expect(&n.listed(&beyond))
        .expect("it names 1099511627776 chunks, but the bucket holds 0 of its stream")
        .expect(&format!("{}:{}-6-DIFF: stored", n.server.bucket, n.name));
    assert_eq!(
        first.log.matches("outside its cycle").count(),
        1,
        "{}",
        first.log
    );
    n.assert_restores("2026-11-11 04:00:00");

    // With the journal: every planted key is reported, the night is still stored.
    fs::write(n.src.join("a.txt"), "alpha on the 12th\n").unwrap();
    let night = n.backup("2026-11-12");
    assert_eq!(night.status, 1, "{}", night.log);
    tampered(&night, &n.listed(&huge), "not written by this host");
    tampered(&night, &n.listed(&beyond), "not written by this host");
    tampered(
        &night,
        &bomb,
        "not written by this host (a commit marker DiffDir holds no copy of; it is not finished)",
    );
    night.expect(&format!("{}:{}-0-FULL: stored", n.server.bucket, n.name));
    n.assert_restores("2026-11-12 04:00:00");
    for key in [&huge, &beyond] {
        assert_eq!(n.size_of(key), Some(1), "{key} is left as it was");
    }
    assert!(n.size_of(&bomb).is_some(), "the marker is left");

    let status = n.run(&["status"], "2026-11-12 05:00:00");
    assert_eq!(status.status, 1, "{}", status.log);
    status.expect(&format!(
        "Directory {}: TAMPERED: {}: not written by this host",
        n.name,
        n.listed(&huge)
    ));
    for format in [&["list"][..], &["list", "--json"], &["list", "--js3tream"]] {
        let list = n.run(format, "2026-11-12 05:00:00");
        assert_eq!(list.status, 0, "{format:?}: {}", list.log);
    }
}

/// A marker of a slot this host is not writing tonight, with no copy in DiffDir: reported
/// by the run and by `status`, neither finished nor deleted, and the slot it names keeps
/// the backup it held. A damaged journal is an ERROR naming the file.
#[test]
fn an_unknown_marker_is_reported_and_left() {
    let n = Nights::new(moto());
    assert_eq!(n.backup("2026-11-11").status, 0);
    // a genuine-looking marker naming the slot the 11th wrote, and a staged "stream"
    let slot = format!("{}-6-DIFF", n.name);
    let staging = format!(".s3napback/staging/{slot}/1-1");
    n.plant(
        &format!("{staging}:00000000000000000000"),
        b"evil",
        "2026-11-12 01:00:00",
    );
    let marker = format!(".s3napback/commit/{slot}");
    let body = format!(r#"{{"slot":"{slot}","staging":"{staging}","chunks":1}}"#);
    n.plant(&marker, body.as_bytes(), "2026-11-12 01:00:00");
    let before = n.size_of(&format!("{slot}:00000000000000000000"));

    let night = n.backup("2026-11-12");
    assert_eq!(night.status, 1, "{}", night.log);
    tampered(&night, &marker, "not written by this host (a commit marker");
    tampered(
        &night,
        &n.listed(&format!("{staging}:00000000000000000000")),
        "not written by this host",
    );
    assert!(
        !night.log.contains("finished replacing it"),
        "{}",
        night.log
    );
    assert!(n.size_of(&marker).is_some(), "the marker is left");
    assert_eq!(n.size_of(&format!("{slot}:00000000000000000000")), before);
    let status = n.run(&["status"], "2026-11-12 05:00:00");
    assert_eq!(status.status, 1, "{}", status.log);
    status.expect(&format!("TAMPERED: {marker}: not written by this host"));

    // a journal cut in half: a clear error naming the file, never a crash
    let text = fs::read_to_string(n.journal()).unwrap();
    fs::write(n.journal(), &text[..text.len() / 2]).unwrap();
    let damaged = n.backup("2026-11-13");
    assert_eq!(damaged.status, 1, "{}", damaged.log);
    damaged.expect(&format!(
        "journal {} is damaged at line",
        n.journal().display()
    ));
}
