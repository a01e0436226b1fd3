use super::*;
use crate::tools::{ToolKind, ToolOutput};
use serde_json::Value;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::json;
use sxnet::Completion;
use sxnet::model::StopReason as WireStop;

use crate::approval::Mode;

/// A provider that replays scripted assistant messages and records what it was sent.
struct Script {
    turns: Mutex<Vec<Message>>,
    seen: Mutex<Vec<Vec<Message>>>,
}

impl Script {
    fn new(mut turns: Vec<Message>) -> Arc<Self> {
        turns.reverse();
        Arc::new(Script {
            turns: Mutex::new(turns),
            seen: Mutex::new(Vec::new()),
        })
    }
}

#[async_trait]
impl Provider for Script {
    fn id(&self) -> sxnet::ProviderId {
        sxnet::ProviderId::Openai
    }
    fn capabilities(&self) -> sxnet::providers::Capabilities {
        sxnet::providers::Capabilities {
            runs_own_tools: false,
            keeps_own_history: false,
            vision: true,
            caching: sxnet::providers::Caching::None,
        }
    }
    fn context_window(&self, _: &str) -> Option<u64> {
        None
    }
    async fn stream(
        &self,
        req: &Request<'_>,
        _sink: &mut sxnet::EventSink<'_>,
    ) -> Result<Completion, ProviderError> {
        self.seen.lock().unwrap().push(req.messages.to_vec());
        let message = self.turns.lock().unwrap().pop().expect("script exhausted");
        let stop = if message.tool_calls().next().is_some() {
            WireStop::ToolUse
        } else {
            WireStop::EndTurn
        };
        Ok(Completion {
            message,
            usage: Usage::default(),
            stop,
            provider_session: None,
        })
    }
}

fn calls(list: &[(&str, &str)]) -> Message {
    Message {
        role: Role::Assistant,
        content: list
            .iter()
            .map(|(id, name)| Block::ToolCall(ToolCall::function(*id, *name, "{}")))
            .collect(),
        usage: None,
    }
}

fn text(t: &str) -> Message {
    Message {
        role: Role::Assistant,
        content: vec![Block::text(t)],
        usage: None,
    }
}

/// Read-only; finishes only when `n` of them are running at the same time.
struct Meet(Arc<tokio::sync::Barrier>);

#[async_trait]
impl Tool for Meet {
    fn name(&self) -> &'static str {
        "meet"
    }
    fn description(&self) -> &'static str {
        "test"
    }
    fn parameters(&self) -> Value {
        json!({"type": "object"})
    }
    fn kind(&self) -> ToolKind {
        ToolKind::ReadOnly
    }
    async fn run(&self, _: Value, _: &ToolContext) -> ToolOutput {
        // Generous: only a build that runs them one at a time waits it out.
        match tokio::time::timeout(std::time::Duration::from_secs(60), self.0.wait()).await {
            Ok(_) => ToolOutput::ok("met"),
            Err(_) => ToolOutput::error("ran alone: read-only calls were not run in parallel"),
        }
    }
}

/// Mutating; runs until cancelled.
#[derive(Default)]
struct Hang {
    /// Told each time a call starts running.
    started: Arc<tokio::sync::Notify>,
}

#[async_trait]
impl Tool for Hang {
    fn name(&self) -> &'static str {
        "hang"
    }
    fn description(&self) -> &'static str {
        "test"
    }
    fn parameters(&self) -> Value {
        json!({"type": "object"})
    }
    fn kind(&self) -> ToolKind {
        ToolKind::Mutating
    }
    async fn run(&self, _: Value, ctx: &ToolContext) -> ToolOutput {
        self.started.notify_one();
        ctx.cancel.cancelled().await;
        ToolOutput::error("cancelled by the user")
    }
}

/// Mutating; counts its runs.
struct Count(Arc<std::sync::atomic::AtomicUsize>);

