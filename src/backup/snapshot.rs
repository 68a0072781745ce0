//! DiffDir state files (tar `-g` snapshots, Subversion revision files): work on a copy,
//! commit by rename only after success.
//!
//! The legacy tool let tar update the real snapshot file in place, so a failed upload still
//! advanced it and the next DIFF silently missed those changes (LEGACY.md §13). Here tar
//! works on `.{file}.s3napback-work` in the same directory, and only
//! [`SnapshotWork::commit`] (after a complete upload) renames it over the real file, which is
//! atomic because both live in one directory.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// What [`SnapshotWork::commit`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// The work file replaced the real file.
    Replaced,
    /// There was no work file (the program did not create one): the real file, if any,
    /// was left as it was.
    NoWorkFile,
}

/// A pending change of one DiffDir state file.
///
/// Dropping it without [`commit`](SnapshotWork::commit) is the same as
/// [`abandon`](SnapshotWork::abandon): the real file stays untouched.
#[derive(Debug)]
pub struct SnapshotWork {
    real: PathBuf,
    work: PathBuf,
    finished: bool,
}

/// The work path used for `real`: `.{file}.s3napback-work` beside it.
pub fn work_path_for(real: &Path) -> io::Result<PathBuf> {
    let name = real.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} names no file", real.display()),
        )
    })?;
    let mut work_name = std::ffi::OsString::from(".");
    work_name.push(name);
    work_name.push(".s3napback-work");
    Ok(real.with_file_name(work_name))
}

impl SnapshotWork {
    /// Prepares a work copy of `real`. With `fresh` (a FULL slot, a Subversion full) or
    /// when `real` does not exist, the work file does not exist afterwards (so `tar -g`
    /// makes a level-0 archive); otherwise it is a copy of `real`. A stale work file from
    /// an interrupted run is removed first. `real` itself is never changed here.
    pub fn begin(real: &Path, fresh: bool) -> io::Result<SnapshotWork> {
        let work = work_path_for(real)?;
        remove_if_exists(&work)?;
        if !fresh {
            match fs::copy(real, &work) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound && !real.exists() => {}
                Err(e) => {
                    let _ = remove_if_exists(&work);
                    return Err(e);
                }
            }
        }
        Ok(SnapshotWork {
            real: real.to_path_buf(),
            work,
            finished: false,
        })
    }

    /// The file the program (tar `-g`) should use.
    pub fn work_path(&self) -> &Path {
        &self.work
    }

    /// The real state file this work replaces on commit.
    pub fn real_path(&self) -> &Path {
        &self.real
    }

    /// Writes a Subversion revision number into the work file (committed by
    /// [`commit`](SnapshotWork::commit)).
    pub fn write_revision(&self, revision: u64) -> io::Result<()> {
        let mut f = File::create(&self.work)?;
        writeln!(f, "{revision}")?;
        f.sync_all()
    }

    /// Replaces the real file by the work file (atomic rename, after flushing it to disk).
    /// If there is no work file, the real file stays as it is.
    pub fn commit(mut self) -> io::Result<Committed> {
        self.finished = true;
        match File::open(&self.work) {
            Ok(f) => f.sync_all()?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Committed::NoWorkFile),
            Err(e) => return Err(e),
        }
        fs::rename(&self.work, &self.real)?;
        if let Some(dir) = self.real.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            // Best effort: make the rename itself durable.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(Committed::Replaced)
    }

    /// Parks the work file as the pending state of a commit under way
    /// ([`pending_path_for`]); [`install_pending`] puts it in place once the slot holds
    /// the stream it belongs to. Returns false when there is no work file (the real file,
    /// if any, stays as it is).
    pub fn park(mut self) -> io::Result<bool> {
        self.finished = true;
        match File::open(&self.work) {
            Ok(f) => f.sync_all()?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        }
        fs::rename(&self.work, pending_path_for(&self.real)?)?;
        Ok(true)
    }

    /// Removes the work file; the real file stays untouched.
    pub fn abandon(mut self) {
        self.discard();
    }

    fn discard(&mut self) {
        if !self.finished {
            self.finished = true;
            let _ = remove_if_exists(&self.work);
        }
    }
}

