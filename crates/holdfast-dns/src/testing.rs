//! Real primary servers for tests (feature `testing`): Knot DNS (`knotd`) and BIND 9 (`named`),
//! each started on 127.0.0.1 with a free port in a temporary directory, serving one zone from a
//! copy of the caller's zone file and accepting dynamic updates signed with the caller's TSIG key.
//! Dropping the value kills the process.
//!
//! The Debian packages are `knot` and `bind9`; `scripts/test` installs them. Both daemons run as
//! whoever runs the tests, root included: they bind an unprivileged port, need no `-u` user and
//! write only below their own temporary directory.

use std::fs::{self, File};
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{RData, RecordType};
use holdfast_model::DomainName;
use tempfile::TempDir;

use crate::update::TsigKey;
use crate::wire::to_name;

/// How long a server may take to load its zone and answer (BIND takes about 4 s for a zone of a
/// million delegations on an idle machine; a busy one can take several times that).
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// A running Knot DNS server, primary for one zone.
///
/// The journal may grow to 4 GiB: with the default limit Knot refuses large updates on a
/// million-name zone ("DDNS, processing failed (not enough space provided)"); a depth of 100,000
/// changesets avoids the merges that made single updates take seconds.
///
/// Configured as `shared/STACK.md` advises: the journal holds the whole zone
/// (`journal-content: all`), the zone file is never written back (`zonefile-sync: -1`) and, when
/// read again, is applied as a difference (`zonefile-load: difference-no-serial`), so dynamic
/// updates are not lost to a reload.
#[derive(Debug)]
pub struct KnotServer {
    daemon: Daemon,
}

impl KnotServer {
    /// Starts `knotd` for `zone` from a copy of `zone_file`, accepting updates signed with `key`
    /// (hmac-sha256), and waits until it answers the zone's SOA.
    pub fn start(zone: &DomainName, zone_file: &Path, key: &TsigKey) -> io::Result<KnotServer> {
        let binary = find_binary("knotd", "knot")?;
        let dir = tempfile::Builder::new()
            .prefix("holdfast-knot-")
            .tempdir()?;
        let root = dir.path();
        let zone_copy = root.join("zone");
        fs::copy(zone_file, &zone_copy)?;
        let port = free_port()?;
        // Knot does not create `database.storage`: without it every update fails (SERVFAIL,
        // "DDNS, processing failed (not exists)").
        fs::create_dir(root.join("db"))?;
        let config = format!(
            r#"server:
    listen: 127.0.0.1@{port}
    rundir: {root}
log:
  - target: stderr
    any: info
database:
    storage: {root}/db
key:
  - id: {key_name}
    algorithm: hmac-sha256
    secret: {secret}
acl:
  - id: update
    key: {key_name}
    action: update
template:
  - id: default
    storage: {root}
    zonefile-load: difference-no-serial
    zonefile-sync: -1
    journal-content: all
    journal-max-usage: 4G
    journal-max-depth: 100000
zone:
  - domain: {zone}
    file: {zone_copy}
    acl: update
"#,
            root = root.display(),
            key_name = key.name,
            secret = key.secret_base64(),
            zone_copy = zone_copy.display(),
        );
        let config_path = root.join("knot.conf");
        fs::write(&config_path, config)?;
        let mut command = Command::new(binary);
        command.arg("-c").arg(&config_path);
        let daemon = Daemon::start("knotd", command, dir, port, zone)?;
        Ok(KnotServer { daemon })
    }

    /// Where the server listens, UDP and TCP.
    pub fn addr(&self) -> SocketAddr {
        self.daemon.addr
    }

    /// What the server has logged so far, for a failing test's message.
    pub fn log(&self) -> String {
        self.daemon.log()
    }
}

/// A running BIND 9 server, primary for one zone.
///
/// The zone takes updates signed with the key for any name and type below it
/// (`update-policy { grant KEY zonesub ANY; }`); recursion, validation and the control channel
/// are off.
#[derive(Debug)]
pub struct BindServer {
    daemon: Daemon,
}

impl BindServer {
    /// Starts `named -g` for `zone` from a copy of `zone_file`, accepting updates signed with
    /// `key` (hmac-sha256), and waits until it answers the zone's SOA.
    pub fn start(zone: &DomainName, zone_file: &Path, key: &TsigKey) -> io::Result<BindServer> {
        let binary = find_binary("named", "bind9")?;
        let dir = tempfile::Builder::new()
            .prefix("holdfast-bind-")
            .tempdir()?;
        let root = dir.path();
        let zone_copy = root.join("zone");
        fs::copy(zone_file, &zone_copy)?;
        let port = free_port()?;
        let config = format!(
            r#"options {{
    directory "{root}";
    pid-file "{root}/named.pid";
    session-keyfile "{root}/session.key";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
}};
controls {{ }};
key "{key_name}" {{ algorithm hmac-sha256; secret "{secret}"; }};
zone "{zone}" {{
    type primary;
    file "{zone_copy}";
    update-policy {{ grant {key_name} zonesub ANY; }};
}};
"#,
            root = root.display(),
            key_name = key.name,
            secret = key.secret_base64(),
            zone_copy = zone_copy.display(),
        );
        let config_path = root.join("named.conf");
        fs::write(&config_path, config)?;
        let mut command = Command::new(binary);
        command.arg("-g").arg("-c").arg(&config_path);
        let daemon = Daemon::start("named", command, dir, port, zone)?;
        Ok(BindServer { daemon })
    }

    /// Where the server listens, UDP and TCP.
    pub fn addr(&self) -> SocketAddr {
        self.daemon.addr
    }

    /// What the server has logged so far, for a failing test's message.
    pub fn log(&self) -> String {
        self.daemon.log()
    }
}

