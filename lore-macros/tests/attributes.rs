//! A wrong `#[pipeline(...)]` or `#[model(...)]` attribute fails to compile with an error pointing
//! at the attribute and saying what to write instead (expected messages in `tests/ui/*.stderr`).

#[test]
fn wrong_attributes_point_at_themselves() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
