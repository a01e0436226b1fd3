//! `sx-mock`: a fast loopback Codex back-end for benches and manual runs.
//!
//! Serves, until stopped, the same answer on every wire sx and the official clients speak
//! (so `bench/run --vs-peers` can point them all at one server):
//! - `POST` to any path ending in `/responses` (`/backend-api/codex/responses` for a ChatGPT
//!   login, `/v1/responses` for an API key): a complete Responses SSE stream;
//! - `POST …/messages` (Anthropic Messages): an SSE stream, or the whole message as JSON when
//!   the request does not ask to stream; `…/messages/count_tokens`: a count;
//! - `POST …:streamGenerateContent` (Gemini): an SSE stream; `…:generateContent`: the whole
//!   response — when the request asks for JSON against a schema (gemini-cli's model router),
//!   the smallest object that satisfies the schema;
//! - `POST …/chat/completions` (OpenAI-compatible): a streamed completion;
//!   With `--tool NAME=ARGS --tool-steps N`, a Responses request that carries fewer than N
//!   `function_call_output` items gets a call to tool NAME with the JSON arguments ARGS
//!   instead (a tool loop of N steps, then the answer: `bench/figures`);
//! - `POST /oauth/token`: a refresh success (fresh tokens, rotated refresh token);
//! - `HEAD` anything: 200 (Claude Code's reachability probe);
//! - anything else: 404 with a JSON error body.
//!
//! Prints `READY <port>` on stdout once listening. Stops on SIGTERM / SIGINT, or at
//! end of stdin with `--exit-on-stdin-eof`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::serve::ListenerExt;
use bytes::Bytes;
use sx_testkit::{anthropic, auth, gemini, openai, responses, sse};

const USAGE: &str = "\
usage: sx-mock [--port N] [--text TEXT] [--delay-ms N] [--delay-us N] [--per-word]
               [--tool NAME=ARGS] [--tool-steps N] [--exit-on-stdin-eof]

  --port N              listen on 127.0.0.1:N (default 0: any free port)
  --text TEXT           the assistant's answer (default \"Hello from the mock.\")
  --delay-ms N          wait N ms before each SSE event (default 0: one chunk)
  --delay-us N          the same in microseconds (a fast stream: 500 = 2000 events/s)
  --per-word            one text delta per word (a stream of many small tokens)
  --tool NAME=ARGS      on the Responses wire, answer with a call to tool NAME (JSON
                        arguments ARGS) until the request holds --tool-steps results
  --tool-steps N        how many tool calls before the answer (default 1)
  --exit-on-stdin-eof   also stop when stdin reaches end of file

Prints READY <port> on stdout once listening; stops on SIGTERM or SIGINT.";

struct Args {
    port: u16,
    text: String,
    delay: Duration,
    per_word: bool,
    tool: Option<(String, String)>,
    tool_steps: usize,
    exit_on_stdin_eof: bool,
}

enum Parsed {
    Run(Args),
    Help,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Parsed, String> {
    let mut args = Args {
        port: 0,
        text: "Hello from the mock.".to_owned(),
        delay: Duration::ZERO,
        per_word: false,
        tool: None,
        tool_steps: 1,
        exit_on_stdin_eof: false,
    };
    while let Some(arg) = argv.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| argv.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--port" => {
                let v = value("--port")?;
                args.port = v
                    .parse()
                    .map_err(|_| format!("--port: not a port number: {v:?}"))?;
            }
            "--text" => args.text = value("--text")?,
            "--delay-ms" => {
                let v = value("--delay-ms")?;
                let ms = v
                    .parse()
                    .map_err(|_| format!("--delay-ms: not a number: {v:?}"))?;
                args.delay = Duration::from_millis(ms);
            }
            "--delay-us" => {
                let v = value("--delay-us")?;
                let us = v
                    .parse()
                    .map_err(|_| format!("--delay-us: not a number: {v:?}"))?;
                args.delay = Duration::from_micros(us);
            }
            "--per-word" => args.per_word = true,
            "--tool" => {
                let v = value("--tool")?;
                let (name, json) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--tool: expected NAME=ARGS, got {v:?}"))?;
                serde_json::from_str::<serde_json::Value>(json)
                    .map_err(|e| format!("--tool: ARGS is not JSON ({e}): {json:?}"))?;
                args.tool = Some((name.to_owned(), json.to_owned()));
            }
            "--tool-steps" => {
                let v = value("--tool-steps")?;
                args.tool_steps = v
                    .parse()
                    .map_err(|_| format!("--tool-steps: not a number: {v:?}"))?;
            }
            "--exit-on-stdin-eof" => args.exit_on_stdin_eof = true,
            "-h" | "--help" => return Ok(Parsed::Help),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Parsed::Run(args))
}

