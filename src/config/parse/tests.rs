//! Unit tests of `parse`.

use super::*;
use std::fs;

fn parse(text: &str) -> Document {
    parse_str(Path::new("test.conf"), text).expect("parses")
}

fn parse_err(text: &str) -> ParseError {
    parse_str(Path::new("test.conf"), text).expect_err("must fail")
}

fn directive(e: &Entry) -> &Directive {
    match e {
        Entry::Directive(d) => d,
        Entry::Block(b) => panic!("expected a directive, got block {b:?}"),
    }
}

fn block(e: &Entry) -> &Block {
    match e {
        Entry::Block(b) => b,
        Entry::Directive(d) => panic!("expected a block, got directive {d:?}"),
    }
}

fn values(e: &Entry) -> Vec<&str> {
    directive(e).values.iter().map(String::as_str).collect()
}

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/config/golden")
        .join(name)
}

#[test]
fn directive_with_values() {
    let doc = parse("Directory /etc /home\n");
    assert_eq!(doc.entries.len(), 1);
    let d = directive(&doc.entries[0]);
    assert_eq!(d.name, "Directory");
    assert_eq!(d.values, vec!["/etc", "/home"]);
    assert!(!d.bare);
    assert_eq!(d.origin, Origin::new("test.conf", 1));
}

#[test]
fn names_keep_their_spelling_and_compare_case_insensitively() {
    let doc = parse("dIrEcToRy /etc\n");
    let d = directive(&doc.entries[0]);
    assert_eq!(d.name, "dIrEcToRy");
    assert!(d.is("Directory"));
    assert!(d.is("DIRECTORY"));
}

#[test]
fn bare_directive_has_value_one() {
    let doc = parse("GpgRecipient\nUseTempFile   \n");
    let d = directive(&doc.entries[0]);
    assert_eq!(d.values, vec!["1"]);
    assert!(d.bare);
    assert!(directive(&doc.entries[1]).bare);
}

#[test]
fn whitespace_around_lines_is_ignored() {
    let doc = parse("   \t Bucket   b.example.com  \t \n");
    assert_eq!(values(&doc.entries[0]), vec!["b.example.com"]);
}

#[test]
fn comments_and_blank_lines_are_skipped_with_line_numbers_kept() {
    let doc = parse("# a comment\n\n   # indented comment\n\t\nBucket b\n");
    assert_eq!(doc.entries.len(), 1);
    assert_eq!(directive(&doc.entries[0]).origin.line, 5);
}

#[test]
fn hash_later_in_a_line_is_not_a_comment() {
    let doc = parse("Directory /srv/a#b # not a comment\n");
    assert_eq!(
        values(&doc.entries[0]),
        vec!["/srv/a#b", "#", "not", "a", "comment"]
    );
}

#[test]
fn continuation_joins_lines_dropping_leading_whitespace() {
    let doc = parse("Directory /srv/plain \\\n\t/srv/continued\nBucket b\n");
    let d = directive(&doc.entries[0]);
    assert_eq!(d.values, vec!["/srv/plain", "/srv/continued"]);
    assert_eq!(d.origin.line, 1);
    assert_eq!(directive(&doc.entries[1]).origin.line, 3);
}

#[test]
fn continuation_without_space_joins_with_nothing_between() {
    let doc = parse("Directory /srv/pl\\\n    ain\n");
    assert_eq!(values(&doc.entries[0]), vec!["/srv/plain"]);
}

#[test]
fn continuation_over_several_lines_and_at_end_of_file() {
    let doc = parse("Exclude a \\\n b \\\n c \\\n");
    assert_eq!(values(&doc.entries[0]), vec!["a", "b", "c"]);
}

#[test]
fn quoted_values_keep_their_spaces() {
    let doc = parse("Directory \"/srv/with space\" '/srv/single quoted' plain\n");
    assert_eq!(
        values(&doc.entries[0]),
        vec!["/srv/with space", "/srv/single quoted", "plain"]
    );
}

