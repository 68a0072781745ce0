//! What produces each backup stream (LEGACY.md §7): the programs as argument vectors for the
//! pipeline, and the legacy shell-looking text for the log (with the legacy spacing).

use std::path::{Path, PathBuf};

use crate::config::Compressor;

/// One program invocation: `argv[0]` is the program.
pub type Argv = Vec<String>;

/// The data source of one backup item. `compressor` is the gzip stage: `Gzip` gives the
/// legacy commands; `Pigz` replaces `gzip` by this program's parallel `s3napback gzip`
/// (and tar's `-z` by `| s3napback gzip`, see [`crate::process::gzip`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `tar -f - [--exclude E ...] -g SNAPSHOT -C / -czp NAME`
    Tar {
        compressor: Compressor,
        excludes: Vec<String>,
        snapshot: PathBuf,
        name: String,
    },
    /// `mysqldump --opt [--socket S] [OPTIONS] DB | gzip`
    MySqlDump {
        compressor: Compressor,
        socket: Option<String>,
        options: Vec<String>,
        database: String,
    },
    /// `pg_dump [-U USER] DB | gzip`, or `pg_dumpall [-U USER] | gzip` when `database` is None.
    PgDump {
        compressor: Compressor,
        user: Option<String>,
        database: Option<String>,
    },
    /// `svnadmin dump -q -rFROM:TO --incremental REPO | gzip`
    SvnDump {
        compressor: Compressor,
        repo: String,
        from: u64,
        /// The youngest revision; `None` only in what the legacy printed for a repository
        /// it could not read (`-rFROM:`, never run).
        to: Option<u64>,
    },
}

fn args(items: &[&str]) -> Argv {
    items.iter().map(|s| s.to_string()).collect()
}

impl Compressor {
    /// The separate compression stage as the log and test mode print it.
    pub fn program(self) -> &'static str {
        match self {
            Compressor::Gzip => "gzip",
            Compressor::Pigz => "s3napback gzip",
        }
    }

    /// The separate compression stage as it runs.
    pub fn stage(self) -> Argv {
        match self {
            Compressor::Gzip => args(&["gzip"]),
            Compressor::Pigz => crate::process::gzip::stage(),
        }
    }
}

/// tar's create flags: `-czp` with tar's own gzip, `-cp` when a stage after it compresses.
fn tar_flags(compressor: Compressor) -> &'static str {
    match compressor {
        Compressor::Gzip => "-czp",
        Compressor::Pigz => "-cp",
    }
}

/// A source's programs ready to run, with the files they read while running (a MySQL
/// password's defaults file), which are removed when this is dropped.
#[derive(Debug)]
pub struct Prepared {
    /// The programs to run, in order, each reading the previous one's output.
    pub stages: Vec<Argv>,
    /// Keeps the defaults file alive (and deletes it on drop).
    _defaults_file: Option<tempfile::NamedTempFile>,
}

/// Takes a password out of MySQLOptions (`-pSECRET`, `--password=SECRET`,
/// `--password SECRET`): the other options, and the password if there was one.
fn split_mysql_password(options: &[String]) -> (Vec<String>, Option<String>) {
    let mut rest = Vec::new();
    let mut password = None;
    let mut i = 0;
    while i < options.len() {
        let option = &options[i];
        i += 1;
        if let Some(p) = option.strip_prefix("--password=") {
            password = Some(p.to_string());
        } else if let Some(p) = option.strip_prefix("-p").filter(|p| !p.is_empty()) {
            password = Some(p.to_string());
        } else if option == "--password" && i < options.len() {
            password = Some(options[i].clone());
            i += 1;
        } else {
            rest.push(option.clone());
        }
    }
    (rest, password)
}

/// A 0600 option file (`tempfile` creates it so, with an unpredictable name) giving
/// mysqldump the password, so it never appears in an argument vector or `ps`.
fn mysql_defaults_file(password: &str) -> std::io::Result<tempfile::NamedTempFile> {
    use std::io::Write;
    let mut escaped = String::new();
    for c in password.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            other => escaped.push(other),
        }
    }
    let mut file = tempfile::Builder::new()
        .prefix("s3napback-mysql-")
        .suffix(".cnf")
        .tempfile()?;
    writeln!(file, "[client]\npassword=\"{escaped}\"")?;
    file.flush()?;
    Ok(file)
}

