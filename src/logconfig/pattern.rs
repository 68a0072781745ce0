//! log4perl's PatternLayout as a log4rs encoder.
//!
//! Conversions: `%c` (`%c{N}`: last N components; printed with dots), `%C` (module path,
//! `%C{N}`), `%d` (`yyyy/MM/dd HH:mm:ss` local time) and `%d{FORMAT}` (SimpleDateFormat
//! letters, `'quoted'` text, and `ISO8601`, `ABSOLUTE`, `DATE`), `%F` (file, `%F{N}`), `%H`
//! (host), `%l` (`module file (line)`), `%L` (line), `%m` (`%m{chomp}`), `%M` (module path),
//! `%n`, `%p` (`%p{1}`: first letter), `%P` (pid), `%r` (ms since start), `%R` (ms since the
//! previous event), `%T` (stack trace: empty), `%x` (NDC: `[undef]`), `%X{key}` (the
//! record's key-value or `[undef]`), `%%`. Each may carry `-` (left-align), a minimum
//! width and `.N` (maximum width; like Perl's sprintf, the first N characters are kept).

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use log::Record;
use log4rs::encode::{Encode, Write};
use time::OffsetDateTime;

use super::LogLevel;
use crate::config::limits::MAX_PATTERN_WIDTH;

static START: OnceLock<Instant> = OnceLock::new();