#[test]
fn escaped_quotes_inside_quotes_become_bare_quotes() {
    let doc = parse(r#"Directory "say \"hi\"" 'it\'s' "mixed \' \\n""#);
    assert_eq!(
        values(&doc.entries[0]),
        vec![r#"say "hi""#, "it's", r"mixed ' \\n"]
    );
}

#[test]
fn quote_inside_an_unquoted_value_is_literal() {
    let doc = parse("Directory it's\n");
    assert_eq!(values(&doc.entries[0]), vec!["it's"]);
}

#[test]
fn empty_quoted_value() {
    let doc = parse("GpgRecipient \"\"\n");
    let d = directive(&doc.entries[0]);
    assert_eq!(d.values, vec![""]);
    assert!(!d.bare);
}

#[test]
fn booleans_are_fixed() {
    let doc = parse("A yes On TRUE\nB no OFF False\nC yesterday 2 \"on\"\n");
    assert_eq!(values(&doc.entries[0]), vec!["1", "1", "1"]);
    assert_eq!(values(&doc.entries[1]), vec!["0", "0", "0"]);
    assert_eq!(values(&doc.entries[2]), vec!["yesterday", "2", "1"]);
}

#[test]
fn blocks_nest_with_case_insensitive_names() {
    let doc = parse(
        "<Cycle daily>\n  Frequency 1\n  <DIRECTORY /x>\n    Fulls 2\n  </directory>\n</CYCLE>\nBucket b\n",
    );
    assert_eq!(doc.entries.len(), 2);
    let cycle = block(&doc.entries[0]);
    assert_eq!(cycle.name, "Cycle");
    assert_eq!(cycle.args, vec!["daily"]);
    assert_eq!(cycle.origin.line, 1);
    assert_eq!(cycle.body.len(), 2);
    let dir = block(&cycle.body[1]);
    assert!(dir.is("directory"));
    assert_eq!(dir.args, vec!["/x"]);
    assert_eq!(dir.origin.line, 3);
    assert_eq!(values(&dir.body[0]), vec!["2"]);
}

#[test]
fn block_args_are_split_and_unquoted_but_not_boolean_fixed() {
    let doc = parse("<Directory \"/srv/with space\" on>\n</Directory>\n<Cycle>\n</Cycle>\n");
    assert_eq!(block(&doc.entries[0]).args, vec!["/srv/with space", "on"]);
    assert!(block(&doc.entries[1]).args.is_empty());
}

#[test]
fn unclosed_block_ends_silently_at_end_of_file() {
    let doc = parse("<Cycle a>\n Directory /x\n <Directory /y>\n  Fulls 1\n");
    assert_eq!(doc.entries.len(), 1);
    let cycle = block(&doc.entries[0]);
    assert_eq!(cycle.body.len(), 2);
    assert_eq!(block(&cycle.body[1]).body.len(), 1);
}

#[test]
fn error_mismatched_closing_tag_names_file_and_line() {
    let e = parse_err("Bucket b\n<Cycle a>\n</Directory>\n");
    assert_eq!(e.origin, Origin::new("test.conf", 3));
    let text = e.to_string();
    assert!(text.starts_with("test.conf:3: "), "{text}");
    assert!(
        text.contains("</Directory>") && text.contains("<Cycle>"),
        "{text}"
    );
}

#[test]
fn error_stray_closing_tag_names_file_and_line() {
    let e = parse_err("\n\n</Cycle>\n");
    assert!(
        e.to_string()
            .starts_with("test.conf:3: closing tag </Cycle> without an open block"),
        "{e}"
    );
}

#[test]
fn error_empty_block_tag() {
    let e = parse_err("Bucket b\n<>\n");
    assert!(
        e.to_string().starts_with("test.conf:2: bad block tag"),
        "{e}"
    );
}

#[test]
fn error_block_tag_without_closing_bracket() {
    let e = parse_err("<Cycle a\n");
    assert!(
        e.to_string().starts_with("test.conf:1: bad block tag"),
        "{e}"
    );
}

#[test]
fn error_bad_closing_tag() {
    let e = parse_err("<Cycle a>\n</Cycle b>\n");
    assert!(
        e.to_string().starts_with("test.conf:2: bad closing tag"),
        "{e}"
    );
}

#[test]
fn error_unterminated_quote_names_file_and_line() {
    let e = parse_err("Bucket b\n\nDirectory \"/srv/open\n");
    assert!(
        e.to_string().starts_with("test.conf:3: unterminated quote"),
        "{e}"
    );
    let e = parse_err("<Directory '/x>\n");
    assert!(
        e.to_string().starts_with("test.conf:1: unterminated quote"),
        "{e}"
    );
}

#[test]
fn error_unparsable_line() {
    let e = parse_err("Bucket=b\n");
    assert!(
        e.to_string()
            .starts_with("test.conf:1: unable to parse line"),
        "{e}"
    );
    let e = parse_err("-x y\n");
    assert!(e.to_string().starts_with("test.conf:1: "), "{e}");
}

#[test]
fn error_unreadable_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.conf");
    let e = load(&missing).expect_err("missing file");
    assert_eq!(e.origin.line, 0);
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("{}: cannot read: ", missing.display())),
        "{text}"
    );
}