impl Source {
    /// The programs to run (see [`Source::stages`]); a MySQL password in the options is
    /// moved into a defaults file (`--defaults-extra-file=`, mysqldump's first option).
    pub fn prepare(&self, snapshot: Option<&Path>) -> std::io::Result<Prepared> {
        if let Source::MySqlDump { options, .. } = self
            && let (_, Some(password)) = split_mysql_password(options)
        {
            let file = mysql_defaults_file(&password)?;
            return Ok(Prepared {
                stages: self.stages_with(snapshot, Some(file.path())),
                _defaults_file: Some(file),
            });
        }
        Ok(Prepared {
            stages: self.stages_with(snapshot, None),
            _defaults_file: None,
        })
    }

    /// The programs to run, in order, each reading the previous one's output. `snapshot`
    /// replaces the tar snapshot path (the work copy used during a real run). A MySQL
    /// password is left out: [`Source::prepare`] puts it in a defaults file.
    pub fn stages(&self, snapshot: Option<&Path>) -> Vec<Argv> {
        self.stages_with(snapshot, None)
    }

    fn stages_with(&self, snapshot: Option<&Path>, defaults: Option<&Path>) -> Vec<Argv> {
        match self {
            Source::Tar {
                compressor,
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
                // `--`: a name that starts with `-` is a name, not an option.
                tar.extend(args(&["-C", "/", tar_flags(*compressor), "--"]));
                tar.push(name.clone());
                match compressor {
                    Compressor::Gzip => vec![tar],
                    Compressor::Pigz => vec![tar, compressor.stage()],
                }
            }
            Source::MySqlDump {
                compressor,
                socket,
                options,
                database,
            } => {
                let mut dump = args(&["mysqldump"]);
                if let Some(file) = defaults {
                    dump.push(format!("--defaults-extra-file={}", file.display()));
                }
                dump.push("--opt".into());
                if let Some(s) = socket {
                    dump.push("--socket".into());
                    dump.push(s.clone());
                }
                dump.extend(split_mysql_password(options).0);
                if database != "--all-databases" {
                    dump.push("--".into());
                }
                dump.push(database.clone());
                vec![dump, compressor.stage()]
            }
            Source::PgDump {
                compressor,
                user,
                database,
            } => {
                let mut dump = match database {
                    Some(_) => args(&["pg_dump"]),
                    None => args(&["pg_dumpall"]),
                };
                if let Some(u) = user {
                    dump.push("-U".into());
                    dump.push(u.clone());
                }
                if let Some(db) = database {
                    dump.extend(["--".to_string(), db.clone()]);
                }
                vec![dump, compressor.stage()]
            }
            Source::SvnDump {
                compressor,
                repo,
                from,
                to,
            } => vec![
                vec![
                    "svnadmin".into(),
                    "dump".into(),
                    "-q".into(),
                    format!(
                        "-r{from}:{}",
                        to.map_or("HEAD".to_string(), |t| t.to_string())
                    ),
                    "--incremental".into(),
                    "--".into(),
                    repo.clone(),
                ],
                compressor.stage(),
            ],
        }
    }

