//! The `embarc` binary: a thin wrapper around the embarc library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
