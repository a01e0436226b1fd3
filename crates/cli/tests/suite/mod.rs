mod agent;
mod common;
mod config_cli;
mod login;
mod ssh_source;
mod sx_codex;
mod token_server;
mod tokens;