#[test]
fn include_file_in_place_and_inside_a_block() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("inc.conf"), "Exclude /a\nExclude /b\n").unwrap();
    let main = dir.path().join("main.conf");
    fs::write(
        &main,
        "Bucket b\nInclude inc.conf\nDiffDir /d\n<Cycle c>\n Include inc.conf\n</Cycle>\n",
    )
    .unwrap();
    let doc = load(&main).unwrap();
    let names: Vec<&str> = doc
        .entries
        .iter()
        .map(|e| match e {
            Entry::Directive(d) => d.name.as_str(),
            Entry::Block(b) => b.name.as_str(),
        })
        .collect();
    assert_eq!(
        names,
        vec!["Bucket", "Exclude", "Exclude", "DiffDir", "Cycle"]
    );
    let inc = directive(&doc.entries[2]);
    assert_eq!(inc.origin, Origin::new(dir.path().join("inc.conf"), 2));
    let cycle = block(&doc.entries[4]);
    assert_eq!(cycle.body.len(), 2);
    assert_eq!(values(&cycle.body[1]), vec!["/b"]);
}

#[test]
fn include_directory_reads_plain_files_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let conf_d = dir.path().join("conf.d");
    fs::create_dir(&conf_d).unwrap();
    fs::write(conf_d.join("b.conf"), "Directory /b\n").unwrap();
    fs::write(conf_d.join("a.conf"), "Directory /a\n").unwrap();
    fs::write(conf_d.join("c"), "Directory /c\n").unwrap();
    fs::create_dir(conf_d.join("a-subdir")).unwrap();
    let main = dir.path().join("main.conf");
    fs::write(&main, format!("Include {}\n", conf_d.display())).unwrap();
    let doc = load(&main).unwrap();
    let got: Vec<&str> = doc.entries.iter().map(|e| values(e)[0]).collect();
    assert_eq!(got, vec!["/a", "/b", "/c"]);
}

#[test]
fn include_glob_reads_matches_sorted() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("inc-z.conf"), "Directory /z\n").unwrap();
    fs::write(dir.path().join("inc-m.conf"), "Directory /m\n").unwrap();
    fs::write(dir.path().join("inc-m.txt"), "Directory /txt\n").unwrap();
    let main = dir.path().join("main.conf");
    fs::write(&main, "Include inc-*.conf\n").unwrap();
    let doc = load(&main).unwrap();
    let got: Vec<&str> = doc.entries.iter().map(|e| values(e)[0]).collect();
    assert_eq!(got, vec!["/m", "/z"]);
    assert!(doc.warnings.is_empty());
}

#[test]
fn include_glob_matching_nothing_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("main.conf");
    fs::write(&main, "Bucket b\nInclude conf.d/*.conf\n").unwrap();
    let doc = load(&main).unwrap();
    assert_eq!(doc.entries.len(), 1);
    assert_eq!(doc.warnings.len(), 1);
    assert!(
        doc.warnings[0].starts_with(&format!("{}:2: ", main.display())),
        "{:?}",
        doc.warnings
    );
}

#[test]
fn include_relative_path_is_tried_as_given_then_beside() {
    // `cargo test` runs in the crate root, where fixtures/config/include-probe.conf
    // says /from-cwd; a file of the same relative name beside main.conf says /beside.
    let dir = tempfile::tempdir().unwrap();
    let beside = dir.path().join("fixtures/config");
    fs::create_dir_all(&beside).unwrap();
    fs::write(beside.join("include-probe.conf"), "Directory /beside\n").unwrap();
    fs::write(dir.path().join("only-beside.conf"), "Directory /only\n").unwrap();
    let main = dir.path().join("main.conf");
    fs::write(
        &main,
        "Include fixtures/config/include-probe.conf\nInclude only-beside.conf\n",
    )
    .unwrap();
    let doc = load(&main).unwrap();
    assert_eq!(values(&doc.entries[0]), vec!["/from-cwd"]);
    assert_eq!(
        directive(&doc.entries[0]).origin.file,
        PathBuf::from("fixtures/config/include-probe.conf")
    );
    assert_eq!(values(&doc.entries[1]), vec!["/only"]);
}

