//! The top-level settings that need more than a number or a path: LockWait, RunTimeout,
//! S3PayloadSigning, NotifyCommand, and the S3Keyfile permission check.

use std::path::Path;
use std::time::Duration;

use super::error::{SettingsError, invalid};
use super::view::ScopeView;
use crate::config::parse::Origin;
use crate::store::s3::PayloadSigning;

/// `LockWait` when not set: an hour.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(60 * 60);

/// The longest `LockWait` accepted: a week.
const MAX_LOCK_WAIT: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// `N`, `Ns`, `Nm` or `Nh` (bare N: minutes), at most a week.
pub(super) fn parse_lock_wait(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    let (digits, unit) = match value.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&value[..i], c.to_ascii_lowercase()),
        _ => (value, 'm'),
    };
    let seconds_per_unit = match unit {
        's' => 1,
        'm' => 60,
        'h' => 60 * 60,
        _ => return Err("the unit must be s, m or h (minutes when none)".into()),
    };
    let n: u64 = digits.trim().parse().map_err(|_| {
        "must be a whole number of minutes, or of seconds/hours with s/h".to_string()
    })?;
    match n.checked_mul(seconds_per_unit).map(Duration::from_secs) {
        Some(wait) if wait <= MAX_LOCK_WAIT => Ok(wait),
        _ => Err("must be at most a week (168h)".into()),
    }
}

/// The longest `RunTimeout` accepted: a week.
const MAX_RUN_TIMEOUT_HOURS: f64 = 7.0 * 24.0;

/// `RunTimeout HOURS`: a positive number of hours, fractions allowed (`0.5`: half an
/// hour), at most a week.
pub(super) fn parse_run_timeout(value: &str) -> Result<Duration, String> {
    let hours: f64 = value
        .trim()
        .parse()
        .map_err(|_| "must be a number of hours (fractions allowed, as 1.5)".to_string())?;
    if !hours.is_finite() || hours <= 0.0 {
        return Err("must be more than 0 hours".into());
    }
    if hours > MAX_RUN_TIMEOUT_HOURS {
        return Err("must be at most a week (168 hours)".into());
    }
    Ok(Duration::from_secs_f64(hours * 3600.0))
}

/// A warning when the S3 key file can be read by its group or others (it holds the
/// secret).
pub(super) fn keyfile_readable_by_others(path: &Path, origin: &Origin) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o044 != 0).then(|| {
        format!(
            "{origin}: S3Keyfile {} is readable by group or others (mode {mode:o}); \
             it holds the S3 secret: chmod 600 it",
            path.display()
        )
    })
}

/// `S3PayloadSigning auto|yes|no` (yes/no spelled as any boolean), default `auto`.
pub(super) fn payload_signing(top: &ScopeView<'_>) -> Result<PayloadSigning, SettingsError> {
    match top.first_value("S3PayloadSigning") {
        None => Ok(PayloadSigning::Auto),
        Some((v, _)) if v.eq_ignore_ascii_case("auto") => Ok(PayloadSigning::Auto),
        Some(("1", _)) => Ok(PayloadSigning::Always),
        Some(("0", _)) => Ok(PayloadSigning::Never),
        Some((value, origin)) => Err(invalid(
            origin,
            format!("S3PayloadSigning must be auto, yes or no, not {value:?}"),
        )),
    }
}

/// `NotifyCommand "PROGRAM ARG..."` (one value, split as a shell would, no shell is run)
/// or `NotifyCommand PROGRAM ARG...` (several values, each one argument).
pub(super) fn notify_command(top: &ScopeView<'_>) -> Result<Option<Vec<String>>, SettingsError> {
    let Some(d) = top.first("NotifyCommand") else {
        return Ok(None);
    };
    let argv = match d.values.as_slice() {
        [one] => shell_words::split(one)
            .map_err(|e| invalid(&d.origin, format!("NotifyCommand {one:?}: {e}")))?,
        many => many.to_vec(),
    };
    if d.bare || argv.first().is_none_or(String::is_empty) {
        return Err(invalid(&d.origin, "NotifyCommand needs a command"));
    }
    Ok(Some(argv))
}
