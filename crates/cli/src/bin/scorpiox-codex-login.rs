//! `scorpiox-codex-login`: sign in with ChatGPT for the Codex provider (SPEC §1); see
//! `sx_cli::login` and docs/login.md.

fn main() -> std::process::ExitCode {
    sx_cli::login::main()
}
