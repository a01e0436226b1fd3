//! The runtime against a fake wire and a loopback mock: each retry budget, server-requested
//! delays, the idle timeout, 401 recovery, error mapping and the traffic log — provider
//! behaviour without the binary.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};
use sx_testkit::{Chunk, MockResponse, MockServer};

use super::*;
use crate::model::{Block, Message, Role, StopReason, Usage};

const PATH: &str = "/v1/fake";

/// A minimal wire: `data: {"t":"text","v":…}` deltas, `{"t":"done"}` ends the answer,
/// `{"t":"fail","retryable":…}` fails it. Errors: 400 → invalid, 429 → rate limited
/// (Retry-After or "try again in" in the body), 5xx → server.
struct FakeWire {
    url: String,
}

#[derive(Default)]
struct FakeStream {
    text: String,
    done: bool,
    failure: Option<ProviderError>,
}

impl WireStream for FakeStream {
    fn on_event(
        &mut self,
        ev: SseEvent<'_>,
        sink: &mut EventSink<'_>,
    ) -> Result<(), ProviderError> {
        let v: Value = serde_json::from_str(ev.data).map_err(|e| ProviderError::Protocol {
            detail: e.to_string(),
        })?;
        match v["t"].as_str() {
            Some("text") => {
                let t = v["v"].as_str().unwrap_or_default();
                self.text.push_str(t);
                sink(StreamEvent::TextDelta(t));
            }
            Some("done") => self.done = true,
            Some("fail") => {
                self.failure = Some(ProviderError::Failed {
                    code: "fake".into(),
                    message: "the fake failed".into(),
                    retry_after: None,
                    retryable: v["retryable"].as_bool().unwrap_or(false),
                })
            }
            _ => {}
        }
        Ok(())
    }

    fn finished(&self) -> bool {
        self.done || self.failure.is_some()
    }

    fn finish(self) -> Result<Completion, ProviderError> {
        if let Some(f) = self.failure {
            return Err(f);
        }
        if !self.done {
            return Err(ProviderError::StreamTruncated {
                detail: "no done event".into(),
            });
        }
        Ok(Completion {
            message: Message {
                role: Role::Assistant,
                content: vec![Block::text(self.text)],
                usage: None,
            },
            usage: Usage::default(),
            stop: StopReason::EndTurn,
            provider_session: None,
        })
    }
}

#[async_trait]
impl Wire for FakeWire {
    type Stream = FakeStream;

    fn id(&self) -> ProviderId {
        ProviderId::Openai
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            runs_own_tools: false,
            keeps_own_history: false,
            vision: false,
            caching: crate::providers::Caching::None,
        }
    }

    fn context_window(&self, _model: &str) -> Option<u64> {
        None
    }

    fn build(&self, req: &Request<'_>) -> Result<WireRequest, ProviderError> {
        let json = Bytes::from(serde_json::to_vec(&json!({"model": req.model})).unwrap());
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        Ok(WireRequest {
            url: self.url.clone(),
            headers,
            body: json.clone(),
            json,
        })
    }

    fn map_error(&self, status: u16, headers: &HeaderMap, body: &[u8], url: &str) -> ProviderError {
        let message = crate::error_body::ErrorBody::parse(body).message;
        let after = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(crate::error::parse_retry_after)
            .or_else(|| crate::error::parse_try_again_in(&message));
        match status {
            400 => ProviderError::InvalidRequest { status, message },
            429 => ProviderError::RateLimited {
                message,
                retry_after: after,
            },
            500..=599 => ProviderError::Server {
                status,
                message,
                retry_after: after,
            },
            _ => ProviderError::UnexpectedStatus {
                provider: ProviderId::Openai,
                status,
                url: url.into(),
                message,
            },
        }
    }

    fn stream(&self, _req: &Request<'_>) -> FakeStream {
        FakeStream::default()
    }
}

/// Tokens `tok-0`, `tok-1`, …: `recover` moves to the next one, at most `recoverable` times.
struct CountingCredentials {
    generation: AtomicU32,
    recoveries: AtomicU32,
    recoverable: u32,
}

