//! Unit tests of `pipeline`.

use super::*;

fn argv(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn exit(code: i32) -> ExitStatus {
    ExitStatus::from_raw(code << 8)
}

#[test]
fn policy_tar_exit_one_is_a_warning() {
    assert!(matches!(judge("tar", exit(1)), Verdict::Warning(_)));
    assert!(matches!(judge("/bin/tar", exit(1)), Verdict::Warning(_)));
    assert_eq!(judge("tar", exit(2)), Verdict::Failure);
    assert_eq!(judge("gzip", exit(1)), Verdict::Failure);
    assert_eq!(judge("gpg", exit(0)), Verdict::Success);
    assert_eq!(judge("tar", ExitStatus::from_raw(13)), Verdict::Failure);
}

#[test]
fn status_text() {
    assert_eq!(describe_status(exit(2)), "exit status 2");
    assert_eq!(
        describe_status(ExitStatus::from_raw(13)),
        "killed by signal 13"
    );
}

#[test]
fn a_stage_of_this_program_is_named_by_its_subcommand() {
    let exe = std::env::current_exe().unwrap().display().to_string();
    assert_eq!(stage_name(&[exe.clone(), "gzip".into()]), "s3napback gzip");
    assert_eq!(stage_name(std::slice::from_ref(&exe)), exe);
    assert_eq!(stage_name(&argv(&["gpg", "-e"])), "gpg");
    assert_eq!(
        stage_name(&argv(&["/usr/bin/s3napback", "gzip"])),
        "/usr/bin/s3napback"
    );
}

#[test]
fn tail_keeps_last_lines() {
    let text: String = (1..=15).map(|i| format!("line {i}\n")).collect();
    let tail = tail_lines(&text, 10);
    assert!(tail.starts_with("line 6\n"));
    assert!(tail.ends_with("line 15"));
}

#[test]
fn streams_through_every_stage() {
    let mut p = Pipeline::start(
        &[
            argv(&["printf", "hello world"]),
            argv(&["tr", "a-z", "A-Z"]),
        ],
        Output::Reader,
    )
    .unwrap();
    let mut out = String::new();
    p.read_to_string(&mut out).unwrap();
    let report = p.finish().unwrap();
    assert_eq!(out, "HELLO WORLD");
    assert_eq!(report.stages.len(), 2);
    assert!(report.warnings.is_empty());
}

#[test]
fn earliest_failing_stage_is_reported() {
    let mut p = Pipeline::start(
        &[
            argv(&["ls", "/nonexistent-s3napback-test"]),
            argv(&["cat"]),
            argv(&["false"]),
        ],
        Output::Reader,
    )
    .unwrap();
    let mut out = Vec::new();
    p.read_to_end(&mut out).unwrap();
    match p.finish() {
        Err(PipelineError::StageFailed {
            stage,
            program,
            status,
            stderr_tail,
        }) => {
            assert_eq!(stage, 0);
            assert_eq!(program, "ls");
            assert_eq!(status, "exit status 2");
            assert!(stderr_tail.contains("nonexistent-s3napback-test"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn broken_pipe_upstream_is_not_the_cause() {
    let p = Pipeline::start(
        &[argv(&["yes"]), argv(&["ls", "/nonexistent-s3napback-test"])],
        Output::Reader,
    )
    .unwrap();
    let err = p.finish().unwrap_err();
    assert!(
        matches!(&err, PipelineError::StageFailed { stage: 1, program, .. } if program == "ls"),
        "{err}"
    );
}

#[test]
fn a_failing_last_stage_is_not_hidden() {
    let mut p = Pipeline::start(&[argv(&["echo", "x"]), argv(&["false"])], Output::Reader).unwrap();
    let mut out = Vec::new();
    p.read_to_end(&mut out).unwrap();
    let err = p.finish().unwrap_err();
    assert!(matches!(err, PipelineError::StageFailed { stage: 1, .. }));
    let text = err.to_string();
    assert!(
        text.contains("`false`") && text.contains("exit status 1"),
        "{text}"
    );
}

#[test]
fn missing_program_is_named() {
    let err = Pipeline::start(
        &[argv(&["yes"]), argv(&["no-such-program-s3napback"])],
        Output::Reader,
    )
    .unwrap_err();
    assert!(matches!(err, PipelineError::NotFound { stage: 1, .. }));
    assert!(err.to_string().contains("no-such-program-s3napback"));
}

#[test]
fn empty_pipelines_are_rejected() {
    assert!(matches!(
        Pipeline::start(&[], Output::Reader),
        Err(PipelineError::Empty)
    ));
    assert!(matches!(
        Pipeline::start(&[argv(&["true"]), vec![]], Output::Reader),
        Err(PipelineError::EmptyStage { stage: 1 })
    ));
}

/// A process's (parent pid, start time) from /proc, or None when no process (not even a
/// zombie) has this pid; another identity means the pid was reused.
fn identity(pid: u32) -> Option<(u32, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    Some((fields[1].parse().ok()?, fields[19].parse().ok()?))
}

/// Every stage of `p` is a running child of this process; returns their identities.
fn running_children(p: &Pipeline) -> Vec<(u32, (u32, u64))> {
    p.pids()
        .into_iter()
        .map(|pid| {
            let id = identity(pid).expect("the stage runs");
            assert_eq!(id.0, std::process::id(), "stage {pid} is our child");
            (pid, id)
        })
        .collect()
}

fn assert_gone(stages: &[(u32, (u32, u64))]) {
    for (pid, was) in stages {
        assert_ne!(identity(*pid), Some(*was), "stage {pid} was not reaped");
    }
}

#[test]
fn abort_and_drop_kill_and_reap_stages_that_would_not_end() {
    let p = Pipeline::start(&[argv(&["yes"]), argv(&["cat"])], Output::Reader).unwrap();
    let stages = running_children(&p);
    p.abort();
    assert_gone(&stages);
    let p = Pipeline::start(&[argv(&["sleep", "3600"])], Output::Reader).unwrap();
    let stages = running_children(&p);
    drop(p);
    assert_gone(&stages);
}

#[test]
fn unread_output_makes_finish_fail() {
    let mut p = Pipeline::start(&[argv(&["yes"])], Output::Reader).unwrap();
    let mut buf = [0u8; 10];
    p.read_exact(&mut buf).unwrap();
    let err = p.finish().unwrap_err();
    assert!(
        matches!(&err, PipelineError::StageFailed { status, .. } if status == "killed by signal 13"),
        "{err}"
    );
}

#[test]
fn input_feeds_the_first_stage() {
    let input = io::Cursor::new(b"hello input".to_vec());
    let mut p =
        Pipeline::start_with_input(&[argv(&["tr", "a-z", "A-Z"])], input, Output::Reader).unwrap();
    let mut out = String::new();
    p.read_to_string(&mut out).unwrap();
    p.finish().unwrap();
    assert_eq!(out, "HELLO INPUT");
}

struct FailingReader(usize);
impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0 == 0 {
            return Err(io::Error::other("chunk 3 is corrupt"));
        }
        self.0 -= 1;
        buf[0] = b'x';
        Ok(1)
    }
}

#[test]
fn an_input_error_is_the_cause() {
    let mut p =
        Pipeline::start_with_input(&[argv(&["cat"])], FailingReader(3), Output::Reader).unwrap();
    let mut out = String::new();
    p.read_to_string(&mut out).unwrap();
    assert_eq!(out, "xxx");
    let err = p.finish().unwrap_err();
    assert!(matches!(err, PipelineError::Input(_)), "{err}");
    // The cause is in the chain once, not repeated in the text.
    let chain = format!("{:#}", anyhow::Error::new(err));
    assert_eq!(chain.matches("chunk 3 is corrupt").count(), 1, "{chain}");
}

#[test]
fn a_stage_that_stops_reading_is_the_cause_not_the_input() {
    let input = io::repeat(b'y').take(10 << 20);
    let mut p = Pipeline::start_with_input(&[argv(&["false"])], input, Output::Reader).unwrap();
    let mut out = Vec::new();
    p.read_to_end(&mut out).unwrap();
    let err = p.finish().unwrap_err();
    assert!(
        matches!(&err, PipelineError::StageFailed { program, .. } if program == "false"),
        "{err}"
    );
}

#[test]
fn file_output() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    let mut p = Pipeline::start(
        &[argv(&["printf", "abc"]), argv(&["tr", "a-c", "x-z"])],
        Output::File(path.clone()),
    )
    .unwrap();
    assert!(p.reader().is_none());
    assert!(p.read(&mut [0u8; 4]).is_err());
    p.finish().unwrap();
    assert_eq!(std::fs::read_to_string(path).unwrap(), "xyz");
}

#[test]
fn argv_elements_are_never_split_or_interpreted() {
    let odd = "a b;c'd \"e\" $(touch pwned) | f";
    let mut p = Pipeline::start(&[argv(&["printf", "%s", odd])], Output::Reader).unwrap();
    let mut out = String::new();
    p.read_to_string(&mut out).unwrap();
    p.finish().unwrap();
    assert_eq!(out, odd);
}

/// The process group of a process, from /proc/PID/stat.
fn group_of(pid: u32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = stat.rsplit_once(')').unwrap().1;
    rest.split_whitespace().nth(2).unwrap().parse().unwrap()
}

#[test]
fn stages_share_a_process_group_of_their_own() {
    let p = Pipeline::start(
        &[argv(&["sleep", "30"]), argv(&["cat"]), argv(&["cat"])],
        Output::Reader,
    )
    .unwrap();
    let pids = p.pids();
    let own = unsafe { libc::getpgrp() };
    for pid in &pids {
        assert_eq!(group_of(*pid), pids[0] as i32, "stage {pid}");
    }
    assert_ne!(pids[0] as i32, own);
    p.abort();
}

#[test]
fn buffer_files_are_private_and_removed_on_drop() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let buffer = buffer_file(dir.path()).unwrap();
    let path = buffer.path().to_path_buf();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let output = Output::Handle(buffer.as_file().try_clone().unwrap());
    Pipeline::start(&[argv(&["printf", "abc"])], output)
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"abc");
    drop(buffer);
    assert!(!path.exists());
    let missing = dir.path().join("missing");
    assert!(matches!(
        buffer_file(&missing),
        Err(PipelineError::OutputFile { path, .. }) if path == missing
    ));
}
