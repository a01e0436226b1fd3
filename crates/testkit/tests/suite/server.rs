use std::io::ErrorKind;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use sx_testkit::{CODEX_RESPONSES_PATH, Chunk, MockResponse, MockServer, responses, sse};

use super::http::{Client, request};

#[test]
fn urls_point_at_loopback() {
    let server = MockServer::start();
    let port = server.addr().port();
    assert_eq!(server.url(), format!("http://127.0.0.1:{port}"));
    assert_eq!(
        server.oauth_token_url(),
        format!("http://127.0.0.1:{port}/oauth/token")
    );
    assert_eq!(
        server.codex_base(),
        format!("http://127.0.0.1:{port}/backend-api/codex")
    );
    assert_eq!(
        format!("{}/responses", server.codex_base()),
        server.url() + CODEX_RESPONSES_PATH
    );
}

#[test]
fn records_method_path_query_headers_and_body() {
    let server = MockServer::start();
    let stream = sse::encode(&responses::text_turn("hi"));
    server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse(stream.clone()),
    );

    let body = br#"{"model":"gpt-5.5","stream":true}"#;
    let path = format!("{CODEX_RESPONSES_PATH}?client_version=1.2.3");
    let headers = [
        ("Authorization", "Bearer tok"),
        ("ChatGPT-Account-ID", "acct-1"),
        ("Accept", "text/event-stream"),
        ("Content-Type", "application/json"),
    ];
    let resp = request(server.addr(), "POST", &path, &headers, body);

    assert_eq!(resp.head.status, 200);
    assert_eq!(resp.head.header("content-type"), Some("text/event-stream"));
    assert_eq!(resp.head.header("transfer-encoding"), Some("chunked"));
    assert_eq!(resp.text(), stream);

    let recs = server.requests();
    assert_eq!(recs.len(), 1);
    let rec = &recs[0];
    assert_eq!(rec.method, "POST");
    assert_eq!(rec.path, CODEX_RESPONSES_PATH);
    assert_eq!(rec.query.as_deref(), Some("client_version=1.2.3"));
    let names: Vec<&str> = rec.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "host",
            "authorization",
            "chatgpt-account-id",
            "accept",
            "content-type",
            "content-length"
        ]
    );
    assert_eq!(rec.header("CHATGPT-ACCOUNT-ID"), Some("acct-1"));
    assert_eq!(rec.raw_body, body);
    assert_eq!(rec.body, body);
    assert_eq!(rec.content_encoding, None);
    assert_eq!(rec.decode_error, None);
    assert_eq!(rec.json()["model"], "gpt-5.5");
    assert_eq!(server.requests_to(CODEX_RESPONSES_PATH).len(), 1);
    assert!(server.requests_to("/other").is_empty());
}

#[test]
fn zstd_request_bodies_are_decoded() {
    let server = MockServer::start();
    server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse_events(&responses::text_turn("x")),
    );
    let plain = serde_json::to_vec(&json!({"model": "gpt-5.5", "input": vec!["a"; 200]})).unwrap();
    let packed = zstd::stream::encode_all(&plain[..], 3).unwrap();
    assert!(packed.len() < plain.len());

    let headers = [
        ("Content-Type", "application/json"),
        ("Content-Encoding", "zstd"),
    ];
    let resp = request(
        server.addr(),
        "POST",
        CODEX_RESPONSES_PATH,
        &headers,
        &packed,
    );
    assert_eq!(resp.head.status, 200);

    let rec = &server.requests()[0];
    assert_eq!(rec.content_encoding.as_deref(), Some("zstd"));
    assert_eq!(rec.raw_body, packed);
    assert_eq!(rec.body, plain);
    assert_eq!(rec.decode_error, None);
    assert_eq!(rec.json()["input"][199], "a");
}

#[test]
fn undecodable_zstd_is_recorded_raw_with_the_reason() {
    let server = MockServer::start();
    let headers = [("Content-Encoding", "zstd")];
    request(server.addr(), "POST", "/x", &headers, b"{\"not\":\"zstd\"}");
    let rec = &server.requests()[0];
    assert_eq!(rec.body, b"{\"not\":\"zstd\"}");
    assert!(
        rec.decode_error
            .as_deref()
            .is_some_and(|e| e.contains("zstd")),
        "{rec:?}"
    );
}

