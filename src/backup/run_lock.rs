//! The run lock of a DiffDir: one run at a time works on a DiffDir; a second one waits for
//! it (up to `LockWait`) instead of giving up, so two cron lines sharing a DiffDir both get
//! their backups.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};

use crate::plan::report::Category;
use crate::process::interrupt;

/// How often a waiting run tries the lock again.
const LOCK_POLL: Duration = Duration::from_millis(250);

/// The lock was not taken (held past LockWait, or a signal ended the wait): that config
/// file's run did nothing. An ERROR, not a FATAL: the other config files still run.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LockNotTaken(pub String);

/// Takes the run lock of a DiffDir (`DIFFDIR/.s3napback.lock`, an advisory lock the
/// operating system releases when the process ends, so it can never go stale), waiting up
/// to `wait` (`LockWait`) for another run to finish; SIGINT/SIGTERM end the wait.
pub fn lock_diff_dir(diff_dir: &Path, wait: Duration) -> Result<std::fs::File> {
    let path = diff_dir.join(".s3napback.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open the run lock {}", path.display()))?;
    let started = Instant::now();
    let mut announced = false;
    loop {
        match file.try_lock() {
            Ok(()) => {
                if announced {
                    log::info!(target: Category::Main.target(), "Got the lock {} after waiting {} s", path.display(), started.elapsed().as_secs());
                }
                return Ok(file);
            }
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(anyhow!(e).context(format!("cannot lock {}", path.display())));
            }
        }
        let waited = started.elapsed();
        if let Some(reason) = interrupt::reason() {
            return Err(anyhow!(LockNotTaken(format!(
                "{reason} while waiting for the lock {}; nothing was done",
                path.display()
            ))));
        }
        if waited >= wait {
            return Err(anyhow!(LockNotTaken(format!(
                "another s3napback run is using {} (it holds {}) and did not finish within LockWait ({}); nothing was done",
                diff_dir.display(),
                path.display(),
                describe_wait(wait)
            ))));
        }
        if !announced {
            log::info!(
                target: Category::Main.target(),
                "Another s3napback run is using {} (it holds {}); waiting up to {} for it to finish",
                diff_dir.display(),
                path.display(),
                describe_wait(wait)
            );
            announced = true;
        }
        std::thread::sleep(LOCK_POLL.min(wait - waited));
    }
}

/// Writes who holds the lock into the lock file: `PID UNIX-SECONDS` (the run's start by
/// its clock), so that `status` can name a run that holds it past `RunTimeout`. The
/// lock does not depend on it; a failure is only logged.
pub fn record_holder(lock: &std::fs::File, started: time::OffsetDateTime) {
    use std::io::{Seek, Write};
    let line = format!("{} {}\n", std::process::id(), started.unix_timestamp());
    let mut file = lock;
    let written = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(line.as_bytes()));
    if let Err(e) = written {
        log::debug!("cannot record the run in its lock file: {e}");
    }
}

/// The run holding the lock of `diff_dir` (its pid and start, as it recorded them), or
/// `None` when no run holds it.
pub fn holder(diff_dir: &Path) -> Option<(u32, time::OffsetDateTime)> {
    let path = diff_dir.join(".s3napback.lock");
    let file = std::fs::File::open(&path).ok()?;
    match file.try_lock_shared() {
        // nobody holds it (ours goes when `file` is dropped)
        Ok(()) => return None,
        Err(std::fs::TryLockError::WouldBlock) => {}
        Err(std::fs::TryLockError::Error(_)) => return None,
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let mut words = text.split_whitespace();
    let pid = words.next()?.parse().ok()?;
    let started = words.next()?.parse().ok()?;
    Some((
        pid,
        time::OffsetDateTime::from_unix_timestamp(started).ok()?,
    ))
}

/// "6 hours", "0.5 hours", "0.0003 hours": a RunTimeout as it is written.
pub fn describe_hours(limit: Duration) -> String {
    let hours = format!("{:.6}", limit.as_secs_f64() / 3600.0);
    let hours = hours.trim_end_matches('0').trim_end_matches('.');
    format!("{hours} hour{}", if hours == "1" { "" } else { "s" })
}

/// "60 minutes", "90 seconds", "1 second".
fn describe_wait(wait: Duration) -> String {
    let secs = wait.as_secs();
    let (n, unit) = if secs.is_multiple_of(60) && secs > 0 {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_described_in_whole_units() {
        assert_eq!(describe_wait(Duration::from_secs(3600)), "60 minutes");
        assert_eq!(describe_wait(Duration::from_secs(60)), "1 minute");
        assert_eq!(describe_wait(Duration::from_secs(90)), "90 seconds");
        assert_eq!(describe_wait(Duration::from_secs(1)), "1 second");
        assert_eq!(describe_wait(Duration::ZERO), "0 seconds");
    }

    #[test]
    fn run_timeouts_are_described_in_hours() {
        assert_eq!(describe_hours(Duration::from_secs(6 * 3600)), "6 hours");
        assert_eq!(describe_hours(Duration::from_secs(3600)), "1 hour");
        assert_eq!(describe_hours(Duration::from_secs(1800)), "0.5 hours");
        assert_eq!(
            describe_hours(Duration::from_secs_f64(0.0003 * 3600.0)),
            "0.0003 hours"
        );
    }

    #[test]
    fn the_holder_of_a_lock_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(holder(dir.path()), None, "no lock file");
        let held = lock_diff_dir(dir.path(), Duration::ZERO).unwrap();
        let started = time::macros::datetime!(2026-11-12 03:00 UTC);
        record_holder(&held, started);
        assert_eq!(holder(dir.path()), Some((std::process::id(), started)));
        drop(held);
        assert_eq!(holder(dir.path()), None, "released");
    }

    #[test]
    fn a_held_lock_is_waited_for_up_to_the_limit_then_named() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock_diff_dir(dir.path(), Duration::ZERO).unwrap();
        let err = lock_diff_dir(dir.path(), Duration::from_millis(300)).unwrap_err();
        assert!(err.downcast_ref::<LockNotTaken>().is_some(), "{err}");
        let lock = dir.path().join(".s3napback.lock");
        assert!(
            err.to_string()
                .contains(&format!("(it holds {})", lock.display())),
            "{err}"
        );
        drop(held);
        // (a child another test forks meanwhile shares the open lock until it execs, so
        // the lock may come a moment later)
        assert!(lock_diff_dir(dir.path(), Duration::from_secs(60)).is_ok());
    }

    #[test]
    fn a_waiting_run_gets_the_lock_when_the_holder_lets_go() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let held = lock_diff_dir(dir.path(), Duration::ZERO).unwrap();
        // held: a run that does not wait gives up at once
        assert!(lock_diff_dir(dir.path(), Duration::ZERO).is_err());
        let released = AtomicBool::new(false);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            let path = dir.path();
            let released = &released;
            s.spawn(move || {
                tx.send("waiting").unwrap();
                let got = lock_diff_dir(path, Duration::from_secs(3600));
                // what the waiter saw when it got the lock: was it already let go?
                tx.send(match got {
                    Ok(_) if released.load(Ordering::SeqCst) => "got it after the release",
                    Ok(_) => "got it while it was held",
                    Err(_) => "failed",
                })
                .unwrap();
            });
            assert_eq!(rx.recv().unwrap(), "waiting");
            // the lock is still this holder's: the waiter (polling meanwhile) has not
            // taken it from under it
            assert!(lock_diff_dir(dir.path(), Duration::ZERO).is_err());
            released.store(true, Ordering::SeqCst);
            drop(held);
            assert_eq!(rx.recv().unwrap(), "got it after the release");
        });
    }
}
