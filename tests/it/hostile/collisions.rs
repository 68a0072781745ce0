//! Names the legacy naming would make share a snapshot file or an object prefix are
//! refused before any work (exit 2), naming both items and both config lines.

use super::{GLOBALS, Scratch};

fn refused(body: &str, second_line: usize, first_line: usize, needle: &str) {
    let s = Scratch::new();
    let conf = s.write("x.conf", &format!("{GLOBALS}{body}"));
    let out = s.test_run(&conf, &[]);
    assert_eq!(out.code, 2, "{body}:\n{}", out.text);
    let c = conf.display();
    for want in [
        format!("{c}:{second_line}: "),
        format!("(at {c}:{first_line})"),
        needle.to_string(),
    ] {
        assert!(out.text.contains(&want), "{want:?} in:\n{}", out.text);
    }
    assert!(
        !out.text.contains(" -> b:"),
        "nothing planned:\n{}",
        out.text
    );
}

#[test]
fn directories_sharing_a_snapshot_file() {
    refused(
        "Directory /srv/a_b\n<Cycle w>\nDirectory /srv/a/b\n</Cycle>\n",
        6,
        4,
        "Directory \"/srv/a/b\" and Directory \"/srv/a_b\" (at",
    );
}

#[test]
fn mysql_names_sharing_a_prefix() {
    refused(
        "MySQL a/b\n<MySQL a:b>\n</MySQL>\n",
        5,
        4,
        "MySQL \"a:b\" and MySQL \"a/b\" (at",
    );
    refused(
        "MySQL all\nMySQL --all-databases\n",
        5,
        4,
        "share the object prefix \"MySQL/--all-databases\"",
    );
}

#[test]
fn postgres_user_at_db_and_db() {
    refused(
        "PostgreSQL db\nPostgreSQL postgres@db\n",
        5,
        4,
        "PostgreSQL \"postgres@db\" and PostgreSQL \"db\" (at",
    );
}

#[test]
fn subversion_and_directory_of_the_same_path() {
    refused(
        "Directory /srv/repo\nSubversion /srv/repo\n",
        5,
        4,
        "Subversion \"/srv/repo\" and Directory \"/srv/repo\" (at",
    );
}

#[test]
fn an_item_written_twice() {
    refused(
        "Directory /etc /home\n<Cycle weekly>\nFrequency 7\nDirectory /etc\n</Cycle>\n",
        7,
        4,
        "Directory \"/etc\" and Directory \"/etc\" (at",
    );
    refused(
        "SubversionDir /srv/svn\nSubversionDir /srv/svn/\n",
        5,
        4,
        "would share the repositories of \"/srv/svn\"",
    );
}

#[test]
fn distinct_names_pass() {
    let s = Scratch::new();
    let conf = s.write(
        "x.conf",
        &format!("{GLOBALS}Directory /srv/a /srv/b\nMySQL a:b a:c\nPostgreSQL u@x y\n"),
    );
    let out = s.test_run(&conf, &[]);
    assert_eq!(out.code, 0, "{}", out.text);
}
