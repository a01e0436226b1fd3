//! sxnet — the provider library (the C product's libsxnet).
//!
//! Layers, bottom up: [`http`] (one client, backoff, traffic hook) → [`sse`] (bytes → events) →
//! [`auth`] (credentials, token sources, refresh) → [`runtime`] (send, retry, idle timeout,
//! traffic, 401 recovery — for every wire) → [`providers`] (one module per wire, each
//! translating the one conversation [`model`] to and from its format) → the [`event`] stream
//! every front end renders.

pub mod auth;
pub mod error;
pub mod error_body;
pub mod event;
pub mod http;
pub mod json;
pub mod limits;
pub mod model;
pub mod models;
mod net_error;
mod provider_id;
pub mod providers;
pub mod routes;
pub mod runtime;
pub mod sse;

pub use error::ProviderError;
pub use event::{Completion, EventSink, RateLimits, RateWindow, StreamEvent};
pub use provider_id::ProviderId;
pub use providers::{ModelInfo, OpenOptions, Provider};

/// An error's cause for a user: a network failure in a few words ("connection refused"),
/// else its causes joined by ": ", without the HTTP library's wrappers that repeat the URL
/// (callers name the URL once themselves).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    net_error::describe(e)
}
