fn main() -> std::process::ExitCode {
    sx_cli::commands::main()
}
