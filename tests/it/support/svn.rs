//! Throwaway Subversion repositories (`svnadmin create`) with a few real commits.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// A Subversion repository in a temp dir.
pub struct SvnRepo {
    dir: TempDir,
    repo: PathBuf,
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl SvnRepo {
    /// Creates a repository named `repo` and makes `commits` commits (the first imports a
    /// small tree under `trunk/`, each further one changes `trunk/file.txt`).
    pub fn new(commits: usize) -> SvnRepo {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        run(
            Command::new("svnadmin").arg("create").arg(&repo),
            "svnadmin create",
        );
        let svn = SvnRepo { dir, repo };
        if commits > 0 {
            let tree = svn.dir.path().join("import");
            fs::create_dir_all(tree.join("trunk/sub")).unwrap();
            fs::write(tree.join("trunk/file.txt"), "revision 1\n").unwrap();
            fs::write(tree.join("trunk/sub/other.txt"), "other\n").unwrap();
            run(
                Command::new("svn")
                    .args(["import", "-q", "--non-interactive", "-m", "initial import"])
                    .arg(&tree)
                    .arg(svn.url()),
                "svn import",
            );
            fs::remove_dir_all(&tree).unwrap();
            for i in 2..=commits {
                svn.commit_file("trunk/file.txt", &format!("revision {i}\n"));
            }
        }
        svn
    }

    /// The repository directory (what `svnadmin dump` takes).
    pub fn path(&self) -> &Path {
        &self.repo
    }

    /// The `file://` URL of the repository root.
    pub fn url(&self) -> String {
        format!("file://{}", self.repo.display())
    }

    /// Commits `content` as the file `path` (relative to the root; created or replaced)
    /// and returns the new youngest revision.
    pub fn commit_file(&self, path: &str, content: &str) -> u64 {
        let src = self.dir.path().join("put.tmp");
        fs::write(&src, content).unwrap();
        run(
            Command::new("svnmucc")
                .args(["--non-interactive", "-m", "change", "-U"])
                .arg(self.url())
                .arg("put")
                .arg(&src)
                .arg(path),
            "svnmucc put",
        );
        let _ = fs::remove_file(&src);
        self.youngest()
    }

    /// `svnlook youngest`.
    pub fn youngest(&self) -> u64 {
        run(
            Command::new("svnlook").arg("youngest").arg(&self.repo),
            "svnlook youngest",
        )
        .trim()
        .parse()
        .expect("numeric revision")
    }

    /// A new repository loaded (`svnadmin load`) from a dump stream, e.g. a restored
    /// FULL + DIFF chain.
    pub fn from_dump(dump: &[u8]) -> SvnRepo {
        let svn = SvnRepo::new(0);
        let file = svn.dir.path().join("load.dump");
        fs::write(&file, dump).unwrap();
        run(
            Command::new("svnadmin")
                .args(["load", "-q"])
                .arg(&svn.repo)
                .stdin(fs::File::open(&file).unwrap()),
            "svnadmin load",
        );
        svn
    }

    /// `svnlook cat REPO PATH` (the youngest revision).
    pub fn cat(&self, path: &str) -> String {
        run(
            Command::new("svnlook").arg("cat").arg(&self.repo).arg(path),
            "svnlook cat",
        )
    }
}
