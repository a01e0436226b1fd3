mod common;
mod config_cli;
mod sx_codex;
