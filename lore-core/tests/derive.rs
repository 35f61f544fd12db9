//! `#[derive(Pipeline)]` and `#[derive(Model)]` produce the same spec as a declared TOML model.

use lore_core::models::{read_declared, Model as _, Pipeline as _};
use lore_core::prelude::*;

#[derive(Pipeline)]
#[pipeline(extract = "users", connection = "warehouse")]
struct UsersPipeline {
    limit: i64,
    country: String,
}

impl Default for UsersPipeline {
    fn default() -> Self {
        UsersPipeline {
            limit: 500,
            country: "NL".into(),
        }
    }
}

impl PipelineDefinition for UsersPipeline {
    fn transformers(&self) -> Vec<Transformer> {
        vec![Transformer::EmailDomain {
            column: "email".into(),
        }]
    }

    fn split(&self) -> Split {
        Split::holdout(0.2, 0.1, 3)
    }

    fn encoders(&self) -> Vec<Encoder> {
        vec![Encoder::unique("EmailDomain(email)", 5)]
    }

    fn output(&self) -> OutputEncoder {
        OutputEncoder::Boolean {
            column: "has_subscription".into(),
        }
    }
}

#[derive(Model)]
#[model(pipeline = UsersPipeline)]
struct Buyers;

impl ModelDefinition for Buyers {
    fn estimator(&self) -> Estimator {
        Estimator::XGBoost(XGBoost::classifier().max_depth(4))
    }
}

const DECLARED: &str = r#"
name = "Buyers"

[pipeline.extract]
sql = "users"
connection = "warehouse"
params = { limit = 500, country = "NL" }

[[pipeline.transformers]]
type = "EmailDomain"
column = "email"

[pipeline.split]
type = "Holdout"
validation = 0.2
test = 0.1
seed = 3

[[pipeline.encoders]]
type = "Unique"
column = "EmailDomain(email)"
minimum_occurrences = 5

[pipeline.output]
type = "Boolean"
column = "has_subscription"

[estimator]
type = "XGBoost"
max_depth = 4
"#;

#[test]
fn derived_and_declared_specs_are_equal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("buyers.toml");
    std::fs::write(&path, DECLARED).unwrap();
    let declared = read_declared(&path).unwrap();
    let derived = Buyers.spec();
    assert_eq!(Buyers.name(), "Buyers");
    assert_eq!(derived, declared);
    assert_eq!(
        UsersPipeline::default().spec().extract.params["country"],
        "NL"
    );
}
