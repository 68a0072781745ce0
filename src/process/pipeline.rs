//! Runs a chain of external programs (argument vectors, never a shell string) through duct,
//! exposing the last stage's output as a reader and every stage's exit status at the end.
//!
//! duct's own `pipe` reports only one exit status for a whole chain, which is exactly the
//! legacy defect (LEGACY.md §13: a failing tar or gpg still left a complete-looking slot).
//! So every stage here is its own duct expression, connected to its neighbours with OS pipes
//! (`os_pipe`), and [`Pipeline::finish`] checks every stage's status individually.
//!
//! Policy: `tar` exiting with status 1 ("file changed as we read it") is a warning; any other
//! non-zero status or death by signal of any stage is an error naming the earliest failing
//! stage (later stages usually fail as a consequence) — except that a stage that only died
//! of a broken pipe is reported only when no other stage failed (when gpg refuses a key,
//! tar upstream dies of SIGPIPE; gpg is the cause).
//!
//! Every pipeline runs in a process group of its own that the SIGINT/SIGTERM handler
//! stops, and no stage outlives the tool (see [`crate::process::interrupt`]).

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use tempfile::NamedTempFile;
use thiserror::Error;

use crate::process::interrupt::{self, WatchedGroup};

/// How many trailing lines of a stage's stderr go into reports and errors.
const STDERR_TAIL_LINES: usize = 10;
/// How many trailing bytes of a stage's stderr are read to find those lines.
const STDERR_TAIL_BYTES: u64 = 16 * 1024;

/// Where the last stage's standard output goes.
#[derive(Debug)]
pub enum Output {
    /// A pipe the caller reads through `impl Read for Pipeline` (streaming upload).
    Reader,
    /// A file created (or truncated) at this path.
    File(PathBuf),
    /// An open file, written from its offset and never reopened by name (UseTempFile's
    /// buffer, see [`buffer_file`]).
    Handle(File),
}

/// Creates a buffer file in `dir` for UseTempFile: exclusively (`O_EXCL`), mode 0600,
/// under an unpredictable name; it is removed when the value is dropped, on every path.
pub fn buffer_file(dir: &Path) -> Result<NamedTempFile, PipelineError> {
    tempfile::Builder::new()
        .prefix("s3napback-")
        .suffix(".temp")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(|source| PipelineError::OutputFile {
            path: dir.to_path_buf(),
            source,
        })
}

/// Errors of starting or finishing a pipeline.
#[derive(Debug, Error)]
pub enum PipelineError {
    /// The pipeline has no stages.
    #[error("empty pipeline: no program to run")]
    Empty,
    /// One stage has an empty argument vector.
    #[error("pipeline stage {stage} has no program")]
    EmptyStage {
        /// 0-based index of the stage.
        stage: usize,
    },
    /// A program could not be found.
    #[error("program not found: `{program}` (pipeline stage {stage})")]
    NotFound {
        /// 0-based index of the stage.
        stage: usize,
        /// The program as given in the argument vector.
        program: String,
    },
    /// A program could not be started for another reason.
    #[error("cannot start `{program}` (pipeline stage {stage})")]
    Spawn {
        /// 0-based index of the stage.
        stage: usize,
        /// The program as given in the argument vector.
        program: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The output file of [`Output::File`] could not be created.
    #[error("cannot create pipeline output file {}", path.display())]
    OutputFile {
        /// The output path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Feeding the input of [`Pipeline::start_with_input`] into the first stage failed
    /// (the input could not be read, or the first stage stopped reading early).
    #[error("pipeline input")]
    Input(#[source] io::Error),
    /// The run was interrupted (SIGINT/SIGTERM) before the pipeline started.
    #[error("not started: {0}")]
    Interrupted(String),
    /// An OS pipe or a stderr buffer could not be created.
    #[error("cannot set up pipeline plumbing")]
    Plumbing(#[source] io::Error),
    /// Waiting for a stage failed.
    #[error("cannot wait for `{program}` (pipeline stage {stage})")]
    Wait {
        /// 0-based index of the stage.
        stage: usize,
        /// The program as given in the argument vector.
        program: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A stage exited with a failing status or died by a signal. When several stages
    /// failed, this is the earliest one in the chain.
    #[error(
        "`{program}` (pipeline stage {stage}) failed with {status}{}",
        fmt_tail(stderr_tail)
    )]
    StageFailed {
        /// 0-based index of the stage.
        stage: usize,
        /// The program as given in the argument vector.
        program: String,
        /// "exit status 2" or "killed by signal 13".
        status: String,
        /// The last lines the stage wrote to its stderr.
        stderr_tail: String,
    },
}

fn fmt_tail(tail: &str) -> String {
    if tail.trim().is_empty() {
        "; no error output".to_string()
    } else {
        format!("; its error output ends with:\n{}", tail.trim_end())
    }
}

/// How reports and errors name a stage: by its program, except a stage that runs this
/// very program (`Compressor pigz` starts `s3napback gzip` by the executable's full path),
/// which is named as test mode prints it, `s3napback SUBCOMMAND`.
fn stage_name(argv: &[String]) -> String {
    let ours = std::env::current_exe().is_ok_and(|exe| Path::new(&argv[0]) == exe);
    match argv.get(1) {
        Some(subcommand) if ours => format!("s3napback {subcommand}"),
        _ => argv[0].clone(),
    }
}

/// What became of one stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageReport {
    /// The program as given in the argument vector.
    pub program: String,
    /// "exit status 0", "exit status 1", "killed by signal 13", ...
    pub status: String,
    /// The last lines the stage wrote to its stderr (empty if none).
    pub stderr_tail: String,
}

/// The outcome of a pipeline that succeeded (possibly with warnings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineReport {
    /// One entry per stage, in chain order.
    pub stages: Vec<StageReport>,
    /// Tolerated problems, each naming its stage (e.g. tar's "file changed as we read it").
    pub warnings: Vec<String>,
}

/// How the policy judges one stage's exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Status 0.
    Success,
    /// A tolerated non-zero status; the text explains it.
    Warning(String),
    /// A failure.
    Failure,
}

