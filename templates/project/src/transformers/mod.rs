//! This project's own transformers, written in Rust. Registering one here lets every spec, Rust
//! or TOML, name it: `{ type = "Custom", name = "NAME", columns = [...] }`.

/// Registers every transformer of this project with Lore; `main` calls it first.
pub fn register() {
    // `lore generate transformer NAME` adds a line here for each new transformer.
}