struct App {
    /// The answer, for the wires other than Responses.
    text: String,
    /// The whole stream, for the no-delay case.
    body: Bytes,
    /// One frame per event, for `--delay-ms`.
    events: Arc<Vec<Bytes>>,
    delay: Duration,
    /// `--tool`: the call's stream, and how many results end the loop.
    tool: Option<(Bytes, usize)>,
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("sx-mock: {err}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("sx-mock: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sx-mock: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    let port = listener.local_addr()?.port();
    let events = if args.per_word {
        let mut ev = vec![responses::created(responses::RESP_ID)];
        ev.push(responses::message_added(responses::MSG_ID));
        for w in args.text.split_inclusive(' ') {
            ev.push(responses::output_text_delta(responses::MSG_ID, w));
        }
        ev.push(responses::message_done(responses::MSG_ID, &args.text, None));
        ev.push(responses::completed(responses::RESP_ID, Default::default()));
        responses::finalize(ev)
    } else {
        responses::text_turn(&args.text)
    };
    let app = App {
        text: args.text.clone(),
        body: Bytes::from(sse::encode(&events)),
        events: Arc::new(
            events
                .iter()
                .map(|e| Bytes::from(sse::encode(std::slice::from_ref(e))))
                .collect(),
        ),
        delay: args.delay,
        tool: args.tool.as_ref().map(|(name, json)| {
            let call = responses::function_call_turn("call_sx_mock", name, json);
            (Bytes::from(sse::encode(&call)), args.tool_steps)
        }),
    };
    let router = Router::new().fallback(handle).with_state(Arc::new(app));
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "READY {port}")?;
        stdout.flush()?;
    }
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
        let _ = stop_rx.await;
    });
    let mut serving = tokio::spawn(std::future::IntoFuture::into_future(serve));
    tokio::select! {
        result = &mut serving => return result.map_err(std::io::Error::other)?,
        () = stop_signal(args.exit_on_stdin_eof) => {}
    }
    let _ = stop_tx.send(());
    // Let in-flight answers finish, but never hang on a client that keeps a stream open.
    let _ = tokio::time::timeout(Duration::from_secs(2), serving).await;
    Ok(())
}

async fn stop_signal(exit_on_stdin_eof: bool) {
    let stdin_eof = async move {
        if exit_on_stdin_eof {
            let (eof_tx, eof_rx) = tokio::sync::oneshot::channel::<()>();
            // A plain thread: blocking stdin reads must not occupy the runtime. The
            // process does not wait for it at exit.
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
                let _ = eof_tx.send(());
            });
            if eof_rx.await.is_ok() {
                return;
            }
        }
        std::future::pending::<()>().await;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate() => {}
        () = stdin_eof => {}
    }
}

#[cfg(unix)]
async fn terminate() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut sigterm) => {
            sigterm.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn terminate() {
    std::future::pending().await
}

async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let is_post = req.method() == Method::POST;
    let is_head = req.method() == Method::HEAD;
    let path = req.uri().path().to_owned();
    let encoding = req
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    // Read the request fully so the connection can be reused.
    let request = axum::body::to_bytes(req.into_body(), 64 << 20)
        .await
        .unwrap_or_default();
    if is_head {
        return with_type(StatusCode::OK, "application/json", Body::empty());
    }
    if is_post
        && !path.ends_with("/responses")
        && let Some(resp) = other_wire(&app.text, &path, &request)
    {
        return resp;
    }
    if is_post && path.ends_with("/responses") {
        if let Some((call, steps)) = &app.tool
            && tool_results(&request, &encoding) < *steps
        {
            return with_type(
                StatusCode::OK,
                "text/event-stream",
                Body::from(call.clone()),
            );
        }
        let body = if app.delay.is_zero() {
            let body = app.body.clone();
            Body::from_stream(futures_util::stream::once(async move {
                Ok::<_, std::convert::Infallible>(body)
            }))
        } else {
            let (events, delay) = (Arc::clone(&app.events), app.delay);
            Body::from_stream(futures_util::stream::unfold(0, move |i| {
                let events = Arc::clone(&events);
                async move {
                    let event = events.get(i)?.clone();
                    tokio::time::sleep(delay).await;
                    Some((Ok::<_, std::convert::Infallible>(event), i + 1))
                }
            }))
        };
        return with_type(StatusCode::OK, "text/event-stream", body);
    }
    if is_post && path == sx_testkit::OAUTH_TOKEN_PATH {
        let body = auth::oauth_refresh_ok(3600, "sx-mock", Some("rt-sx-mock-rotated"));
        return with_type(
            StatusCode::OK,
            "application/json",
            Body::from(body.to_string()),
        );
    }
    let body = serde_json::json!({"error": {
        "message": format!("sx-mock: nothing served at {path}"),
        "type": "not_found",
    }});
    with_type(
        StatusCode::NOT_FOUND,
        "application/json",
        Body::from(body.to_string()),
    )
}

