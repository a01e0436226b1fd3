//! [`ClosedPort`]: a loopback port that refuses connections and that nobody else can take;
//! [`fixed_port_candidates`]: ports for code that must release a port and bind it again.

use std::net::{Ipv4Addr, SocketAddr};

/// A loopback port that is *bound but not listening*: a connection to it is refused at once
/// (the kernel answers the SYN with a reset, `ECONNREFUSED`), and because this socket owns
/// the port (no `SO_REUSEADDR`/`SO_REUSEPORT`), no other socket on the machine can bind it
/// while the value lives. Use it for "an unreachable service" instead of a well-known port
/// assumed closed (9, discard, may be open) or a port bound and dropped (free again, so another
/// process may take it before the test connects).
pub struct ClosedPort {
    // Kept open for its binding only: never listens, never connects.
    _socket: tokio::net::TcpSocket,
    addr: SocketAddr,
}

impl ClosedPort {
    /// Bind `127.0.0.1:0` without listening. Needs no runtime.
    ///
    /// # Panics
    /// If the socket cannot be created or bound.
    pub fn bind() -> ClosedPort {
        let socket = tokio::net::TcpSocket::new_v4().expect("closed port: socket");
        socket
            .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .expect("closed port: bind 127.0.0.1:0");
        let addr = socket.local_addr().expect("closed port: local_addr");
        ClosedPort {
            _socket: socket,
            addr,
        }
    }

    /// `127.0.0.1:PORT`
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl std::fmt::Debug for ClosedPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClosedPort")
            .field("addr", &self.addr)
            .finish()
    }
}

/// Ports the kernel never hands out by itself (below the ephemeral range,
/// `/proc/sys/net/ipv4/ip_local_port_range`, and at or above 1024), each once, from a starting
/// point that differs per call. For a test whose code under test binds a *fixed* port, lets it
/// go and binds it again (a sign-in taking over the callback port): a `bind(…:0)` or an
/// outgoing connection elsewhere on the machine cannot take such a port in between, as it can
/// an ephemeral one. Bind the first candidate that is free; the port is not reserved.
pub fn fixed_port_candidates() -> impl Iterator<Item = u16> {
    use std::hash::{BuildHasher, Hasher};
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768)
        .max(1025);
    let count = ephemeral_low - 1024;
    // A random start (std's per-process hasher seed), so parallel test runs spread out.
    let seed = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let start = (seed % u64::from(count)) as u16;
    (0..count).map(move |i| 1024 + (start + i) % count)
}
