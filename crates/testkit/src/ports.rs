//! [`ClosedPort`]: a loopback port that refuses connections and that nobody else can take.

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