/// How many tool results a Responses request carries.
fn tool_results(request: &[u8], encoding: &str) -> usize {
    // sx compresses its Codex requests (zstd), as the official client does.
    let (request, _) = sx_testkit::decode_body(request, encoding);
    let body: serde_json::Value = serde_json::from_slice(&request).unwrap_or_default();
    body["input"].as_array().map_or(0, |items| {
        items
            .iter()
            .filter(|item| item["type"] == "function_call_output")
            .count()
    })
}

/// The answer on the Messages, Gemini and Chat Completions wires; `None` for other paths.
fn other_wire(text: &str, path: &str, request: &[u8]) -> Option<Response> {
    let body: serde_json::Value = serde_json::from_slice(request).unwrap_or_default();
    let json = |v: serde_json::Value| {
        Some(with_type(
            StatusCode::OK,
            "application/json",
            Body::from(v.to_string()),
        ))
    };
    let stream = |s: String| {
        Some(with_type(
            StatusCode::OK,
            "text/event-stream",
            Body::from(s),
        ))
    };
    if path.ends_with("/messages/count_tokens") {
        return json(serde_json::json!({"input_tokens": 42}));
    }
    if path.ends_with("/messages") {
        if body["stream"] == true {
            return stream(sse::encode(&anthropic::text_turn(text)));
        }
        let model = body["model"].as_str().unwrap_or("claude-mock");
        return json(serde_json::json!({
            "id": "msg_mock0001", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 42, "output_tokens": 7},
        }));
    }
    if path.contains(":streamGenerateContent") {
        return stream(gemini::encode(&gemini::text_turn(text)));
    }
    if path.contains(":generateContent") {
        let config = &body["generationConfig"];
        let answer = if config["responseMimeType"] == "application/json" {
            let schema = config
                .get("responseJsonSchema")
                .or_else(|| config.get("responseSchema"))
                .unwrap_or(&serde_json::Value::Null);
            fill_schema(schema, 0).to_string()
        } else {
            text.to_owned()
        };
        return json(gemini::finish(
            vec![gemini::text(&answer)],
            "STOP",
            gemini::USAGE,
        ));
    }
    if path.ends_with("/chat/completions") {
        return stream(openai::text_turn(text));
    }
    None
}

