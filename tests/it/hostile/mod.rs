//! Hostile input (issue 7): configs beyond the limits, colliding item names, secrets kept
//! out of logs and argument vectors, and item names full of shell metacharacters.

mod collisions;
mod limits;
mod names;
mod secrets;

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::clock::DAY_1;
use crate::support::s3::ClosedPort;
use crate::support::tool;

/// What one run of the binary did.
pub struct Out {
    pub code: i32,
    pub text: String,
}

/// A scratch folder with a DiffDir, for configs that never reach a server.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

/// The globals every config needs; `@ROOT@` is the scratch folder.
pub const GLOBALS: &str = "DiffDir @ROOT@/diffs\nBucket b\nChunkSize 1000\n";

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("diffs")).unwrap();
        Scratch { dir }
    }

    /// Writes `rel` (with `@ROOT@` replaced) and returns its path.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(rel);
        let root = self.dir.path().to_str().unwrap();
        fs::write(&path, text.replace("@ROOT@", root)).unwrap();
        path
    }

    /// `s3napback -t -c CONF` on [`DAY_1`] with S3 pointing at a closed port: only
    /// validation matters.
    pub fn test_run(&self, conf: &Path, extra: &[&str]) -> Out {
        let closed = ClosedPort::new();
        let mut args = vec!["-t", "-c", conf.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = tool::command(args, DAY_1)
            .env("AWS_ENDPOINT_URL", closed.endpoint())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains("panicked"), "{text}");
        Out {
            code: out.status.code().unwrap_or(-1),
            text,
        }
    }
}