#[test]
fn chunked_request_bodies_are_recorded_whole() {
    let server = MockServer::start();
    let mut client = Client::connect(server.addr());
    let framed = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    client.send(
        "POST",
        "/upload",
        &[("Transfer-Encoding", "chunked")],
        framed,
    );
    client.read_response().unwrap();
    assert_eq!(server.requests()[0].body, b"hello world");
}

#[test]
fn scripted_responses_are_served_in_order_then_500() {
    let server = MockServer::start();
    let path = CODEX_RESPONSES_PATH;
    server.enqueue("POST", path, MockResponse::json(200, json!({"n": 1})));
    server.enqueue(
        "POST",
        path,
        MockResponse::json(
            429,
            sx_testkit::fixture_json("codex/http_429_usage_limit.json"),
        )
        .header("retry-after", "3")
        .header("x-codex-primary-used-percent", "100.0"),
    );
    server.enqueue(
        "POST",
        path,
        MockResponse::status(418)
            .body("short and stout")
            .content_type("text/plain"),
    );
    assert_eq!(server.remaining("post", path), 3);

    let first = request(server.addr(), "POST", path, &[], b"{}");
    assert_eq!((first.head.status, first.json()), (200, json!({"n": 1})));
    assert_eq!(first.head.header("content-type"), Some("application/json"));

    let second = request(server.addr(), "POST", path, &[], b"{}");
    assert_eq!(second.head.status, 429);
    assert_eq!(second.head.header("retry-after"), Some("3"));
    assert_eq!(
        second.head.header("x-codex-primary-used-percent"),
        Some("100.0")
    );
    assert_eq!(second.json()["error"]["type"], "usage_limit_reached");

    let third = request(server.addr(), "POST", path, &[], b"{}");
    assert_eq!(third.head.status, 418);
    assert_eq!(third.head.header("content-type"), Some("text/plain"));
    assert_eq!(third.text(), "short and stout");

    let exhausted = request(server.addr(), "POST", path, &[], b"{}");
    assert_eq!(exhausted.head.status, 500);
    assert_eq!(
        exhausted.json(),
        json!({"error": {
            "message": "mock: no scripted response for POST /backend-api/codex/responses",
            "type": "mock_exhausted",
        }})
    );
    assert_eq!(
        server.requests_to(path).len(),
        4,
        "the exhausted request is recorded too"
    );
    assert_eq!(server.remaining("POST", path), 0);
}

#[test]
fn routes_match_method_and_path_but_not_query() {
    let server = MockServer::start();
    server.enqueue("post", "/a?ignored=1", MockResponse::status(201));
    assert_eq!(
        request(server.addr(), "GET", "/a", &[], b"").head.status,
        500
    );
    assert_eq!(
        request(server.addr(), "POST", "/a/b", &[], b"").head.status,
        500
    );
    assert_eq!(
        request(server.addr(), "POST", "/a?x=2", &[], b"")
            .head
            .status,
        201
    );
    let recs = server.requests_to("/a");
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1].query.as_deref(), Some("x=2"));
}

#[test]
fn a_repeating_last_response_is_served_forever() {
    let server = MockServer::start();
    server.enqueue("POST", "/r", MockResponse::status(201));
    server.enqueue("POST", "/r", MockResponse::status(202).repeat());
    let statuses: Vec<u16> = (0..5)
        .map(|_| request(server.addr(), "POST", "/r", &[], b"").head.status)
        .collect();
    assert_eq!(statuses, [201, 202, 202, 202, 202]);
    assert_eq!(server.remaining("POST", "/r"), 1);

    // Not last in its queue: served once like any other.
    server.enqueue("GET", "/s", MockResponse::status(203).repeat());
    server.enqueue("GET", "/s", MockResponse::status(204));
    let statuses: Vec<u16> = (0..3)
        .map(|_| request(server.addr(), "GET", "/s", &[], b"").head.status)
        .collect();
    assert_eq!(statuses, [203, 204, 500]);
}

#[test]
fn keep_alive_connections_serve_several_requests() {
    let server = MockServer::start();
    server.enqueue("POST", "/k", MockResponse::sse("event: a\ndata: {}\n\n"));
    server.enqueue(
        "POST",
        "/k",
        MockResponse::json(200, json!({"second": true})),
    );
    let mut client = Client::connect(server.addr());
    client.send("POST", "/k", &[], b"1");
    assert_eq!(
        client.read_response().unwrap().text(),
        "event: a\ndata: {}\n\n"
    );
    client.send("POST", "/k", &[], b"2");
    assert_eq!(client.read_response().unwrap().json()["second"], true);
    let bodies: Vec<Vec<u8>> = server.requests().into_iter().map(|r| r.body).collect();
    assert_eq!(bodies, [b"1".to_vec(), b"2".to_vec()]);
}