#[test]
fn error_missing_include_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("main.conf");
    fs::write(&main, "Bucket b\n\nInclude missing.conf\n").unwrap();
    let e = load(&main).expect_err("missing include");
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "{}:3: Include: missing.conf not found",
            main.display()
        )),
        "{text}"
    );
}

#[test]
fn error_include_without_path() {
    let e = parse_err("Include\n");
    assert!(
        e.to_string()
            .starts_with("test.conf:1: Include needs a path"),
        "{e}"
    );
}

#[test]
fn error_include_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.conf");
    let b = dir.path().join("b.conf");
    fs::write(&a, "Bucket x\nInclude b.conf\n").unwrap();
    fs::write(&b, "Include a.conf\n").unwrap();
    let e = load(&a).expect_err("cycle");
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("{}:1: Include cycle", b.display())),
        "{text}"
    );
    fs::write(&a, "Include a.conf\n").unwrap();
    let e = load(&a).expect_err("self include");
    assert!(e.to_string().contains("Include cycle"), "{e}");
}

#[test]
fn error_in_included_file_names_that_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("inc.conf"), "\n</Cycle>\n").unwrap();
    let main = dir.path().join("main.conf");
    fs::write(&main, "Include inc.conf\n").unwrap();
    let e = load(&main).expect_err("error in include");
    assert_eq!(e.origin, Origin::new(dir.path().join("inc.conf"), 2));
}

#[test]
fn crlf_line_endings() {
    let doc = parse("Bucket b\r\nDirectory /x \\\r\n  /y\r\n");
    assert_eq!(values(&doc.entries[0]), vec!["b"]);
    assert_eq!(values(&doc.entries[1]), vec!["/x", "/y"]);
}

#[test]
fn all_golden_cases_parse() {
    for n in [
        "01-simple.conf",
        "02-blocks.conf",
        "03-databases.conf",
        "04-hanoi.conf",
        "05-phase-frequency.conf",
        "06-syntax.conf",
        "07-toplevel.conf",
    ] {
        let doc = load(&golden(n)).unwrap_or_else(|e| panic!("{n}: {e}"));
        assert!(!doc.entries.is_empty(), "{n}");
        assert!(doc.warnings.is_empty(), "{n}");
    }
}

#[test]
fn golden_06_syntax_shapes() {
    let doc = load(&golden("06-syntax.conf")).unwrap();
    // 6 globals, the cycle block, the directory block.
    assert_eq!(doc.entries.len(), 8);
    let cycle = block(&doc.entries[6]);
    assert_eq!(cycle.name, "cycle");
    assert_eq!(cycle.args, vec!["mixed-case"]);
    assert_eq!(values(&cycle.body[3]), vec!["1"]); // UseTempFile On
    assert_eq!(values(&cycle.body[4]), vec!["/srv/with space"]);
    assert_eq!(values(&cycle.body[5]), vec!["/srv/plain", "/srv/continued"]);
    assert_eq!(directive(&cycle.body[5]).origin.line, 15);
    assert_eq!(values(&cycle.body[6]), vec!["/srv/with space/cache"]);
    let dir = block(&doc.entries[7]);
    assert_eq!(dir.name, "DIRECTORY");
    assert_eq!(dir.args, vec!["/var/lib/app"]);
    assert_eq!(values(&dir.body[3]), vec!["0"]); // UseTempFile false
}

#[test]
fn include_chains_deeper_than_the_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..20 {
        fs::write(
            dir.path().join(format!("{i}.conf")),
            format!("Include {}.conf\n", i + 1),
        )
        .unwrap();
    }
    fs::write(dir.path().join("20.conf"), "Frequency 1\n").unwrap();
    let e = load(&dir.path().join("0.conf")).expect_err("too deep");
    assert!(
        e.message.contains("Include nested more than 16 deep"),
        "{e}"
    );
    assert_eq!(e.origin.line, 1);
}

#[test]
fn include_globs_and_directories_with_too_many_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let many = dir.path().join("many");
    fs::create_dir(&many).unwrap();
    for i in 0..300 {
        fs::write(many.join(format!("{i:03}.conf")), "Exclude /x\n").unwrap();
    }
    for spec in ["many/*.conf", "many"] {
        let main = dir.path().join("main.conf");
        fs::write(&main, format!("Frequency 1\nInclude {spec}\n")).unwrap();
        let e = load(&main).expect_err("too many");
        assert_eq!(e.origin, Origin::new(&main, 2), "{e}");
        assert!(e.message.contains("256"), "{e}");
    }
}
