//! SIGINT and SIGTERM during a backup run, and keeping child processes from outliving the
//! tool.
//!
//! [`install`] replaces the default action of both signals with a handler that records the
//! signal and sends SIGTERM to every pipeline's process group (each pipeline runs in a
//! group of its own, see [`confine`]). The run then winds down through its ordinary
//! failure path: the interrupted item's stream breaks, its partial objects are deleted,
//! its snapshot file stays, the remaining items are not started, and the tool exits with
//! [`exit_status`] (130 for SIGINT, 143 for SIGTERM). A second signal while winding down
//! takes the signal's default action at once.
//!
//! Every child also gets `PR_SET_PDEATHSIG` = SIGKILL, so that none outlives the tool even
//! when the tool itself is killed with SIGKILL. Linux sends that signal when the *thread*
//! that started the child ends: pipelines must be started and finished on one thread.
//!
//! The handler only touches atomics and calls `kill(2)`, both async-signal-safe.
//!
//! `RunTimeout` ([`expire_after`]) stops a run the same way once its time is up: the
//! pipelines get SIGTERM, [`reason`] names the timeout, no new store request that
//! stores data starts, and the run winds down through the same failure path. It is no
//! signal: the exit status is the ordinary one of a failed item (1).

use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};

/// The first SIGINT/SIGTERM received, 0 while none was.
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// Whether [`install`] has registered the handler.
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// How many pipelines can be watched at once (the tool runs one at a time per item).
const MAX_GROUPS: usize = 64;
/// Why the run's time is up (`RunTimeout`), once it is.
static EXPIRED: OnceLock<String> = OnceLock::new();
/// Process group ids of the running pipelines; 0 marks a free entry.
static GROUPS: [AtomicI32; MAX_GROUPS] = [const { AtomicI32::new(0) }; MAX_GROUPS];

/// Installs the SIGINT/SIGTERM handler (once per process; later calls do nothing).
pub fn install() -> io::Result<()> {
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    for signal in [SIGINT, SIGTERM] {
        // SAFETY: the action only uses atomics, kill(2) and signal-hook's async-signal-safe
        // emulate_default_handler.
        unsafe { signal_hook::low_level::register(signal, move || on_signal(signal)) }?;
    }
    Ok(())
}

fn on_signal(signal: i32) {
    if SIGNAL
        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        // A second signal: stop waiting for the clean-up.
        let _ = signal_hook::low_level::emulate_default_handler(signal);
        return;
    }
    for group in &GROUPS {
        stop_group(group.load(Ordering::SeqCst));
    }
}

fn stop_group(pgid: i32) {
    // Never 0 or 1: kill(0) and kill(-1) would reach the tool's own group or everything.
    if pgid > 1 {
        // SAFETY: kill(2) has no memory effects.
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
    }
}

/// The signal that interrupted the run, if one did.
pub fn signal() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Whether SIGINT or SIGTERM was received, or the run's time is up.
pub fn requested() -> bool {
    signal().is_some() || EXPIRED.get().is_some()
}

/// Stops the run as SIGTERM would, for `why` (the first reason given is kept): every
/// watched pipeline gets SIGTERM and [`reason`] says `why` from now on.
pub fn expire(why: String) {
    if EXPIRED.set(why).is_ok() {
        for group in &GROUPS {
            stop_group(group.load(Ordering::SeqCst));
        }
    }
}

/// Why the run's time is up, once it is (not a signal: uploads under way end at once,
/// see [`crate::store::s3::S3Store::with_cancel`]).
pub fn expired() -> Option<String> {
    EXPIRED.get().cloned()
}

/// Calls [`expire`] with `why` once `limit` has passed (on a thread of its own, which
/// ends with the process).
pub fn expire_after(limit: Duration, why: String) {
    let spawned = std::thread::Builder::new()
        .name("s3napback-run-timeout".into())
        .spawn(move || {
            std::thread::sleep(limit);
            expire(why);
        });
    if let Err(e) = spawned {
        log::warn!("cannot watch the RunTimeout: {e}");
    }
}

/// `SIGINT`, `SIGTERM` (or `signal N`).
pub fn signal_name(signal: i32) -> String {
    match signal {
        SIGINT => "SIGINT".into(),
        SIGTERM => "SIGTERM".into(),
        n => format!("signal {n}"),
    }
}

