//! Pipelines of real tools: tar, gpg, gzip, mysqldump, pg_dump, svnadmin.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use s3napback::backup::snapshot::{Committed, SnapshotWork};
use s3napback::process::pipeline::{Output, Pipeline, PipelineError};

use crate::support::db::{MariaDb, Postgres};
use crate::support::gpg::{self, GpgHome};
use crate::support::svn::SvnRepo;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn p(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

/// The legacy Directory source: `tar -f - -g SNAP -C / -czp NAME`.
fn tar_stage(snap: &Path, name: &Path) -> Vec<String> {
    let mut v = s(&["tar", "-f", "-", "-g"]);
    v.push(p(snap));
    v.extend(s(&["-C", "/", "-czp"]));
    v.push(p(name));
    v
}

fn run_to_bytes(stages: &[Vec<String>]) -> Result<Vec<u8>, PipelineError> {
    let mut pipe = Pipeline::start(stages, Output::Reader)?;
    let mut out = Vec::new();
    pipe.read_to_end(&mut out).expect("read pipeline output");
    pipe.finish().map(|_| out)
}

/// Restores one archive as LEGACY.md §12 says: `gpg -d | tar -xz -g /dev/null -C OUT`.
fn restore(home: &GpgHome, archive: &Path, out: &Path) {
    let mut gpg = home.argv(&["-d"]);
    gpg.push(p(archive));
    let mut tar = s(&["tar", "-xz", "-g", "/dev/null", "-C"]);
    tar.push(p(out));
    let mut pipe = Pipeline::start(&[gpg, tar], Output::Reader).unwrap();
    let mut rest = Vec::new();
    pipe.read_to_end(&mut rest).unwrap();
    pipe.finish().expect("restore pipeline");
}

/// Relative path -> file content (None for directories) of a whole tree.
fn tree(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    fn walk(root: &Path, dir: &Path, map: &mut BTreeMap<PathBuf, Option<Vec<u8>>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if path.is_dir() {
                map.insert(rel, None);
                walk(root, &path, map);
            } else {
                map.insert(rel, Some(fs::read(&path).unwrap()));
            }
        }
    }
    let mut map = BTreeMap::new();
    walk(root, root, &mut map);
    map
}

fn sample_tree(root: &Path) {
    fs::create_dir_all(root.join("sub/deeper")).unwrap();
    fs::write(root.join("a.txt"), "alpha\n").unwrap();
    fs::write(
        root.join("sub/b.bin"),
        (0..=255u8).cycle().take(100_000).collect::<Vec<_>>(),
    )
    .unwrap();
    fs::write(root.join("sub/deeper/c.txt"), "gamma\n").unwrap();
}

#[test]
fn tar_gpg_full_then_diff_restores_an_equal_tree() {
    let home = GpgHome::new();
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("data");
    sample_tree(&src);
    let diffdir = work.path().join("diffdir");
    fs::create_dir(&diffdir).unwrap();
    let snap = diffdir.join(format!("{}.diff", p(&src).replace('/', "_")));
    let gpg = home.argv(&["-r", gpg::RECIPIENT, "-e"]);

    // FULL: the snapshot work file does not exist, tar makes a level-0 archive.
    let full = SnapshotWork::begin(&snap, true).unwrap();
    let full_bytes = run_to_bytes(&[tar_stage(full.work_path(), &src), gpg.clone()]).unwrap();
    assert!(!full_bytes.is_empty());
    assert_eq!(full.commit().unwrap(), Committed::Replaced);
    assert!(snap.exists());

    // DIFF: change, add and delete files.
    fs::write(src.join("a.txt"), "alpha changed\n").unwrap();
    fs::write(src.join("new.txt"), "new\n").unwrap();
    fs::remove_file(src.join("sub/deeper/c.txt")).unwrap();
    // tar compares mtimes with one-second precision
    std::thread::sleep(Duration::from_millis(1100));
    fs::write(src.join("a.txt"), "alpha changed again\n").unwrap();
    let diff = SnapshotWork::begin(&snap, false).unwrap();
    let diff_bytes = run_to_bytes(&[tar_stage(diff.work_path(), &src), gpg]).unwrap();
    diff.commit().unwrap();
    assert!(
        diff_bytes.len() < full_bytes.len(),
        "a DIFF holds only the changes"
    );

    let full_file = work.path().join("full.gpg");
    let diff_file = work.path().join("diff.gpg");
    fs::write(&full_file, &full_bytes).unwrap();
    fs::write(&diff_file, &diff_bytes).unwrap();
    let out = work.path().join("out");
    fs::create_dir(&out).unwrap();
    restore(&home, &full_file, &out);
    restore(&home, &diff_file, &out);
    let restored = out.join(src.strip_prefix("/").unwrap());
    assert_eq!(tree(&restored), tree(&src));
}

