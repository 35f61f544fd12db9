//! The project's binary: Lore's command line with this project's Rust models, transformers and
//! encoders registered.

fn main() -> std::process::ExitCode {
    {{ crate_name }}::transformers::register();
    {{ crate_name }}::encoders::register();
    lore_cli::main_with({{ crate_name }}::models::all())
}
