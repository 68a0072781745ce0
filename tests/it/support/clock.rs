//! The tests' clocks. No test depends on the real date, time of day or zone: every run of
//! the tool gets `--now` (through [`super::tool`]) and `TZ=UTC`, and every S3 server runs
//! under libfaketime with a timestamp file the tests move ([`write_faketime`]).
//!
//! The dates lie in the past of any real clock the tests run on: Garage refuses a request
//! signed more than 24 hours before its own clock, and the tool signs with the real one.
//! (The S3 client corrects its signing time by the server's clock as it last saw it, so a
//! test that moves a Garage clock by days between its own requests connects afresh.)

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// 03:00 on a FULL day of the test cycles (`Frequency 1`, `Diffs 6`, `Fulls 2`): 2026-11-12
/// is day 315 of the year, slot 315 % 14 = 7, a FULL.
pub const DAY_1: &str = "2026-11-12 03:00:00";
/// The day after [`DAY_1`]: slot 8, a DIFF.
pub const DAY_2: &str = "2026-11-13 03:00:00";
/// Two days after [`DAY_1`]: slot 9, a DIFF.
pub const DAY_3: &str = "2026-11-14 03:00:00";

/// libfaketime's preload library, its thread-safe build: the servers are multi-threaded,
/// and the plain build (0.9.10) shares its parse buffers between threads, so while one
/// thread re-reads the timestamp file another can compute the time from the `+0` default
/// and date an object by the real clock (seen as a FULL dated today, older DIFFs ignored).
/// The `MT` build computes the time under a lock.
pub const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// The environment that puts a server under libfaketime, its time read from `file` at
/// every call (`FAKETIME_NO_CACHE`), timers on the real monotonic clock.
pub fn faketime_env(file: &Path) -> Vec<(String, String)> {
    vec![
        ("LD_PRELOAD".into(), LIBFAKETIME.into()),
        ("FAKETIME_TIMESTAMP_FILE".into(), file.display().to_string()),
        ("FAKETIME_NO_CACHE".into(), "1".into()),
        ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
    ]
}

/// Moves a libfaketime clock: the process reading `file` is at `now` (`YYYY-MM-DD
/// HH:MM:SS`, UTC) and its clock runs on from there. Written to a temporary file in the
/// same directory and renamed over `file`, so a reader never sees a half-written file
/// (libfaketime falls back to the real clock on one).
pub fn write_faketime(file: &Path, now: &str) {
    write_atomically(file, &format!("@{now}\n"));
}

/// Like [`write_faketime`], but the clock stands still at `now` (timestamps to the second).
pub fn freeze_faketime(file: &Path, now: &str) {
    write_atomically(file, &format!("{now}\n"));
}

fn write_atomically(file: &Path, text: &str) {
    assert_stamp(text.trim_start_matches('@').trim_end());
    static N: AtomicU64 = AtomicU64::new(0);
    let name = file.file_name().expect("a file name").to_string_lossy();
    let tmp = file.with_file_name(format!(
        ".{name}.{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    fs::write(&tmp, text).unwrap_or_else(|e| panic!("{}: {e}", tmp.display()));
    fs::rename(&tmp, file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
}

/// Panics unless `now` is `YYYY-MM-DD HH:MM:SS`.
pub fn assert_stamp(now: &str) {
    let ok = now.len() == 19
        && now.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            10 => c == ' ',
            13 | 16 => c == ':',
            _ => c.is_ascii_digit(),
        });
    assert!(ok, "{now:?} is not 'YYYY-MM-DD HH:MM:SS'");
}

/// `now` (`YYYY-MM-DD HH:MM:SS`, UTC) as a system time, e.g. for a file's mtime.
pub fn system_time(now: &str) -> std::time::SystemTime {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let t = time::PrimitiveDateTime::parse(now, fmt)
        .unwrap_or_else(|e| panic!("{now:?}: {e}"))
        .assume_utc();
    std::time::SystemTime::from(t)
}

#[test]
fn system_time_reads_utc_stamps() {
    let secs = |t: &str| {
        system_time(t)
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    assert_eq!(secs("1970-01-01 00:00:00"), 0);
    assert_eq!(secs("2026-11-12 03:00:00"), 1_794_452_400);
    assert_eq!(secs("2028-02-29 00:00:01"), 1_835_395_201);
}
