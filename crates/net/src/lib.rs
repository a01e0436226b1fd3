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
mod provider_id;
pub mod providers;
pub mod runtime;
pub mod sse;

pub use error::ProviderError;
pub use event::{Completion, EventSink, RateLimits, RateWindow, StreamEvent};
pub use provider_id::ProviderId;
pub use providers::{ModelInfo, OpenOptions, Provider};

/// An error with its causes joined by ": " (reqwest's own Display hides the useful part).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = s.source();
    }
    out
}