#[test]
fn concurrent_clients_share_a_repeating_response() {
    let server = MockServer::start();
    server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse_events(&responses::text_turn("c")).repeat(),
    );
    let addr = server.addr();
    let workers: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                let body = format!("{{\"n\":{i}}}");
                request(addr, "POST", CODEX_RESPONSES_PATH, &[], body.as_bytes())
            })
        })
        .collect();
    for worker in workers {
        let resp = worker.join().unwrap();
        assert_eq!(resp.head.status, 200);
        assert!(resp.text().contains("response.completed"));
    }
    let mut ns: Vec<i64> = server
        .requests()
        .iter()
        .map(|r| r.json()["n"].as_i64().unwrap())
        .collect();
    ns.sort_unstable();
    assert_eq!(ns, (0..8).collect::<Vec<_>>());
}

#[test]
fn chunks_arrive_one_by_one_in_order() {
    let server = MockServer::start();
    let events = responses::text_turn("one two three");
    let mut chunks = Vec::new();
    for chunk in Chunk::events(&events) {
        chunks.push(chunk);
        chunks.push(Chunk::Delay(Duration::from_millis(5)));
    }
    server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse_chunks(chunks),
    );

    let mut client = Client::connect(server.addr());
    client.send("POST", CODEX_RESPONSES_PATH, &[], b"{}");
    let head = client.read_head().unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    let mut received = Vec::new();
    while let Some(chunk) = client.read_chunk().unwrap() {
        received.push(chunk);
    }
    let expected: Vec<Vec<u8>> = events
        .iter()
        .map(|e| sse::encode(std::slice::from_ref(e)).into_bytes())
        .collect();
    assert_eq!(received, expected, "one HTTP chunk per event, in order");
}

#[test]
fn a_delay_holds_back_what_follows_it() {
    // No clock is read: the delay is an hour, so the next chunk cannot come however slow the
    // machine is, and a build that ignored delays would send it at once.
    let server = MockServer::start();
    let events = responses::text_turn("x");
    let mut chunks = Chunk::events(&events);
    chunks.insert(1, Chunk::Delay(Duration::from_secs(3600)));
    server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse_chunks(chunks),
    );

    let mut client = Client::connect(server.addr());
    client.send("POST", CODEX_RESPONSES_PATH, &[], b"{}");
    client.read_head().unwrap();
    assert_eq!(
        client.read_chunk().unwrap().unwrap(),
        sse::encode(&events[..1]).as_bytes()
    );
    client.set_read_timeout(Duration::from_millis(300));
    let err = client
        .read_chunk()
        .expect_err("nothing is sent during the delay");
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err:?}"
    );
    assert_eq!(server.open_streams(), 1, "the stream is still open");
}

#[test]
fn stall_holds_the_connection_until_the_client_leaves() {
    let server = MockServer::start();
    let first = sse::encode(&responses::text_turn("x")[..1]);
    let chunks = vec![
        Chunk::Bytes(Bytes::from(first.clone())),
        Chunk::Stall,
        Chunk::Bytes("never".into()),
    ];
    server.enqueue(
        "POST",
        CODEX_RESPONSES_PATH,
        MockResponse::sse_chunks(chunks),
    );

    let mut client = Client::connect(server.addr());
    client.send("POST", CODEX_RESPONSES_PATH, &[], b"{}");
    client.read_head().unwrap();
    assert_eq!(client.read_chunk().unwrap().unwrap(), first.as_bytes());
    client.set_read_timeout(Duration::from_millis(300));
    let err = client
        .read_chunk()
        .expect_err("the stall sends nothing more");
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err:?}"
    );
    assert_eq!(server.open_streams(), 1);

    drop(client);
    assert!(
        server.wait_for_streams_closed(Duration::from_secs(60)),
        "server noticed the hang-up"
    );
    assert_eq!(server.open_streams(), 0);
}

