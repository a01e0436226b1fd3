//! Agent events for a front end on another task (docs/architecture.md, "Events across tasks").
//!
//! The agent and the providers hand out borrowed events to a synchronous sink: a token costs no
//! allocation. A front end that runs elsewhere (the interactive UI's render loop) takes them
//! through [`channel`]: the sender owns each event, and while the receiver is behind, the
//! deltas of a run merge into the one event already waiting — so the producer never waits for
//! a slow screen, the queue holds at most one delta event per run of deltas, and a receiver
//! that wakes once per frame gets a frame's worth of text in one piece.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use sxnet::RateLimits;
use sxnet::model::Usage;
use tokio::sync::Notify;

use crate::event::{AgentEvent, StopReason};

/// An [`AgentEvent`] that owns its data.
#[derive(Debug, Clone, PartialEq)]
pub enum OwnedEvent {
    Session {
        id: String,
        provider: String,
        model: String,
        cwd: PathBuf,
    },
    ThinkingDelta(String),
    TextDelta(String),
    ToolCallStarted {
        id: String,
        name: String,
    },
    ToolCall {
        id: String,
        name: String,
        input: Value,
    },
    ToolResult {
        id: String,
        name: String,
        output: String,
        is_error: bool,
    },
    FunctionCall {
        id: String,
        name: String,
        arguments: Value,
    },
    Diff(String),
    Usage(Usage),
    RateLimits(RateLimits),
    Retry {
        attempt: u32,
        delay: Duration,
        reason: String,
    },
    Notice(String),
    Error {
        message: String,
        retryable: bool,
    },
    Done {
        stop_reason: StopReason,
        text: String,
    },
}

impl From<AgentEvent<'_>> for OwnedEvent {
    fn from(ev: AgentEvent<'_>) -> Self {
        match ev {
            AgentEvent::Session {
                id,
                provider,
                model,
                cwd,
            } => OwnedEvent::Session {
                id: id.into(),
                provider: provider.into(),
                model: model.into(),
                cwd: cwd.to_path_buf(),
            },
            AgentEvent::ThinkingDelta(t) => OwnedEvent::ThinkingDelta(t.into()),
            AgentEvent::TextDelta(t) => OwnedEvent::TextDelta(t.into()),
            AgentEvent::ToolCallStarted { id, name } => OwnedEvent::ToolCallStarted {
                id: id.into(),
                name: name.into(),
            },
            AgentEvent::ToolCall { id, name, input } => OwnedEvent::ToolCall {
                id: id.into(),
                name: name.into(),
                input: input.clone(),
            },
            AgentEvent::ToolResult {
                id,
                name,
                output,
                is_error,
            } => OwnedEvent::ToolResult {
                id: id.into(),
                name: name.into(),
                output: output.into(),
                is_error,
            },
            AgentEvent::FunctionCall {
                id,
                name,
                arguments,
            } => OwnedEvent::FunctionCall {
                id: id.into(),
                name: name.into(),
                arguments: arguments.clone(),
            },
            AgentEvent::Diff(d) => OwnedEvent::Diff(d.into()),
            AgentEvent::Usage(u) => OwnedEvent::Usage(*u),
            AgentEvent::RateLimits(l) => OwnedEvent::RateLimits(l.clone()),
            AgentEvent::Retry {
                attempt,
                delay,
                reason,
            } => OwnedEvent::Retry {
                attempt,
                delay,
                reason: reason.into(),
            },
            AgentEvent::Notice(n) => OwnedEvent::Notice(n.into()),
            AgentEvent::Error { message, retryable } => OwnedEvent::Error {
                message: message.into(),
                retryable,
            },
            AgentEvent::Done { stop_reason, text } => OwnedEvent::Done {
                stop_reason,
                text: text.into(),
            },
        }
    }
}

struct Queue {
    events: VecDeque<OwnedEvent>,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Notify,
    senders: AtomicUsize,
}

/// The agent's side: call [`EventSender::send`] from the agent's sink.
pub struct EventSender {
    shared: Arc<Shared>,
}

