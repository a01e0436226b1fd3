//! The one HTTP client (reqwest + rustls with the ring provider: a static binary, no OpenSSL),
//! retry backoff, request-body compression, and the traffic-log hook with credential redaction.

use std::sync::{Arc, Once};
use std::time::Duration;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How a client identifies itself: `originator` header and User-Agent (docs/protocols/codex.md §B.3), naming
/// sx honestly.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    pub originator: String,
    pub user_agent: String,
}

impl ClientIdentity {
    /// sx under its own name: `sx/<sx version> (<os>; <arch>) <terminal>`.
    pub fn new(originator: &str) -> Self {
        Self::with_version(originator, VERSION, "")
    }

    /// Another client's originator (`CODEX_ORIGINATOR`), with the user agent that client sends:
    /// `<originator>/<version> (<os>; <arch>) <terminal> (<originator>; <version>)`
    /// (docs/protocols/codex.md §B.3).
    pub fn as_client(originator: &str, version: &str) -> Self {
        Self::with_version(originator, version, &format!(" ({originator}; {version})"))
    }

    fn with_version(originator: &str, version: &str, suffix: &str) -> Self {
        let terminal = std::env::var("TERM_PROGRAM")
            .ok()
            .filter(|s| !s.is_empty())
            .or_else(|| std::env::var("TERM").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "unknown".into());
        let ua = format!(
            "{originator}/{version} ({}; {}) {terminal}{suffix}",
            std::env::consts::OS,
            std::env::consts::ARCH
        );
        ClientIdentity {
            originator: originator.to_string(),
            user_agent: ua
                .chars()
                .filter(|c| c.is_ascii_graphic() || *c == ' ')
                .collect(),
        }
    }
}

/// `STREAM_IDLE_TIMEOUT_MS` (default 5 minutes, as the official client): the longest wait for
/// the next piece of an answer.
pub fn idle_timeout(config: &sx_config::Config) -> Duration {
    Duration::from_millis(
        config
            .u64("STREAM_IDLE_TIMEOUT_MS")
            .unwrap_or(300_000)
            .max(1),
    )
}

/// Build the HTTP client. No overall timeout (answers stream for minutes); a connect timeout,
/// and the stream's idle timeout is applied by the caller per read. TLS verifies against the
/// system's roots, loaded at the first TLS handshake rather than here ([`LazyVerifier`]).
pub fn client(identity: &ClientIdentity) -> Result<reqwest::Client, String> {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .user_agent(identity.user_agent.clone())
        .connect_timeout(Duration::from_secs(15))
        .pool_idle_timeout(Duration::from_secs(90))
        .tls_backend_preconfigured(tls_config()?)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// rustls with the ring provider and the platform's verification, as reqwest would set it up
/// itself, except that the verifier reads the system's roots when a TLS connection first needs
/// them: reading `/etc/ssl/certs` (a file per root) was over half of a one-shot run against a
/// local server (docs/performance.md, "Where the time goes").
fn tls_config() -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(LazyVerifier::new(provider)))
        .with_no_client_auth();
    // reqwest is built for HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// `rustls_platform_verifier::Verifier`, made on first use. Every check is the platform
/// verifier's; only when the roots are loaded changes. Failing to load them fails the
/// handshake that needed them, with the loader's reason.
#[derive(Debug)]
pub struct LazyVerifier {
    provider: Arc<rustls::crypto::CryptoProvider>,
    inner: std::sync::OnceLock<Result<rustls_platform_verifier::Verifier, rustls::Error>>,
}

impl LazyVerifier {
    pub fn new(provider: Arc<rustls::crypto::CryptoProvider>) -> Self {
        LazyVerifier {
            provider,
            inner: std::sync::OnceLock::new(),
        }
    }

    /// Whether the system's roots have been loaded.
    pub fn loaded(&self) -> bool {
        self.inner.get().is_some()
    }