/// The exit status of an interrupted run: 128 + the signal number (130, 143).
pub fn exit_status() -> Option<u8> {
    signal().and_then(status_of)
}

/// 128 + `signal`, the shell's status of a process ended by it.
fn status_of(signal: i32) -> Option<u8> {
    u8::try_from(128 + signal).ok()
}

/// "interrupted by SIGTERM", when the run was interrupted; the RunTimeout's reason when
/// its time is up.
pub fn reason() -> Option<String> {
    signal()
        .map(|s| format!("interrupted by {}", signal_name(s)))
        .or_else(|| EXPIRED.get().cloned())
}

/// Adds "interrupted by SIGTERM" to an error when a signal is the real cause of it (the
/// stages it names were stopped by the handler).
pub fn explain(error: anyhow::Error) -> anyhow::Error {
    match reason() {
        Some(reason) => error.context(reason),
        None => error,
    }
}

/// A process group watched by the handler while this value lives.
#[derive(Debug)]
pub struct WatchedGroup {
    pgid: i32,
    entry: Option<usize>,
}

impl WatchedGroup {
    /// Watches `pgid`; stops it at once when the run is already interrupted.
    pub fn new(pgid: i32) -> WatchedGroup {
        let entry = GROUPS.iter().position(|g| {
            g.compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        });
        let watched = WatchedGroup { pgid, entry };
        watched.stop_if_interrupted();
        watched
    }

    /// The process group id.
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// Sends SIGKILL to the whole group (grandchildren such as tar's gzip included). Only
    /// while a member is still unreaped, so that the id cannot have been reused.
    pub fn kill(&self) {
        if self.pgid > 1 {
            // SAFETY: kill(2) has no memory effects.
            unsafe { libc::kill(-self.pgid, libc::SIGKILL) };
        }
    }

    /// Sends SIGTERM to the group when a signal was received. Call it again after adding
    /// members: the handler may have run between the leader's start and theirs.
    pub fn stop_if_interrupted(&self) {
        if requested() {
            stop_group(self.pgid);
        }
    }
}

impl Drop for WatchedGroup {
    fn drop(&mut self) {
        if let Some(i) = self.entry {
            GROUPS[i].store(0, Ordering::SeqCst);
        }
    }
}

/// Prepares a child: it joins process group `group` (`None`: a new group led by itself),
/// and gets SIGKILL when the thread that starts it ends (`PR_SET_PDEATHSIG`).
pub fn confine(command: &mut Command, group: Option<i32>) {
    command.process_group(group.unwrap_or(0));
    // SAFETY: getpid before the fork; prctl and getppid in the child are
    // async-signal-safe, and the error is built without allocating.
    let parent = unsafe { libc::getpid() };
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) == -1
            {
                return Err(io::Error::last_os_error());
            }
            // The tool died between fork and prctl: the signal was never sent.
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        })
    };
}

/// A reader that fails once the run is interrupted, so that an upload stops reading (a
/// buffer file would otherwise be uploaded to its end).
pub fn checked<R: Read>(inner: R) -> Checked<R> {
    Checked { inner }
}

/// See [`checked`].
#[derive(Debug)]
pub struct Checked<R> {
    inner: R,
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(reason) = reason() {
            return Err(io::Error::other(reason));
        }
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_exit_statuses() {
        assert_eq!(signal_name(SIGINT), "SIGINT");
        assert_eq!(signal_name(SIGTERM), "SIGTERM");
        assert_eq!(signal_name(1), "signal 1");
        assert_eq!(status_of(SIGINT), Some(130));
        assert_eq!(status_of(SIGTERM), Some(143));
        assert_eq!(status_of(200), None, "beyond a status byte");
    }

    #[test]
    fn watched_groups_free_their_entry() {
        // (other tests of this process watch groups of their own meanwhile: only this
        // group's entry is looked at)
        let entries = || {
            GROUPS
                .iter()
                .filter(|g| g.load(Ordering::SeqCst) == i32::MAX)
                .count()
        };
        let watched = WatchedGroup::new(i32::MAX);
        assert_eq!(entries(), 1, "watched once");
        assert_eq!(watched.pgid(), i32::MAX);
        drop(watched);
        assert_eq!(entries(), 0, "its entry is free again");
    }
}
