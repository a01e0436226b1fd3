//! The openai wire against a loopback mock: where requests go (`/v1` in the base URL or not),
//! the headers with and without a key, the model list, and the runtime's errors naming
//! `OPENAI_API_KEY` / `OPENAI_BASE_URL`. (Bodies: `openai/request_tests.rs`; the stream:
//! `openai/stream_tests.rs`; through the binary: crates/cli/tests/suite/openai.rs.)

use serde_json::json;
use sx_testkit::{ClosedPort, Expect, MockResponse, MockServer, fixture, openai as chat};

use super::*;
use crate::Provider;
use crate::model::Message;

fn provider(base: &str, overrides: &[(&str, &str)]) -> OpenaiProvider {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![
        ("PROVIDER".to_string(), "openai".to_string()),
        ("OPENAI_BASE_URL".to_string(), base.to_string()),
        ("RETRY_BASE_DELAY_MS".to_string(), "1".to_string()),
    ];
    all.extend(
        overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let config = sx_config::load(&sx_config::LoadOptions {
        cwd: dir.path().to_path_buf(),
        home: Some(dir.path().join("home")),
        exe_dir: Some(dir.path().join("exe")),
        env: Some(Vec::new()),
        overrides: all,
    })
    .unwrap();
    open(&config, OpenOptions::default()).unwrap()
}

async fn say_hi(p: &OpenaiProvider) -> Result<String, ProviderError> {
    let msgs = [Message::user_text("hi")];
    let req = Request {
        model: "local-model",
        system: "sys",
        messages: &msgs,
        tools: &[],
        effort: None,
        thinking: true,
        session_id: "019a0000-0000-7000-8000-000000000001",
        turn_id: "t1",
        max_output_tokens: None,
        provider_session: None,
    };
    p.complete(&req).await.map(|c| c.message.text())
}

#[test]
fn the_api_root_takes_v1_either_way() {
    for (base, root) in [
        ("http://localhost:8080", "http://localhost:8080/v1"),
        ("http://localhost:8080/", "http://localhost:8080/v1"),
        ("http://localhost:8080/v1", "http://localhost:8080/v1"),
        ("http://localhost:8080/v1/", "http://localhost:8080/v1"),
        (
            "https://openrouter.ai/api/v1",
            "https://openrouter.ai/api/v1",
        ),
        ("https://openrouter.ai/api", "https://openrouter.ai/api/v1"),
        ("https://api.openai.com", "https://api.openai.com/v1"),
        ("http://gw.local/v1beta", "http://gw.local/v1beta"),
        ("http://gw.local/vendor", "http://gw.local/vendor/v1"),
    ] {
        assert_eq!(api_root(base), root, "{base}");
    }
}

#[test]
fn only_openais_own_host_is_the_openai_dialect() {
    assert_eq!(dialect_of("https://api.openai.com"), Dialect::OpenAi);
    assert_eq!(
        dialect_of("https://API.openai.com:443/v1/"),
        Dialect::OpenAi
    );
    for other in [
        "http://localhost:8080",
        "https://openrouter.ai/api/v1",
        "https://api.openai.com.evil.example/v1",
        "http://127.0.0.1:11434/v1",
    ] {
        assert_eq!(dialect_of(other), Dialect::Compatible, "{other}");
    }
}

#[tokio::test]
async fn a_local_server_without_a_key_gets_no_authorization_and_v1_is_not_doubled() {
    for suffix in ["", "/v1"] {
        let mock = MockServer::start();
        mock.expect(
            "POST",
            chat::CHAT_PATH,
            Expect::new()
                .no_header("authorization")
                .header("accept", "text/event-stream")
                .header("content-type", "application/json"),
        );
        mock.enqueue(
            "POST",
            chat::CHAT_PATH,
            MockResponse::sse(chat::text_turn("Hello there")),
        );
        let p = provider(&format!("{}{suffix}", mock.url()), &[]);
        assert_eq!(say_hi(&p).await.unwrap(), "Hello there", "base …{suffix}");
        let reqs = mock.requests_to(chat::CHAT_PATH);
        assert_eq!(reqs.len(), 1, "base …{suffix}");
        assert!(
            reqs[0].header("user-agent").unwrap().starts_with("sx/"),
            "{:?}",
            reqs[0].header("user-agent")
        );
        mock.verify();
    }
}

#[tokio::test]
async fn a_key_is_sent_as_a_bearer_and_a_401_names_it() {
    let mock = MockServer::start();
    mock.expect("POST", chat::CHAT_PATH, Expect::new().bearer("sk-local-1"));
    mock.enqueue(
        "POST",
        chat::CHAT_PATH,
        MockResponse::json(
            401,
            serde_json::from_slice(&fixture("openai/http_401.json")).unwrap(),
        ),
    );
    let p = provider(&mock.url(), &[("OPENAI_API_KEY", "sk-local-1")]);
    let e = say_hi(&p).await.unwrap_err();
    assert_eq!(e.exit_code(), 3);
    let m = e.to_string();
    assert!(
        m.contains("rejected OPENAI_API_KEY") && m.contains("Incorrect API key"),
        "{m}"
    );
    assert!(!m.contains("sk-local-1"), "the key is never shown: {m}");
    assert_eq!(
        mock.requests_to(chat::CHAT_PATH).len(),
        1,
        "a key is not retried"
    );
    mock.verify();

    let mock = MockServer::start();
    mock.enqueue(
        "POST",
        chat::CHAT_PATH,
        MockResponse::json(401, json!({"error": "unauthorized"})),
    );
    let e = say_hi(&provider(&mock.url(), &[])).await.unwrap_err();
    assert_eq!(e.exit_code(), 3);
    assert!(e.to_string().contains("set OPENAI_API_KEY"), "{e}");
}

#[tokio::test]
async fn a_server_that_is_not_there_is_a_network_error_naming_the_base_url() {
    let closed = ClosedPort::bind();
    let p = provider(&closed.url(), &[("REQUEST_MAX_RETRIES", "1")]);
    let e = say_hi(&p).await.unwrap_err();
    assert!(matches!(e, ProviderError::Network { .. }), "{e:?}");
    let m = e.to_string();
    assert!(m.contains("OPENAI_BASE_URL"), "{m}");
    assert!(
        m.contains(&format!("{}/v1/chat/completions", closed.url())),
        "{m}"
    );
}

#[tokio::test]
async fn the_model_list_comes_from_v1_models() {
    for (suffix, file, ids) in [
        ("", "openai/models.json", vec!["gpt-5.4-mini", "gpt-5.4"]),
        (
            "/v1",
            "openai/models_llamacpp.json",
            vec!["qwen3-8b-q4_k_m.gguf"],
        ),
    ] {
        let mock = MockServer::start();
        mock.expect("GET", chat::MODELS_PATH, Expect::new().bearer("k"));
        mock.enqueue(
            "GET",
            chat::MODELS_PATH,
            MockResponse::status(200)
                .content_type("application/json")
                .body(fixture(file)),
        );
        let p = provider(
            &format!("{}{suffix}", mock.url()),
            &[("OPENAI_API_KEY", "k")],
        );
        let got: Vec<String> = p
            .list_models()
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(got, ids, "{file}");
        mock.verify();
    }
    let mock = MockServer::start();
    mock.enqueue(
        "GET",
        chat::MODELS_PATH,
        MockResponse::status(200).body("<html>hi</html>"),
    );
    let e = provider(&mock.url(), &[]).list_models().await.unwrap_err();
    assert!(e.to_string().contains("not JSON"), "{e}");
}

#[test]
fn capabilities_are_honest() {
    let p = provider("http://127.0.0.1:9", &[]);
    let c = p.capabilities();
    assert!(!c.runs_own_tools && !c.keeps_own_history && c.vision);
    assert_eq!(p.context_window("anything"), None);
    assert_eq!(p.id(), ProviderId::Openai);
}