#[async_trait]
impl Credentials for CountingCredentials {
    async fn current(&self) -> Result<Credential, crate::auth::AuthError> {
        let g = self.generation.load(Ordering::SeqCst);
        crate::auth::ApiKey::new(
            ProviderId::Openai,
            "OPENAI_API_KEY",
            crate::auth::KeyHeader::Bearer,
            &format!("tok-{g}"),
        )?
        .current()
        .await
    }

    async fn recover(
        &self,
        _rejected: &Credential,
        detail: &str,
    ) -> Result<Credential, crate::auth::AuthError> {
        let n = self.recoveries.fetch_add(1, Ordering::SeqCst);
        if n >= self.recoverable {
            return Err(self.rejected(detail.to_string()));
        }
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.current().await
    }

    fn rejected(&self, detail: String) -> crate::auth::AuthError {
        crate::auth::AuthError::KeyRejected {
            provider: ProviderId::Openai,
            key: "OPENAI_API_KEY",
            detail,
        }
    }
}

struct Setup {
    mock: MockServer,
    provider: HttpProvider<FakeWire>,
    creds: Arc<CountingCredentials>,
}

fn setup(policy: RetryPolicy, idle: Duration, traffic: SharedTrafficLog) -> Setup {
    let mock = MockServer::start();
    let creds = Arc::new(CountingCredentials {
        generation: AtomicU32::new(0),
        recoveries: AtomicU32::new(0),
        recoverable: 1,
    });
    let identity = ClientIdentity::new("sx");
    let provider = HttpProvider {
        wire: FakeWire {
            url: format!("{}{PATH}", mock.url()),
        },
        runtime: Runtime {
            http: crate::http::client(&identity).unwrap(),
            identity,
            retry: policy,
            idle_timeout: idle,
            max_stream_bytes: crate::limits::DEFAULT_STREAM_MAX_BYTES,
            traffic,
            credentials: creds.clone(),
            provider: ProviderId::Openai,
        },
    };
    Setup {
        mock,
        provider,
        creds,
    }
}

fn policy(request: u32, stream: u32) -> RetryPolicy {
    RetryPolicy {
        request_max_retries: request,
        stream_max_retries: stream,
        base_delay: Duration::from_millis(1),
    }
}

/// Generous: only a broken runtime waits this long.
const IDLE: Duration = Duration::from_secs(30);

fn sse(events: &[Value]) -> MockResponse {
    let mut s = String::new();
    for e in events {
        s.push_str(&format!("data: {e}\n\n"));
    }
    MockResponse::sse(s)
}

fn answer(text: &str) -> MockResponse {
    sse(&[json!({"t":"text","v":text}), json!({"t":"done"})])
}

#[derive(Debug, Clone, PartialEq)]
struct RetrySeen {
    attempt: u32,
    max: u32,
    delay: Duration,
    reason: String,
}

async fn run(s: &Setup) -> (Result<Completion, ProviderError>, Vec<RetrySeen>, String) {
    let (mut retries, mut text) = (Vec::new(), String::new());
    let msgs = [Message::user_text("hi")];
    let req = Request {
        model: "m",
        system: "",
        messages: &msgs,
        tools: &[],
        effort: None,
        thinking: false,
        session_id: "s",
        turn_id: "t",
        max_output_tokens: None,
        provider_session: None,
    };
    let r = s
        .provider
        .stream(&req, &mut |ev| match ev {
            StreamEvent::Retry {
                attempt,
                max,
                delay,
                reason,
            } => retries.push(RetrySeen {
                attempt,
                max,
                delay,
                reason: reason.into(),
            }),
            StreamEvent::TextDelta(t) => text.push_str(t),
            _ => {}
        })
        .await;
    (r, retries, text)
}

fn server_error() -> MockResponse {
    MockResponse::json(503, json!({"error":{"message":"busy"}}))
}

fn truncated() -> MockResponse {
    sse(&[json!({"t":"text","v":"part"})])
}