#[async_trait]
impl Tool for Count {
    fn name(&self) -> &'static str {
        "count"
    }
    fn description(&self) -> &'static str {
        "test"
    }
    fn parameters(&self) -> Value {
        json!({"type": "object"})
    }
    fn kind(&self) -> ToolKind {
        ToolKind::Mutating
    }
    async fn run(&self, _: Value, _: &ToolContext) -> ToolOutput {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        ToolOutput::ok("counted")
    }
}

fn agent(provider: Arc<dyn Provider>, tools: Vec<Arc<dyn Tool>>, mode: Mode) -> Agent {
    let settings = Settings {
        model: "m".into(),
        effort: None,
        thinking: false,
        max_turns: 10,
        compact_at: None,
    };
    let ctx = ToolContext {
        cwd: ".".into(),
        project_root: ".".into(),
        extra_roots: Vec::new(),
        cancel: CancellationToken::new(),
    };
    Agent::new(
        provider,
        settings,
        "sys".into(),
        "sid".into(),
        tools,
        vec![],
        Approval::non_interactive(mode),
        ctx,
    )
}

fn results_of(m: &Message) -> Vec<(String, String, bool)> {
    m.content
        .iter()
        .filter_map(|b| match b {
            Block::ToolResult(r) => Some((r.call_id.clone(), r.output.clone(), r.is_error)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn read_only_calls_run_concurrently() {
    let barrier = Arc::new(tokio::sync::Barrier::new(3));
    let p = Script::new(vec![
        calls(&[("a", "meet"), ("b", "meet"), ("c", "meet")]),
        text("done"),
    ]);
    let mut a = agent(p.clone(), vec![Arc::new(Meet(barrier))], Mode::Ask);
    let out = a
        .run(
            vec![Block::text("go")],
            &CancellationToken::new(),
            &mut |_| {},
        )
        .await;
    assert_eq!(out.stop, StopReason::EndTurn);
    assert_eq!(out.text, "done");
    let results = results_of(&a.messages[2]);
    assert_eq!(
        results.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
        ["met", "met", "met"]
    );
}

#[tokio::test]
async fn refusals_unknown_tools_and_pairing() {
    let p = Script::new(vec![calls(&[("x", "hang"), ("y", "ghost")]), text("ok")]);
    let mut a = agent(p.clone(), vec![Arc::new(Hang::default())], Mode::Ask);
    let mut events = Vec::new();
    let out = a
        .run(
            vec![Block::text("go")],
            &CancellationToken::new(),
            &mut |e| {
                if let AgentEvent::ToolResult { id, is_error, .. } = e {
                    events.push((id.to_string(), is_error));
                }
            },
        )
        .await;
    assert_eq!(out.stop, StopReason::EndTurn);
    let r = results_of(&a.messages[2]);
    assert!(r[0].1.contains("was not run") && r[0].2);
    assert!(
        r[1].1
            .contains("there is no tool 'ghost'; available tools: hang")
            && r[1].2
    );
    assert_eq!(events, [("x".to_string(), true), ("y".to_string(), true)]);
    // The provider saw the results with the next request.
    assert_eq!(p.seen.lock().unwrap()[1].len(), 3);
}

#[tokio::test]
async fn cancel_mid_tool_pairs_every_call() {
    let p = Script::new(vec![calls(&[("h", "hang"), ("later", "hang")])]);
    let hang = Arc::new(Hang::default());
    let started = Arc::clone(&hang.started);
    let mut a = agent(p, vec![hang], Mode::Auto);
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    // Cancel once the first call runs (not after a guess at how long that takes).
    tokio::spawn(async move {
        started.notified().await;
        c2.cancel();
    });
    let out = a.run(vec![Block::text("go")], &cancel, &mut |_| {}).await;
    assert_eq!(out.stop, StopReason::Cancelled);
    let r = results_of(a.messages.last().unwrap());
    assert_eq!(r.len(), 2, "both calls have a result");
    assert!(r[0].1.contains("cancelled"));
    assert!(r[1].1.contains("before it ran"));
}

#[tokio::test]
async fn max_turns() {
    let p = Script::new(vec![
        calls(&[("1", "ghost")]),
        calls(&[("2", "ghost")]),
        calls(&[("3", "ghost")]),
    ]);
    let mut a = agent(p, vec![], Mode::Auto);
    a.settings.max_turns = 2;
    let out = a
        .run(
            vec![Block::text("go")],
            &CancellationToken::new(),
            &mut |_| {},
        )
        .await;
    assert_eq!(out.stop, StopReason::MaxTurns);
    assert_eq!(out.tool_calls.len(), 2);
}

#[tokio::test]
async fn a_cancel_while_a_call_is_announced_stops_it_before_it_runs() {
    // What `sx` does when the reader of its output goes away while it shows the call.
    let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let p = Script::new(vec![calls(&[("a", "count"), ("b", "count")]), text("x")]);
    let mut a = agent(p.clone(), vec![Arc::new(Count(runs.clone()))], Mode::Auto);
    let cancel = CancellationToken::new();
    let on_call = cancel.clone();
    let out = a
        .run(vec![Block::text("go")], &cancel, &mut |e| {
            if let AgentEvent::ToolCall { .. } = e {
                on_call.cancel();
            }
        })
        .await;
    assert_eq!(out.stop, StopReason::Cancelled);
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 0);
    let r = results_of(a.messages.last().unwrap());
    assert_eq!(r.len(), 2, "both calls have a result");
    assert!(
        r.iter().all(|r| r.1.contains("before it ran") && r.2),
        "{r:?}"
    );
    assert_eq!(p.seen.lock().unwrap().len(), 1, "no further model call");
}

/// A provider that runs its own tools and keeps its own history (as the `claude` CLI does).
struct OwnTools {
    sessions_seen: Mutex<Vec<Option<String>>>,
}

#[async_trait]
impl Provider for OwnTools {
    fn id(&self) -> sxnet::ProviderId {
        sxnet::ProviderId::ClaudeCode
    }
    fn capabilities(&self) -> sxnet::providers::Capabilities {
        sxnet::providers::Capabilities {
            runs_own_tools: true,
            keeps_own_history: true,
            vision: true,
            caching: sxnet::providers::Caching::Automatic,
        }
    }
    fn context_window(&self, _: &str) -> Option<u64> {
        None
    }
    async fn stream(
        &self,
        req: &Request<'_>,
        sink: &mut sxnet::EventSink<'_>,
    ) -> Result<Completion, ProviderError> {
        self.sessions_seen
            .lock()
            .unwrap()
            .push(req.provider_session.map(str::to_owned));
        let call = ToolCall::function("t1", "Bash", r#"{"command":"ls"}"#);
        sink(sxnet::StreamEvent::ToolCall(&call));
        sink(sxnet::StreamEvent::ToolResult {
            id: "t1",
            name: "Bash",
            output: "a.txt",
            is_error: false,
        });
        Ok(Completion {
            message: Message {
                role: Role::Assistant,
                content: vec![Block::text("There is a.txt.")],
                usage: None,
            },
            usage: Usage::default(),
            stop: WireStop::EndTurn,
            provider_session: Some("cli-session-1".into()),
        })
    }
}

#[tokio::test]
async fn a_provider_that_runs_its_own_tools_is_shown_not_second_guessed() {
    let p = Arc::new(OwnTools {
        sessions_seen: Mutex::new(Vec::new()),
    });
    let mut agent = agent(p.clone(), vec![], Mode::Auto);
    let mut seen = Vec::new();
    let cancel = CancellationToken::new();
    let out = agent
        .run(vec![Block::text("list")], &cancel, &mut |e| match e {
            AgentEvent::ToolCall { name, input, .. } => seen.push(format!("call {name} {input}")),
            AgentEvent::ToolResult { name, output, .. } => {
                seen.push(format!("result {name} {output}"))
            }
            _ => {}
        })
        .await;
    assert_eq!(out.stop, StopReason::EndTurn);
    assert_eq!(out.text, "There is a.txt.");
    assert_eq!(
        seen,
        [r#"call Bash {"command":"ls"}"#, "result Bash a.txt"],
        "shown as activity"
    );
    // Nothing ran here: the transcript holds the answer, no calls to pair.
    assert_eq!(agent.messages().len(), 2);
    agent
        .run(vec![Block::text("again")], &cancel, &mut |_| {})
        .await;
    assert_eq!(
        *p.sessions_seen.lock().unwrap(),
        [None, Some("cli-session-1".to_string())],
        "the provider's own conversation id goes back with the next turn"
    );
}

/// Answers in turn: a conversation id to keep, none, or a context overflow; records the id
/// each request carried.
struct Sessions {
    replies: Mutex<Vec<Option<Option<&'static str>>>>,
    seen: Mutex<Vec<Option<String>>>,
}

#[async_trait]
impl Provider for Sessions {
    fn id(&self) -> sxnet::ProviderId {
        sxnet::ProviderId::ClaudeCode
    }
    fn capabilities(&self) -> sxnet::providers::Capabilities {
        OwnTools {
            sessions_seen: Mutex::new(Vec::new()),
        }
        .capabilities()
    }
    fn context_window(&self, _: &str) -> Option<u64> {
        None
    }
    async fn stream(
        &self,
        req: &Request<'_>,
        _sink: &mut sxnet::EventSink<'_>,
    ) -> Result<Completion, ProviderError> {
        self.seen
            .lock()
            .unwrap()
            .push(req.provider_session.map(str::to_owned));
        let Some(keep) = self.replies.lock().unwrap().remove(0) else {
            return Err(ProviderError::ContextWindowExceeded {
                message: "Prompt is too long".into(),
            });
        };
        Ok(Completion {
            message: text("ok"),
            usage: Usage::default(),
            stop: WireStop::EndTurn,
            provider_session: keep.map(str::to_owned),
        })
    }
}

#[tokio::test]
async fn an_answer_without_a_provider_session_forgets_the_older_one() {
    // The second answer comes from a provider that keeps no history (a session continued
    // under another provider): the CLI's conversation no longer holds everything.
    let p = Arc::new(Sessions {
        replies: Mutex::new(vec![Some(Some("cli-1")), Some(None), Some(Some("cli-2"))]),
        seen: Mutex::new(Vec::new()),
    });
    let mut agent = agent(p.clone(), vec![], Mode::Auto);
    let cancel = CancellationToken::new();
    for prompt in ["a", "b", "c"] {
        agent
            .run(vec![Block::text(prompt)], &cancel, &mut |_| {})
            .await;
    }
    assert_eq!(
        *p.seen.lock().unwrap(),
        [None, Some("cli-1".to_string()), None]
    );
}

#[tokio::test]
async fn compaction_starts_the_providers_own_conversation_again() {
    let p = Arc::new(Sessions {
        replies: Mutex::new(vec![Some(Some("cli-1")), None, Some(Some("cli-2"))]),
        seen: Mutex::new(Vec::new()),
    });
    let mut agent = agent(p.clone(), vec![], Mode::Auto);
    let cancel = CancellationToken::new();
    agent
        .run(vec![Block::text("a")], &cancel, &mut |_| {})
        .await;
    let out = agent
        .run(vec![Block::text("b")], &cancel, &mut |_| {})
        .await;
    assert_eq!(out.stop, StopReason::EndTurn);
    assert_eq!(
        *p.seen.lock().unwrap(),
        [None, Some("cli-1".to_string()), None],
        "after the overflow, a new conversation from the compaction note"
    );
}
