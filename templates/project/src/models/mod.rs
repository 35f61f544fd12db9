//! Models: Rust models (`*.rs`, registered below) and declared models (`*.toml`, found by Lore).

pub mod subscribers;

/// Every Rust model of this project, as the `lore` command line sees them.
pub fn all() -> Vec<Box<dyn lore_core::models::Model>> {
    vec![
        Box::new(subscribers::Subscribers),
    ]
}
