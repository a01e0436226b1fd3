//! Interactive `sx`: an inline terminal UI on the agent's event stream (docs/ui.md).

mod app;
pub mod config_editor;
pub mod driver;
pub mod editor;
pub mod highlight;
mod history;
pub mod markdown;
pub mod screen;
mod setup;
pub mod slash;
pub mod status;
mod term;
pub mod text;
pub mod view;

pub use app::{Ended, Launch, Reload, run};