    fn get(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
        self.inner
            .get_or_init(|| rustls_platform_verifier::Verifier::new(self.provider.clone()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl rustls::client::danger::ServerCertVerifier for LazyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        self.get()?
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.get()?.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.get()?.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        // What the platform verifier answers too (the provider's algorithms), without loading
        // the roots for it.
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Retry budget and backoff (docs/protocols/codex.md §D.3).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries of a request that failed before the stream started (5xx, 429, network).
    pub request_max_retries: u32,
    /// Retries of a stream that broke (truncated, idle, incomplete, retryable failure).
    pub stream_max_retries: u32,
    pub base_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            request_max_retries: 4,
            stream_max_retries: 5,
            base_delay: Duration::from_millis(200),
        }
    }
}

impl RetryPolicy {
    /// `REQUEST_MAX_RETRIES`, `STREAM_MAX_RETRIES` (each capped at 100) and
    /// `RETRY_BASE_DELAY_MS`, else the defaults.
    pub fn from_config(config: &sx_config::Config) -> RetryPolicy {
        let defaults = RetryPolicy::default();
        RetryPolicy {
            request_max_retries: config
                .u64("REQUEST_MAX_RETRIES")
                .map_or(defaults.request_max_retries, |v| v.min(100) as u32),
            stream_max_retries: config
                .u64("STREAM_MAX_RETRIES")
                .map_or(defaults.stream_max_retries, |v| v.min(100) as u32),
            base_delay: config
                .u64("RETRY_BASE_DELAY_MS")
                .map_or(defaults.base_delay, Duration::from_millis),
        }
    }

    /// Delay before retry `n` (1-based): base × 2^(n−1) × U(0.9, 1.1), capped at 30 s.
    pub fn backoff(&self, n: u32) -> Duration {
        let exp = self.base_delay.as_secs_f64() * 2f64.powi(n.saturating_sub(1).min(16) as i32);
        let jitter = 0.9 + 0.2 * unit_random();
        Duration::from_secs_f64((exp * jitter).min(30.0))
    }
}

/// A uniform number in [0, 1) from the OS generator (jitter needs no more than this).
fn unit_random() -> f64 {
    let r = getrandom::u64().unwrap_or(0x9E37_79B9_7F4A_7C15);
    (r >> 11) as f64 / (1u64 << 53) as f64
}

/// zstd (level 3) for a request body, as the official client compresses ChatGPT-backend bodies.
pub fn zstd_body(json: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(json, 3).expect("zstd compression of an in-memory buffer cannot fail")
}

/// Receives every request and response of a session, for the `traffic/` log (docs/spec.md §7).
/// Headers arrive already redacted; bodies must be redacted by the implementor for secrets
/// the transport cannot know about.
pub trait TrafficLog: Send + Sync {
    /// Returns an id tying the response to this request.
    fn request(&self, method: &str, url: &str, headers: &[(String, String)], body: &[u8]) -> u64;
    fn response_head(&self, id: u64, status: u16, headers: &[(String, String)]);
    /// Raw body bytes as received (SSE as-is).
    fn response_chunk(&self, id: u64, chunk: &[u8]);
    fn response_end(&self, id: u64, error: Option<&str>);
}

pub type SharedTrafficLog = Option<Arc<dyn TrafficLog>>;

/// A traffic log that is connected later, and can be pointed elsewhere: a provider is opened
/// (and can fail) before the session that owns the log exists, and outlives it when the user
/// starts a new session. While nothing is connected, traffic is not recorded.
#[derive(Default)]
pub struct TrafficSlot {
    log: std::sync::RwLock<Option<Arc<dyn TrafficLog>>>,
}

impl TrafficSlot {
    /// Record into `log` from now on (`None`: stop recording).
    pub fn set(&self, log: Option<Arc<dyn TrafficLog>>) {
        *self.log.write().unwrap_or_else(|p| p.into_inner()) = log;
    }