/// The smallest value that satisfies a JSON (OpenAPI-style) schema: the first `enum` value,
/// objects with every property, empty arrays.
fn fill_schema(schema: &serde_json::Value, depth: usize) -> serde_json::Value {
    use serde_json::Value;
    if depth > 8 || !schema.is_object() {
        return Value::Null;
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    let kind = schema["type"]
        .as_str()
        .unwrap_or("object")
        .to_ascii_lowercase();
    match kind.as_str() {
        "object" => Value::Object(
            schema["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), fill_schema(v, depth + 1)))
                .collect(),
        ),
        "array" => Value::Array(Vec::new()),
        "integer" | "number" => Value::from(10),
        "boolean" => Value::Bool(false),
        _ => Value::from("mock"),
    }
}

fn with_type(status: StatusCode, content_type: &'static str, body: Body) -> Response {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if content_type == "text/event-stream" {
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Parsed, String> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn flags_take_separate_or_inline_values() {
        let Ok(Parsed::Run(args)) = parse(&[
            "--port=5",
            "--text",
            "a b",
            "--delay-ms",
            "7",
            "--exit-on-stdin-eof",
        ]) else {
            panic!("should parse");
        };
        assert_eq!(args.port, 5);
        assert_eq!(args.text, "a b");
        assert_eq!(args.delay, Duration::from_millis(7));
        assert!(args.exit_on_stdin_eof);
    }

    #[test]
    fn every_wire_gets_the_answer_in_its_own_shape() {
        let text = "Hi there";
        let body = |resp: Response| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let bytes = rt
                .block_on(axum::body::to_bytes(resp.into_body(), usize::MAX))
                .unwrap();
            String::from_utf8(bytes.to_vec()).unwrap()
        };
        let messages = body(other_wire(text, "/v1/messages", br#"{"stream":true}"#).unwrap());
        assert!(messages.starts_with("event: message_start\n"), "{messages}");
        assert!(messages.contains("text_delta"), "{messages}");
        assert!(
            messages.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
            "{messages}"
        );
        let whole = body(other_wire(text, "/v1/messages", br#"{"model":"m"}"#).unwrap());
        let whole: serde_json::Value = serde_json::from_str(&whole).unwrap();
        assert_eq!(whole["content"][0]["text"], text);
        assert_eq!(whole["model"], "m");
        let gemini =
            body(other_wire(text, "/v1beta/models/g:streamGenerateContent", b"{}").unwrap());
        assert!(
            gemini.contains("\r\n\r\n") && gemini.contains("Hi "),
            "{gemini}"
        );
        let chat = body(other_wire(text, "/v1/chat/completions", b"{}").unwrap());
        assert!(chat.ends_with("data: [DONE]\n\n"), "{chat}");
        assert!(other_wire(text, "/v1/models", b"{}").is_none());
    }

    #[test]
    fn a_json_mode_gemini_call_gets_an_object_its_schema_accepts() {
        let request = serde_json::json!({"generationConfig": {
            "responseMimeType": "application/json",
            "responseJsonSchema": {"type": "object", "properties": {
                "reasoning": {"type": "string"},
                "model_choice": {"type": "string", "enum": ["flash", "pro"]},
                "n": {"type": "integer"}, "tags": {"type": "array"},
            }},
        }});
        let resp = other_wire(
            "ignored",
            "/v1beta/models/g:generateContent",
            request.to_string().as_bytes(),
        )
        .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = rt
            .block_on(axum::body::to_bytes(resp.into_body(), usize::MAX))
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let text = v["candidates"][0]["content"]["parts"][0]["text"]
            .as_str()
            .unwrap();
        let answer: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            answer,
            serde_json::json!({"reasoning": "mock", "model_choice": "flash", "n": 10, "tags": []})
        );
    }

    #[test]
    fn a_tool_loop_answers_with_the_call_until_enough_results_came_back() {
        let Ok(Parsed::Run(args)) =
            parse(&["--tool=read_file={\"path\":\"a=b\"}", "--tool-steps", "2"])
        else {
            panic!("should parse");
        };
        assert_eq!(
            args.tool,
            Some(("read_file".to_owned(), r#"{"path":"a=b"}"#.to_owned()))
        );
        assert_eq!(args.tool_steps, 2);
        assert!(
            parse(&["--tool", "read_file={"])
                .err()
                .unwrap()
                .contains("not JSON")
        );
        assert!(
            parse(&["--tool", "read_file"])
                .err()
                .unwrap()
                .contains("NAME=ARGS")
        );
        let request = |n: usize| {
            let mut input = vec![serde_json::json!({"type": "message", "role": "user"})];
            for _ in 0..n {
                input.push(serde_json::json!({"type": "function_call", "call_id": "c"}));
                input.push(serde_json::json!({"type": "function_call_output", "call_id": "c"}));
            }
            serde_json::to_vec(&serde_json::json!({ "input": input })).unwrap()
        };
        assert_eq!(tool_results(&request(0), ""), 0);
        assert_eq!(tool_results(&request(3), ""), 3);
        assert_eq!(tool_results(b"not json", ""), 0);
        let zstd = zstd::stream::encode_all(&request(2)[..], 3).unwrap();
        assert_eq!(
            tool_results(&zstd, "zstd"),
            2,
            "sx's requests are compressed"
        );
    }

    #[test]
    fn errors_name_the_flag() {
        assert!(matches!(parse(&["--help"]), Ok(Parsed::Help)));
        assert_eq!(parse(&["--port"]).err().unwrap(), "--port needs a value");
        assert!(
            parse(&["--port", "70000"])
                .err()
                .unwrap()
                .contains("not a port number")
        );
        assert!(
            parse(&["--delay-ms=x"])
                .err()
                .unwrap()
                .contains("--delay-ms")
        );
        assert!(
            parse(&["extra"])
                .err()
                .unwrap()
                .contains("unknown argument")
        );
    }
}
