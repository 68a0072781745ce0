//! Throwaway MariaDB and PostgreSQL servers in temp dirs, stopped and removed on drop.
//!
//! MariaDB: `mariadb-install-db` (root@localhost without password), `mariadbd` on a private
//! socket and a free 127.0.0.1 port. PostgreSQL: `initdb --auth=trust` and `pg_ctl start`
//! on a private socket directory, no TCP. PostgreSQL refuses to run as root: when the tests
//! run as root the server runs as the `postgres` system user (created as `s3napbacktest`
//! with `useradd` if there is no `postgres` user) through `runuser`.

#![allow(dead_code)]

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

const START_TIMEOUT: Duration = Duration::from_secs(90);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn running_as_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

fn run_checked(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A throwaway MariaDB server; `root` needs no password over its socket.
pub struct MariaDb {
    dir: TempDir,
    child: Child,
    socket: PathBuf,
    port: u16,
}

impl MariaDb {
    /// Initialises a data directory and starts the server; waits until it answers.
    pub fn start() -> MariaDb {
        let dir = tempfile::Builder::new()
            .prefix("mdb")
            .tempdir_in("/tmp")
            .unwrap();
        let data = dir.path().join("data");
        let socket = dir.path().join("mysqld.sock");
        let port = free_port();
        let install = if which("mariadb-install-db") {
            "mariadb-install-db"
        } else {
            "mysql_install_db"
        };
        let mut cmd = Command::new(install);
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg("--auth-root-authentication-method=normal")
            .arg("--skip-test-db");
        if running_as_root() {
            cmd.arg("--user=root");
        }
        run_checked(&mut cmd, install);
        let server = if which("mariadbd") {
            "mariadbd"
        } else {
            "mysqld"
        };
        let log = dir.path().join("error.log");
        let mut cmd = Command::new(server);
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg(format!(
                "--pid-file={}",
                dir.path().join("mysqld.pid").display()
            ))
            .arg(format!("--log-error={}", log.display()))
            .arg("--skip-log-bin")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if running_as_root() {
            cmd.arg("--user=root");
        }
        let child = cmd.spawn().expect("start mariadbd");
        let mut db = MariaDb {
            dir,
            child,
            socket,
            port,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let ok = Command::new("mysql")
                .args(db.mysql_base_args())
                .args(["-e", "SELECT 1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                break;
            }
            let exited = db.child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > deadline {
                panic!(
                    "mariadbd did not come up ({exited:?}):\n{}",
                    fs::read_to_string(&log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        db
    }

    fn mysql_base_args(&self) -> Vec<String> {
        let mut v = vec!["--no-defaults".to_string()];
        v.extend(self.client_args());
        v
    }

    /// The server's unix socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The server's TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Arguments that make `mysql`/`mysqldump` reach this server as root:
    /// `--socket=S --user=root`.
    pub fn client_args(&self) -> Vec<String> {
        vec![
            format!("--socket={}", self.socket.display()),
            "--user=root".to_string(),
        ]
    }

    /// Environment that makes the clients use this server's socket (`MYSQL_UNIX_PORT`).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![(
            "MYSQL_UNIX_PORT".to_string(),
            self.socket.display().to_string(),
        )]
    }

    /// Writes a client option file (`[client] socket=... user=root`) for
    /// `--defaults-extra-file` and returns its path.
    pub fn defaults_extra_file(&self) -> PathBuf {
        let path = self.dir.path().join("client.cnf");
        fs::write(
            &path,
            format!("[client]\nsocket={}\nuser=root\n", self.socket.display()),
        )
        .unwrap();
        path
    }

    /// Runs SQL (several statements allowed) and returns the tab-separated result rows.
    pub fn sql(&self, sql: &str) -> String {
        run_checked(
            Command::new("mysql").args(self.mysql_base_args()).args([
                "--batch",
                "--skip-column-names",
                "-e",
                sql,
            ]),
            "mysql",
        )
    }

    /// Runs SQL in database `db`.
    pub fn sql_db(&self, db: &str, sql: &str) -> String {
        run_checked(
            Command::new("mysql").args(self.mysql_base_args()).args([
                "--batch",
                "--skip-column-names",
                "-D",
                db,
                "-e",
                sql,
            ]),
            "mysql",
        )
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A throwaway PostgreSQL server reachable only through a unix socket in its temp dir;
/// user `postgres`, trust authentication.
pub struct Postgres {
    dir: TempDir,
    data: PathBuf,
    port: u16,
    bin: PathBuf,
    run_as: Option<String>,
}

impl Postgres {
    /// Runs `initdb` and `pg_ctl start`, waiting until the server accepts connections.
    pub fn start() -> Postgres {
        let bin = pg_bindir();
        let dir = tempfile::Builder::new()
            .prefix("pg")
            .tempdir_in("/tmp")
            .unwrap();
        let run_as = if running_as_root() {
            let user = unprivileged_user();
            let uid = id_of(&user, "-u");
            let gid = id_of(&user, "-g");
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown pg dir");
            Some(user)
        } else {
            None
        };
        let data = dir.path().join("data");
        let port = free_port();
        let pg = Postgres {
            dir,
            data,
            port,
            bin,
            run_as,
        };
        run_checked(
            pg.server_cmd("initdb").arg("-D").arg(&pg.data).args([
                "-U",
                "postgres",
                "--auth=trust",
                "-N",
                "-E",
                "UTF8",
            ]),
            "initdb",
        );
        let opts = format!(
            "-p {} -k {} -c listen_addresses=''",
            pg.port,
            pg.dir.path().display()
        );
        run_checked(
            pg.server_cmd("pg_ctl")
                .arg("-D")
                .arg(&pg.data)
                .arg("-l")
                .arg(pg.dir.path().join("server.log"))
                .args(["-w", "-t", "90", "-o", &opts, "start"])
                .stdout(Stdio::null()),
            "pg_ctl start",
        );
        pg
    }

    fn server_cmd(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    /// The full path of a PostgreSQL client/server program (`pg_dump`, `psql`, ...).
    pub fn bin(&self, program: &str) -> PathBuf {
        self.bin.join(program)
    }

    /// The socket directory (the value for `-h` / `PGHOST`).
    pub fn host(&self) -> &Path {
        self.dir.path()
    }

    /// The port number (names the socket file).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `-h DIR -p PORT -U postgres`: makes `psql`/`pg_dump`/`pg_dumpall` reach this server.
    pub fn client_args(&self) -> Vec<String> {
        vec![
            "-h".into(),
            self.dir.path().display().to_string(),
            "-p".into(),
            self.port.to_string(),
            "-U".into(),
            "postgres".into(),
        ]
    }

    /// `PGHOST`, `PGPORT`, `PGUSER` for this server.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("PGHOST".into(), self.dir.path().display().to_string()),
            ("PGPORT".into(), self.port.to_string()),
            ("PGUSER".into(), "postgres".into()),
        ]
    }

    /// [`Postgres::env`] and a PATH with this server's binaries first, so the tool's
    /// `pg_dump` matches the server.
    pub fn tool_env(&self) -> Vec<(String, String)> {
        let bin = self.bin("pg_dump");
        let path = format!(
            "{}:{}",
            bin.parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut env = self.env();
        env.push(("PATH".into(), path));
        env
    }

    fn psql(&self, db: &str) -> Command {
        let mut c = Command::new(self.bin("psql"));
        c.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(self.client_args())
            .args(["-d", db]);
        c
    }

    /// Runs SQL in database `db`; returns unaligned, tuples-only output (`|`-separated).
    pub fn sql(&self, db: &str, sql: &str) -> String {
        run_checked(self.psql(db).args(["-c", sql]), "psql")
    }

    /// Runs an SQL script file (e.g. a plain `pg_dump` output) in database `db`.
    pub fn sql_file(&self, db: &str, file: &Path) -> String {
        run_checked(self.psql(db).arg("-f").arg(file), "psql -f")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self
            .server_cmd("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
}

/// The newest `/usr/lib/postgresql/*/bin` holding `initdb`, else `pg_config --bindir`.
fn pg_bindir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return bin;
    }
    let out = run_checked(Command::new("pg_config").arg("--bindir"), "pg_config");
    PathBuf::from(out.trim())
}

/// `postgres` if that user exists, else a system user `s3napbacktest` (created once).
fn unprivileged_user() -> String {
    for user in ["postgres", "s3napbacktest"] {
        if Command::new("id")
            .arg(user)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
        {
            return user.to_string();
        }
    }
    let _ = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
        ])
        .arg("s3napbacktest")
        .status();
    "s3napbacktest".to_string()
}

fn id_of(user: &str, flag: &str) -> u32 {
    run_checked(Command::new("id").args([flag, user]), "id")
        .trim()
        .parse()
        .expect("numeric id")
}