/// The exit-status policy: `tar` (or `gtar`) exiting with 1 means some files changed
/// while being read, which is a warning; anything else but 0 is a failure.
pub fn judge(program: &str, status: ExitStatus) -> Verdict {
    if status.success() {
        return Verdict::Success;
    }
    let base = Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if status.code() == Some(1) && (base == "tar" || base == "gtar") {
        return Verdict::Warning("some files changed while tar read them (exit status 1)".into());
    }
    Verdict::Failure
}

/// "exit status N" or "killed by signal N".
pub fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        (None, None) => format!("{status}"),
    }
}

struct Stage {
    program: String,
    handle: duct::Handle,
    /// Anonymous temp file holding the stage's stderr.
    stderr: File,
}

/// A running chain of programs, stdin of the first from /dev/null (or fed from a reader,
/// see [`Pipeline::start_with_input`]), each stdout into the next stdin, the last stdout
/// to the caller (see [`Output`]).
///
/// Call [`Pipeline::finish`] after reading to EOF, or [`Pipeline::abort`] when giving up;
/// dropping it without either kills and reaps every stage.
pub struct Pipeline {
    stages: Vec<Stage>,
    /// The stages' process group, stopped by the SIGINT/SIGTERM handler.
    group: Option<WatchedGroup>,
    reader: Option<os_pipe::PipeReader>,
    /// The thread copying the caller's input into the first stage's stdin.
    feeder: Option<std::thread::JoinHandle<io::Result<u64>>>,
    done: bool,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field(
                "programs",
                &self.stages.iter().map(|s| &s.program).collect::<Vec<_>>(),
            )
            .field("pids", &self.pids())
            .finish()
    }
}

impl Pipeline {
    /// Starts every stage. Each stage is an argument vector whose first element is the
    /// program (looked up in `PATH`); no shell is involved anywhere.
    pub fn start(stages: &[Vec<String>], output: Output) -> Result<Pipeline, PipelineError> {
        Pipeline::start_inner(stages, None, output)
    }

    /// Like [`Pipeline::start`], but the first stage reads `input`: a thread copies it into
    /// the first stage's stdin and closes it at the end of `input`. A read error of `input`
    /// makes [`Pipeline::finish`] fail with [`PipelineError::Input`] (unless a stage failed
    /// on its own first, which is then the cause).
    pub fn start_with_input(
        stages: &[Vec<String>],
        input: impl Read + Send + 'static,
        output: Output,
    ) -> Result<Pipeline, PipelineError> {
        Pipeline::start_inner(stages, Some(Box::new(input)), output)
    }

