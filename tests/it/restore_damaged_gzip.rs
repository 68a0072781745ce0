//! `s3napback restore` of slots whose OpenPGP layer is sound but whose gzip data is not:
//! a byte flipped inside the stream, or the stream cut short, then encrypted by the real
//! gpg and stored as a slot. The streams come from the real GNU gzip and from
//! `s3napback gzip` (`Compressor pigz`, whose incompressible runs are stored, so that only
//! the CRC tells a flipped byte there). Every restore fails with exit status 1 and an error
//! that names the slot and says its gzip data is damaged; nothing is written outside
//! `--into` (nor in the working directory); a dump restored with `--to-stdout` fails the
//! same way.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::backup::harness::pipe_command;
use crate::backup::harness::{noise, words};
use crate::restore::{Setup, encrypt, put_stream, run_with_input, setup, stderr};
use crate::support::clock::{DAY_1, DAY_2};
use crate::support::gpg::GpgHome;
use crate::support::tool;

/// Text, then incompressible bytes, then text: a dump with a binary column, a tree with
/// a compressed file.
fn mixed(seed: u64) -> Vec<u8> {
    let mut data = words(300_000, seed);
    data.extend(noise(300_000, seed as u32));
    data.extend(words(300_000, seed + 1));
    data
}

/// A tar stream (GNU tar) of `t/` holding text, incompressible bytes and text.
fn tar_stream(work: &Path, seed: u64) -> Vec<u8> {
    let src = work.join(format!("src{seed}"));
    fs::create_dir_all(src.join("t")).unwrap();
    fs::write(src.join("t/a.txt"), words(300_000, seed)).unwrap();
    fs::write(src.join("t/r.bin"), noise(300_000, seed as u32)).unwrap();
    fs::write(src.join("t/b.txt"), words(300_000, seed + 1)).unwrap();
    let out = Command::new("tar")
        .current_dir(&src)
        .args(["-c", "-f", "-", "t"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    out.stdout
}

/// How a gzip stream is made and damaged.
#[derive(Clone, Copy, Debug)]
enum Damage {
    /// GNU gzip, one byte flipped half-way.
    GzipFlipped,
    /// `s3napback gzip`, one byte flipped inside a stored (incompressible) run.
    StoredRunFlipped,
    /// GNU gzip, cut at 60 %.
    GzipCut,
    /// `s3napback gzip`, cut at 60 % (inside a member).
    StageCut,
}

const DAMAGES: [Damage; 4] = [
    Damage::GzipFlipped,
    Damage::StoredRunFlipped,
    Damage::GzipCut,
    Damage::StageCut,
];

/// `data` compressed and damaged as `damage` says; checks that GNU gzip refuses it.
fn damaged(data: &[u8], damage: Damage) -> Vec<u8> {
    let ours = matches!(damage, Damage::StoredRunFlipped | Damage::StageCut);
    let mut gz = if ours {
        pipe_command(tool::command(["gzip"], DAY_1), data)
    } else {
        run_with_input(&["gzip".to_string(), "-c".into()], data)
    };
    match damage {
        Damage::GzipFlipped => {
            let at = gz.len() / 2;
            gz[at] ^= 0x10;
        }
        Damage::StoredRunFlipped => {
            // the incompressible bytes are in the stream as they are
            let start = data.len() / 2;
            let at = gz
                .windows(64)
                .position(|w| w == &data[start..start + 64])
                .expect("a stored run");
            gz[at + 10] ^= 0x10;
        }
        Damage::GzipCut | Damage::StageCut => gz.truncate(gz.len() * 6 / 10),
    }
    assert!(!gzip_accepts(&gz), "{damage:?}: gzip -t takes it");
    gz
}

/// Whether `gzip -t` finds `data` sound.
fn gzip_accepts(data: &[u8]) -> bool {
    let mut child = Command::new("gzip")
        .arg("-t")
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let feeder = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(&data);
    });
    let status = child.wait().unwrap();
    feeder.join().unwrap();
    status.success()
}

/// `s3napback ARGS -c CONF REST` run in `cwd`, a day after the slots were stored.
fn s3napback_in(setup: &Setup, gpg: &GpgHome, cwd: &Path, args: &[&str]) -> Output {
    let conf = setup.conf.to_str().unwrap();
    let mut all = vec![args[0], "-c", conf];
    all.extend_from_slice(&args[1..]);
    tool::command(all, DAY_2)
        .current_dir(cwd)
        .env("GNUPGHOME", gpg.path())
        .output()
        .unwrap()
}