/// A server process, its temporary directory and its log; killed when dropped.
#[derive(Debug)]
struct Daemon {
    child: Child,
    addr: SocketAddr,
    log_path: PathBuf,
    // Dropped after the process is killed (fields drop in order after `Drop::drop`).
    _dir: TempDir,
}

impl Daemon {
    /// Runs `command` with its output going to a log file in `dir`, and waits until it answers
    /// SOA queries for `zone` on `port`.
    fn start(
        program: &str,
        mut command: Command,
        dir: TempDir,
        port: u16,
        zone: &DomainName,
    ) -> io::Result<Daemon> {
        let log_path = dir.path().join(format!("{program}.log"));
        let log = File::create(&log_path)?;
        let child = command
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|error| {
                io::Error::new(error.kind(), format!("starting {program}: {error}"))
            })?;
        let mut daemon = Daemon {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log_path,
            _dir: dir,
        };
        daemon.wait_ready(program, zone)?;
        Ok(daemon)
    }

    /// Polls the zone's SOA until it comes back NOERROR, the process exits, or time runs out.
    fn wait_ready(&mut self, program: &str, zone: &DomainName) -> io::Result<()> {
        let started = Instant::now();
        let socket = UdpSocket::bind(("127.0.0.1", 0))?;
        socket.set_read_timeout(Some(Duration::from_millis(200)))?;
        let question = soa_query(zone)?;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "{program} exited ({status}) before serving {zone}:\n{}",
                    self.log()
                )));
            }
            if answers_soa(&socket, self.addr, &question)? {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "{program} did not serve {zone} within {READY_TIMEOUT:?}:\n{}",
                        self.log()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // The process may have died already; nothing more to do then.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The wire form of a SOA query for `zone`, its id and the bytes.
fn soa_query(zone: &DomainName) -> io::Result<(u16, Vec<u8>)> {
    let name = to_name(zone).map_err(io::Error::other)?;
    let mut message = Message::query();
    message.add_query(Query::query(name, RecordType::SOA));
    let bytes = message.to_vec().map_err(io::Error::other)?;
    Ok((message.metadata.id, bytes))
}

/// Whether the server at `addr` answers the SOA query with a SOA record. No answer yet (the
/// port not open, the zone still loading) is `false`.
fn answers_soa(
    socket: &UdpSocket,
    addr: SocketAddr,
    question: &(u16, Vec<u8>),
) -> io::Result<bool> {
    let (id, bytes) = question;
    socket.send_to(bytes, addr)?;
    let mut buffer = [0; 4096];
    let length = match socket.recv_from(&mut buffer) {
        Ok((length, from)) if from == addr => length,
        Ok(_) => return Ok(false),
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(false);
        }
        Err(error) => return Err(error),
    };
    let Ok(answer) = Message::from_vec(&buffer[..length]) else {
        return Ok(false);
    };
    Ok(answer.metadata.id == *id
        && answer.metadata.response_code == ResponseCode::NoError
        && answer
            .answers
            .iter()
            .any(|record| matches!(record.data, RData::SOA(_))))
}

/// A port free for both UDP and TCP on 127.0.0.1 just now.
fn free_port() -> io::Result<u16> {
    let mut last_error = None;
    for _ in 0..50 {
        let udp = UdpSocket::bind(("127.0.0.1", 0))?;
        let port = udp.local_addr()?.port();
        match TcpListener::bind(("127.0.0.1", port)) {
            Ok(_) => return Ok(port),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no free port on 127.0.0.1")))
}

/// The path of a daemon's binary: on `PATH`, or in the sbin directories a non-root `PATH` lacks.
fn find_binary(program: &str, package: &str) -> io::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            io::Error::new(
                ErrorKind::NotFound,
                format!(
                    "{program} is not installed (not on PATH nor in /usr/sbin): \
                     install Debian's package {package} (apt-get install {package})"
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_daemon_names_its_debian_package() {
        let error = find_binary("holdfast-no-such-daemon", "holdfast-no-such-package").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound);
        assert_eq!(
            error.to_string(),
            "holdfast-no-such-daemon is not installed (not on PATH nor in /usr/sbin): install \
             Debian's package holdfast-no-such-package (apt-get install holdfast-no-such-package)"
        );
    }
}
