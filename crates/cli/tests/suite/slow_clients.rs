//! Hole 7 of docs/reliability.md: clients that open connections and trickle their request
//! headers must neither starve legitimate requests nor stay open past the header timeout. The
//! guard is the shared listener (`crates/cli/src/service/conn.rs`), so the router has it too;
//! this drives `scorpiox-token-server`, the binary the probe starved.
//!
//! The attackers connect from other loopback addresses (127.0.0.2 and up; all of 127/8 is
//! loopback on Linux) so that the per-address limit and the total limit can each be seen.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use sx_testkit::auth::AuthJson;

use super::common::Env;
use super::service::Server;

/// `--header-timeout` of the server under attack: long enough that a request served while the
/// attack holds its connections cannot have been served by their expiry.
const HEADER_TIMEOUT_SECS: u64 = 10;
/// The per-address limit (the default of `--max-connections-per-client`).
const PER_CLIENT: usize = 32;
/// The total limit of the token server (docs/token-server.md, Limits).
const MAX_CONNECTIONS: usize = 256;

struct Slow {
    from: IpAddr,
    stream: TcpStream,
    closed: bool,
}

impl Slow {
    /// Has the server closed this connection (end of stream or reset)?
    fn check(&mut self) -> bool {
        if !self.closed {
            let mut b = [0u8; 64];
            self.closed = match self.stream.read(&mut b) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => false,
                // End of stream, a reset, or an answer (there should be none): the server let go.
                _ => true,
            };
        }
        self.closed
    }

    /// One more header line, as the slow client sends them.
    fn trickle(&mut self) {
        if !self.closed && self.stream.write_all(b"X-Slow: 1\r\n").is_err() {
            self.closed = true;
        }
    }
}

/// `n` connections from `from` to `to`, each having sent a request line and nothing more.
fn open(rt: &tokio::runtime::Runtime, from: IpAddr, to: SocketAddr, n: usize) -> Vec<Slow> {
    (0..n)
        .map(|_| {
            let stream = rt.block_on(async {
                let s = tokio::net::TcpSocket::new_v4().unwrap();
                s.bind(SocketAddr::new(from, 0)).unwrap();
                s.connect(to).await.unwrap().into_std().unwrap()
            });
            stream.set_nonblocking(true).unwrap();
            let mut slow = Slow {
                from,
                stream,
                closed: false,
            };
            if slow
                .stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .is_err()
            {
                slow.closed = true;
            }
            slow
        })
        .collect()
}

#[test]
fn slow_header_clients_neither_starve_requests_nor_outlast_the_header_timeout() {
    let env = Env::new();
    let login = env.home.join("alice.json");
    AuthJson::new().write(&login);
    let mut c = std::process::Command::new(super::common::bin_path("scorpiox-token-server"));
    c.env_clear()
        .env("HOME", &env.home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(&env.proj)
        .args(["--listen", "127.0.0.1:0", "--header-timeout"])
        .arg(HEADER_TIMEOUT_SECS.to_string())
        .arg("-e")
        .arg(format!(
            "TOKEN_SERVER_KEYS=k0123456789abcdef={}",
            login.display()
        ));
    let server = Server::start(c);
    let to: SocketAddr = server.addr.parse().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // 240 clients spread over 8 addresses (within the per-address limit, together more than
    // the server's 256 slots with what follows), then 60 from one address (over its limit).
    let mut slow = Vec::new();
    for last in 3..=10u8 {
        slow.extend(open(&rt, Ipv4Addr::new(127, 0, 0, last).into(), to, 30));
    }
    let greedy: IpAddr = Ipv4Addr::new(127, 0, 0, 2).into();
    slow.extend(open(&rt, greedy, to, 60));
    assert_eq!(slow.len(), 300);
    for s in &mut slow {
        s.trickle();
    }

    // A legitimate request during the attack is served, and not because the attack's
    // connections expired: most of them are still open once it is answered.
    let r = server.get("/healthz", None);
    assert_eq!(r.status, 200, "{r:?}");
    let closed = slow.iter_mut().map(Slow::check).filter(|c| *c).count();
    let greedy_open = slow
        .iter_mut()
        .filter(|s| s.from == greedy)
        .map(Slow::check)
        .filter(|c| !c)
        .count();
    assert!(
        greedy_open <= PER_CLIENT,
        "one address holds at most {PER_CLIENT} connections: {greedy_open} open"
    );
    assert!(
        closed < 300 - MAX_CONNECTIONS + 60,
        "the request was served while the slow clients held their connections \
         ({closed} of 300 were closed by then)"
    );

    // The slow clients keep trickling; every connection is closed once its head has taken
    // the header timeout (generous deadline: far below the idle timeout the trickle defeats).
    let deadline = Instant::now() + Duration::from_secs(HEADER_TIMEOUT_SECS * 6);
    loop {
        let open = slow.iter_mut().map(Slow::check).filter(|c| !c).count();
        if open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} slow connections outlived the {HEADER_TIMEOUT_SECS}s header timeout"
        );
        for s in &mut slow {
            s.trickle();
        }
        std::thread::sleep(Duration::from_secs(1));
    }

    // Still serving, and the operator was told what happened.
    assert_eq!(server.get("/healthz", None).status, 200);
    let (_, log) = server.stop();
    assert!(
        log.contains("warning: refused 1 connection(s) from an address that already had 32 open"),
        "{log}"
    );
    assert!(
        log.contains("warning: all 256 connections were taken: closed 1 that had not sent"),
        "{log}"
    );
}

/// The header timeout bounds request heads only: a body that arrives slowly (within the body
/// timeout) is still answered, and on the kept-alive connection the next request's head gets
/// the same deadline as the first.
#[test]
fn the_header_timeout_spares_slow_bodies_and_applies_to_each_request_on_a_connection() {
    let env = Env::new();
    let login = env.home.join("alice.json");
    AuthJson::new().write(&login);
    let mut c = std::process::Command::new(super::common::bin_path("scorpiox-token-server"));
    c.env_clear()
        .env("HOME", &env.home)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(&env.proj)
        .args(["--listen", "127.0.0.1:0", "--header-timeout", "1"])
        .arg("-e")
        .arg(format!(
            "TOKEN_SERVER_KEYS=k0123456789abcdef={}",
            login.display()
        ));
    let server = Server::start(c);
    let mut conn = TcpStream::connect(&server.addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    // A whole head, then a body over several header timeouts, a byte at a time: the
    // server waits for the body (its own 30 s bound) and answers.
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n")
        .unwrap();
    for b in [b"a", b"b", b"c"] {
        std::thread::sleep(Duration::from_millis(1500));
        conn.write_all(b)
            .expect("the server closed the connection while the body was arriving");
    }
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&answer).contains("ok\n") {
        let n = conn.read(&mut buf).unwrap_or(0);
        assert!(
            n > 0,
            "closed before the answer: {}",
            String::from_utf8_lossy(&answer)
        );
        answer.extend_from_slice(&buf[..n]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 200 "), "{answer:?}");

    // The next request on the same connection trickles its headers: closed once its head
    // has taken the header timeout (the trickle keeps the idle timeout from ever firing).
    conn.set_nonblocking(true).unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
    let mut slow = Slow {
        from: Ipv4Addr::LOCALHOST.into(),
        stream: conn,
        closed: false,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !slow.check() {
        assert!(
            Instant::now() < deadline,
            "the second head outlived the header timeout"
        );
        slow.trickle();
        std::thread::sleep(Duration::from_millis(300));
    }
}