/// Marks the program start for `%r` (the first call wins).
pub(crate) fn mark_start() -> Instant {
    *START.get_or_init(Instant::now)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DateTok {
    Lit(String),
    /// A run of a pattern letter: (letter, count).
    Field(char, usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Conv {
    Category(Option<usize>),
    Class(Option<usize>),
    Date(Vec<DateTok>),
    File(Option<usize>),
    Host,
    Location,
    Line,
    Message { chomp: bool },
    Method,
    Newline,
    Level(Option<usize>),
    Pid,
    Relative,
    SinceLast,
    Trace,
    Ndc,
    Mdc(String),
    Percent,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Width {
    left: bool,
    min: Option<usize>,
    max: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(String),
    Conv(Conv, Width),
}

/// The time and zone used to render `%d`.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    pub now: OffsetDateTime,
    /// Zone abbreviation for `z` (e.g. `CET`).
    pub zone: String,
}

impl Clock {
    /// Local time (UTC if the local offset cannot be determined).
    pub fn now() -> Clock {
        match OffsetDateTime::now_local() {
            Ok(now) => {
                let zone = zone_abbrev(now.unix_timestamp()).unwrap_or_else(|| offset_name(now));
                Clock { now, zone }
            }
            Err(_) => Clock {
                now: OffsetDateTime::now_utc(),
                zone: "UTC".to_string(),
            },
        }
    }
}

fn offset_name(now: OffsetDateTime) -> String {
    let off = now.offset();
    if off.is_utc() {
        "UTC".to_string()
    } else {
        let (h, m, _) = off.as_hms();
        format!(
            "{}{:02}:{:02}",
            if off.is_negative() { '-' } else { '+' },
            h.abs(),
            m.abs()
        )
    }
}

/// The local zone abbreviation for a time, from the C library.
fn zone_abbrev(ts: i64) -> Option<String> {
    #[allow(clippy::useless_conversion)] // time_t is i32 on some targets
    let t: libc::time_t = ts.try_into().ok()?;
    // SAFETY: localtime_r writes only into `tm`; tm_zone then points to static zone data.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() || tm.tm_zone.is_null() {
            return None;
        }
        let s = std::ffi::CStr::from_ptr(tm.tm_zone)
            .to_string_lossy()
            .into_owned();
        (!s.is_empty()).then_some(s)
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success
    // when the name fits (we also cut at the buffer end).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".to_string();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// A log4perl PatternLayout `ConversionPattern`, usable as a log4rs encoder.
pub struct Log4perlPattern {
    source: String,
    pieces: Vec<Piece>,
    host: String,
    start: Instant,
    /// ms since start of the previous event, for `%R`.
    last: AtomicU64,
}

impl fmt::Debug for Log4perlPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Log4perlPattern")
            .field("pattern", &self.source)
            .finish()
    }
}

fn parse_date_format(fmt: &str) -> Vec<DateTok> {
    let fmt = match fmt {
        "ISO8601" => "yyyy-MM-dd HH:mm:ss,SSS",
        "ABSOLUTE" => "HH:mm:ss,SSS",
        "DATE" => "dd MMM yyyy HH:mm:ss,SSS",
        other => other,
    };
    let mut out = Vec::new();
    let mut lit = String::new();
    let chars: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // 'quoted text'; '' is a literal quote
            if chars.get(i + 1) == Some(&'\'') {
                lit.push('\'');
                i += 2;
                continue;
            }
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        lit.push('\'');
                        i += 2;
                        continue;
                    }
                    break;
                }
                lit.push(chars[i]);
                i += 1;
            }
            i += 1;
        } else if "yMdHhkKmsSaEDzZu".contains(c) {
            let mut n = 1;
            while chars.get(i + n) == Some(&c) {
                n += 1;
            }
            if !lit.is_empty() {
                out.push(DateTok::Lit(std::mem::take(&mut lit)));
            }
            out.push(DateTok::Field(c, n));
            i += n;
        } else {
            lit.push(c);
            i += 1;
        }
    }
    if !lit.is_empty() {
        out.push(DateTok::Lit(lit));
    }
    out
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn render_date(toks: &[DateTok], clock: &Clock, out: &mut String) {
    let t = clock.now;
    for tok in toks {
        match tok {
            DateTok::Lit(s) => out.push_str(s),
            DateTok::Field(c, n) => {
                let n = *n;
                let num = |v: i64| format!("{v:0n$}");
                let s = match c {
                    'y' if n == 2 => format!("{:02}", t.year().rem_euclid(100)),
                    'y' => num(t.year().into()),
                    'M' if n >= 4 => MONTHS[usize::from(u8::from(t.month())) - 1].to_string(),
                    'M' if n == 3 => MONTHS[usize::from(u8::from(t.month())) - 1][..3].to_string(),
                    'M' => num(u8::from(t.month()).into()),
                    'd' => num(t.day().into()),
                    'D' => num(t.ordinal().into()),
                    'H' => num(t.hour().into()),
                    'k' => num(if t.hour() == 0 { 24 } else { t.hour().into() }),
                    'K' => num((t.hour() % 12).into()),
                    'h' => num(match t.hour() % 12 {
                        0 => 12,
                        h => h.into(),
                    }),
                    'm' => num(t.minute().into()),
                    's' => num(t.second().into()),
                    'S' => {
                        let digits = format!("{:09}", t.nanosecond());
                        if n <= 9 {
                            digits[..n].to_string()
                        } else {
                            format!("{digits:0<n$}")
                        }
                    }
                    'a' => (if t.hour() < 12 { "AM" } else { "PM" }).to_string(),
                    'E' if n >= 4 => {
                        DAYS[usize::from(t.weekday().number_days_from_monday())].to_string()
                    }
                    'E' => {
                        DAYS[usize::from(t.weekday().number_days_from_monday())][..3].to_string()
                    }
                    'u' => num(t.weekday().number_from_monday().into()),
                    'z' => clock.zone.clone(),
                    'Z' => {
                        let (h, m, _) = t.offset().as_hms();
                        let sign = if t.offset().is_negative() { '-' } else { '+' };
                        format!("{sign}{:02}{:02}", h.abs(), m.abs())
                    }
                    _ => std::iter::repeat_n(*c, n).collect(),
                };
                out.push_str(&s);
            }
        }
    }
}

/// Last `n` components of `s` split by `sep` (all of it if `n` is 0 or large).
fn last_components(s: &str, sep: &str, n: Option<usize>) -> String {
    match n {
        Some(n) if n > 0 => {
            let parts: Vec<&str> = s.split(sep).collect();
            let from = parts.len().saturating_sub(n);
            parts[from..].join(sep)
        }
        _ => s.to_string(),
    }
}