    fn start_inner(
        stages: &[Vec<String>],
        input: Option<Box<dyn Read + Send>>,
        output: Output,
    ) -> Result<Pipeline, PipelineError> {
        if stages.is_empty() {
            return Err(PipelineError::Empty);
        }
        if let Some(stage) = stages.iter().position(|argv| argv.is_empty()) {
            return Err(PipelineError::EmptyStage { stage });
        }
        if let Some(reason) = interrupt::reason() {
            return Err(PipelineError::Interrupted(reason));
        }
        // The final destination is prepared first so a bad output path starts nothing.
        let (mut final_out, reader): (Option<File>, Option<os_pipe::PipeReader>) = match output {
            Output::File(path) => {
                let file = File::create(&path)
                    .map_err(|source| PipelineError::OutputFile { path, source })?;
                (Some(file), None)
            }
            Output::Handle(file) => (Some(file), None),
            Output::Reader => (None, None),
        };
        let mut pipeline = Pipeline {
            stages: Vec::with_capacity(stages.len()),
            group: None,
            reader,
            feeder: None,
            done: false,
        };
        // stdin for the next stage to start; None means /dev/null.
        let mut next_stdin: Option<os_pipe::PipeReader> = None;
        let mut input_writer: Option<os_pipe::PipeWriter> = None;
        if input.is_some() {
            let (r, w) = os_pipe::pipe().map_err(PipelineError::Plumbing)?;
            next_stdin = Some(r);
            input_writer = Some(w);
        }
        for (index, argv) in stages.iter().enumerate() {
            let last = index + 1 == stages.len();
            let program = stage_name(argv);
            let stderr = tempfile::tempfile().map_err(PipelineError::Plumbing)?;
            let stderr_for_child = stderr.try_clone().map_err(PipelineError::Plumbing)?;
            let group = pipeline.group.as_ref().map(WatchedGroup::pgid);
            let mut expr = duct::cmd(&argv[0], &argv[1..])
                .unchecked()
                .stderr_file(stderr_for_child)
                .before_spawn(move |command| {
                    interrupt::confine(command, group);
                    Ok(())
                });
            expr = match next_stdin.take() {
                Some(r) => expr.stdin_file(r),
                None => expr.stdin_null(),
            };
            if last {
                expr = match final_out.take() {
                    Some(file) => expr.stdout_file(file),
                    None => {
                        let (r, w) = os_pipe::pipe().map_err(PipelineError::Plumbing)?;
                        pipeline.reader = Some(r);
                        expr.stdout_file(w)
                    }
                };
            } else {
                let (r, w) = os_pipe::pipe().map_err(PipelineError::Plumbing)?;
                next_stdin = Some(r);
                expr = expr.stdout_file(w);
            }
            let started = expr.start();
            // Dropping the expression closes the parent's copies of this stage's pipe ends,
            // so EOF and broken pipes propagate as they would in a shell pipeline.
            drop(expr);
            match started {
                Ok(handle) => {
                    if pipeline.group.is_none() {
                        // The first stage leads the group: its pid is the group id.
                        let leader = handle.pids().first().copied().unwrap_or(0);
                        pipeline.group = Some(WatchedGroup::new(leader as i32));
                    }
                    pipeline.stages.push(Stage {
                        program,
                        handle,
                        stderr,
                    })
                }
                Err(source) => {
                    // `pipeline` is dropped here: the earlier stages are killed and reaped.
                    return Err(if source.kind() == io::ErrorKind::NotFound {
                        PipelineError::NotFound {
                            stage: index,
                            program,
                        }
                    } else {
                        PipelineError::Spawn {
                            stage: index,
                            program,
                            source,
                        }
                    });
                }
            }
        }
        // A signal may have come between the leader's start and the others'.
        if let Some(group) = &pipeline.group {
            group.stop_if_interrupted();
        }
        if let (Some(mut input), Some(mut writer)) = (input, input_writer) {
            pipeline.feeder = Some(std::thread::spawn(move || {
                let copied = io::copy(&mut input, &mut writer);
                // Dropping the writer closes the first stage's stdin: EOF.
                drop(writer);
                copied
            }));
        }
        Ok(pipeline)
    }

    /// The process ids of the stages, in chain order.
    pub fn pids(&self) -> Vec<u32> {
        self.stages.iter().flat_map(|s| s.handle.pids()).collect()
    }

    /// The last stage's stdout, for [`Output::Reader`] pipelines (None for [`Output::File`]).
    pub fn reader(&mut self) -> Option<&mut os_pipe::PipeReader> {
        self.reader.as_mut()
    }

