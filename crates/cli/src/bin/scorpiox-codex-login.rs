//! `scorpiox-codex-login`: sign in with ChatGPT for the Codex provider (docs/spec.md §1); see
//! `sx_cli::login` and docs/login.md.

fn main() -> std::process::ExitCode {
    sx_cli::login::main()
}