#[test]
fn abort_cuts_the_body_without_a_clean_end() {
    let server = MockServer::start();
    let chunks = vec![
        Chunk::Bytes("event: a\ndata: {}\n\n".into()),
        Chunk::Abort,
        Chunk::Bytes("never".into()),
    ];
    server.enqueue("POST", "/abort", MockResponse::sse_chunks(chunks));

    let mut client = Client::connect(server.addr());
    client.send("POST", "/abort", &[], b"");
    client.read_head().unwrap();
    assert_eq!(
        client.read_chunk().unwrap().unwrap(),
        b"event: a\ndata: {}\n\n"
    );
    let err = client
        .read_chunk()
        .expect_err("no terminating chunk after an abort");
    assert_eq!(err.kind(), ErrorKind::UnexpectedEof, "{err:?}");
    assert!(server.wait_for_streams_closed(Duration::from_secs(60)));
}

#[test]
fn a_list_without_completed_still_ends_cleanly() {
    let server = MockServer::start();
    let truncated = sx_testkit::fixture("codex/truncated.sse");
    server.enqueue("POST", "/t", MockResponse::sse(truncated.clone()));
    let resp = request(server.addr(), "POST", "/t", &[], b"");
    assert_eq!(resp.body, truncated);
}

#[test]
fn wait_for_requests_blocks_until_they_arrive() {
    let server = MockServer::start();
    let addr = server.addr();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| server.wait_for_requests("/late", 2, Duration::from_secs(60)));
        request(addr, "POST", "/late", &[], b"1");
        assert!(!waiter.is_finished(), "returned after one of two requests");
        request(addr, "POST", "/late", &[], b"2");
        let got = waiter.join().unwrap();
        let bodies: Vec<&[u8]> = got.iter().map(|r| r.body.as_slice()).collect();
        assert_eq!(bodies, [b"1", b"2"]);
        assert!(got[0].received_at <= got[1].received_at);
    });
}

#[test]
fn wait_for_requests_returns_what_arrived_when_the_time_is_up() {
    let server = Arc::new(MockServer::start());
    request(server.addr(), "POST", "/late", &[], b"1");
    let (tx, rx) = mpsc::channel();
    let waiter = Arc::clone(&server);
    std::thread::spawn(move || {
        let got = waiter.wait_for_requests("/late", 2, Duration::from_millis(100));
        let _ = tx.send(got.len());
    });
    // A generous deadline for a 100 ms wait: it only catches a wait that does not end.
    let got = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("wait_for_requests ignored its timeout");
    assert_eq!(got, 1, "fewer than asked for: what arrived");
}

#[test]
fn dropping_the_server_ends_stalled_streams_promptly() {
    let server = MockServer::start();
    server.enqueue(
        "POST",
        "/stall",
        MockResponse::sse_chunks(vec![Chunk::Stall]),
    );
    let mut client = Client::connect(server.addr());
    client.send("POST", "/stall", &[], b"");
    client.read_head().unwrap();
    assert_eq!(server.open_streams(), 1);

    // A stall lasts two minutes; a drop that waited for it would miss this generous deadline.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        drop(server);
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("dropping the server waited for the stalled stream");
    client.set_read_timeout(Duration::from_secs(60));
    let err = client
        .read_chunk()
        .expect_err("the connection is gone with the server");
    assert!(
        !matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "the connection is still open: {err:?}"
    );
}

#[test]
fn bytes_before_an_abort_reach_a_slow_reader() {
    let server = MockServer::start();
    let big = Bytes::from(vec![b'x'; 256 * 1024]);
    let chunks = vec![Chunk::Bytes(big.clone()), Chunk::Abort];
    server.enqueue("POST", "/big", MockResponse::sse_chunks(chunks));
    let mut client = Client::connect(server.addr());
    client.send("POST", "/big", &[], b"");
    // The head comes once the stream is open; read no more until the server has ended it
    // (the abort is behind it): the bytes wait in hyper's write queue (up to ~400 KiB) and
    // the socket buffers for a slow reader. An event, not a sleep guessing when that is.
    let head = client.read_head().unwrap();
    assert_eq!(head.status, 200);
    assert!(
        server.wait_for_streams_closed(Duration::from_secs(60)),
        "the server never reached the abort"
    );
    assert_eq!(client.read_chunk().unwrap().unwrap().len(), big.len());
    assert_eq!(
        client.read_chunk().unwrap_err().kind(),
        ErrorKind::UnexpectedEof
    );
}