/// The front end's side.
pub struct EventReceiver {
    shared: Arc<Shared>,
}

/// A connected pair. Dropping every sender ends the stream once it is drained.
pub fn channel() -> (EventSender, EventReceiver) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            events: VecDeque::new(),
            closed: false,
        }),
        ready: Notify::new(),
        senders: AtomicUsize::new(1),
    });
    (
        EventSender {
            shared: shared.clone(),
        },
        EventReceiver { shared },
    )
}

impl EventSender {
    /// Queue `ev`; a delta joins the delta of the same kind waiting at the back of the queue.
    /// Never blocks on the receiver.
    pub fn send(&self, ev: AgentEvent<'_>) {
        let mut q = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
        match (q.events.back_mut(), ev) {
            (Some(OwnedEvent::TextDelta(s)), AgentEvent::TextDelta(t))
            | (Some(OwnedEvent::ThinkingDelta(s)), AgentEvent::ThinkingDelta(t)) => {
                s.push_str(t);
            }
            (_, ev) => {
                let wake = q.events.is_empty();
                q.events.push_back(ev.into());
                drop(q);
                if wake {
                    self.shared.ready.notify_one();
                }
            }
        }
    }
}

impl Clone for EventSender {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        EventSender {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for EventSender {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared
                .queue
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .closed = true;
            self.shared.ready.notify_one();
        }
    }
}

impl EventReceiver {
    /// Everything queued, waiting for at least one event; `None` once every sender is gone
    /// and the queue is drained.
    pub async fn recv_all(&mut self) -> Option<Vec<OwnedEvent>> {
        loop {
            {
                let mut q = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
                if !q.events.is_empty() {
                    return Some(q.events.drain(..).collect());
                }
                if q.closed {
                    return None;
                }
            }
            self.shared.ready.notified().await;
        }
    }

    /// What is queued now, without waiting.
    pub fn try_recv_all(&mut self) -> Vec<OwnedEvent> {
        let mut q = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.events.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn deltas_merge_while_the_receiver_is_behind_and_order_is_kept() {
        let (tx, mut rx) = channel();
        tx.send(AgentEvent::ThinkingDelta("a"));
        tx.send(AgentEvent::ThinkingDelta("b"));
        tx.send(AgentEvent::TextDelta("Hel"));
        tx.send(AgentEvent::TextDelta("lo"));
        tx.send(AgentEvent::Notice("n"));
        tx.send(AgentEvent::TextDelta("!"));
        assert_eq!(
            rx.recv_all().await.unwrap(),
            [
                OwnedEvent::ThinkingDelta("ab".into()),
                OwnedEvent::TextDelta("Hello".into()),
                OwnedEvent::Notice("n".into()),
                OwnedEvent::TextDelta("!".into()),
            ]
        );
        // Taken events are not merged into again.
        tx.send(AgentEvent::TextDelta("?"));
        assert_eq!(rx.try_recv_all(), [OwnedEvent::TextDelta("?".into())]);
        drop(tx);
        assert_eq!(rx.recv_all().await, None);
    }

    #[tokio::test]
    async fn a_receiver_on_another_task_gets_everything_and_then_the_end() {
        let (tx, mut rx) = channel();
        let consumer = tokio::spawn(async move {
            let mut text = String::new();
            let mut done = false;
            while let Some(batch) = rx.recv_all().await {
                for ev in batch {
                    match ev {
                        OwnedEvent::TextDelta(t) => text.push_str(&t),
                        OwnedEvent::Done { .. } => done = true,
                        other => panic!("unexpected {other:?}"),
                    }
                }
            }
            (text, done)
        });
        let producer = std::thread::spawn(move || {
            for i in 0..10_000 {
                tx.send(AgentEvent::TextDelta(if i % 2 == 0 { "a" } else { "b" }));
            }
            tx.send(AgentEvent::Done {
                stop_reason: StopReason::EndTurn,
                text: "",
            });
        });
        producer.join().unwrap();
        let (text, done) = consumer.await.unwrap();
        assert_eq!(text.len(), 10_000);
        assert!(text.starts_with("abab"));
        assert!(done);
    }
}
