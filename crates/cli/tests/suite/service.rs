//! A long-running binary of ours (`scorpiox-token-server`, `scorpiox-router`) as a child
//! process: started, waited for (its `listening on` line), spoken to with raw HTTP/1.1, its
//! stderr collected, stopped with a signal.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::common::assert_no_panic;

/// The running binary. Ready once it printed its address; stopped with SIGTERM.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub stderr: Arc<Log>,
    reader: Option<JoinHandle<()>>,
}

/// What the server wrote to stderr so far, and a way to wait for a line of it.
#[derive(Default)]
pub struct Log {
    text: Mutex<String>,
    grew: Condvar,
}

impl Log {
    pub fn push(&self, line: &str) {
        self.text.lock().unwrap().push_str(line);
        self.grew.notify_all();
    }

    pub fn text(&self) -> String {
        self.text.lock().unwrap().clone()
    }

    /// Wait (generously) until the log holds `needle`.
    pub fn wait_for(&self, needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut text = self.text.lock().unwrap();
        while !text.contains(needle) {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            text = self.grew.wait_timeout(text, left).unwrap().0;
        }
        true
    }
}

impl Server {
    pub fn start(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Log::default());
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let sink = Arc::clone(&stderr);
        let reader = std::thread::spawn(move || {
            let mut line = String::new();
            while err.read_line(&mut line).is_ok_and(|n| n > 0) {
                sink.push(&line);
                line.clear();
            }
        });
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let Some(addr) = first.trim_end().strip_prefix("listening on http://") else {
            let status = child.wait().unwrap();
            reader.join().unwrap();
            panic!(
                "no address line ({status}): {first:?}; stderr: {}",
                stderr.text()
            );
        };
        Server {
            addr: addr.to_string(),
            child,
            stderr,
            reader: Some(reader),
        }
    }

    /// `http://ADDR`
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn get(&self, path: &str, key: Option<&str>) -> Resp {
        let auth = key
            .map(|k| format!("Authorization: Bearer {k}\r\n"))
            .unwrap_or_default();
        self.raw(&format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\n{auth}Connection: close\r\n\r\n",
            self.addr
        ))
    }

    /// `POST path` with a JSON body; the whole answer.
    pub fn post(&self, path: &str, body: &str) -> Resp {
        self.raw(&format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        ))
    }

    /// `POST path` on a connection of its own, left open for the caller to read from.
    pub fn post_open(&self, path: &str, body: &str) -> TcpStream {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        s
    }

    pub fn raw(&self, request: &str) -> Resp {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).unwrap();
        Resp::parse(&buf)
    }

    /// SIGTERM, wait, and return the exit status with everything the server wrote to stderr.
    pub fn stop(self) -> (ExitStatus, String) {
        self.signal("-TERM");
        self.wait()
    }

    pub fn signal(&self, which: &str) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args([which, &pid])
                .status()
                .unwrap()
                .success()
        );
    }

    /// Wait for the exit; the status with everything the server wrote to stderr.
    pub fn wait(mut self) -> (ExitStatus, String) {
        let status = self.child.wait().unwrap();
        self.reader.take().unwrap().join().unwrap();
        let log = self.stderr.text();
        assert_no_panic(&log);
        (status, log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = reader.join();
            if !std::thread::panicking() {
                assert_no_panic(&self.stderr.text());
            }
        }
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn parse(raw: &[u8]) -> Resp {
        let text = String::from_utf8_lossy(raw);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no head: {text:?}"));
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (k, v) = l.split_once(':').unwrap();
                (k.trim().to_ascii_lowercase(), v.trim().to_string())
            })
            .collect();
        let mut r = Resp {
            status,
            headers,
            body: body.to_string(),
        };
        if r.header("transfer-encoding") == Some("chunked") {
            r.body = dechunk(body);
        }
        r
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    pub fn error_message(&self) -> String {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        self.json()["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{self:?}"))
            .to_string()
    }
}

pub fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = s.split_once("\r\n").unwrap();
        let n = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
}

pub fn read_request(conn: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(conn.read(&mut byte).unwrap(), 1, "request cut short");
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).unwrap();
    head + &String::from_utf8(body).unwrap()
}

/// The first connection to `listener`; fails the test if none comes (generously) soon.
pub fn accept_within_a_minute(listener: &std::net::TcpListener) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match listener.accept() {
            Ok((conn, _)) => {
                conn.set_nonblocking(false).unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(60)))
                    .unwrap();
                return conn;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "nobody connected");
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// Read from `conn` until what arrived holds `needle` (a generous minute at most); all of it.
pub fn read_until(conn: &mut TcpStream, needle: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(60);
    while !String::from_utf8_lossy(&got).contains(needle) {
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in {:?}",
            String::from_utf8_lossy(&got)
        );
        match conn.read(&mut buf) {
            Ok(0) => panic!(
                "closed before {needle:?}: {:?}",
                String::from_utf8_lossy(&got)
            ),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("reading: {e}; so far {:?}", String::from_utf8_lossy(&got)),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}
