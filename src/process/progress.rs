//! Transfer progress: a bar on a terminal (indicatif), a summary log line with the speed
//! for cron and log files.

use std::io::{self, IsTerminal, Read};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

/// Progress of one transfer.
pub struct Progress {
    bar: ProgressBar,
    label: String,
    started: Instant,
}

impl Progress {
    /// A transfer of `total` bytes (`None`: unknown, e.g. a backup stream). The bar shows
    /// only when stderr is a terminal.
    pub fn new(label: impl Into<String>, total: Option<u64>) -> Progress {
        let label = label.into();
        let bar = match (io::stderr().is_terminal(), total) {
            (false, _) => ProgressBar::hidden(),
            (true, Some(n)) => ProgressBar::new(n).with_style(bar_style()),
            (true, None) => ProgressBar::new_spinner().with_style(spinner_style()),
        };
        bar.set_message(label.clone());
        Progress {
            bar,
            label,
            started: Instant::now(),
        }
    }

    /// Counts bytes read through `inner`.
    pub fn wrap<R: Read>(&self, inner: R) -> ProgressReader<R> {
        ProgressReader {
            inner,
            bar: self.bar.clone(),
        }
    }

    /// Bytes counted so far.
    pub fn bytes(&self) -> u64 {
        self.bar.position()
    }

    /// Clears the bar and returns `LABEL: N bytes in T s (R MB/s)` for the log.
    pub fn finish(&self) -> String {
        self.bar.finish_and_clear();
        let secs = self.started.elapsed().as_secs_f64();
        let bytes = self.bar.position();
        let rate = if secs > 0.0 {
            bytes as f64 / secs / 1_000_000.0
        } else {
            0.0
        };
        format!(
            "{}: {bytes} bytes in {secs:.1} s ({rate:.1} MB/s)",
            self.label
        )
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
        .expect("valid progress template")
        .progress_chars("=> ")
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg} {bytes} {bytes_per_sec}")
        .expect("valid progress template")
}

/// A reader that advances a progress bar.
pub struct ProgressReader<R> {
    inner: R,
    bar: ProgressBar,
}

impl<R: Read> Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_terminal_styles_are_valid() {
        let _ = (bar_style(), spinner_style());
    }

    #[test]
    fn counts_bytes_and_reports_speed() {
        let p = Progress::new("slot", Some(10));
        let mut data = Vec::new();
        p.wrap(&b"0123456789"[..]).read_to_end(&mut data).unwrap();
        assert_eq!(p.bytes(), 10);
        assert!(p.finish().starts_with("slot: 10 bytes in "));
    }
}