impl Log4perlPattern {
    /// Compiles a ConversionPattern. Returns the encoder and a list of problems (unknown
    /// conversions, which are printed literally) for the caller to report; `Err` for a
    /// width beyond [`MAX_PATTERN_WIDTH`].
    pub fn new(pattern: &str) -> Result<(Log4perlPattern, Vec<String>), String> {
        let (pieces, problems) = compile(pattern)?;
        Ok((
            Log4perlPattern {
                source: pattern.to_string(),
                pieces,
                host: hostname(),
                start: mark_start(),
                last: AtomicU64::new(0),
            },
            problems,
        ))
    }

    /// The pattern text as configured.
    pub fn pattern(&self) -> &str {
        &self.source
    }

    /// Renders a record with the current local time.
    pub fn render(&self, record: &Record) -> String {
        self.render_at(record, &Clock::now())
    }

    pub(crate) fn render_at(&self, record: &Record, clock: &Clock) -> String {
        let elapsed = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let previous = self.last.swap(elapsed, Ordering::Relaxed);
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Lit(s) => out.push_str(s),
                Piece::Conv(conv, width) => {
                    let mut v = String::new();
                    self.convert(conv, record, clock, elapsed, previous, &mut v);
                    pad(&v, width, &mut out);
                }
            }
        }
        out
    }

    fn convert(
        &self,
        conv: &Conv,
        record: &Record,
        clock: &Clock,
        elapsed: u64,
        previous: u64,
        v: &mut String,
    ) {
        use std::fmt::Write as _;
        let module = record.module_path().unwrap_or("main");
        let file = record.file().unwrap_or("?");
        let line = record
            .line()
            .map_or_else(|| "?".to_string(), |l| l.to_string());
        match conv {
            Conv::Category(n) => v.push_str(&last_components(
                &record.target().replace("::", "."),
                ".",
                *n,
            )),
            Conv::Class(n) => v.push_str(&last_components(module, "::", *n)),
            Conv::Date(toks) => render_date(toks, clock, v),
            Conv::File(n) => v.push_str(&last_components(file, "/", *n)),
            Conv::Host => v.push_str(&self.host),
            Conv::Location => {
                let _ = write!(v, "{module} {file} ({line})");
            }
            Conv::Line => v.push_str(&line),
            Conv::Message { chomp } => {
                let _ = write!(v, "{}", record.args());
                if *chomp {
                    while v.ends_with('\n') {
                        v.pop();
                    }
                }
            }
            Conv::Method => v.push_str(module),
            Conv::Newline => v.push('\n'),
            Conv::Level(n) => {
                let name = LogLevel::of_record(record).name();
                match n {
                    Some(n) if *n > 0 => v.extend(name.chars().take(*n)),
                    _ => v.push_str(name),
                }
            }
            Conv::Pid => {
                let _ = write!(v, "{}", std::process::id());
            }
            Conv::Relative => {
                let _ = write!(v, "{elapsed}");
            }
            Conv::SinceLast => {
                let _ = write!(v, "{}", elapsed.saturating_sub(previous));
            }
            Conv::Trace => {}
            Conv::Ndc => v.push_str("[undef]"),
            Conv::Mdc(key) => match record.key_values().get(log::kv::Key::from_str(key)) {
                Some(val) => {
                    let _ = write!(v, "{val}");
                }
                None => v.push_str("[undef]"),
            },
            Conv::Percent => v.push('%'),
        }
    }
}

fn pad(v: &str, w: &Width, out: &mut String) {
    let mut s: String = match w.max {
        Some(max) => v.chars().take(max).collect(),
        None => v.to_string(),
    };
    if let Some(min) = w.min {
        let len = s.chars().count();
        if len < min {
            let fill = " ".repeat(min - len);
            if w.left {
                s.push_str(&fill);
            } else {
                s.insert_str(0, &fill);
            }
        }
    }
    out.push_str(&s);
}

