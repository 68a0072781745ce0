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
        let dir = tempfile::tempdir().unwrap();
        let held = lock_diff_dir(dir.path(), Duration::ZERO).unwrap();
        // held: a run that does not wait gives up at once
        assert!(lock_diff_dir(dir.path(), Duration::ZERO).is_err());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            let path = dir.path();
            s.spawn(move || tx.send(lock_diff_dir(path, Duration::from_secs(3600))));
            // still held: the waiter has not got it (it would have sent its result)
            assert!(rx.try_recv().is_err());
            drop(held);
            let got = rx.recv().expect("the waiter reports");
            assert!(got.is_ok(), "{:?}", got.err());
        });
    }
}
