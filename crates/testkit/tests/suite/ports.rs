use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};

use sx_testkit::{ClosedPort, fixed_port_candidates};

#[test]
fn a_closed_port_refuses_connections() {
    let closed = ClosedPort::bind();
    assert_eq!(closed.addr().ip().to_string(), "127.0.0.1");
    assert_eq!(closed.url(), format!("http://127.0.0.1:{}", closed.port()));
    for _ in 0..3 {
        let err = TcpStream::connect(closed.addr()).expect_err("nothing listens there");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err:?}");
    }
}

#[test]
fn nobody_else_can_take_a_closed_port() {
    let closed = ClosedPort::bind();
    // std sets SO_REUSEADDR on Unix listeners; the closed port does not, so this must fail.
    let err = TcpListener::bind(closed.addr()).expect_err("the port is taken");
    assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err:?}");
    let any = std::net::SocketAddr::from(([0, 0, 0, 0], closed.port()));
    assert_eq!(
        TcpListener::bind(any).unwrap_err().kind(),
        ErrorKind::AddrInUse
    );
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    socket.set_reuseport(true).unwrap();
    assert_eq!(
        socket.bind(closed.addr()).unwrap_err().kind(),
        ErrorKind::AddrInUse
    );
    drop(closed);
}

#[test]
fn fixed_port_candidates_are_outside_the_ephemeral_range() {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
    let low: u16 = range.split_whitespace().next().unwrap().parse().unwrap();
    let all: Vec<u16> = fixed_port_candidates().collect();
    assert_eq!(all.len(), usize::from(low - 1024));
    let mut sorted = all.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), all.len(), "each once");
    assert!(all.iter().all(|p| (1024..low).contains(p)));
    // What the kernel assigns is never among them.
    let assigned = TcpListener::bind("127.0.0.1:0").unwrap();
    assert!(!all.contains(&assigned.local_addr().unwrap().port()));
}
