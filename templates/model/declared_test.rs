//! The declared model `{{ model }}` (src/models/{{ file }}) parses as a model spec.

use lore_core::models::read_declared;

#[test]
fn {{ snake }}_spec_parses() {
    let spec = read_declared(std::path::Path::new("src/models/{{ file }}"))
        .expect("src/models/{{ file }} parses");
    assert_eq!(spec.name, "{{ model }}");
}