impl Drop for SnapshotWork {
    fn drop(&mut self) {
        self.discard();
    }
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Where the new state of a commit under way waits: `.{file}.s3napback-pending` beside
/// the real file.
pub fn pending_path_for(real: &Path) -> io::Result<PathBuf> {
    let work = work_path_for(real)?;
    Ok(work.with_extension("s3napback-pending"))
}

/// Parks `revision` as the pending state of `real` (see [`SnapshotWork::park`]).
pub fn park_revision(real: &Path, revision: u64) -> io::Result<()> {
    let work = SnapshotWork::begin(real, true)?;
    work.write_revision(revision)?;
    work.park().map(|_| ())
}

/// Puts the pending state of `real` in place (an atomic rename; its mtime is the one it
/// was parked with). Returns false when there is none (installed already, or parked on
/// another host).
pub fn install_pending(real: &Path) -> io::Result<bool> {
    match fs::rename(pending_path_for(real)?, real) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes the pending state of `real` (its commit never started).
pub fn discard_pending(real: &Path) -> io::Result<()> {
    remove_if_exists(&pending_path_for(real)?)
}

/// Writes a Subversion revision file through the work/commit mechanism (never leaves a
/// half-written file).
pub fn write_revision(path: &Path, revision: u64) -> io::Result<()> {
    let work = SnapshotWork::begin(path, true)?;
    work.write_revision(revision)?;
    work.commit().map(|_| ())
}

/// Sets a state file's mtime (the run's `--now`, see `Plan::state_mtime`); a file that
/// is not there (tar wrote none) is left so.
pub fn set_mtime(path: &Path, mtime: std::time::SystemTime) -> io::Result<()> {
    match File::options().write(true).open(path) {
        Ok(f) => f.set_modified(mtime),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::facts::saved_revision as read_revision;

    #[test]
    fn work_path_is_hidden_sibling() {
        assert_eq!(
            work_path_for(Path::new("/d/_home_foo.diff")).unwrap(),
            Path::new("/d/._home_foo.diff.s3napback-work")
        );
        assert!(work_path_for(Path::new("/")).is_err());
    }

    #[test]
    fn diff_copies_and_commit_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("snap.diff");
        fs::write(&real, "old").unwrap();
        let work = SnapshotWork::begin(&real, false).unwrap();
        assert_eq!(fs::read_to_string(work.work_path()).unwrap(), "old");
        fs::write(work.work_path(), "new").unwrap();
        assert_eq!(fs::read_to_string(&real).unwrap(), "old");
        let wp = work.work_path().to_path_buf();
        assert_eq!(work.commit().unwrap(), Committed::Replaced);
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        assert!(!wp.exists());
    }

    #[test]
    fn fresh_has_no_work_file_and_keeps_real() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("snap.diff");
        fs::write(&real, "old").unwrap();
        let work = SnapshotWork::begin(&real, true).unwrap();
        assert!(!work.work_path().exists());
        assert_eq!(fs::read_to_string(&real).unwrap(), "old");
        assert_eq!(work.commit().unwrap(), Committed::NoWorkFile);
        assert_eq!(fs::read_to_string(&real).unwrap(), "old");
    }

    #[test]
    fn missing_real_gives_no_work_file() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("snap.diff");
        let work = SnapshotWork::begin(&real, false).unwrap();
        assert!(!work.work_path().exists());
        fs::write(work.work_path(), "level0").unwrap();
        work.commit().unwrap();
        assert_eq!(fs::read_to_string(&real).unwrap(), "level0");
    }

    #[test]
    fn abandon_and_drop_leave_real_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("snap.diff");
        fs::write(&real, "old").unwrap();
        for use_drop in [false, true] {
            let work = SnapshotWork::begin(&real, false).unwrap();
            let wp = work.work_path().to_path_buf();
            fs::write(&wp, "changed").unwrap();
            if use_drop {
                drop(work);
            } else {
                work.abandon();
            }
            assert!(!wp.exists());
            assert_eq!(fs::read_to_string(&real).unwrap(), "old");
        }
    }

    #[test]
    fn stale_work_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("snap.diff");
        fs::write(work_path_for(&real).unwrap(), "stale").unwrap();
        let work = SnapshotWork::begin(&real, true).unwrap();
        assert!(!work.work_path().exists());
        fs::write(&real, "old").unwrap();
        let work2 = SnapshotWork::begin(&real, false).unwrap();
        assert_eq!(fs::read_to_string(work2.work_path()).unwrap(), "old");
        drop(work);
    }

    #[test]
    fn revisions_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("_svn_repo.diff");
        assert_eq!(read_revision(&real).unwrap(), None);
        write_revision(&real, 42).unwrap();
        assert_eq!(read_revision(&real).unwrap(), Some(42));
        assert_eq!(fs::read_to_string(&real).unwrap(), "42\n");
        fs::write(&real, "  17 \n").unwrap();
        assert_eq!(read_revision(&real).unwrap(), Some(17));
        fs::write(&real, "abc").unwrap();
        let err = read_revision(&real).unwrap_err();
        assert!(err.contains("not a revision number"), "{err}");
    }

    #[test]
    fn revision_via_work_is_committed_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("rev");
        write_revision(&real, 5).unwrap();
        let work = SnapshotWork::begin(&real, false).unwrap();
        work.write_revision(9).unwrap();
        assert_eq!(read_revision(&real).unwrap(), Some(5));
        drop(work);
        assert_eq!(read_revision(&real).unwrap(), Some(5));
        let work = SnapshotWork::begin(&real, false).unwrap();
        work.write_revision(9).unwrap();
        work.commit().unwrap();
        assert_eq!(read_revision(&real).unwrap(), Some(9));
    }
}
