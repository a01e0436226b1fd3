//! `sx --verbose` (docs/spec.md §1.1): what a one-shot run does, on stderr, one `sx:` line
//! each — where the configuration came from, the session, each HTTP request and response
//! (method, URL without credentials or query, status, request id, bytes, time) and, from the
//! renderer, each model turn's usage and the end. Never a secret: values of secret keys are
//! masked as `scorpiox-config` masks them, headers are not printed (only a request id), and
//! bodies are counted, not shown.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use sx_config::Config;
use sxnet::http::TrafficLog;

use crate::stderr_line;

/// Response headers that identify a request to the provider's support.
const REQUEST_ID_HEADERS: [&str; 4] = ["x-request-id", "request-id", "x-oai-request-id", "cf-ray"];

/// The lines about the configuration: the files read, then every key that is not at its
/// default (and always `PROVIDER` and `MODEL`) with where it came from.
pub fn config_lines(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let files: Vec<String> = config
        .files_read()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    out.push(if files.is_empty() {
        "config: no scorpiox-env.txt file was read (defaults, environment and flags only)".into()
    } else {
        format!("config: files read: {}", files.join(", "))
    });
    for (key, entry) in config.entries() {
        if config.is_default(key) && !matches!(key, "PROVIDER" | "MODEL") {
            continue;
        }
        out.push(format!(
            "config: {key}={} ({})",
            sx_config::display_value(key, &entry.value),
            source(entry)
        ));
    }
    out
}

fn source(e: &sx_config::Entry) -> String {
    match &e.source.path {
        Some(_) => format!("{} {}", e.source.tier, e.source.location()),
        None => e.source.tier.to_string(),
    }
}

/// A URL as it may be shown: no `user:password@`, no query (keys travel there on some
/// servers), no fragment.
pub fn shown_url(url: &str) -> String {
    let cut = url.find(['?', '#']).unwrap_or(url.len());
    let url = &url[..cut];
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(host_end);
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_string(),
    }
}

/// Prints a line per request and response (a `TrafficLog` that only watches).
#[derive(Default)]
pub struct Traffic {
    next: std::sync::atomic::AtomicU64,
    open: Mutex<HashMap<u64, (Instant, u64)>>,
}

impl TrafficLog for Traffic {
    fn request(&self, method: &str, url: &str, _headers: &[(String, String)], body: &[u8]) -> u64 {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, (Instant::now(), 0));
        stderr_line(format_args!(
            "sx: → {method} {} ({})",
            shown_url(url),
            bytes(body.len() as u64)
        ));
        id
    }

    fn response_head(&self, id: u64, status: u16, headers: &[(String, String)]) {
        let request_id = headers
            .iter()
            .find(|(k, _)| REQUEST_ID_HEADERS.contains(&k.to_ascii_lowercase().as_str()))
            .map(|(k, v)| format!(", {k}: {v}"))
            .unwrap_or_default();
        stderr_line(format_args!(
            "sx: ← HTTP {status} after {}{request_id}",
            self.elapsed(id)
        ));
    }

    fn response_chunk(&self, id: u64, chunk: &[u8]) {
        if let Some((_, n)) = self
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&id)
        {
            *n += chunk.len() as u64;
        }
    }

    fn response_end(&self, id: u64, error: Option<&str>) {
        let Some((since, n)) = self
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id)
        else {
            return;
        };
        let t = secs(since);
        match error {
            None => stderr_line(format_args!("sx: ← {} in {t}", bytes(n))),
            Some(e) => stderr_line(format_args!(
                "sx: ← failed after {t} ({} received): {}",
                bytes(n),
                crate::one_line(e)
            )),
        }
    }
}

impl Traffic {
    fn elapsed(&self, id: u64) -> String {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .map_or_else(String::new, |(since, _)| secs(*since))
    }
}

fn secs(since: Instant) -> String {
    format!("{:.2}s", since.elapsed().as_secs_f64())
}

fn bytes(n: u64) -> String {
    if n < 10_000 {
        format!("{n} bytes")
    } else {
        format!("{:.1} kB", n as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_and_queries() {
        assert_eq!(
            shown_url("https://user:pw@host:8443/v1/x?key=abc#f"),
            "https://host:8443/v1/x"
        );
        assert_eq!(
            shown_url("http://127.0.0.1:9/responses"),
            "http://127.0.0.1:9/responses"
        );
        assert_eq!(shown_url("https://h"), "https://h");
        assert_eq!(bytes(12), "12 bytes");
        assert_eq!(bytes(12_345), "12.3 kB");
    }
}
