//! The Rust and the declared Subscribers describe the same model.

use lore_core::models::{read_declared, Model};

#[test]
fn rust_and_declared_subscribers_are_the_same_model() {
    let rust = {{ crate_name }}::models::subscribers::Subscribers.spec();
    let declared = read_declared(std::path::Path::new("src/models/subscribers_declared.toml")).expect("the TOML spec parses");
    assert_eq!(rust.pipeline, declared.pipeline);
    assert_eq!(rust.estimator, declared.estimator);
    assert_eq!(declared.name, "SubscribersDeclared");
}