    /// The command as the legacy printed it, spaces of empty parts included
    /// (`tar -f -  -g ...`, `mysqldump --opt   --all-databases | gzip`); with `pigz` the
    /// same text with the compression stage (`tar ... -cp NAME | s3napback gzip`).
    pub fn legacy_text(&self) -> String {
        match self {
            Source::Tar {
                compressor,
                excludes,
                snapshot,
                name,
            } => {
                let excl: String = excludes.iter().map(|e| format!(" --exclude {e}")).collect();
                let flags = tar_flags(*compressor);
                let tar = format!(
                    "tar -f - {excl} -g {} -C / {flags} {name}",
                    snapshot.display()
                );
                match compressor {
                    Compressor::Gzip => tar,
                    Compressor::Pigz => format!("{tar} | {}", compressor.program()),
                }
            }
            Source::MySqlDump {
                compressor,
                socket,
                options,
                database,
            } => {
                let socket = socket
                    .as_ref()
                    .map(|s| format!("--socket {s}"))
                    .unwrap_or_default();
                format!(
                    "mysqldump --opt {socket} {} {database} | {}",
                    options.join(" "),
                    compressor.program()
                )
            }
            Source::PgDump {
                compressor,
                user,
                database,
            } => {
                let user = user.as_ref().map(|u| format!("-U {u}")).unwrap_or_default();
                let program = if database.is_some() {
                    "pg_dump"
                } else {
                    "pg_dumpall"
                };
                format!(
                    "{program} {user} {} | {}",
                    database.as_deref().unwrap_or(""),
                    compressor.program()
                )
            }
            Source::SvnDump {
                compressor,
                repo,
                from,
                to,
            } => {
                let to = to.map(|t| t.to_string()).unwrap_or_default();
                format!(
                    "svnadmin dump -q -r{from}:{to} --incremental {repo} | {}",
                    compressor.program()
                )
            }
        }
    }
}

/// The encryption stage: `gpg --batch [--keyring K] -r RECIPIENT [-z 0] -e`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encryption {
    pub recipient: String,
    pub keyring: Option<String>,
    /// `GpgCompression`: false adds `-z 0` (no second compression of a gzip stream).
    pub compress: bool,
}

/// gpg's compression switch for `GpgCompression no`.
const NO_GPG_COMPRESSION: [&str; 2] = ["-z", "0"];

impl Encryption {
    /// The gpg argument vector.
    pub fn argv(&self) -> Argv {
        let mut gpg = args(&["gpg", "--batch"]);
        if let Some(k) = &self.keyring {
            gpg.push("--keyring".into());
            gpg.push(k.clone());
        }
        gpg.extend(["-r".to_string(), self.recipient.clone()]);
        if !self.compress {
            gpg.extend(args(&NO_GPG_COMPRESSION));
        }
        gpg.push("-e".to_string());
        gpg
    }

    /// The legacy text, `gpg --batch  -r R -e` when there is no keyring
    /// (`gpg --batch  -r R -z 0 -e` with `GpgCompression no`).
    pub fn legacy_text(&self) -> String {
        let keyring = self
            .keyring
            .as_ref()
            .map(|k| format!("--keyring {k}"))
            .unwrap_or_default();
        let level = if self.compress {
            String::new()
        } else {
            format!("{} ", NO_GPG_COMPRESSION.join(" "))
        };
        format!("gpg --batch {keyring} -r {} {level}-e", self.recipient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_text_keeps_legacy_spacing() {
        let s = Source::Tar {
            compressor: Compressor::Gzip,
            excludes: vec![],
            snapshot: "/d/_etc.diff".into(),
            name: "/etc".into(),
        };
        assert_eq!(s.legacy_text(), "tar -f -  -g /d/_etc.diff -C / -czp /etc");
        let s = Source::Tar {
            compressor: Compressor::Gzip,
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
                "--",
                "/etc"
            ])
        );
    }

    #[test]
    fn database_texts_keep_legacy_spacing() {
        let m = Source::MySqlDump {
            compressor: Compressor::Gzip,
            socket: None,
            options: vec![],
            database: "--all-databases".into(),
        };
        assert_eq!(m.legacy_text(), "mysqldump --opt   --all-databases | gzip");
        let p = Source::PgDump {
            compressor: Compressor::Gzip,
            user: None,
            database: None,
        };
        assert_eq!(p.legacy_text(), "pg_dumpall   | gzip");
        assert_eq!(p.stages(None), vec![args(&["pg_dumpall"]), args(&["gzip"])]);
        let p = Source::PgDump {
            compressor: Compressor::Gzip,
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
            compress: true,
        };
        assert_eq!(e.legacy_text(), "gpg --batch  -r r@x -e");
        assert_eq!(e.argv(), args(&["gpg", "--batch", "-r", "r@x", "-e"]));
    }