    /// Waits for every stage and checks each status (see the module policy). Call it after
    /// the output was read to EOF; unread output is discarded first, which makes the last
    /// stage die of a broken pipe and thus fail.
    pub fn finish(mut self) -> Result<PipelineReport, PipelineError> {
        self.done = true;
        self.reader = None;
        let input_error = match self.feeder.take().map(|h| h.join()) {
            None | Some(Ok(Ok(_))) => None,
            Some(Ok(Err(e))) => Some(e),
            Some(Err(_)) => Some(io::Error::other("the input thread panicked")),
        };
        let mut reports = Vec::with_capacity(self.stages.len());
        let mut warnings = Vec::new();
        // (died of a broken pipe?, error) for every failing stage, in chain order.
        let mut failures: Vec<(bool, PipelineError)> = Vec::new();
        let mut wait_error: Option<PipelineError> = None;
        for (index, stage) in self.stages.iter_mut().enumerate() {
            let status = match stage.handle.wait() {
                Ok(out) => out.status,
                Err(source) => {
                    wait_error.get_or_insert(PipelineError::Wait {
                        stage: index,
                        program: stage.program.clone(),
                        source,
                    });
                    continue;
                }
            };
            let status_text = describe_status(status);
            let stderr_tail = read_tail(&mut stage.stderr);
            match judge(&stage.program, status) {
                Verdict::Success => {}
                Verdict::Warning(why) => {
                    warnings.push(format!("stage {index} `{}`: {why}", stage.program));
                }
                Verdict::Failure => failures.push((
                    broken_pipe(status, &stderr_tail),
                    PipelineError::StageFailed {
                        stage: index,
                        program: stage.program.clone(),
                        status: status_text.clone(),
                        stderr_tail: stderr_tail.clone(),
                    },
                )),
            }
            reports.push(StageReport {
                program: stage.program.clone(),
                status: status_text,
                stderr_tail,
            });
        }
        self.group = None;
        // The earliest failure that is not just a broken pipe is the cause (an upstream
        // stage dies of SIGPIPE when a downstream one gave up); else the earliest failure.
        let cause = match failures.iter().position(|(pipe, _)| !pipe) {
            Some(i) => Some(failures.swap_remove(i).1),
            None if !failures.is_empty() => Some(failures.swap_remove(0).1),
            None => None,
        };
        // A failing input is the cause of whatever the stages made of the cut stream; a
        // broken pipe while feeding only follows from a stage that gave up.
        let cause = match input_error {
            Some(e) if e.kind() != io::ErrorKind::BrokenPipe => Some(PipelineError::Input(e)),
            Some(e) => cause.or(Some(PipelineError::Input(e))),
            None => cause,
        };
        if let Some(err) = cause.or(wait_error) {
            return Err(err);
        }
        Ok(PipelineReport {
            stages: reports,
            warnings,
        })
    }

    /// Kills every stage and reaps it (used when the consumer failed, e.g. on an upload
    /// error). Returns promptly; leaves no zombies.
    pub fn abort(mut self) {
        self.kill_and_reap();
    }

    fn kill_and_reap(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        self.reader = None;
        if let Some(group) = &self.group {
            group.kill();
        }
        for stage in &self.stages {
            let _ = stage.handle.kill();
        }
        for stage in &self.stages {
            let _ = stage.handle.wait();
        }
        self.group = None;
        // The feeder ends on its own: its pipe has no reader any more. Not joined, so
        // that a slow input cannot delay the abort.
        self.feeder = None;
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.kill_and_reap();
    }
}

impl Read for Pipeline {
    /// Reads the last stage's stdout; an error for [`Output::File`] pipelines.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.reader.as_mut() {
            Some(r) => r.read(buf),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "this pipeline writes to a file; there is nothing to read",
            )),
        }
    }
}

/// Whether a failed stage merely died because its reader went away: killed by SIGPIPE,
/// or (like tar whose gzip child got SIGPIPE) saying so on stderr.
fn broken_pipe(status: ExitStatus, stderr_tail: &str) -> bool {
    status.signal() == Some(13)
        || stderr_tail.contains("Broken pipe")
        || stderr_tail.contains("died with signal 13")
        // GNU tar's gzip child killed by SIGPIPE (128 + 13)
        || stderr_tail.contains("Child returned status 141")
}

/// The last [`STDERR_TAIL_LINES`] lines of a stderr buffer file (lossy UTF-8).
fn read_tail(file: &mut File) -> String {
    let Ok(len) = file.seek(SeekFrom::End(0)) else {
        return String::new();
    };
    let start = len.saturating_sub(STDERR_TAIL_BYTES);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    if file.read_to_end(&mut bytes).is_err() {
        return String::new();
    }
    tail_lines(&String::from_utf8_lossy(&bytes), STDERR_TAIL_LINES)
}

fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.trim_end_matches('\n').lines().collect();
    let from = lines.len().saturating_sub(n);
    lines[from..].join("\n")
}

#[cfg(test)]
mod tests;
