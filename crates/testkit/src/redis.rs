//! A real `redis-server` for the token server's shared store (docs/testing.md "Real programs").
//!
//! Redis cannot be handed a listening socket, and `--port 0` means "no TCP" to it, so the
//! harness never guesses a free port: Redis listens on a Unix socket in its own temporary
//! folder, and the test talks to it through a loopback TCP front that the harness binds on
//! port 0 and holds for the value's whole life. Every connection to the front is relayed to
//! the socket; while Redis is stopped the front accepts and closes at once (what a client
//! sees of a Redis that went away), and [`RedisServer::start_again`] brings Redis back behind
//! the same address with the data it had: the append-only file is on, fsynced at every write
//! (`appendfsync always`), so even a SIGKILL loses nothing acknowledged. Readiness is Redis's
//! own "ready to accept connections" line, not a poll.
//!
//! ```no_run
//! let mut redis = sx_testkit::redis::RedisServer::start();
//! let url = redis.url(); // redis://127.0.0.1:PORT/0
//! redis.kill();
//! redis.start_again();
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tempfile::TempDir;

const SERVER: &str = "redis-server";
const CLI: &str = "redis-cli";
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `redis-server`; see the module docs.
pub struct RedisServer {
    dir: TempDir,
    child: Option<Child>,
    port: u16,
    stop_front: Arc<AtomicBool>,
}

impl RedisServer {
    /// Start Redis (append-only, fsync always) behind a loopback TCP front.
    ///
    /// # Panics
    /// When `redis-server` is not installed, or does not come up within a minute.
    pub fn start() -> RedisServer {
        let dir = tempfile::Builder::new()
            .prefix("sx-redis-")
            .tempdir()
            .expect("temp dir");
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local_addr").port();
        let stop_front = Arc::new(AtomicBool::new(false));
        let socket = dir.path().join("redis.sock");
        let stop = Arc::clone(&stop_front);
        std::thread::spawn(move || front(&listener, &socket, &stop));
        let mut r = RedisServer {
            dir,
            child: None,
            port,
            stop_front,
        };
        r.start_again();
        r
    }

    /// `redis://127.0.0.1:PORT/0`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The Unix socket Redis listens on.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    /// SIGKILL Redis and wait for it; the front stays, refusing service.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start Redis (again) on the same socket and data folder, and wait for its
    /// "ready to accept connections" line.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "redis-server is running already");
        let mut child = Command::new(SERVER)
            .args(["--port", "0", "--unixsocket"])
            .arg(self.socket())
            .args(["--unixsocketperm", "700", "--dir"])
            .arg(self.dir.path())
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--daemonize",
                "no",
                "--logfile",
                "",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {SERVER} ({e}); install it (apt-get install redis-server), as \
                     .ci/run does"
                )
            });
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut log = String::new();
        loop {
            let mut line = String::new();
            let n = out.read_line(&mut line).unwrap_or(0);
            log.push_str(&line);
            // 7.0 on a socket: "The server is now ready to accept connections at PATH";
            // 7.2 and later: "Ready to accept connections unix".
            if line
                .to_ascii_lowercase()
                .contains("ready to accept connections")
            {
                break;
            }
            if n == 0 || Instant::now() > deadline {
                let _ = child.kill();
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!("{SERVER} did not become ready: {log}{err}");
            }
        }
        // Keep draining its log so that it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = out.read_to_end(&mut sink);
        });
        self.child = Some(child);
    }

    /// Run `redis-cli --raw ARGS` against this server; its standard output, trimmed.
    ///
    /// # Panics
    /// When `redis-cli` cannot run or fails.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(CLI)
            .arg("-s")
            .arg(self.socket())
            .arg("--raw")
            .args(args)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run {CLI} ({e}); install redis-tools (apt-get install redis-server)")
            });
        assert!(
            out.status.success(),
            "{CLI} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        self.stop_front.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
    }
}

/// Relay every connection to `socket`; a connection Redis cannot take is closed at once.
fn front(listener: &TcpListener, socket: &Path, stop: &AtomicBool) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(tcp) = conn else { continue };
        let Ok(unix) = UnixStream::connect(socket) else {
            let _ = tcp.shutdown(Shutdown::Both);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (Ok(tcp2), Ok(unix2)) = (tcp.try_clone(), unix.try_clone()) else {
            continue;
        };
        std::thread::spawn(move || relay(tcp, unix));
        std::thread::spawn(move || relay(unix2, tcp2));
    }
}

/// Copy `from` into `to` until either side ends, then close both.
fn relay<A: Read + Closable, B: Write + Closable>(mut from: A, mut to: B) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    from.close();
    to.close();
}

trait Closable {
    fn close(&self);
}

impl Closable for TcpStream {
    fn close(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}

impl Closable for UnixStream {
    fn close(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}