#[test]
fn failing_tar_is_reported_and_snapshot_stays() {
    let home = GpgHome::new();
    let work = tempfile::tempdir().unwrap();
    let snap = work.path().join("snap.diff");
    let src = work.path().join("data");
    sample_tree(&src);
    let first = SnapshotWork::begin(&snap, true).unwrap();
    run_to_bytes(&[tar_stage(first.work_path(), &src)]).unwrap();
    first.commit().unwrap();
    let before = fs::read(&snap).unwrap();
    let missing = work.path().join("no-such-dir");
    let pending = SnapshotWork::begin(&snap, false).unwrap();
    let err = run_to_bytes(&[
        tar_stage(pending.work_path(), &missing),
        home.argv(&["-r", gpg::RECIPIENT, "-e"]),
    ])
    .unwrap_err();
    drop(pending);
    match &err {
        PipelineError::StageFailed {
            stage,
            program,
            status,
            stderr_tail,
        } => {
            assert_eq!((*stage, program.as_str()), (0, "tar"));
            assert_eq!(status, "exit status 2");
            assert!(stderr_tail.contains("no-such-dir"), "{stderr_tail}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("tar") && text.contains("exit status 2") && text.contains("no-such-dir"));
    assert_eq!(fs::read(&snap).unwrap(), before);
}

#[test]
fn gpg_with_unknown_recipient_fails_instead_of_an_empty_stream() {
    let home = GpgHome::new();
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("data");
    sample_tree(&src);
    let err = run_to_bytes(&[
        tar_stage(&work.path().join("snap"), &src),
        home.argv(&["-r", "nobody@example.com", "-e"]),
    ])
    .unwrap_err();
    assert!(
        matches!(&err, PipelineError::StageFailed { stage: 1, program, stderr_tail, .. }
            if program == "gpg" && stderr_tail.contains("nobody@example.com")),
        "{err}"
    );
}

#[test]
fn gpg_decrypt_with_the_wrong_key_fails() {
    let home = GpgHome::new();
    let wrong = GpgHome::other();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("x.gpg");
    let mut enc = home.argv(&["-r", gpg::RECIPIENT, "-o"]);
    enc.push(p(&file));
    enc.extend(s(&["-e", "/etc/hostname"]));
    run_to_bytes(&[enc]).unwrap();
    let mut dec = wrong.argv(&["-d"]);
    dec.push(p(&file));
    let err = run_to_bytes(&[dec]).unwrap_err();
    assert!(
        matches!(&err, PipelineError::StageFailed { program, .. } if program == "gpg"),
        "{err}"
    );
}

#[test]
fn names_with_spaces_quotes_and_semicolons_stay_one_argument() {
    let home = GpgHome::new();
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("a b;c'd \"e\" $(touch pwned)");
    sample_tree(&src);
    fs::write(src.join("x; rm -rf y"), "still a file\n").unwrap();
    let bytes = run_to_bytes(&[
        tar_stage(&work.path().join("snap;x"), &src),
        home.argv(&["-r", gpg::RECIPIENT, "-e"]),
    ])
    .unwrap();
    let archive = work.path().join("archive.gpg");
    fs::write(&archive, bytes).unwrap();
    let out = work.path().join("out dir");
    fs::create_dir(&out).unwrap();
    restore(&home, &archive, &out);
    assert_eq!(tree(&out.join(src.strip_prefix("/").unwrap())), tree(&src));
    assert!(!Path::new("pwned").exists());
    assert!(work.path().join("snap;x").exists());
}

#[test]
fn tar_exit_one_is_a_warning() {
    let work = tempfile::tempdir().unwrap();
    let fake = work.path().join("tar");
    fs::write(
        &fake,
        "#!/bin/sh\necho data\necho 'tar: x: file changed as we read it' >&2\nexit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    let mut pipe = Pipeline::start(&[vec![p(&fake)], s(&["gzip"])], Output::Reader).unwrap();
    let mut out = Vec::new();
    pipe.read_to_end(&mut out).unwrap();
    let report = pipe.finish().unwrap();
    assert_eq!(report.warnings.len(), 1);
    assert!(report.warnings[0].contains("tar"), "{:?}", report.warnings);
    assert_eq!(report.stages[0].status, "exit status 1");
    assert!(report.stages[0].stderr_tail.contains("file changed"));
}

/// A process's identity in /proc: (parent pid, start time in clock ticks since boot), or
/// None when no process (not even a zombie) has this pid. A pid with another identity
/// after the abort is a new process that reused the number.
fn identity(pid: u32) -> Option<(u32, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // after "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt
    // cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    Some((fields[1].parse().ok()?, fields[19].parse().ok()?))
}

#[test]
fn abort_of_a_long_running_stage_kills_and_reaps_every_stage() {
    // `yes` never ends on its own and gzip keeps reading it: both are running at the abort.
    let mut pipe = Pipeline::start(&[s(&["yes"]), s(&["gzip", "-1"])], Output::Reader).unwrap();
    let pids = pipe.pids();
    assert_eq!(pids.len(), 2);
    let mut buf = [0u8; 100];
    pipe.read_exact(&mut buf).unwrap();
    let before: Vec<(u32, u64)> = pids
        .iter()
        .map(|&pid| identity(pid).unwrap_or_else(|| panic!("stage {pid} runs before the abort")))
        .collect();
    for (ppid, _) in &before {
        assert_eq!(
            *ppid,
            std::process::id(),
            "the stages are this process's children"
        );
    }
    pipe.abort();
    for (pid, was) in pids.iter().zip(&before) {
        // gone: no process with this pid, or another process that reused it; a stage still
        // running or left a zombie would keep its identity
        let now = identity(*pid);
        assert_ne!(now, Some(*was), "stage {pid} still exists after the abort");
    }
}

#[test]
fn file_output_for_use_temp_file() {
    let work = tempfile::tempdir().unwrap();
    let temp = work.path().join("Bucket:_etc-0-FULL.temp");
    let pipe = Pipeline::start(
        &[s(&["tar", "-f", "-", "-C", "/", "-cz", "etc/hostname"])],
        Output::File(temp.clone()),
    )
    .unwrap();
    pipe.finish().unwrap();
    assert!(fs::metadata(&temp).unwrap().len() > 0);
}

#[test]
fn mysqldump_of_a_missing_database_fails() {
    let db = MariaDb::start();
    let mut dump = s(&["mysqldump", "--opt"]);
    dump.extend(db.client_args());
    dump.push("no_such_database".into());
    let err = run_to_bytes(&[dump, s(&["gzip"])]).unwrap_err();
    assert!(
        matches!(&err, PipelineError::StageFailed { stage: 0, program, stderr_tail, .. }
            if program == "mysqldump" && stderr_tail.contains("no_such_database")),
        "{err}"
    );
    // and a real one works
    db.sql("CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY, name TEXT); INSERT INTO shop.t VALUES (1, 'x; y')");
    let mut dump = s(&["mysqldump", "--opt"]);
    dump.extend(db.client_args());
    dump.push("shop".into());
    let bytes = run_to_bytes(&[dump, s(&["gzip"])]).unwrap();
    let mut sql = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut sql)
        .unwrap();
    assert!(sql.contains("INSERT INTO `t`"), "{sql}");
}

#[test]
fn pg_dump_round_trips_through_gzip() {
    let pg = Postgres::start();
    pg.sql("postgres", "CREATE DATABASE shop");
    pg.sql(
        "shop",
        "CREATE TABLE t (id int PRIMARY KEY, name text); \
         INSERT INTO t SELECT i, 'row ' || i || ' ''q''; x' FROM generate_series(1, 500) i",
    );
    let work = tempfile::tempdir().unwrap();
    let gz = work.path().join("dump.sql.gz");
    let mut dump = vec![p(&pg.bin("pg_dump"))];
    dump.extend(pg.client_args());
    dump.push("shop".into());
    Pipeline::start(&[dump, s(&["gzip"])], Output::File(gz.clone()))
        .unwrap()
        .finish()
        .unwrap();
    let plain = work.path().join("dump.sql");
    let mut gunzip = s(&["gzip", "-dc"]);
    gunzip.push(p(&gz));
    Pipeline::start(&[gunzip], Output::File(plain.clone()))
        .unwrap()
        .finish()
        .unwrap();
    pg.sql("postgres", "CREATE DATABASE restored");
    pg.sql_file("restored", &plain);
    let q = "SELECT count(*), sum(id), string_agg(name, ',' ORDER BY id) FROM t";
    assert_eq!(pg.sql("restored", q), pg.sql("shop", q));
    assert!(pg.sql("restored", "SELECT count(*) FROM t").trim() == "500");

    // a missing database names pg_dump
    let mut dump = vec![p(&pg.bin("pg_dump"))];
    dump.extend(pg.client_args());
    dump.push("nope".into());
    let err = run_to_bytes(&[dump, s(&["gzip"])]).unwrap_err();
    assert!(
        matches!(&err, PipelineError::StageFailed { stage: 0, .. })
            && err.to_string().contains("pg_dump"),
        "{err}"
    );
}

#[test]
fn svnadmin_dump_and_revision_file() {
    let repo = SvnRepo::new(3);
    assert_eq!(repo.youngest(), 3);
    let work = tempfile::tempdir().unwrap();
    let revfile = work.path().join("_repo.diff");
    let mut dump = s(&["svnadmin", "dump", "-q", "-r0:3", "--incremental"]);
    dump.push(p(repo.path()));
    let bytes = run_to_bytes(&[dump, s(&["gzip"])]).unwrap();
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut text)
        .unwrap();
    assert!(String::from_utf8_lossy(&text).contains("Revision-number: 3"));
    let pending = SnapshotWork::begin(&revfile, false).unwrap();
    pending.write_revision(repo.youngest()).unwrap();
    pending.commit().unwrap();
    assert_eq!(
        s3napback::plan::facts::saved_revision(&revfile).unwrap(),
        Some(3)
    );
    assert_eq!(repo.commit_file("trunk/file.txt", "four\n"), 4);

    let mut dump = s(&["svnadmin", "dump", "-q", "-r0:HEAD"]);
    dump.push(p(&work.path().join("missing-repo")));
    let err = run_to_bytes(&[dump, s(&["gzip"])]).unwrap_err();
    assert!(
        matches!(&err, PipelineError::StageFailed { stage: 0, program, .. } if program == "svnadmin"),
        "{err}"
    );
}
