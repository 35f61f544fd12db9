//! The registry of a project's own transformers and encoders: Rust types registered by name when
//! the project's binary starts, so specs (TOML or Rust) name them like the built-in ones and
//! saved fittings find them again at prediction time.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// Builds a registered item from the `params` table of a spec.
type Build<T> = Arc<dyn Fn(&serde_json::Value) -> Result<Arc<T>> + Send + Sync>;

/// Named builders of one kind of item (transformers or encoders).
pub(crate) struct Registry<T: ?Sized + 'static> {
    kind: &'static str,
    builders: OnceLock<RwLock<BTreeMap<String, Build<T>>>>,
}

impl<T: ?Sized + 'static> Registry<T> {
    /// An empty registry of items called `kind` in messages ("transformer", "encoder").
    pub(crate) const fn new(kind: &'static str) -> Registry<T> {
        Registry {
            kind,
            builders: OnceLock::new(),
        }
    }

    fn builders(&self) -> &RwLock<BTreeMap<String, Build<T>>> {
        self.builders.get_or_init(Default::default)
    }

    /// Registers `S` under `name`, read from a spec's `params` with serde and turned into the
    /// trait object by `erase`. A second registration of a name replaces the first.
    pub(crate) fn register<S>(&self, name: &str, erase: fn(S) -> Arc<T>)
    where
        S: DeserializeOwned + 'static,
    {
        let kind = self.kind;
        let label = name.to_string();
        let build: Build<T> = Arc::new(move |params: &serde_json::Value| {
            serde_json::from_value::<S>(params.clone())
                .map(erase)
                .map_err(|e| Error::InvalidParam {
                    key: format!("{kind} {label}.params"),
                    message: e.to_string(),
                })
        });
        self.builders()
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_string(), build);
    }

    /// Whether `name` is registered in this program.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.builders()
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(name)
    }

    /// The item registered as `name`, built from `params`; an unknown name is an error listing
    /// the registered ones and saying how to register it.
    pub(crate) fn build(&self, name: &str, params: &serde_json::Value) -> Result<Arc<T>> {
        let build = {
            let builders = self
                .builders()
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            match builders.get(name) {
                Some(build) => Arc::clone(build),
                None => {
                    let known: Vec<&str> = builders.keys().map(String::as_str).collect();
                    let kind = self.kind;
                    return Err(Error::InvalidParam {
                        key: format!("{kind} {name}"),
                        message: format!(
                            "no custom {kind} `{name}` is registered in this program (registered: {}); \
                             a project's own {kind}s run in its binary, which registers them in \
                             src/{kind}s/mod.rs (`lore generate {kind} {name}` writes one)",
                            if known.is_empty() { "none".to_string() } else { known.join(", ") }
                        ),
                    });
                }
            }
        };
        build(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    trait Greeter: Send + Sync {
        fn greet(&self) -> String;
    }

    #[derive(serde::Deserialize)]
    struct Hello {
        #[serde(default)]
        name: String,
    }

    impl Greeter for Hello {
        fn greet(&self) -> String {
            format!("hello {}", self.name)
        }
    }

    #[test]
    fn builds_registered_items_from_params_and_names_unknown_ones() {
        static GREETERS: Registry<dyn Greeter> = Registry::new("transformer");
        GREETERS.register::<Hello>("Hello", |h| Arc::new(h));
        assert!(GREETERS.contains("Hello"));
        let hello = GREETERS
            .build("Hello", &serde_json::json!({ "name": "Ann" }))
            .unwrap();
        assert_eq!(hello.greet(), "hello Ann");
        let bad = GREETERS
            .build("Hello", &serde_json::json!({ "name": 3 }))
            .err()
            .unwrap()
            .to_string();
        holds(&bad, &["transformer Hello.params"]);
        let unknown = GREETERS
            .build("Hullo", &serde_json::json!({}))
            .err()
            .unwrap()
            .to_string();
        holds(
            &unknown,
            &[
                "`Hullo`",
                "registered: Hello",
                "lore generate transformer Hullo",
            ],
        );
    }
}
