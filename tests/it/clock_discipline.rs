//! No test may depend on the real date, time of day or zone: every test starts the tool
//! through `support/tool.rs`, which gives it `--now` and `TZ`. This test reads every `.rs`
//! file under `tests/it/` and `compat-tests/` and fails, naming file and line, when one
//! names the binary, spawns a program named like the tool, or passes `--now` itself.

use std::fs;
use std::path::{Path, PathBuf};

/// The one file that may name the binary.
const TOOL: &str = "tests/it/support/tool.rs";

/// Arguments of `Command::new` that are not string literals, known to start other
/// programs (a new one must be added here, or the tool started through `support::tool`).
const OTHER_PROGRAMS: [&str; 9] = [
    "&argv[0]",         // pipe helpers: tar, gzip, gpg argv built from literals
    "moto_python()",    // moto and boto3
    "bin",              // garage
    "&bin",             // PostgreSQL tools
    "pg.bin(\"psql\")", // psql
    "self.bin(\"psql\")",
    "install", // mariadb-install-db
    "server",  // mariadbd
    "path",    // PostgreSQL tools, possibly through runuser
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text of the call's argument from `open` (just after `(`) to its matching `)`.
fn argument(text: &str, open: usize) -> &str {
    let mut depth = 1;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return text[open..open + i].trim();
                }
            }
            _ => {}
        }
    }
    text[open..].trim()
}

/// Every breach of the rule in `text` (a file at `rel`), as `rel:LINE: what`.
fn breaches(rel: &str, text: &str) -> Vec<String> {
    let line_of = |at: usize| text[..at].matches('\n').count() + 1;
    let mut found = Vec::new();
    let binary = concat!("CARGO_BIN_EXE_", "s3napback");
    if rel != TOOL {
        for (at, _) in text.match_indices(binary) {
            found.push(format!(
                "{rel}:{}: names {binary}; start the tool with support::tool::command",
                line_of(at)
            ));
        }
        for (at, _) in text.match_indices(concat!("\"--", "now\"")) {
            found.push(format!(
                "{rel}:{}: passes --now itself; give the time to support::tool::command",
                line_of(at)
            ));
        }
        for (at, m) in text.match_indices(concat!("Command", "::new(")) {
            let arg = argument(text, at + m.len());
            let literal = arg.starts_with('"');
            let tool_like = arg.contains("s3napback");
            if (literal && tool_like) || (!literal && !OTHER_PROGRAMS.contains(&arg)) {
                found.push(format!(
                    "{rel}:{}: spawns `{arg}` directly; start the tool with \
                     support::tool::command or command_at (another program: add it to \
                     OTHER_PROGRAMS in tests/it/clock_discipline.rs)",
                    line_of(at)
                ));
            }
        }
    }
    found
}

#[test]
fn every_test_starts_the_tool_through_support_tool() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("tests/it"), &mut files);
    sources(&root.join("compat-tests"), &mut files);
    assert!(files.len() > 40, "found only {files:?}");
    let mut found = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(root).unwrap().display().to_string();
        found.extend(breaches(&rel, &fs::read_to_string(file).unwrap()));
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_check_finds_each_kind_of_breach() {
    let text = concat!(
        "let a = env!(\"CARGO_BIN_EXE_",
        "s3napback\");\n",
        "cmd.args([\"--",
        "now\", x]);\n",
        "Command",
        "::new(\"s3napback.pl\");\n",
        "Command",
        "::new(link);\n",
        "Command",
        "::new(\"tar\");\n",
        "Command",
        "::new(&argv[0]);\n",
    );
    let found = breaches("tests/it/x.rs", text);
    let lines: Vec<&str> = found
        .iter()
        .map(|f| f.split(": ").next().unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            "tests/it/x.rs:1",
            "tests/it/x.rs:2",
            "tests/it/x.rs:3",
            "tests/it/x.rs:4"
        ],
        "{found:#?}"
    );
    assert!(breaches(TOOL, text).is_empty());
}
