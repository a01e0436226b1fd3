//! `scorpiox`, the default provider (docs/providers.md, "scorpiox"): Messages to the router at
//! `ROUTER_URL`, without client credentials — the router holds the upstream ones. When
//! `ROUTER_URL` is left at its default and nothing listens there, sx does the routing itself
//! instead of failing: it takes the first back-end the user already has (a Codex login, an
//! Anthropic or Gemini key, a signed-in `claude` CLI, an OpenAI-compatible server) and says
//! which one, and how to pin another.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::anthropic::AnthropicWire;
use super::{Capabilities, ModelInfo, OpenOptions, Provider};
use crate::ProviderId;
use crate::auth::{AuthError, NoAuth};
use crate::error::ProviderError;
use crate::event::{Completion, EventSink, StreamEvent};
use crate::http::ClientIdentity;
use crate::model::Request;
use crate::routes::{self, Route, Routes, Traits};
use crate::runtime::{HttpProvider, Runtime};

pub const DEFAULT_ROUTER_URL: &str = "http://127.0.0.1:8790";

/// How long to wait for the router's port: on loopback a closed port answers at once.
const PROBE: Duration = Duration::from_millis(300);

pub fn open(
    config: &sx_config::Config,
    opts: OpenOptions,
) -> Result<Arc<dyn Provider>, ProviderError> {
    let url = config
        .get_nonempty("ROUTER_URL")
        .unwrap_or(DEFAULT_ROUTER_URL);
    if !config.is_default("ROUTER_URL") || listening(url) {
        return Ok(Arc::new(router(config, url, opts)?));
    }
    embedded(config, opts)
}

/// The router: the Messages wire at `url`, no credentials.
fn router(
    config: &sx_config::Config,
    url: &str,
    opts: OpenOptions,
) -> Result<HttpProvider<AnthropicWire>, ProviderError> {
    let provider = ProviderId::Scorpiox;
    let credentials = Arc::new(NoAuth {
        provider,
        key_name: None,
    });
    let runtime = Runtime::new(
        config,
        ClientIdentity::new("sx"),
        credentials,
        opts.traffic,
        provider,
    )?;
    let thinking_budget = config
        .u64("THINKING_BUDGET")
        .map_or(10_000, |b| b.min(u64::from(u32::MAX)) as u32);
    Ok(HttpProvider {
        wire: AnthropicWire::new(provider, url, thinking_budget)
            .with_streaming(super::streaming(config)),
        runtime,
    })
}

/// Whether something accepts connections at `url`'s host and port.
fn listening(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let hostport = rest.split(['/', '?']).next().unwrap_or("");
    let with_port = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    let addrs: Vec<SocketAddr> = with_port
        .to_socket_addrs()
        .map(|a| a.collect())
        .unwrap_or_default();
    addrs
        .iter()
        .any(|a| TcpStream::connect_timeout(a, PROBE).is_ok())
}

/// A back-end the user already has, and what shows it.
fn first_usable(config: &sx_config::Config) -> Option<(ProviderId, String)> {
    let set = |k: &str| config.get_nonempty(k).is_some();
    let codex = match config.get("CODEX_TOKEN_SOURCE").unwrap_or("local") {
        "local" => config
            .path("CODEX_CREDENTIALS_FILE")
            .filter(|p| crate::auth::AuthFile::load(p).is_ok())
            .map(|p| format!("the Codex login in {}", p.display())),
        "remote" | "http" => (!config.is_default("CODEX_REMOTE_URL"))
            .then(|| "CODEX_TOKEN_SOURCE=remote".to_string()),
        "ssh" => set("CODEX_SSH_HOST").then(|| "CODEX_TOKEN_SOURCE=ssh".to_string()),
        _ => None,
    };
    if let Some(why) = codex {
        return Some((ProviderId::Codex, why));
    }
    if set("ANTHROPIC_API_KEY") || set("ANTHROPIC_AUTH_TOKEN") {
        return Some((ProviderId::Anthropic, "ANTHROPIC_API_KEY".into()));
    }
    if set("GEMINI_API_KEY") {
        return Some((ProviderId::Gemini, "GEMINI_API_KEY".into()));
    }
    if claude_signed_in(config) {
        return Some((ProviderId::ClaudeCode, "a signed-in Claude Code CLI".into()));
    }
    if !config.is_default("OPENAI_BASE_URL") || set("OPENAI_API_KEY") {
        return Some((ProviderId::Openai, "OPENAI_BASE_URL".into()));
    }
    None
}

/// `claude` is installed and has signed in here. Only whether Claude Code's own files exist
/// is looked at — sx never reads the subscription's credentials.
fn claude_signed_in(config: &sx_config::Config) -> bool {
    let Some(home) = config.home() else {
        return false;
    };
    let signed_in = home.join(".claude").join(".credentials.json").exists();
    if !signed_in {
        return false;
    }
    let bin = config.get_nonempty("CLAUDE_CODE_BIN").unwrap_or("claude");
    if bin.contains('/') {
        return Path::new(bin).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(bin).is_file()))
}

