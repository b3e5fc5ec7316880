//! Shared by the mail tests: a `serve` instance on a free port whose sink records what it got,
//! smtplib as the client (a python3 subprocess), a raw SMTP conversation, message samples.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use holdfast_mail::{Envelope, SmtpConfig, serve};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const CASE_DESK: &str = "abuse@registry.example";
/// A sender whose messages the test sink refuses, as if the database were down.
pub const FAILING_SENDER: &str = "fail@reporter.example";

pub type Received = Arc<Mutex<Vec<(Envelope, Vec<u8>)>>>;

pub struct Server {
    pub addr: SocketAddr,
    pub received: Received,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub async fn start(configure: impl FnOnce(&mut SmtpConfig)) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = SmtpConfig::new("mx.registry.example", vec![CASE_DESK.to_owned()]);
        configure(&mut config);
        let received = Received::default();
        let sink_received = received.clone();
        let sink = move |envelope: Envelope, raw: Vec<u8>| {
            let received = sink_received.clone();
            async move {
                if envelope.mail_from == FAILING_SENDER {
                    return Err("the store is unavailable".to_owned());
                }
                received.lock().unwrap().push((envelope, raw));
                Ok(())
            }
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, config, sink, async move {
            let _ = stopped.await;
        }));
        Server {
            addr,
            received,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn received(&self) -> Vec<(Envelope, Vec<u8>)> {
        self.received.lock().unwrap().clone()
    }

    /// Signals shutdown and waits for `serve` to return.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

const SMTPLIB_CLIENT: &str = r#"
import json, smtplib, sys
host, port, mode, sender = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rcpts = json.loads(sys.argv[5])
data = open(sys.argv[6], "rb").read()
def refusals(items):
    return {k: [v[0], v[1].decode()] for k, v in items.items()}
try:
    with smtplib.SMTP(host, port, local_hostname="reporter.example", timeout=60) as s:
        if mode == "sendmail":
            refused = s.sendmail(sender, rcpts, data)
        else:
            # Without SIZE: the server learns the size only in DATA.
            s.ehlo()
            code, msg = s.mail(sender)
            assert code == 250, (code, msg)
            for rcpt in rcpts:
                code, msg = s.rcpt(rcpt)
                assert code == 250, (code, msg)
            code, msg = s.data(data)
            if code != 250:
                raise smtplib.SMTPDataError(code, msg)
            refused = {}
        print(json.dumps({"ok": True, "refused": refusals(refused)}))
except smtplib.SMTPRecipientsRefused as e:
    print(json.dumps({"ok": False, "error": "SMTPRecipientsRefused", "refused": refusals(e.recipients)}))
except smtplib.SMTPResponseException as e:
    print(json.dumps({"ok": False, "error": type(e).__name__, "code": e.smtp_code, "message": e.smtp_error.decode()}))
"#;

/// Sends `message` with Python's smtplib (`sendmail`, which also sends SIZE=) and returns what
/// smtplib reported, as JSON: `{"ok": true, "refused": {…}}` or `{"ok": false, "error", "code"}`.
pub async fn smtplib(addr: SocketAddr, sender: &str, rcpts: &[&str], message: &[u8]) -> Value {
    smtplib_mode(addr, "sendmail", sender, rcpts, message).await
}

/// As `smtplib`, but MAIL FROM without SIZE=, so a size limit can only be enforced in DATA.
pub async fn smtplib_without_size(
    addr: SocketAddr,
    sender: &str,
    rcpts: &[&str],
    message: &[u8],
) -> Value {
    smtplib_mode(addr, "nosize", sender, rcpts, message).await
}

async fn smtplib_mode(
    addr: SocketAddr,
    mode: &str,
    sender: &str,
    rcpts: &[&str],
    message: &[u8],
) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("message.eml");
    std::fs::write(&path, message).unwrap();
    let output = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(SMTPLIB_CLIENT)
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .arg(mode)
        .arg(sender)
        .arg(serde_json::to_string(rcpts).unwrap())
        .arg(&path)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "smtplib client failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap()
}

/// A raw SMTP conversation, for what smtplib does not do on its own.
pub struct Conversation {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Conversation {
    /// Connects and returns the greeting.
    pub async fn open(addr: SocketAddr) -> (Conversation, String) {
        let (read, write) = TcpStream::connect(addr).await.unwrap().into_split();
        let mut conversation = Conversation {
            reader: BufReader::new(read),
            writer: write,
        };
        let greeting = conversation.reply().await;
        (conversation, greeting)
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
    }

    /// One reply, all its lines joined with `\n`; empty when the server closed.
    pub async fn reply(&mut self) -> String {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).await.unwrap() == 0 {
                break;
            }
            let line = line.trim_end().to_owned();
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line);
            if last {
                break;
            }
        }
        lines.join("\n")
    }

    /// Sends one command line and returns the reply.
    pub async fn command(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn base64_lines(bytes: &[u8]) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    encoded
        .as_bytes()
        .chunks(76)
        .map(|line| format!("{}\r\n", String::from_utf8_lossy(line)))
        .collect()
}

/// Turns a sample written with `\n` into the CRLF lines SMTP carries.
pub fn crlf(text: &str) -> Vec<u8> {
    text.replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}
