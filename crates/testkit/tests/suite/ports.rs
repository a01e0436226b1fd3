use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};

use sx_testkit::ClosedPort;

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
