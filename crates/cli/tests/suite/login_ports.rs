//! The browser sign-in's callback ports (docs/login.md): 1455, then 1457 when 1455 is busy, as
//! the official client does (its redirect allow-list holds both). The ports are the hidden,
//! test-only `--port P,Q` here — the tests bind their own ports, never the fixed ones — and
//! the order is what is asserted: the first port is tried first (and asked to cancel), the
//! second only after it; the defaults themselves are checked in `sx_cli::login`'s unit tests.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use sx_testkit::auth::AuthJson;

use super::common::Env;
use super::login::{Running, check_authorize_url, enqueue_exchange, http_get};

/// A port this test holds; what the sign-in sends to it is reported on the channel (one
/// request head per connection).
fn occupied() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
            let mut buf = [0u8; 1024];
            let n = conn.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).into_owned();
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            if tx.send(head).is_err() {
                break;
            }
        }
    });
    (port, rx)
}

#[test]
fn a_busy_first_port_is_asked_to_cancel_then_the_second_is_used() {
    let env = Env::new();
    let auth = AuthJson::new();
    enqueue_exchange(&env, &auth, None);
    let (busy, seen) = occupied();
    // The second port: any free one (0), so the test depends on no fixed port.
    let mut run = Running::start_on(&env, &format!("{busy},0"));
    let url = run.authorize_url(&env.server.url());
    let (port, state, _) = check_authorize_url(&url);
    assert_ne!(port, busy, "the fallback port is in the redirect URI");
    let head = seen
        .recv_timeout(Duration::from_secs(30))
        .expect("the busy first port was asked to cancel");
    assert!(head.starts_with("GET /cancel HTTP/1.1\r\n"), "{head:?}");
    let (status, _) = http_get(port, &format!("/auth/callback?code=c-1&state={state}"));
    assert_eq!(status, 302);
    let (status, stdout, stderr) = run.finish();
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("Signed in as"), "{stdout}");
    assert!(seen.try_recv().is_err(), "one cancel only");
}

#[test]
fn with_every_port_busy_the_sign_in_says_which_and_what_to_do() {
    let env = Env::new();
    let (first, first_seen) = occupied();
    let (second, second_seen) = occupied();
    let run = Running::start_on(&env, &format!("{first},{second}"));
    let (status, _, stderr) = run.finish();
    assert_eq!(status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    let line = errors[0];
    let (a, b) = (
        line.find(&format!("127.0.0.1:{first}")),
        line.find(&format!("127.0.0.1:{second}")),
    );
    assert!(
        a.is_some() && b.is_some() && a < b,
        "both ports, in the order tried: {line}"
    );
    assert!(line.contains("device code"), "{line}");
    assert!(
        first_seen
            .try_recv()
            .is_ok_and(|h| h.starts_with("GET /cancel "))
    );
    assert!(
        second_seen.try_recv().is_err(),
        "only the first port is asked to cancel, as the official client does"
    );
    assert!(env.server.requests().is_empty());
}
