//! The agent: the loop that drives a provider, the system prompt, and (with the tools) the
//! approval rules and sessions on disk.

mod agent;
pub mod event;
pub mod prompt;

pub use agent::{Agent, AgentSink, RunOutcome, Settings};
pub use event::{AgentEvent, StopReason};
