//! What produces each backup stream (LEGACY.md §7): the programs as argument vectors for the
//! pipeline, and the legacy shell-looking text for the log (with the legacy spacing).

use std::path::{Path, PathBuf};

/// One program invocation: `argv[0]` is the program.
pub type Argv = Vec<String>;

/// The data source of one backup item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `tar -f - [--exclude E ...] -g SNAPSHOT -C / -czp NAME`
    Tar {
        excludes: Vec<String>,
        snapshot: PathBuf,
        name: String,
    },
    /// `mysqldump --opt [--socket S] [OPTIONS] DB | gzip`
    MySqlDump {
        socket: Option<String>,
        options: Vec<String>,
        database: String,
    },
    /// `pg_dump [-U USER] DB | gzip`, or `pg_dumpall [-U USER] | gzip` when `database` is None.
    PgDump {
        user: Option<String>,
        database: Option<String>,
    },
    /// `svnadmin dump -q -rFROM:TO --incremental REPO | gzip`
    SvnDump { repo: String, from: u64, to: u64 },
}

fn args(items: &[&str]) -> Argv {
    items.iter().map(|s| s.to_string()).collect()
}

impl Source {
    /// The programs to run, in order, each reading the previous one's output. `snapshot`
    /// replaces the tar snapshot path (the work copy used during a real run).
    pub fn stages(&self, snapshot: Option<&Path>) -> Vec<Argv> {
        match self {
            Source::Tar {
                excludes,
                snapshot: legacy,
                name,
            } => {
                let mut tar = args(&["tar", "-f", "-"]);
                for e in excludes {
                    tar.push("--exclude".into());
                    tar.push(e.clone());
                }
                tar.push("-g".into());
                tar.push(snapshot.unwrap_or(legacy).display().to_string());
                tar.extend(args(&["-C", "/", "-czp"]));
                tar.push(name.clone());
                vec![tar]
            }
            Source::MySqlDump {
                socket,
                options,
                database,
            } => {
                let mut dump = args(&["mysqldump", "--opt"]);
                if let Some(s) = socket {
                    dump.push("--socket".into());
                    dump.push(s.clone());
                }
                dump.extend(options.iter().cloned());
                dump.push(database.clone());
                vec![dump, args(&["gzip"])]
            }
            Source::PgDump { user, database } => {
                let mut dump = match database {
                    Some(_) => args(&["pg_dump"]),
                    None => args(&["pg_dumpall"]),
                };
                if let Some(u) = user {
                    dump.push("-U".into());
                    dump.push(u.clone());
                }
                dump.extend(database.iter().cloned());
                vec![dump, args(&["gzip"])]
            }
            Source::SvnDump { repo, from, to } => vec![
                vec![
                    "svnadmin".into(),
                    "dump".into(),
                    "-q".into(),
                    format!("-r{from}:{to}"),
                    "--incremental".into(),
                    repo.clone(),
                ],
                args(&["gzip"]),
            ],
        }
    }

    /// The command as the legacy printed it, spaces of empty parts included
    /// (`tar -f -  -g ...`, `mysqldump --opt   --all-databases | gzip`).
    pub fn legacy_text(&self) -> String {
        match self {
            Source::Tar {
                excludes,
                snapshot,
                name,
            } => {
                let excl: String = excludes.iter().map(|e| format!(" --exclude {e}")).collect();
                format!("tar -f - {excl} -g {} -C / -czp {name}", snapshot.display())
            }
            Source::MySqlDump {
                socket,
                options,
                database,
            } => {
                let socket = socket
                    .as_ref()
                    .map(|s| format!("--socket {s}"))
                    .unwrap_or_default();
                format!(
                    "mysqldump --opt {socket} {} {database} | gzip",
                    options.join(" ")
                )
            }
            Source::PgDump { user, database } => {
                let user = user.as_ref().map(|u| format!("-U {u}")).unwrap_or_default();
                let program = if database.is_some() {
                    "pg_dump"
                } else {
                    "pg_dumpall"
                };
                format!(
                    "{program} {user} {} | gzip",
                    database.as_deref().unwrap_or("")
                )
            }
            Source::SvnDump { repo, from, to } => {
                format!("svnadmin dump -q -r{from}:{to} --incremental {repo} | gzip")
            }
        }
    }
}

/// The encryption stage: `gpg --batch [--keyring K] -r RECIPIENT -e`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encryption {
    pub recipient: String,
    pub keyring: Option<String>,
}

impl Encryption {
    /// The gpg argument vector.
    pub fn argv(&self) -> Argv {
        let mut gpg = args(&["gpg", "--batch"]);
        if let Some(k) = &self.keyring {
            gpg.push("--keyring".into());
            gpg.push(k.clone());
        }
        gpg.extend(["-r".to_string(), self.recipient.clone(), "-e".to_string()]);
        gpg
    }

    /// The legacy text, `gpg --batch  -r R -e` when there is no keyring.
    pub fn legacy_text(&self) -> String {
        let keyring = self
            .keyring
            .as_ref()
            .map(|k| format!("--keyring {k}"))
            .unwrap_or_default();
        format!("gpg --batch {keyring} -r {} -e", self.recipient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_text_keeps_legacy_spacing() {
        let s = Source::Tar {
            excludes: vec![],
            snapshot: "/d/_etc.diff".into(),
            name: "/etc".into(),
        };
        assert_eq!(s.legacy_text(), "tar -f -  -g /d/_etc.diff -C / -czp /etc");
        let s = Source::Tar {
            excludes: vec!["/a".into(), "/b c".into()],
            snapshot: "/d/_etc.diff".into(),
            name: "/etc".into(),
        };
        assert_eq!(
            s.legacy_text(),
            "tar -f -  --exclude /a --exclude /b c -g /d/_etc.diff -C / -czp /etc"
        );
        assert_eq!(
            s.stages(Some(Path::new("/w/x")))[0],
            args(&[
                "tar",
                "-f",
                "-",
                "--exclude",
                "/a",
                "--exclude",
                "/b c",
                "-g",
                "/w/x",
                "-C",
                "/",
                "-czp",
                "/etc"
            ])
        );
    }

    #[test]
    fn database_texts_keep_legacy_spacing() {
        let m = Source::MySqlDump {
            socket: None,
            options: vec![],
            database: "--all-databases".into(),
        };
        assert_eq!(m.legacy_text(), "mysqldump --opt   --all-databases | gzip");
        let p = Source::PgDump {
            user: None,
            database: None,
        };
        assert_eq!(p.legacy_text(), "pg_dumpall   | gzip");
        assert_eq!(p.stages(None), vec![args(&["pg_dumpall"]), args(&["gzip"])]);
        let p = Source::PgDump {
            user: Some("postgres".into()),
            database: Some("inventory".into()),
        };
        assert_eq!(p.legacy_text(), "pg_dump -U postgres inventory | gzip");
    }

    #[test]
    fn gpg_text_and_argv() {
        let e = Encryption {
            recipient: "r@x".into(),
            keyring: None,
        };
        assert_eq!(e.legacy_text(), "gpg --batch  -r r@x -e");
        assert_eq!(e.argv(), args(&["gpg", "--batch", "-r", "r@x", "-e"]));
    }
}
