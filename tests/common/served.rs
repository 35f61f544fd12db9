//! What the serving tests share: one project with two fittings of the declared model, fitted
//! once a test binary, and the records they send.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::{json, Value};

use super::*;

/// The model the serving tests serve.
pub const MODEL: &str = "SubscribersDeclared";

/// A project with the 2,000-row sample and two fittings of the declared model (the second,
/// the latest, with another max_depth); their ids, oldest first.
pub struct Fitted {
    pub root: PathBuf,
    pub ids: [String; 2],
}

/// The project, fitted at the first call.
pub fn fitted() -> &'static Fitted {
    static FITTED: OnceLock<Fitted> = OnceLock::new();
    FITTED.get_or_init(|| {
        let dir = workdir(&format!("served-{}", env!("CARGO_CRATE_NAME")));
        ok(&lore(&dir, &["init", "serving", "--sample-rows", "2000"]));
        let root = dir.join("serving");
        let fit = |extra: &[&str]| -> String {
            let mut args = vec!["fit", MODEL, "--json"];
            args.extend_from_slice(extra);
            let out: Value = ok_json(&lore(&root, &args));
            out["fitting_id"].as_str().unwrap().to_string()
        };
        let first = fit(&[]);
        let second = fit(&["-p", "max_depth=5"]);
        Fitted {
            root,
            ids: [first, second],
        }
    })
}

/// A copy of the fitted project of its own, for a test that changes aliases.
pub fn own_copy(name: &str) -> PathBuf {
    let to = workdir(name).join("serving");
    let status = Command::new("cp")
        .args(["-r"])
        .arg(&fitted().root)
        .arg(&to)
        .status()
        .unwrap();
    assert!(status.success());
    to
}

/// The model's input columns, in their order.
pub const COLUMNS: [&str; 7] = [
    "first_name",
    "email",
    "signup_date",
    "last_order_at",
    "orders",
    "basket_value",
    "sessions_30d",
];

/// Two users, as JSON records.
pub fn records() -> Value {
    json!([
        {"first_name": "John", "email": "john1@gmail.com", "signup_date": "2015-01-02 10:00:00",
         "last_order_at": "2018-05-01 09:00:00", "orders": 12, "basket_value": 55.5, "sessions_30d": 4},
        {"first_name": "Ann", "email": "ann@nowhere.example", "signup_date": "2016-01-02 10:00:00",
         "last_order_at": "2018-05-01 09:00:00", "orders": 1, "basket_value": 5.5, "sessions_30d": 0}
    ])
}

/// The header of a JSON body.
pub const JSON: (&str, &str) = ("Content-Type", "application/json");

/// POSTs `body` as JSON.
pub fn post(port: u16, path: &str, body: &Value) -> Reply {
    request(port, "POST", path, &[JSON], body.to_string().as_bytes())
}

/// `n` records of the two users, as a JSON body.
pub fn many(n: usize) -> Vec<u8> {
    let two = records();
    let all: Vec<Value> = (0..n).map(|i| two[i % 2].clone()).collect();
    serde_json::to_vec(&all).unwrap()
}
