//! A PostgreSQL server of the test's own, from Debian's binaries (`initdb` into a temporary
//! directory, its own port): unlike the machine's shared server, which trusts every local
//! connection, it asks everyone but its admin `postgres` for a SCRAM-SHA-256 password, so
//! tests of passwords and isolation can fail; and a test may stop and start it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The server; stopped and removed when dropped.
pub struct OwnPostgres {
    pub port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl OwnPostgres {
    /// initdb and start. Panics naming what failed (the binaries are Debian's `postgresql`).
    pub fn start() -> OwnPostgres {
        let bin = bin_dir();
        let dir = tempfile::Builder::new().prefix("eda-own-pg-").tempdir().expect("a temporary directory");
        // initdb refuses to run as root: the server runs as the postgres user, in its own dir.
        let owner = as_postgres(Command::new("chown").args(["postgres:postgres"]).arg(dir.path()), false);
        assert!(owner.status.success(), "chown {}: {}", dir.path().display(), stderr(&owner));
        let data = dir.path().join("data");
        let init = as_postgres(
            Command::new(bin.join("initdb"))
                .args(["--username", "postgres", "--auth-local", "trust", "--auth-host", "scram-sha-256"])
                .arg("-D")
                .arg(&data),
            true,
        );
        assert!(init.status.success(), "initdb: {}", stderr(&init));
        // The admin over TCP without a password (as the shared server), everyone else with one.
        let hba = "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n";
        std::fs::write(data.join("pg_hba.conf"), hba).expect("write pg_hba.conf");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = OwnPostgres { port, dir, bin };
        server.start_again();
        server
    }

    /// The admin's URL (`postgres`, no password from 127.0.0.1).
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A URL as someone with `user` and `password` on `dbname`.
    pub fn url_as(&self, user: &str, password: &str, dbname: &str) -> String {
        format!("postgres://{user}:{password}@127.0.0.1:{}/{dbname}", self.port)
    }

    /// Stops the server (fast: sessions are ended), as an outage would.
    pub fn stop(&self) {
        let out = self.pg_ctl(&["-m", "fast", "-w", "stop"]);
        assert!(out.status.success(), "pg_ctl stop: {}", stderr(&out));
    }

    /// Starts it (again), waiting until it accepts connections.
    pub fn start_again(&self) {
        // Every statement is logged, so a test can show what reached the server (and what not).
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c log_statement=all",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        let out = self.pg_ctl(&["-w", "-o", &options, "-l", &log.display().to_string(), "start"]);
        assert!(
            out.status.success(),
            "pg_ctl start: {} {}",
            stderr(&out),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// The server's log (what PostgreSQL itself wrote, statements it was asked to log included).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn pg_ctl(&self, args: &[&str]) -> Output {
        let data = self.dir.path().join("data");
        as_postgres(Command::new(self.bin.join("pg_ctl")).arg("-D").arg(&data).args(args), true)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
    }
}

/// Runs `command` (as the postgres user when `as_user` and this process is root).
fn as_postgres(command: &mut Command, as_user: bool) -> Output {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !(as_user && root) {
        return command.output().expect("the command runs");
    }
    let program = command.get_program().to_owned();
    let args: Vec<_> = command.get_args().map(|a| a.to_owned()).collect();
    Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(program)
        .args(args)
        .output()
        .expect("runuser runs")
}

fn bin_dir() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap_or_else(|e| {
            panic!("{}: {e}; install Debian's postgresql (scripts/dev-services.sh does)", root.display())
        })
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL with initdb under /usr/lib/postgresql/<version>/bin")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