/// A width or precision (`%20m`, `%.30m`, `%c{2}`): `None` when there are no digits, an
/// error beyond [`MAX_PATTERN_WIDTH`] (a huge width would make every log line that long).
fn width_number(digits: &str, pattern: &str) -> Result<Option<usize>, String> {
    if digits.is_empty() {
        return Ok(None);
    }
    match digits.parse::<usize>() {
        Ok(n) if n <= MAX_PATTERN_WIDTH => Ok(Some(n)),
        _ => Err(format!(
            "width {digits} in pattern `{pattern}` is larger than the limit of {MAX_PATTERN_WIDTH}"
        )),
    }
}

/// The pieces of a pattern and its warnings; `Err` for a width beyond the limit.
fn compile(pattern: &str) -> Result<(Vec<Piece>, Vec<String>), String> {
    let mut pieces = Vec::new();
    let mut problems = Vec::new();
    let mut lit = String::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '%' {
            lit.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        let mut width = Width::default();
        if chars.get(i) == Some(&'-') {
            width.left = true;
            i += 1;
        }
        let mut digits = String::new();
        while let Some(c) = chars.get(i).filter(|c| c.is_ascii_digit()) {
            digits.push(*c);
            i += 1;
        }
        width.min = width_number(&digits, pattern)?;
        if chars.get(i) == Some(&'.') {
            let mut digits = String::new();
            i += 1;
            while let Some(c) = chars.get(i).filter(|c| c.is_ascii_digit()) {
                digits.push(*c);
                i += 1;
            }
            width.max = width_number(&digits, pattern)?;
        }
        let Some(&c) = chars.get(i) else {
            problems.push(format!("pattern `{pattern}` ends with an incomplete `%`"));
            lit.extend(&chars[start..]);
            break;
        };
        i += 1;
        let mut option: Option<String> = None;
        if chars.get(i) == Some(&'{')
            && let Some(close) = chars[i..].iter().position(|&ch| ch == '}')
        {
            option = Some(chars[i + 1..i + close].iter().collect());
            i += close + 1;
        }
        let num = match option.as_deref().map(str::trim) {
            Some(o) if !o.is_empty() && o.bytes().all(|b| b.is_ascii_digit()) => {
                width_number(o, pattern)?
            }
            _ => None,
        };
        let conv = match c {
            'c' => Conv::Category(num),
            'C' => Conv::Class(num),
            'd' => Conv::Date(parse_date_format(
                option.as_deref().unwrap_or("yyyy/MM/dd HH:mm:ss"),
            )),
            'F' => Conv::File(num),
            'H' => Conv::Host,
            'l' => Conv::Location,
            'L' => Conv::Line,
            'm' => Conv::Message {
                chomp: option.as_deref() == Some("chomp"),
            },
            'M' => Conv::Method,
            'n' => Conv::Newline,
            'p' => Conv::Level(num),
            'P' => Conv::Pid,
            'r' => Conv::Relative,
            'R' => Conv::SinceLast,
            'T' => Conv::Trace,
            'x' => Conv::Ndc,
            'X' => Conv::Mdc(option.clone().unwrap_or_default()),
            '%' => Conv::Percent,
            other => {
                problems.push(format!(
                    "unknown conversion `%{other}` in pattern `{pattern}` printed as is"
                ));
                lit.extend(&chars[start..i]);
                continue;
            }
        };
        if !lit.is_empty() {
            pieces.push(Piece::Lit(std::mem::take(&mut lit)));
        }
        pieces.push(Piece::Conv(conv, width));
    }
    if !lit.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    Ok((pieces, problems))
}

impl Encode for Log4perlPattern {
    fn encode(&self, w: &mut dyn Write, record: &Record) -> anyhow::Result<()> {
        let line = self.render(record);
        w.write_all(line.as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
