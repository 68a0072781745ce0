//! The documented limits on configuration input (doc/configuration.md, "Limits"). Anything
//! beyond them is refused before any work starts, with a message naming the file and line,
//! so hostile or mistaken input never makes the tool panic, overflow, hang or exhaust
//! memory.

/// The largest `Frequency` and `Phase` accepted (days: 100 years).
pub const MAX_DAYS: i64 = 36_500;
/// The largest `Diffs` and `Fulls` accepted.
pub const MAX_COUNT: i64 = 100_000;
/// The largest `Discs` accepted: a HanoiCycle of 2^31 backups.
pub const MAX_DISCS: i64 = 32;

/// Each schedule setting's accepted range: `(directive, min, max)`. Within these, every
/// step of the schedule arithmetic fits in 64 bits for any date up to the year 9999.
pub const SCHEDULE: &[(&str, i64, i64)] = &[
    ("Frequency", 1, MAX_DAYS),
    ("Phase", 0, MAX_DAYS),
    ("Diffs", 0, MAX_COUNT),
    ("Fulls", 1, MAX_COUNT),
    ("Discs", 1, MAX_DISCS),
];

/// The largest config file (or included file) read: 1 MiB.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// The most text read for one configuration, includes counted: 8 MiB.
pub const MAX_TOTAL_BYTES: u64 = 8 * 1024 * 1024;
/// The most files one configuration may read, counting every `Include` of the same file.
pub const MAX_FILES: usize = 256;
/// How deep `Include`s may nest.
pub const MAX_INCLUDE_DEPTH: usize = 16;
/// How deep `<Block>`s may nest, counted across included files.
pub const MAX_BLOCK_DEPTH: usize = 16;
/// The largest log configuration file read: 1 MiB.
pub const MAX_LOGCONFIG_BYTES: u64 = 1024 * 1024;
/// The largest width or precision in a log pattern (`%-20m`, `%.30c`): 1000 characters.
pub const MAX_PATTERN_WIDTH: usize = 1000;

/// Reads a text file of at most `max` bytes. Refuses anything but a regular file
/// (`/dev/zero`, a FIFO, a directory) without blocking on it, and a file that is (or grows)
/// larger than `max`. The message says what is wrong; callers add the file name.
pub fn read_regular_file(path: &std::path::Path, max: u64) -> Result<String, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;

    let check = |meta: &std::fs::Metadata| -> Result<(), String> {
        if !meta.is_file() {
            return Err("not a regular file".to_string());
        }
        if meta.len() > max {
            return Err(format!(
                "{} bytes, larger than the limit of {max} bytes",
                meta.len()
            ));
        }
        Ok(())
    };
    check(&std::fs::metadata(path).map_err(|e| e.to_string())?)?;
    // O_NONBLOCK: a FIFO swapped in after the check must not hang the open.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| e.to_string())?;
    check(&file.metadata().map_err(|e| e.to_string())?)?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max {
        return Err(format!("larger than the limit of {max} bytes"));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}