    #[test]
    fn pigz_replaces_the_gzip_stage_by_our_own() {
        let tar = Source::Tar {
            compressor: Compressor::Pigz,
            excludes: vec![],
            snapshot: "/d/_etc.diff".into(),
            name: "/etc".into(),
        };
        assert_eq!(
            tar.legacy_text(),
            "tar -f -  -g /d/_etc.diff -C / -cp /etc | s3napback gzip"
        );
        assert_eq!(
            tar.stages(None),
            vec![
                args(&[
                    "tar",
                    "-f",
                    "-",
                    "-g",
                    "/d/_etc.diff",
                    "-C",
                    "/",
                    "-cp",
                    "--",
                    "/etc"
                ]),
                crate::process::gzip::stage()
            ]
        );
        let svn = Source::SvnDump {
            compressor: Compressor::Pigz,
            repo: "/r".into(),
            from: 3,
            to: Some(5),
        };
        assert_eq!(
            svn.legacy_text(),
            "svnadmin dump -q -r3:5 --incremental /r | s3napback gzip"
        );
        assert_eq!(svn.stages(None)[1][1], "gzip");
        let pg = Source::PgDump {
            compressor: Compressor::Pigz,
            user: None,
            database: Some("db".into()),
        };
        assert_eq!(pg.legacy_text(), "pg_dump  db | s3napback gzip");
        let my = Source::MySqlDump {
            compressor: Compressor::Pigz,
            socket: None,
            options: vec![],
            database: "db".into(),
        };
        assert_eq!(
            my.stages(None),
            vec![
                args(&["mysqldump", "--opt", "--", "db"]),
                crate::process::gzip::stage()
            ]
        );
    }

    #[test]
    fn gpg_without_compression_gets_z_0() {
        let e = Encryption {
            recipient: "r@x".into(),
            keyring: Some("/k".into()),
            compress: false,
        };
        assert_eq!(e.legacy_text(), "gpg --batch --keyring /k -r r@x -z 0 -e");
        assert_eq!(
            e.argv(),
            args(&[
                "gpg",
                "--batch",
                "--keyring",
                "/k",
                "-r",
                "r@x",
                "-z",
                "0",
                "-e"
            ])
        );
    }

    #[test]
    fn mysql_password_goes_to_a_0600_defaults_file_not_argv() {
        use std::os::unix::fs::PermissionsExt;
        for options in [
            vec!["-pSE \"CR\\ET", "--user=u"],
            vec!["--password=SE \"CR\\ET", "--user=u"],
            vec!["--password", "SE \"CR\\ET", "--user=u"],
        ] {
            let source = Source::MySqlDump {
                compressor: Compressor::Gzip,
                socket: Some("/run/s".into()),
                options: options.iter().map(|o| o.to_string()).collect(),
                database: "db".into(),
            };
            // test mode prints the legacy line, password included, as the legacy did
            assert!(source.legacy_text().contains(options[0]));
            let prepared = source.prepare(None).unwrap();
            let dump = &prepared.stages[0];
            assert!(dump.iter().all(|a| !a.contains("SE ")), "{dump:?}");
            let file = dump[1]
                .strip_prefix("--defaults-extra-file=")
                .expect("first option");
            let mode = std::fs::metadata(file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            assert_eq!(
                std::fs::read_to_string(file).unwrap(),
                "[client]\npassword=\"SE \\\"CR\\\\ET\"\n"
            );
            assert_eq!(
                dump[2..],
                args(&["--opt", "--socket", "/run/s", "--user=u", "--", "db"])
            );
            let path = file.to_string();
            drop(prepared);
            assert!(!Path::new(&path).exists(), "removed afterwards");
        }
    }

    #[test]
    fn mysql_without_password_has_no_defaults_file() {
        let source = Source::MySqlDump {
            compressor: Compressor::Gzip,
            socket: None,
            options: args(&["-p", "--user=u"]),
            database: "db".into(),
        };
        let prepared = source.prepare(None).unwrap();
        assert_eq!(
            prepared.stages[0],
            args(&["mysqldump", "--opt", "-p", "--user=u", "--", "db"])
        );
    }
}