#[tokio::test]
async fn the_request_budget_bounds_retries_before_the_stream() {
    let s = setup(policy(2, 9), IDLE, None);
    for _ in 0..5 {
        s.mock.enqueue("POST", PATH, server_error());
    }
    let (r, retries, _) = run(&s).await;
    let e = r.unwrap_err();
    assert!(
        matches!(e, ProviderError::Server { status: 503, .. }),
        "{e:?}"
    );
    assert_eq!(s.mock.requests_to(PATH).len(), 3, "1 try + 2 retries");
    assert_eq!(
        retries
            .iter()
            .map(|r| (r.attempt, r.max))
            .collect::<Vec<_>>(),
        [(1, 2), (2, 2)]
    );
    assert!(retries[0].reason.contains("HTTP 503: busy"), "{retries:?}");
}

#[tokio::test]
async fn the_stream_budget_is_separate_and_output_before_a_retry_is_void() {
    let s = setup(policy(1, 2), IDLE, None);
    s.mock.enqueue("POST", PATH, truncated());
    s.mock.enqueue("POST", PATH, server_error());
    s.mock.enqueue("POST", PATH, truncated());
    s.mock.enqueue("POST", PATH, answer("whole"));
    let (r, retries, text) = run(&s).await;
    assert_eq!(r.unwrap().message.text(), "whole");
    assert_eq!(s.mock.requests_to(PATH).len(), 4);
    assert_eq!(
        retries
            .iter()
            .map(|r| (r.attempt, r.max))
            .collect::<Vec<_>>(),
        [(1, 2), (1, 1), (2, 2)],
        "stream, request, stream"
    );
    // The deltas of the broken attempts were streamed too; the retry event voids them.
    assert_eq!(text, "partpartwhole");

    let s = setup(policy(1, 2), IDLE, None);
    for _ in 0..3 {
        s.mock.enqueue("POST", PATH, truncated());
    }
    let (r, retries, _) = run(&s).await;
    assert!(matches!(
        r.unwrap_err(),
        ProviderError::StreamTruncated { .. }
    ));
    assert_eq!(retries.len(), 2);
    assert_eq!(s.mock.requests_to(PATH).len(), 3);
}

#[tokio::test]
async fn server_requested_delays_are_used_and_long_ones_reported() {
    let s = setup(policy(3, 3), IDLE, None);
    s.mock.enqueue(
        "POST",
        PATH,
        MockResponse::json(429, json!({"error":{"message":"slow"}})).header("retry-after", "0.05"),
    );
    s.mock.enqueue(
        "POST",
        PATH,
        MockResponse::json(
            429,
            json!({"error":{"message":"Rate limit reached. Please try again in 20ms."}}),
        ),
    );
    s.mock.enqueue("POST", PATH, answer("ok"));
    let (r, retries, _) = run(&s).await;
    assert!(r.is_ok());
    assert_eq!(retries[0].delay, Duration::from_millis(50));
    assert_eq!(retries[1].delay, Duration::from_millis(20));

    let s = setup(policy(3, 3), IDLE, None);
    s.mock.enqueue(
        "POST",
        PATH,
        MockResponse::json(429, json!({"error":{"message":"come back tomorrow"}}))
            .header("retry-after", "86400"),
    );
    let (r, retries, _) = run(&s).await;
    assert!(matches!(r.unwrap_err(), ProviderError::RateLimited { .. }));
    assert!(retries.is_empty(), "a day is not waited out");
    assert_eq!(s.mock.requests_to(PATH).len(), 1);
}

#[tokio::test]
async fn a_stalled_stream_times_out_and_is_retried() {
    let s = setup(policy(0, 3), Duration::from_millis(500), None);
    s.mock.enqueue(
        "POST",
        PATH,
        MockResponse::sse_chunks(vec![
            Chunk::Bytes(Bytes::from("data: {\"t\":\"text\",\"v\":\"a\"}\n\n")),
            Chunk::Stall,
        ]),
    );
    s.mock.enqueue("POST", PATH, answer("ok").repeat());
    let (r, retries, _) = run(&s).await;
    assert_eq!(r.unwrap().message.text(), "ok");
    // A loaded machine may trip the short timeout again on the answer; the stall must trip it.
    assert!(!retries.is_empty());
    assert!(
        retries[0]
            .reason
            .starts_with("no data from the server for 0s"),
        "{retries:?}"
    );
    assert_eq!(s.mock.requests_to(PATH).len(), retries.len() + 1);
    assert!(
        s.mock.wait_for_streams_closed(Duration::from_secs(30)),
        "the stalled connection was dropped"
    );
}

