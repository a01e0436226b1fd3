//! The upstream providers: each opened once from the router's own configuration (its keys,
//! its Codex token source) with `PROVIDER` set to it, and shared by every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sx_config::Config;
use sxnet::providers::{self, OpenOptions};
use sxnet::{ModelInfo, Provider, ProviderId};

use super::routes::{Routes, Traits, UPSTREAMS};
use crate::Failure;

/// How long a provider's model list is kept before asking it again.
const MODELS_TTL: Duration = Duration::from_secs(600);

pub struct Upstreams {
    open: HashMap<ProviderId, Arc<dyn Provider>>,
    /// Providers no rule names that could not be opened, and why (for `PROVIDER,MODEL`).
    unavailable: HashMap<ProviderId, String>,
    models: Mutex<HashMap<ProviderId, (Instant, Vec<ModelInfo>)>>,
}

impl Upstreams {
    /// Open every provider the rules name (a failure stops the router: exit 2, or 3 for a
    /// login) and, for explicit `PROVIDER,MODEL` requests, every other one that can be.
    pub fn open(config: &Config, routes: &Routes) -> Result<Upstreams, Failure> {
        let named = routes.providers();
        let mut open = HashMap::new();
        let mut unavailable = HashMap::new();
        for id in UPSTREAMS {
            let c = config.with_override("PROVIDER", id.as_str());
            match providers::open(&c, OpenOptions::default()) {
                Ok(p) => {
                    open.insert(id, p);
                }
                Err(e) if named.contains(&id) => {
                    return Err(Failure::new(
                        crate::exit_from_code(e.exit_code()),
                        format!(
                            "{} sends requests to {id}, which cannot be used: {}",
                            super::routes::KEY,
                            crate::one_line(&e.to_string())
                        ),
                    ));
                }
                Err(e) => {
                    unavailable.insert(id, crate::one_line(&e.to_string()));
                }
            }
        }
        Ok(Upstreams {
            open,
            unavailable,
            models: Mutex::new(HashMap::new()),
        })
    }

    /// The provider for `id`, or why the router has none.
    pub fn get(&self, id: ProviderId) -> Result<Arc<dyn Provider>, String> {
        if let Some(p) = self.open.get(&id) {
            return Ok(Arc::clone(p));
        }
        Err(match self.unavailable.get(&id) {
            Some(why) => format!("the router cannot use {id}: {why}"),
            None => format!("the router cannot use {id}"),
        })
    }

    /// A provider's models: its live catalog (kept a while), else the built-in list.
    async fn models_of(&self, id: ProviderId) -> Vec<ModelInfo> {
        if let Some((at, list)) = self.models.lock().expect("models lock").get(&id)
            && at.elapsed() < MODELS_TTL
        {
            return list.clone();
        }
        let Some(p) = self.open.get(&id) else {
            return Vec::new();
        };
        let list = match p.list_models().await {
            Ok(l) if !l.is_empty() => l,
            _ => sxnet::models::known_models(id)
                .iter()
                .map(|m| ModelInfo {
                    id: (*m).to_string(),
                    display_name: None,
                })
                .collect(),
        };
        self.models
            .lock()
            .expect("models lock")
            .insert(id, (Instant::now(), list.clone()));
        list
    }

    /// What the rules can reach: every model id a client can send, with where it goes. Glob
    /// rules contribute the provider's models the glob matches (and that this rule, not an
    /// earlier one, would answer); rules with a fixed model contribute it, as the explicit
    /// `PROVIDER,MODEL` when it is a scenario's.
    pub async fn reachable(&self, routes: &Routes) -> Vec<Reachable> {
        use super::routes::{Match, glob_match};
        let mut out: Vec<Reachable> = Vec::new();
        let push = |id: String, out: &mut Vec<Reachable>| {
            if out.iter().any(|r| r.id == id) {
                return;
            }
            let t = Traits {
                model: &id,
                thinking: false,
                input_tokens: 0,
            };
            if let Ok(route) = routes.route(&t)
                && self.open.contains_key(&route.provider)
            {
                out.push(Reachable {
                    display_name: format!("{} ({} {})", id, route.provider, route.model),
                    id,
                });
            }
        };
        for rule in &routes.rules {
            let p = rule.target.provider;
            match (&rule.matcher, &rule.target.model) {
                (Match::Model(glob), None) => {
                    for m in self.models_of(p).await {
                        if glob_match(glob, &m.id) {
                            push(m.id, &mut out);
                        }
                    }
                }
                (Match::Model(glob), Some(model)) if !glob.contains(['*', '?']) => {
                    push(glob.clone(), &mut out);
                    push(format!("{p},{model}"), &mut out);
                }
                (_, Some(model)) => push(format!("{p},{model}"), &mut out),
                (_, None) => {}
            }
        }
        out
    }
}

/// One entry of `GET /v1/models`.
pub struct Reachable {
    pub id: String,
    pub display_name: String,
}
