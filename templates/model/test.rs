//! The `{{ model }}` model is registered and reads its own extract.

use lore_core::models::Model;

#[test]
fn {{ snake }}_is_registered_and_reads_its_extract() {
    let models = {{ crate_name }}::models::all();
    let model = models.iter().find(|m| m.name() == "{{ model }}").expect("{{ model }} is in models::all()");
    let spec = model.spec();
    assert_eq!(spec.pipeline.extract.sql, "{{ snake }}");
    assert!(std::path::Path::new("src/extracts/{{ snake }}.sql").is_file());
}
