//! The agent: the loop that drives a provider, the system prompt, and (with the tools) the
//! approval rules and sessions on disk.

mod agent;
pub mod approval;
pub mod channel;
pub mod compact;
pub mod event;
pub mod functions;
mod observe;
pub mod prompt;
pub mod session;
pub mod session_flags;
pub mod startup;
pub mod tools;
pub mod vision;

pub use agent::{Agent, AgentSink, FunctionResult, RunOutcome, Settings};
pub use event::{AgentEvent, StopReason};
