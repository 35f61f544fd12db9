//! `--param KEY=VALUE` overrides: every scalar in a model's spec is a parameter, named by its
//! dotted path (`pipeline.extract.params.limit`) or any unique ending of it (`limit`).

use std::path::Path;

use serde_json::Value;

use super::ModelSpec;

use crate::error::{Error, Result};

/// Every parameter of `spec`, as (full dotted path, current value).
pub fn list(spec: &ModelSpec) -> Result<Vec<(String, Value)>> {
    let value = serde_json::to_value(spec).map_err(|e| Error::Data(e.to_string()))?;
    let mut out = Vec::new();
    walk(&value, String::new(), &mut out);
    Ok(out)
}

fn walk(value: &Value, path: String, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                // The search space describes parameters; it is not one.
                if k == "type" || (path.is_empty() && (k == "name" || k == "search")) {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(v, p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(v, format!("{path}.{i}"), out);
            }
        }
        scalar => out.push((path, scalar.clone())),
    }
}

/// The full path of parameter `key` of `spec` (see [`apply`]).
pub fn resolve_key(spec: &ModelSpec, key: &str) -> Result<String> {
    resolve(key, &list(spec)?, &spec.name)
}

/// The full path a key names: itself, or the one parameter whose path ends with `.KEY`.
fn resolve(key: &str, params: &[(String, Value)], model: &str) -> Result<String> {
    if params.iter().any(|(p, _)| p == key) {
        return Ok(key.to_string());
    }
    let suffix = format!(".{key}");
    let matches: Vec<&String> = params
        .iter()
        .map(|(p, _)| p)
        .filter(|p| p.ends_with(&suffix))
        .collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Error::UnknownParam {
            model: model.to_string(),
            key: key.to_string(),
            valid: params.iter().map(|(p, _)| p.clone()).collect(),
        }),
        many => Err(Error::InvalidParam {
            key: key.to_string(),
            message: format!(
                "matches several parameters ({}); give the full path",
                many.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

/// Parses `raw` as the type of `current`.
fn cast(key: &str, raw: &str, current: &Value) -> Result<Value> {
    let bad = |expected: &str| Error::InvalidParam {
        key: key.to_string(),
        message: format!("`{raw}` is not {expected}"),
    };
    Ok(match current {
        Value::Bool(_) => Value::Bool(raw.parse::<bool>().map_err(|_| bad("true or false"))?),
        Value::Number(n) if n.is_f64() => {
            serde_json::Number::from_f64(raw.parse::<f64>().map_err(|_| bad("a number"))?)
                .map(Value::Number)
                .ok_or_else(|| bad("a finite number"))?
        }
        Value::Number(n) if n.is_u64() => Value::from(
            raw.parse::<u64>()
                .map_err(|_| bad("a whole number of 0 or more"))?,
        ),
        Value::Number(_) => Value::from(raw.parse::<i64>().map_err(|_| bad("a whole number"))?),
        // An unset optional parameter takes whatever JSON the value spells (a number, true/false).
        Value::Null => serde_json::from_str::<Value>(raw)
            .ok()
            .filter(|v| !v.is_object() && !v.is_array())
            .unwrap_or_else(|| Value::String(raw.to_string())),
        _ => Value::String(raw.to_string()),
    })
}

/// A copy of `spec` with each `KEY=VALUE` applied, cast to the parameter's type and re-validated.
pub fn apply(spec: &ModelSpec, overrides: &[String]) -> Result<ModelSpec> {
    if overrides.is_empty() {
        return Ok(spec.clone());
    }
    let params = list(spec)?;
    let mut value = serde_json::to_value(spec).map_err(|e| Error::Data(e.to_string()))?;
    for item in overrides {
        let (key, raw) = item.split_once('=').ok_or_else(|| Error::InvalidParam {
            key: item.clone(),
            message: "expected KEY=VALUE, such as max_depth=4".into(),
        })?;
        let path = resolve(key.trim(), &params, &spec.name)?;
        let current = params
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null);
        let new = cast(&path, raw.trim(), &current)?;
        let mut slot = &mut value;
        for part in path.split('.') {
            slot = match slot {
                Value::Object(map) => map.get_mut(part),
                Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
                _ => None,
            }
            .ok_or_else(|| Error::InvalidParam {
                key: path.clone(),
                message: "cannot be set".into(),
            })?;
        }
        *slot = new;
    }
    serde_json::from_value(value).map_err(|e| Error::InvalidParam {
        key: overrides.join(" "),
        message: e.to_string(),
    })
}

/// `e` blamed on where the value at fault came from: a `KEY=VALUE` of `overrides` (the command
/// line's `--param`) when it set that parameter, else the declared model's TOML at `declared`
/// (see [`super::in_declared`]); Rust models' errors are left as they are.
pub fn blamed(spec: &ModelSpec, overrides: &[String], declared: Option<&Path>, e: Error) -> Error {
    if let Error::InvalidParam { key, message } = &e {
        let given = overrides.iter().find(|item| {
            item.split_once('=').is_some_and(|(given, _)| {
                resolve_key(spec, given.trim()).is_ok_and(|full| {
                    *key == full
                        || key
                            .strip_prefix(full.as_str())
                            .is_some_and(|r| r.starts_with('.'))
                })
            })
        });
        if let Some(item) = given {
            return Error::InvalidParam {
                key: format!("{key}, set by --param {item}"),
                message: message.clone(),
            };
        }
    }
    match declared {
        Some(path) => super::in_declared(path, e),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoders::{Encoder, OutputEncoder};
    use crate::estimators::{Estimator, XGBoost};
    use crate::io::ExtractSpec;
    use crate::pipelines::{PipelineSpec, Split};
    use crate::testing::*;

    fn spec() -> ModelSpec {
        ModelSpec {
            name: "M".into(),
            pipeline: PipelineSpec {
                extract: ExtractSpec::new("users").param("limit", 100),
                transformers: vec![],
                split: Split::holdout(0.1, 0.1, 1),
                encoders: vec![Encoder::Discrete(crate::encoders::bins::Discrete {
                    column: "x".into(),
                    bins: 10,
                })],
                output: OutputEncoder::Boolean { column: "y".into() },
            },
            estimator: Estimator::XGBoost(XGBoost::default()),
            scoring: None,
            search: Default::default(),
            checks: None,
        }
    }

    #[test]
    fn short_and_full_keys_are_cast_to_their_type() {
        let s = apply(
            &spec(),
            &[
                "limit=5".into(),
                "estimator.max_depth=6".into(),
                "learning_rate=0.1".into(),
                "seed=9".into(),
            ],
        );
        refused(s, &["several", "pipeline.split.seed", "estimator.seed"]);
        let s = apply(
            &spec(),
            &[
                "limit=5".into(),
                "max_depth=6".into(),
                "learning_rate=0.1".into(),
                "split.seed=9".into(),
            ],
        )
        .unwrap();
        assert_eq!(s.pipeline.extract.params["limit"], serde_json::json!(5));
        let Estimator::XGBoost(x) = &s.estimator else {
            panic!("the spec has an XGBoost estimator")
        };
        assert_eq!((x.max_depth, x.learning_rate), (6, 0.1));
        assert_eq!(s.pipeline.split, Split::holdout(0.1, 0.1, 9));
    }

    #[test]
    fn unknown_keys_list_the_valid_ones_and_bad_values_say_why() {
        let e = apply(&spec(), &["depth=3".into()]).unwrap_err().to_string();
        holds(
            &e,
            &[
                "`depth`",
                "did you mean `estimator.max_depth`?",
                "the estimator's: ",
                "the extract's: limit",
            ],
        );
        refused(
            apply(&spec(), &["max_depth=deep".into()]),
            &["estimator.max_depth", "whole number"],
        );
        refused(apply(&spec(), &["bins=-1".into()]), &["bins"]);
    }

    #[test]
    fn a_bad_value_from_the_command_line_is_blamed_on_it_not_on_the_toml() {
        let e = || Error::InvalidParam {
            key: "estimator.learning_rate".into(),
            message: "must be above 0".into(),
        };
        let dir = tempfile::tempdir().unwrap();
        let declared = dir.path().join("m.toml");
        let toml = "[estimator]\ntype = \"XGBoost\"\nlearning_rate = 0.3\n";
        std::fs::write(&declared, toml).unwrap();
        let given = ["learning_rate=0".to_string()];
        let blamed_here = blamed(&spec(), &given, Some(&declared), e()).to_string();
        holds(
            &blamed_here,
            &["--param learning_rate=0", "must be above 0"],
        );
        assert!(!blamed_here.contains("line"), "{blamed_here}");
        let in_toml = blamed(&spec(), &[], Some(&declared), e()).to_string();
        holds(&in_toml, &["m.toml", "line 3"]);
    }
}