fn embedded(
    config: &sx_config::Config,
    opts: OpenOptions,
) -> Result<Arc<dyn Provider>, ProviderError> {
    if config.get_nonempty(routes::KEY).is_some() {
        return Ok(Arc::new(Routed::open(config, opts)?));
    }
    let Some((id, why)) = first_usable(config) else {
        return Err(AuthError::NoBackend {
            detail: format!(
                "no router at {DEFAULT_ROUTER_URL} and no back-end to use instead; sign in with one of: `scorpiox-codex-login` (a ChatGPT subscription), `scorpiox-config --set ANTHROPIC_API_KEY …`, `scorpiox-config --set GEMINI_API_KEY …`, `claude` (Claude Code), `scorpiox-config --set OPENAI_BASE_URL http://localhost:8080` (a local server), or start `scorpiox-router`"
            ),
        }
        .into());
    };
    let chosen = config.with_override("PROVIDER", id.as_str());
    let inner = super::open(&chosen, opts)?;
    let notice = format!(
        "no router at {DEFAULT_ROUTER_URL}: using {id} ({why}); choose another with --provider or scorpiox-config --set PROVIDER …"
    );
    Ok(Arc::new(Embedded {
        inner,
        notice,
        said: AtomicBool::new(false),
    }))
}

/// The provider the embedded default chose, telling the user once which one it is.
struct Embedded {
    inner: Arc<dyn Provider>,
    notice: String,
    said: AtomicBool,
}

#[async_trait]
impl Provider for Embedded {
    fn id(&self) -> ProviderId {
        self.inner.id()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn context_window(&self, model: &str) -> Option<u64> {
        self.inner.context_window(model)
    }

    async fn stream(
        &self,
        req: &Request<'_>,
        sink: &mut EventSink<'_>,
    ) -> Result<Completion, ProviderError> {
        if !self.said.swap(true, Ordering::SeqCst) {
            sink(StreamEvent::Notice(&self.notice));
        }
        self.inner.stream(req, sink).await
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>, ProviderError> {
        self.inner.list_models().await
    }
}

/// The embedded default with `ROUTER_ROUTES` set: each request goes where the router's rules
/// send it (docs/router.md), through the upstream providers opened here with this machine's
/// credentials. The conversation's model is the one a router client would ask for
/// (`sonnet` → `claude-sonnet-5`), so the same rules mean the same thing in both places.
struct Routed {
    routes: Routes,
    upstreams: Vec<(ProviderId, Arc<dyn Provider>)>,
    /// The last route taken, to say so when it changes.
    last: Mutex<Option<(ProviderId, String)>>,
}

impl Routed {
    fn open(config: &sx_config::Config, opts: OpenOptions) -> Result<Routed, ProviderError> {
        let long_context = match config.get_nonempty(routes::LONG_CONTEXT_KEY) {
            None => routes::DEFAULT_LONG_CONTEXT,
            Some(v) => v.parse().map_err(|_| {
                ProviderError::Config(format!(
                    "{}={v} is not a number of tokens; e.g. {}={}",
                    routes::LONG_CONTEXT_KEY,
                    routes::LONG_CONTEXT_KEY,
                    routes::DEFAULT_LONG_CONTEXT
                ))
            })?,
        };
        let routes =
            Routes::parse(config.get(routes::KEY), long_context).map_err(ProviderError::Config)?;
        let mut upstreams = Vec::new();
        for id in routes.providers() {
            let chosen = config.with_override("PROVIDER", id.as_str());
            upstreams.push((id, super::open(&chosen, opts.clone())?));
        }
        Ok(Routed {
            routes,
            upstreams,
            last: Mutex::new(None),
        })
    }

    fn upstream(&self, id: ProviderId) -> &Arc<dyn Provider> {
        let (_, p) = self
            .upstreams
            .iter()
            .find(|(p, _)| *p == id)
            .expect("route() only returns providers that were opened");
        p
    }

    fn route(&self, traits: &Traits<'_>) -> Result<Route, ProviderError> {
        let route = self.routes.route(traits).map_err(|e| {
            ProviderError::Config(format!("{}; set MODEL to one the rules route", e.0))
        })?;
        if !self.upstreams.iter().any(|(p, _)| *p == route.provider) {
            // An explicit `PROVIDER,MODEL` naming a provider no rule opened.
            return Err(ProviderError::Config(format!(
                "model '{}' asks for {}, which no {} rule names; add a rule for it",
                traits.model,
                route.provider,
                routes::KEY
            )));
        }
        Ok(route)
    }
}

#[async_trait]
impl Provider for Routed {
    fn id(&self) -> ProviderId {
        ProviderId::Scorpiox
    }

    fn capabilities(&self) -> Capabilities {
        // Every upstream is an HTTP wire: the agent runs the tools and keeps the history.
        self.upstreams[0].1.capabilities()
    }

    fn context_window(&self, model: &str) -> Option<u64> {
        let traits = Traits {
            model,
            thinking: false,
            input_tokens: 0,
        };
        let route = self.route(&traits).ok()?;
        self.upstream(route.provider).context_window(&route.model)
    }

    async fn stream(
        &self,
        req: &Request<'_>,
        sink: &mut EventSink<'_>,
    ) -> Result<Completion, ProviderError> {
        let traits = Traits {
            model: req.model,
            thinking: req.thinking,
            input_tokens: routes::estimate_input_tokens(req.system, req.messages, req.tools),
        };
        let route = self.route(&traits)?;
        let changed = {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            let now = (route.provider, route.model.clone());
            let changed = last.as_ref() != Some(&now);
            *last = Some(now);
            changed
        };
        if changed {
            let why = if route.why == "explicit" {
                "the model names its provider".to_string()
            } else {
                format!("{} rule '{}'", routes::KEY, route.why)
            };
            let notice = format!(
                "no router at {DEFAULT_ROUTER_URL}: {} goes to {} {} ({why})",
                req.model, route.provider, route.model,
            );
            sink(StreamEvent::Notice(&notice));
        }
        let routed = Request {
            model: &route.model,
            ..*req
        };
        self.upstream(route.provider).stream(&routed, sink).await
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>, ProviderError> {
        let mut all = Vec::new();
        for (_, p) in &self.upstreams {
            all.extend(p.list_models().await?);
        }
        Ok(all)
    }
}
