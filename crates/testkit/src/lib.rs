//! Test support for `sx`: loopback mock back-ends that speak the real wire, the Codex
//! Responses event builders, on-disk wire fixtures, fake ChatGPT credentials and
//! capture-shape comparison.
//!
//! Everything binds `127.0.0.1` only; nothing here talks to the network.
//!
//! ```no_run
//! use sx_testkit::{MockResponse, MockServer, responses, sse};
//!
//! let server = MockServer::start();
//! // Every request to the route must carry this token; a retry must repeat the first body.
//! server.expect(
//!     "POST",
//!     sx_testkit::CODEX_RESPONSES_PATH,
//!     sx_testkit::Expect::new().bearer("tok").same_body_as_first(),
//! );
//! server.enqueue(
//!     "POST",
//!     sx_testkit::CODEX_RESPONSES_PATH,
//!     MockResponse::sse(sse::encode(&responses::text_turn("hi"))),
//! );
//! // … point the client at server.codex_base() and run it …
//! let reqs = server.requests_to(sx_testkit::CODEX_RESPONSES_PATH);
//! assert_eq!(reqs[0].header("accept"), Some("text/event-stream"));
//! server.verify(); // panics naming every request that missed an expectation
//! ```

pub mod anthropic;
pub mod auth;
pub mod capture;
mod fixtures;
pub mod gemini;
pub mod openai;
mod ports;
pub mod redis;
pub mod responses;
mod server;
pub mod sse;
pub mod sshd;
pub mod whole;

pub use fixtures::{fixture, fixture_json, fixture_str, fixtures_dir};
pub use ports::{ClosedPort, fixed_port_candidates};
pub use server::{
    Chunk, Expect, MISMATCH_STATUS, Mismatch, MockResponse, MockServer, Recorded, decode_body,
};

/// Path of the Codex Responses endpoint under [`MockServer::url`] (what
/// `{codex_base}/responses` resolves to).
pub const CODEX_RESPONSES_PATH: &str = "/backend-api/codex/responses";

/// Path of the platform's Responses endpoint under [`MockServer::url`] (what
/// `{CODEX_BASE_URL}/responses` resolves to for a codex API key when `CODEX_BASE_URL` is
/// `{url}/v1`, the shape of `https://api.openai.com/v1`).
pub const PLATFORM_RESPONSES_PATH: &str = "/v1/responses";

/// Path of the OAuth token endpoint (refresh) under [`MockServer::url`].
pub const OAUTH_TOKEN_PATH: &str = "/oauth/token";
