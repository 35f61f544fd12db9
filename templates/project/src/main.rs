//! The project's binary: Lore's command line with this project's Rust models registered.

fn main() -> std::process::ExitCode {
    lore_cli::main_with({{ crate_name }}::models::all())
}
