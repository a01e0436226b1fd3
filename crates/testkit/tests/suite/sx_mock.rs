use std::io::{BufRead, BufReader, ErrorKind};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use sx_testkit::{auth, sse};

use super::http::{Client, request};

struct Mock {
    child: Child,
    addr: SocketAddr,
}

impl Mock {
    fn spawn(args: &[&str]) -> Mock {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sx-mock"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn sx-mock");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("expected READY <port>, got {line:?}"))
            .parse()
            .unwrap();
        Mock {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "sx-mock did not exit within {timeout:?}"
            );
            // Paces the poll for the exit; the deadline is generous.
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn answer_text(body: &str) -> String {
    sse::decode(body)
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn serves_responses_and_refresh_and_stops_at_stdin_eof() {
    let mut mock = Mock::spawn(&["--text", "Hi from sx-mock", "--exit-on-stdin-eof"]);

    let resp = request(
        mock.addr,
        "POST",
        "/backend-api/codex/responses",
        &[],
        b"{}",
    );
    assert_eq!(resp.head.status, 200);
    assert_eq!(resp.head.header("content-type"), Some("text/event-stream"));
    assert_eq!(answer_text(&resp.text()), "Hi from sx-mock");
    assert!(resp.text().contains("event: response.completed\n"));

    let other = request(mock.addr, "POST", "/v1/responses", &[], b"{}");
    assert_eq!(answer_text(&other.text()), "Hi from sx-mock");

    let refresh = request(
        mock.addr,
        "POST",
        "/oauth/token",
        &[("content-type", "application/json")],
        b"{}",
    );
    assert_eq!(refresh.head.status, 200);
    let tokens = refresh.json();
    assert_eq!(
        auth::jwt_claims(tokens["access_token"].as_str().unwrap())[auth::MARKER_CLAIM],
        "sx-mock"
    );
    assert!(tokens["refresh_token"].is_string() && tokens["id_token"].is_string());

    assert_eq!(
        request(mock.addr, "GET", "/elsewhere", &[], b"")
            .head
            .status,
        404
    );

    // Several requests on one kept-alive connection, as a pooling client does.
    let mut client = Client::connect(mock.addr);
    for _ in 0..3 {
        client.send("POST", "/backend-api/codex/responses", &[], b"{}");
        assert_eq!(client.read_response().unwrap().head.status, 200);
    }

    drop(mock.child.stdin.take());
    assert!(mock.wait(Duration::from_secs(60)).success());
}

#[cfg(unix)]
#[test]
fn exits_cleanly_on_sigterm() {
    let mut mock = Mock::spawn(&[]);
    assert_eq!(
        request(
            mock.addr,
            "POST",
            "/backend-api/codex/responses",
            &[],
            b"{}"
        )
        .head
        .status,
        200
    );
    let status = Command::new("kill")
        .args(["-TERM", &mock.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    assert!(mock.wait(Duration::from_secs(60)).success());
}

#[test]
fn delay_sends_one_chunk_per_event() {
    let chunks = |args: &[&str]| {
        let mock = Mock::spawn(args);
        let mut client = Client::connect(mock.addr);
        client.send("POST", "/backend-api/codex/responses", &[], b"{}");
        assert_eq!(client.read_head().unwrap().status, 200);
        let mut chunks = Vec::new();
        while let Some(chunk) = client.read_chunk().unwrap() {
            chunks.push(String::from_utf8(chunk).unwrap());
        }
        chunks
    };
    let events = sx_testkit::responses::text_turn("Hello from the mock.");
    let one_each: Vec<String> = events
        .iter()
        .map(|e| sse::encode(std::slice::from_ref(e)))
        .collect();
    assert_eq!(chunks(&["--delay-ms", "1", "--port", "0"]), one_each);
    assert_eq!(
        chunks(&[]),
        [sse::encode(&events)],
        "without a delay: one chunk"
    );
}

#[test]
fn delay_holds_each_event_back() {
    // No clock is read: with an hour's delay nothing can come however slow the machine is,
    // and a build that ignored the delay would send the first event at once.
    let mock = Mock::spawn(&["--delay-ms", "3600000"]);
    let mut client = Client::connect(mock.addr);
    client.send("POST", "/backend-api/codex/responses", &[], b"{}");
    client.set_read_timeout(Duration::from_millis(300));
    let err = client
        .read_head()
        .and_then(|_| client.read_chunk())
        .expect_err("nothing is sent during the delay");
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err:?}"
    );
}

#[test]
fn bad_arguments_exit_with_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_sx-mock"))
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: sx-mock"));
    let out = Command::new(env!("CARGO_BIN_EXE_sx-mock"))
        .args(["--port", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_sx-mock"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--delay-ms"));
}
