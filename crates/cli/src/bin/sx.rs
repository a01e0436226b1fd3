fn main() -> std::process::ExitCode {
    sx_cli::sx::main()
}