/// The restore's error says the gzip data of `slot` is damaged, and why, once.
fn assert_damage_reported(log: &str, slot: &str, damage: Damage) {
    let said = format!("failed in s3napback-test:{slot}: its gzip data is damaged: ");
    let Some((_, rest)) = log.split_once(&said) else {
        panic!("{damage:?}: {log}");
    };
    let why: Vec<&str> = rest.split(';').next().unwrap().split(": ").collect();
    assert!(why.windows(2).all(|w| w[0] != w[1]), "{damage:?}: {log}");
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_directory_slot_with_damaged_gzip_data_fails_and_writes_only_inside_into() {
    let gpg = GpgHome::new();
    let setup = setup("", true);
    let work = setup.dir.path();
    let cwd = work.join("cwd");
    fs::create_dir(&cwd).unwrap();
    for (n, damage) in DAMAGES.into_iter().enumerate() {
        let stream = damaged(&tar_stream(work, n as u64 + 1), damage);
        let encrypted = encrypt(&gpg, &stream);
        // the OpenPGP layer itself is sound
        assert!(
            run_with_input(&gpg.argv(&["-d"]), &encrypted) == stream,
            "{damage:?}"
        );
        let item = format!("/damaged{n}");
        put_stream(&setup.store, &format!("{item}-1-FULL"), &encrypted);

        let parent = work.join(format!("out{n}"));
        let into = parent.join("into");
        let out = s3napback_in(
            &setup,
            &gpg,
            &cwd,
            &["restore", "--into", into.to_str().unwrap(), &item],
        );
        let log = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{damage:?}: {log}");
        assert_damage_reported(&log, &format!("{item}-1-FULL"), damage);
        assert!(
            log.contains(&format!("{} may hold a partial restore", into.display())),
            "{damage:?}: {log}"
        );
        assert_eq!(entries(&parent), ["into"], "{damage:?}");
        assert!(entries(&cwd).is_empty(), "{damage:?}");
        // what tar wrote is inside, under the archive's own names
        assert!(entries(&into).iter().all(|e| e == "t"), "{damage:?}");
    }
}

#[test]
fn a_dump_with_damaged_gzip_data_fails_on_stdout_naming_the_slot() {
    let gpg = GpgHome::new();
    let items: String = (0..DAMAGES.len())
        .map(|n| format!("MySQL db{n}\n"))
        .collect();
    let setup = setup(&items, true);
    let cwd = setup.dir.path().join("cwd");
    fs::create_dir(&cwd).unwrap();
    for (n, damage) in DAMAGES.into_iter().enumerate() {
        let dump = mixed(n as u64 + 11);
        let slot = format!("MySQL/db{n}-1");
        put_stream(&setup.store, &slot, &encrypt(&gpg, &damaged(&dump, damage)));
        let out = s3napback_in(
            &setup,
            &gpg,
            &cwd,
            &["restore", "--to-stdout", &format!("db{n}")],
        );
        let log = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{damage:?}: {log}");
        assert_damage_reported(&log, &slot, damage);
        assert!(
            log.contains("the standard output may hold a partial restore"),
            "{damage:?}: {log}"
        );
        assert!(out.stdout != dump, "{damage:?}: the whole dump came out");
        assert!(entries(&cwd).is_empty(), "{damage:?}");
    }
}

#[test]
fn a_dump_with_damaged_gzip_data_restored_into_a_file_fails_naming_the_slot() {
    let gpg = GpgHome::new();
    let items: String = (0..DAMAGES.len())
        .map(|n| format!("MySQL db{n}\n"))
        .collect();
    let setup = setup(&items, true);
    let cwd = setup.dir.path().join("cwd");
    fs::create_dir(&cwd).unwrap();
    let parent = setup.dir.path().join("out");
    fs::create_dir(&parent).unwrap();
    for (n, damage) in DAMAGES.into_iter().enumerate() {
        let dump = mixed(n as u64 + 21);
        let slot = format!("MySQL/db{n}-1");
        put_stream(&setup.store, &slot, &encrypt(&gpg, &damaged(&dump, damage)));
        let into = parent.join(format!("db{n}.sql"));
        let out = s3napback_in(
            &setup,
            &gpg,
            &cwd,
            &[
                "restore",
                "--into",
                into.to_str().unwrap(),
                &format!("db{n}"),
            ],
        );
        let log = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{damage:?}: {log}");
        assert_damage_reported(&log, &slot, damage);
        assert!(
            log.contains(&format!("{} may hold a partial restore", into.display())),
            "{damage:?}: {log}"
        );
        // whatever the file holds, it is not the whole dump
        assert!(fs::read(&into).unwrap_or_default() != dump, "{damage:?}");
        assert!(out.stdout.is_empty(), "{damage:?}");
        assert!(entries(&cwd).is_empty(), "{damage:?}");
    }
    let names: Vec<String> = (0..DAMAGES.len()).map(|n| format!("db{n}.sql")).collect();
    assert!(
        entries(&parent).iter().all(|e| names.contains(e)),
        "{:?}",
        entries(&parent)
    );
}
