//! Legacy parity: runs `s3napback -t` for every recorded section of every golden file
//! (clock via `--now`, zone via `TZ`, DiffDir state, GnuPG home, empty bucket) and asserts
//! that the log lines equal what the legacy s3napback.pl printed, byte for byte.
//! See compat-tests/README.md for how the recordings were made.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The one way the tests start the tool (shared with the `it` tests).
#[path = "../tests/it/support/tool.rs"]
#[allow(dead_code)]
mod tool;

const LOGCONF: &str = "log4perl.rootLogger = DEBUG, Screen
log4perl.appender.Screen        = Log::Log4perl::Appender::Screen
log4perl.appender.Screen.stderr = 0
log4perl.appender.Screen.layout = Log::Log4perl::Layout::PatternLayout
log4perl.appender.Screen.layout.ConversionPattern = %c %p %m%n
log4perl.logger.Backup.S3napback = INFO
";

fn here() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("compat-tests")
}

/// A loopback endpoint that answers every request with S3's NoSuchBucket (an empty or
/// unreachable bucket, as in the recordings).
fn no_such_bucket_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || answer_no_such_bucket(stream));
            }
        });
        format!("http://{addr}")
    })
}

fn answer_no_such_bucket(stream: std::net::TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" || header == "\n" {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let payload = "<?xml version='1.0' encoding='UTF-8'?><Error><Code>NoSuchBucket</Code>\
                       <Message>The specified bucket does not exist</Message></Error>";
        let head = request_line.starts_with("HEAD ");
        let response = format!(
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{}",
            payload.len(),
            if head { "" } else { payload }
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// A GnuPG home with one key for `Backup Test <backup@example.com>`, made once.
fn key_home() -> &'static Path {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    HOME.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let status = Command::new("gpg")
            .args(["--homedir"])
            .arg(dir.path())
            .args(["--batch", "--passphrase", "", "--quick-gen-key"])
            .args([
                "Backup Test <backup@example.com>",
                "default",
                "default",
                "never",
            ])
            .output()
            .expect("run gpg");
        assert!(
            status.status.success(),
            "gpg key generation failed: {status:?}"
        );
        dir
    })
    .path()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_dir(&entry.path(), &target);
        } else if kind.is_file() {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

struct Section {
    tz: String,
    now: String,
    touched: bool,
    expected: String,
}

fn sections(golden: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for line in golden.lines() {
        if let Some(header) = line.strip_prefix("### ") {
            let field = |name: &str| {
                let start = header.find(&format!("{name}=")).unwrap() + name.len() + 1;
                let rest = &header[start..];
                let end = [" now=", " diffdir="]
                    .iter()
                    .filter_map(|m| rest.find(m))
                    .min()
                    .unwrap_or(rest.len());
                rest[..end].to_string()
            };
            out.push(Section {
                tz: field("TZ"),
                now: field("now"),
                touched: field("diffdir") == "touched-today",
                expected: String::new(),
            });
        } else {
            let s = out.last_mut().expect("golden starts with a ### header");
            s.expected.push_str(line);
            s.expected.push('\n');
        }
    }
    out
}

/// Runs one section; returns the tool's normalised log lines.
fn run_section(case: &str, state_files: &[String], s: &Section) -> String {
    let root = tempfile::tempdir().expect("tempdir");
    let root_path = root.path().to_str().unwrap().to_string();
    for d in ["diffs", "tmp"] {
        fs::create_dir(root.path().join(d)).unwrap();
    }
    let gnupg = root.path().join("gnupg");
    copy_dir(key_home(), &gnupg);
    fs::write(
        root.path().join("key.txt"),
        "key=AKIAEXAMPLE\nsecret=secretexample\n",
    )
    .unwrap();
    let conf_text = fs::read_to_string(here().join("cases").join(format!("{case}.conf")))
        .unwrap()
        .replace("@ROOT@", &root_path);
    let conf = root.path().join("case.conf");
    fs::write(&conf, conf_text).unwrap();
    let logconf = root.path().join("log.conf");
    fs::write(&logconf, LOGCONF).unwrap();
    if s.touched {
        for name in state_files {
            let f = root.path().join("diffs").join(name);
            fs::write(&f, "").unwrap();
            let ok = Command::new("touch")
                .arg("-d")
                .arg(&s.now)
                .arg(&f)
                .env("TZ", &s.tz)
                .status()
                .unwrap();
            assert!(ok.success());
        }
    }
    let args = [
        "--logconfig",
        logconf.to_str().unwrap(),
        "-t",
        "-c",
        conf.to_str().unwrap(),
    ];
    let out = tool::command(args, &s.now)
        .env("TZ", &s.tz)
        .env("GNUPGHOME", &gnupg)
        .env("AWS_ENDPOINT_URL", no_such_bucket_endpoint())
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .output()
        .expect("run s3napback");
    // the legacy test mode ends well and says nothing outside its log (which this log
    // config sends to stdout)
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{case} TZ={} now={}: {}; stderr:\n{}",
        s.tz,
        s.now,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("Backup.S3napback"))
        .map(|l| format!("{}\n", l.replace(&root_path, "@ROOT@")))
        .collect()
}

fn check_case(case: &str) {
    let dir = here().join("golden");
    let golden = fs::read_to_string(dir.join(format!("{case}.golden"))).unwrap();
    let state_files: Vec<String> = fs::read_to_string(dir.join(format!("{case}.state")))
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let all = sections(&golden);
    assert!(!all.is_empty(), "{case}: no sections");
    let failures = Mutex::new(Vec::new());
    let next = Mutex::new(0usize);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().unwrap();
                        *n += 1;
                        *n - 1
                    };
                    let Some(s) = all.get(i) else { break };
                    let got = run_section(case, &state_files, s);
                    if got != s.expected {
                        failures.lock().unwrap().push(format!(
                            "### TZ={} now={} touched={}\n--- legacy\n{}--- new\n{}",
                            s.tz, s.now, s.touched, s.expected, got
                        ));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{case}: {} of {} sections differ from the legacy output:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

macro_rules! golden_case {
    ($test:ident, $case:literal) => {
        #[test]
        fn $test() {
            check_case($case);
        }
    };
}

golden_case!(case_01_simple, "01-simple");
golden_case!(case_02_blocks, "02-blocks");
golden_case!(case_03_databases, "03-databases");
golden_case!(case_04_hanoi, "04-hanoi");
golden_case!(case_05_phase_frequency, "05-phase-frequency");
golden_case!(case_06_syntax, "06-syntax");
golden_case!(case_07_toplevel, "07-toplevel");
golden_case!(case_08_readme_example, "08-readme-example");