#[tokio::test]
async fn a_401_is_recovered_once_and_a_second_is_reported() {
    let s = setup(policy(2, 2), IDLE, None);
    s.mock.enqueue(
        "POST",
        PATH,
        MockResponse::json(401, json!({"error":{"message":"token expired"}})),
    );
    s.mock.enqueue("POST", PATH, answer("ok"));
    let (r, retries, _) = run(&s).await;
    assert!(r.is_ok());
    assert!(retries.is_empty(), "a recovery is not a retry");
    let reqs = s.mock.requests_to(PATH);
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].header("authorization"), Some("Bearer tok-0"));
    assert_eq!(reqs[1].header("authorization"), Some("Bearer tok-1"));
    assert_eq!(reqs[0].body, reqs[1].body, "the same request again");
    assert_eq!(s.creds.recoveries.load(Ordering::SeqCst), 1);

    let s = setup(policy(2, 2), IDLE, None);
    for _ in 0..3 {
        s.mock.enqueue(
            "POST",
            PATH,
            MockResponse::json(401, json!({"error":{"message":"invalid key"}})),
        );
    }
    let (r, _, _) = run(&s).await;
    let e = r.unwrap_err();
    assert!(
        matches!(&e, ProviderError::Auth(crate::auth::AuthError::KeyRejected { detail, .. }) if detail == "HTTP 401: invalid key"),
        "{e:?}"
    );
    assert_eq!(e.exit_code(), 3);
    assert_eq!(s.mock.requests_to(PATH).len(), 2);
    assert_eq!(s.creds.recoveries.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn errors_are_the_wires_and_permanent_ones_are_not_retried() {
    let s = setup(policy(3, 3), IDLE, None);
    s.mock.enqueue(
        "POST",
        PATH,
        MockResponse::json(400, json!({"error":{"message":"bad field"}})),
    );
    let (r, retries, _) = run(&s).await;
    let e = r.unwrap_err();
    assert!(
        matches!(&e, ProviderError::InvalidRequest { status: 400, message } if message == "bad field")
    );
    assert!(retries.is_empty());
    assert_eq!(s.mock.requests_to(PATH).len(), 1);

    // A failure inside the stream that says it is permanent.
    let s = setup(policy(3, 3), IDLE, None);
    s.mock
        .enqueue("POST", PATH, sse(&[json!({"t":"fail","retryable":false})]));
    let (r, retries, _) = run(&s).await;
    assert!(matches!(r.unwrap_err(), ProviderError::Failed { .. }));
    assert!(retries.is_empty());
    // … and one that says it may pass.
    let s = setup(policy(3, 3), IDLE, None);
    s.mock
        .enqueue("POST", PATH, sse(&[json!({"t":"fail","retryable":true})]));
    s.mock.enqueue("POST", PATH, answer("ok"));
    let (r, retries, _) = run(&s).await;
    assert!(r.is_ok());
    assert_eq!(retries.len(), 1);

    // Nothing can listen on port 0: a network error naming the provider and its key.
    let mut s = setup(policy(0, 0), IDLE, None);
    let url = format!("http://127.0.0.1:0{PATH}");
    s.provider.wire.url = url.clone();
    let (r, _, _) = run(&s).await;
    let e = r.unwrap_err();
    assert!(matches!(e, ProviderError::Network { .. }), "{e:?}");
    let m = e.to_string();
    assert!(m.contains(&url) && m.contains("OPENAI_BASE_URL"), "{m}");
}

#[derive(Default)]
struct Recording {
    lines: Mutex<Vec<String>>,
    requests: AtomicU32,
}

impl TrafficLog for Recording {
    fn request(&self, method: &str, url: &str, headers: &[(String, String)], body: &[u8]) -> u64 {
        let mut l = self.lines.lock().unwrap();
        l.push(format!(
            "{method} {url} {headers:?} {}",
            String::from_utf8_lossy(body)
        ));
        u64::from(self.requests.fetch_add(1, Ordering::SeqCst) + 1)
    }
    fn response_head(&self, id: u64, status: u16, _headers: &[(String, String)]) {
        self.lines.lock().unwrap().push(format!("{id} {status}"));
    }
    fn response_chunk(&self, id: u64, chunk: &[u8]) {
        self.lines
            .lock()
            .unwrap()
            .push(format!("{id} chunk {}", String::from_utf8_lossy(chunk)));
    }
    fn response_end(&self, id: u64, error: Option<&str>) {
        self.lines
            .lock()
            .unwrap()
            .push(format!("{id} end {error:?}"));
    }
}

#[tokio::test]
async fn every_attempt_is_in_the_traffic_log_with_credentials_redacted() {
    let log = Arc::new(Recording::default());
    let s = setup(policy(2, 2), IDLE, Some(log.clone()));
    s.mock.enqueue("POST", PATH, truncated());
    s.mock.enqueue("POST", PATH, answer("ok"));
    let (r, _, _) = run(&s).await;
    assert!(r.is_ok());
    let lines = log.lines.lock().unwrap().join("\n");
    assert!(!lines.contains("tok-0"), "{lines}");
    assert!(lines.contains("(\"authorization\", \"***\")"), "{lines}");
    assert!(lines.contains("{\"model\":\"m\"}"), "{lines}");
    assert!(
        lines.contains("1 chunk data: {\"t\":\"text\",\"v\":\"part\"}"),
        "{lines}"
    );
    assert!(
        lines.contains("1 end Some(\"the response stream ended"),
        "{lines}"
    );
    assert!(lines.contains("2 end None"), "{lines}");
}

#[tokio::test]
async fn send_json_posts_with_credentials_recovers_a_401_logs_and_maps_errors() {
    let log = Arc::new(Recording::default());
    let s = setup(policy(2, 2), IDLE, Some(log.clone()));
    const SIDE: &str = "/v1/side";
    s.mock.enqueue(
        "POST",
        SIDE,
        MockResponse::json(401, json!({"error":{"message":"expired"}})),
    );
    s.mock.enqueue(
        "POST",
        SIDE,
        MockResponse::json(200, json!({"name": "made"})),
    );
    let url = format!("{}{SIDE}", s.mock.url());
    let rt = &s.provider.runtime;
    let answer = rt
        .send_json(
            &s.provider.wire,
            reqwest::Method::POST,
            &url,
            HeaderMap::new(),
            Some(Bytes::from_static(b"{\"x\":1}")),
        )
        .await
        .unwrap();
    assert_eq!(&answer[..], b"{\"name\":\"made\"}");
    let reqs = s.mock.requests_to(SIDE);
    assert_eq!(reqs.len(), 2, "one 401 recovery");
    assert_eq!(reqs[1].header("authorization"), Some("Bearer tok-1"));
    assert_eq!(reqs[1].header("content-type"), Some("application/json"));
    assert_eq!(reqs[1].body, b"{\"x\":1}");
    let lines = log.lines.lock().unwrap().join("\n");
    assert!(
        lines.contains("POST ") && lines.contains("{\"x\":1}"),
        "{lines}"
    );
    assert!(lines.contains("2 200"), "{lines}");

    // Errors are the wire's, and are not retried.
    s.mock.enqueue(
        "DELETE",
        SIDE,
        MockResponse::json(400, json!({"error":{"message":"no"}})),
    );
    let e = rt
        .send_json(
            &s.provider.wire,
            reqwest::Method::DELETE,
            &url,
            HeaderMap::new(),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, ProviderError::InvalidRequest { status: 400, .. }),
        "{e:?}"
    );
    assert_eq!(s.mock.requests_to(SIDE).len(), 3);
    assert!(s.mock.requests_to(SIDE)[2].header("content-type").is_none());
}