    fn get(&self) -> Option<Arc<dyn TrafficLog>> {
        self.log.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl TrafficLog for TrafficSlot {
    fn request(&self, method: &str, url: &str, headers: &[(String, String)], body: &[u8]) -> u64 {
        self.get()
            .map_or(0, |l| l.request(method, url, headers, body))
    }
    fn response_head(&self, id: u64, status: u16, headers: &[(String, String)]) {
        if let Some(l) = self.get() {
            l.response_head(id, status, headers);
        }
    }
    fn response_chunk(&self, id: u64, chunk: &[u8]) {
        if let Some(l) = self.get() {
            l.response_chunk(id, chunk);
        }
    }
    fn response_end(&self, id: u64, error: Option<&str>) {
        if let Some(l) = self.get() {
            l.response_end(id, error);
        }
    }
}

/// Header names whose values are credentials.
pub fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "authorization"
            | "proxy-authorization"
            | "cookie"
            | "set-cookie"
            | "x-api-key"
            | "x-goog-api-key"
            | "chatgpt-account-id"
    ) || n.contains("token")
        || n.contains("secret")
}

/// Headers as (name, value) pairs with every credential replaced by `***`.
pub fn redacted_headers(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            let name = k.as_str().to_string();
            let value = if is_secret_header(&name) {
                "***".to_string()
            } else {
                String::from_utf8_lossy(v.as_bytes()).into_owned()
            };
            (name, value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verifier_loads_the_roots_at_the_first_check_and_refuses_an_untrusted_certificate() {
        use rustls::client::danger::ServerCertVerifier;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let lazy = LazyVerifier::new(provider.clone());
        // What a handshake asks first does not need the roots, and matches the real thing.
        let schemes = lazy.supported_verify_schemes();
        assert!(
            !lazy.loaded(),
            "building or asking for schemes loads nothing"
        );
        let platform = rustls_platform_verifier::Verifier::new(provider).unwrap();
        assert_eq!(schemes, platform.supported_verify_schemes());
        // A certificate no system trusts (tests/fixtures/tls/README.md) is refused.
        let cert = rustls::pki_types::CertificateDer::from(sx_testkit::fixture(
            "tls/self-signed-localhost.der",
        ));
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let err = lazy
            .verify_server_cert(&cert, &[], &name, &[], rustls::pki_types::UnixTime::now())
            .unwrap_err();
        assert!(lazy.loaded(), "the first check loaded the roots");
        // webpki calls a self-signed certificate "a CA used as an end entity"; either way refused.
        assert!(
            matches!(err, rustls::Error::InvalidCertificate(_)),
            "{err:?}"
        );
    }

    #[test]
    fn building_a_client_reads_no_roots() {
        // The client takes the lazy verifier (tls_config); reqwest accepts it as its backend.
        let config = tls_config().unwrap();
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
        client(&ClientIdentity::new("test")).unwrap();
    }

    #[test]
    fn backoff_grows_with_jitter() {
        let p = RetryPolicy::default();
        for n in 1..=4u32 {
            let d = p.backoff(n).as_secs_f64();
            let nominal = 0.2 * 2f64.powi(n as i32 - 1);
            assert!(
                d >= nominal * 0.9 - 1e-9 && d <= nominal * 1.1 + 1e-9,
                "n={n} d={d}"
            );
        }
        assert!(p.backoff(40) <= Duration::from_secs(30));
    }

    #[test]
    fn user_agent_names_sx_and_is_ascii() {
        let id = ClientIdentity::new("sx");
        assert!(
            id.user_agent.starts_with(&format!("sx/{VERSION} (")),
            "{}",
            id.user_agent
        );
        assert!(id.user_agent.is_ascii());
    }

    #[test]
    fn secrets_are_redacted() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("authorization", "Bearer abc".parse().unwrap());
        h.insert("chatgpt-account-id", "acct".parse().unwrap());
        h.insert("accept", "text/event-stream".parse().unwrap());
        let r = redacted_headers(&h);
        assert!(r.contains(&("authorization".into(), "***".into())));
        assert!(r.contains(&("chatgpt-account-id".into(), "***".into())));
        assert!(r.contains(&("accept".into(), "text/event-stream".into())));
    }

    #[test]
    fn zstd_roundtrip() {
        let body = br#"{"model":"gpt-5.5","input":[]}"#.repeat(50);
        let z = zstd_body(&body);
        assert!(z.len() < body.len());
        assert_eq!(zstd::bulk::decompress(&z, body.len()).unwrap(), body);
    }
}
