//! Test support: a fresh store on a temporary SQLite file or in a fresh PostgreSQL database.
//!
//! PostgreSQL comes from `PG_TEST_URL` (a server the test command started; each test gets its own
//! database there) or, when that is unset, from a private server this process starts with
//! `initdb` and `postgres` on a free port of 127.0.0.1 and stops when the [`TestStore`] drops.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;

use crate::{Backend, Store};

/// A store for one test, with whatever keeps it alive.
pub struct TestStore {
    /// The store.
    pub store: Store,
    /// The database URL the store was opened with.
    pub url: String,
    _dir: tempfile::TempDir,
    _server: Option<PgServer>,
}

impl TestStore {
    /// A store on each backend, for tests that must pass on both.
    pub async fn each() -> Vec<TestStore> {
        vec![
            TestStore::new(Backend::Sqlite).await,
            TestStore::new(Backend::Postgres).await,
        ]
    }

    /// A fresh, migrated store on `backend`.
    pub async fn new(backend: Backend) -> TestStore {
        let dir = tempfile::tempdir().expect("temporary directory");
        match backend {
            Backend::Sqlite => {
                let path = dir.path().join("holdfast.db");
                let url = format!("sqlite:{}", path.display());
                let store = Store::open(&url).await.expect("open SQLite store");
                TestStore {
                    store,
                    url,
                    _dir: dir,
                    _server: None,
                }
            }
            Backend::Postgres => {
                let (admin_url, server) = match std::env::var("PG_TEST_URL") {
                    Ok(url) => (url, None),
                    Err(_) => {
                        let server = PgServer::start(dir.path());
                        (server.url("postgres"), Some(server))
                    }
                };
                let name = format!("holdfast_test_{}", random_hex());
                // A server just started takes TCP connections before it accepts sessions
                // ("the database system is starting up"): try again for a while.
                let deadline = Instant::now() + Duration::from_secs(30);
                let mut admin = loop {
                    match sqlx::PgConnection::connect(&admin_url).await {
                        Ok(admin) => break admin,
                        Err(error) if server.is_none() || Instant::now() > deadline => {
                            panic!("connect to the PostgreSQL test server: {error}")
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                };
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let url = with_database(&admin_url, &name);
                let store = Store::open(&url).await.expect("open PostgreSQL store");
                TestStore {
                    store,
                    url,
                    _dir: dir,
                    _server: server,
                }
            }
        }
    }

    /// The backend of this store.
    pub fn backend(&self) -> Backend {
        self.store.backend()
    }
}

fn random_hex() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Replaces the database name at the end of a PostgreSQL URL.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(slash) if base[..slash].ends_with('/') => base.to_owned(),
        Some(slash) => base[..slash].to_owned(),
        None => base.to_owned(),
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// A private PostgreSQL server in a temporary directory.
struct PgServer {
    child: Child,
    port: u16,
}

impl PgServer {
    fn start(dir: &Path) -> PgServer {
        let bin = postgres_bin_dir();
        let data = dir.join("pgdata");
        let as_root = is_root();
        if as_root {
            // PostgreSQL refuses to run as root: hand the directory to the postgres user.
            run(Command::new("chown").arg("-R").arg("postgres").arg(dir));
        }
        let mut initdb = postgres_command(as_root, &bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync"]);
        run(&mut initdb);
        let port = free_port();
        let mut postgres = postgres_command(as_root, &bin.join("postgres"));
        postgres
            .arg("-D")
            .arg(&data)
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-k"])
            .arg(dir)
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = postgres.spawn().expect("start postgres");
        let server = PgServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "postgres did not start in 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // SIGINT is PostgreSQL's "fast shutdown".
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status();
        }
        let _ = self.child.wait();
    }
}

fn postgres_bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    dirs.sort();
    dirs.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not installed: run scripts/test, which installs it, or set PG_TEST_URL"
        )
    })
}

fn id(args: &[&str]) -> Option<u32> {
    let out = Command::new("id").args(args).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn is_root() -> bool {
    id(&["-u"]) == Some(0)
}

/// PostgreSQL refuses to run as root: as root, the command runs as the `postgres` user.
fn postgres_command(as_root: bool, program: &Path) -> Command {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(program);
    if as_root {
        let uid = id(&["-u", "postgres"]).expect("a postgres user (Debian's postgresql package)");
        let gid = id(&["-g", "postgres"]).expect("a postgres group");
        command.uid(uid).gid(gid);
    }
    command
}

fn run(command: &mut Command) {
    let out = command.output().expect("run command");
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "t1"),
            "postgres://u@h/t1?sslmode=disable"
        );
    }
}
