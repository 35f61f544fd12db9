//! The stand-alone `lore` binary.

fn main() -> std::process::ExitCode {
    lore_cli::main()
}
