//! The feedback loop on the sample project: `lore api` logs 1,000 predictions, the true labels of
//! 500 of them come back through `POST /models/{name}/feedback`, `lore evaluate --feedback`
//! measures the served fitting on them, and `lore retrain` decides, records, and (when it
//! promotes) the running server answers with the challenger without a restart.

use super::*;
use serde_json::json;

const MODEL: &str = "SubscribersDeclared";

/// `POST path` with a JSON body, answering the status and the JSON body.
fn post(port: u16, path: &str, body: &Value) -> (u16, Value) {
    http(port, "POST", path, &body.to_string())
}

/// The fitting id the server answers a prediction of `record` with.
fn served_by(port: u16, record: &Value) -> String {
    let (status, answer) = post(port, &format!("/models/{MODEL}/predict"), record);
    assert_eq!(status, 200, "{answer}");
    answer["fitting_id"].as_str().unwrap().to_string()
}

#[test]
fn feedback_evaluates_and_retrains_the_served_model_and_a_promotion_is_served() {
    let root = sample_project("looped", 12000);
    let fitted = ok_json(&lore(&root, &["fit", MODEL, "-p", "limit=10000", "--json"]));
    let champion = fitted["fitting_id"].as_str().unwrap().to_string();

    // Production: the next 1,000 users of the table, their labels kept back.
    ok(&lore(
        &root,
        &["extract", "users", "-p", "limit=11000", "-o", "all.json"],
    ));
    let all: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(root.join("all.json")).unwrap()).unwrap();
    let production = &all[10_000..];
    let truth: Vec<Value> = production
        .iter()
        .map(|r| r["has_subscription"].clone())
        .collect();
    let records: Vec<Value> = production
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.as_object_mut().unwrap().remove("has_subscription");
            r
        })
        .collect();

    put(&root, "config/api.toml", "log_predictions = true\n");
    let (_server, port) = api(&root, &["--refresh", "1"]);
    let mut ids = Vec::new();
    for chunk in records.chunks(100) {
        let (status, answer) = post(port, &format!("/models/{MODEL}/predict"), &json!(chunk));
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["fitting_id"], champion.as_str());
        let got: Vec<String> = serde_json::from_value(answer["prediction_ids"].clone()).unwrap();
        ids.extend(got);
    }
    assert_eq!(ids.len(), 1000);
    let written = (0..100).any(|_| {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        let done = text.contains("lore_prediction_log_entries_total{outcome=\"written\"} 1000");
        if !done {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        done
    });
    assert!(written, "the 1,000 predictions logged within 10 s");

    // The true labels of every other prediction.
    let feedback: Vec<Value> = (0..1000)
        .step_by(2)
        .map(|i| json!({"prediction_id": ids[i], "label": truth[i]}))
        .collect();
    let path = format!("/models/{MODEL}/feedback");
    let (status, answer) = post(port, &path, &json!({"feedback": feedback, "by": "e2e"}));
    assert_eq!((status, &answer["stored"]), (200, &json!(500)), "{answer}");
    let (status, answer) = post(port, &path, &json!({"prediction_id": "nope", "label": 1}));
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer.to_string().contains("no logged prediction"),
        "{answer}"
    );
    let (status, _) = post(
        port,
        "/models/Nothing/feedback",
        &json!({"prediction_id": ids[0], "label": 1}),
    );
    assert_eq!(status, 404);
    // Sent again, the latest word counts: one row, its label flipped, then flipped back.
    let flipped = match &truth[0] {
        Value::Bool(b) => json!(!b),
        n => json!(1 - n.as_i64().unwrap()),
    };
    let (status, _) = post(
        port,
        &path,
        &json!({"prediction_id": ids[0], "label": flipped}),
    );
    assert_eq!(status, 200);
    ok(&lore(&root, &["feedback", "--export", "feedback.json"]));
    let listed: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(root.join("feedback.json")).unwrap())
            .unwrap();
    assert_eq!(listed.len(), 500);
    assert_eq!(listed.iter().filter(|r| r["sent_by"] == "api").count(), 1);
    let id0 = ids[0].as_str();
    let label = &listed.iter().find(|r| r["feedback_id"] == id0).unwrap()["label"];
    assert_eq!(label.as_str().unwrap(), flipped.to_string());
    // For a model, the export is its labelled rows: inputs and the column it predicts.
    ok(&lore(
        &root,
        &["feedback", MODEL, "--export", "labelled.json"],
    ));
    let rows: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(root.join("labelled.json")).unwrap())
            .unwrap();
    assert_eq!(rows.len(), 500);
    let row = rows
        .iter()
        .find(|r| r["feedback_id"] == ids[0].as_str())
        .unwrap();
    assert_eq!(
        (&row["has_subscription"], &row["orders"]),
        (&flipped, &records[0]["orders"])
    );
    let truth0 = truth[0].to_string();
    ok(&lore(
        &root,
        &[
            "feedback",
            "add",
            MODEL,
            "--prediction",
            id0,
            "--label",
            &truth0,
            "--by",
            "ana",
        ],
    ));
    prints(&root, &["feedback", MODEL], &["SENT AT", "ana", id0]);
    refuses(
        &root,
        &[
            "feedback",
            "add",
            MODEL,
            "--prediction",
            "nope",
            "--label",
            "1",
        ],
        &["no logged prediction of SubscribersDeclared has the id `nope`"],
    );

    // Live accuracy of what is served, recorded.
    let live = ok_json(&lore(&root, &["evaluate", MODEL, "--feedback", "--json"]));
    assert_eq!(live["fitting_id"], champion.as_str());
    assert_eq!(live["stats"]["rows"], 500, "{live}");
    assert!(live["stats"]["auc"].as_f64().unwrap() > 0.5, "{live}");
    let runs = ok_json(&lore(
        &root,
        &["runs", "--where", "kind = 'evaluate'", "--json"],
    ));
    assert_eq!(items(&runs).len(), 1);

    // A margin no challenger can win by: production stays, the decision is recorded.
    let kept = ok_json(&lore(
        &root,
        &[
            "retrain",
            MODEL,
            "--promote-if-better",
            "--margin",
            "1",
            "--json",
        ],
    ));
    assert_eq!(
        (&kept["wins"], &kept["promoted"]),
        (&json!(false), &json!(false)),
        "{kept}"
    );
    assert_eq!(kept["champion"], champion.as_str());
    let [learned, held] = [&kept["feedback_rows"][0], &kept["feedback_rows"][1]];
    assert_eq!(learned.as_u64().unwrap() + held.as_u64().unwrap(), 500);
    assert!(kept["test"]["champion"]["score"].is_number(), "{kept}");
    assert!(
        kept["feedback"]["challenger"]["score"].is_number(),
        "{kept}"
    );
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(served_by(port, &records[0]), champion);

    // A margin that lets a challenger a little worse win: promoted, and served without a restart.
    let promoted = ok_json(&lore(
        &root,
        &[
            "retrain",
            MODEL,
            "--promote-if-better",
            "--margin=-1",
            "--json",
        ],
    ));
    assert_eq!(promoted["promoted"], true, "{promoted}");
    let challenger = promoted["challenger"].as_str().unwrap().to_string();
    assert_ne!(challenger, champion);
    let served = (0..100).any(|_| {
        let now = served_by(port, &records[0]) == challenger;
        if !now {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        now
    });
    assert!(
        served,
        "the server answers with the promoted fitting within 20 s"
    );
    let runs = ok_json(&lore(
        &root,
        &[
            "runs",
            "--where",
            "kind = 'retrain' and metrics.promoted = true",
            "--json",
        ],
    ));
    assert_eq!(items(&runs).len(), 1, "{runs}");
    let listed = ok(&lore(&root, &["runs", "--kind", "retrain"]));
    assert_eq!(listed.matches(" retrain ").count(), 2, "{listed}");
    refuses(
        &root,
        &["retrain", MODEL, "--since", "2099-01-01"],
        &["has no feedback to retrain with in that time"],
    );
}
