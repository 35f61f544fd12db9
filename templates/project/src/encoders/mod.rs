//! This project's own encoders, written in Rust. Registering one here lets every spec, Rust or
//! TOML, name it: `{ type = "Custom", name = "NAME", column = "..." }`.

/// Registers every encoder of this project with Lore; `main` calls it first.
pub fn register() {
    // `lore generate encoder NAME` adds a line here for each new encoder.
}
