//! Encoders that learn from labels or hash: `Target` against `Unique` on a high-cardinality
//! column whose categories carry the signal, read whole and streamed.

use super::*;

/// 30,000 rows over 3,000 cities, ten each; a city's rows buy with a probability of its own
/// (spread over 0..1 by the city's number), drawn row by row.
const CITIES_SQL: &str = "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n \
     WHERE i < 29999)\nSELECT 'city-' || (i % 3000) AS city,\n\
     CASE WHEN (i * 7919) % 10007 % 1000 < (i % 3000) * 7907 % 1000 THEN 1 ELSE 0 END AS bought\n\
     FROM n\n";

/// A model of `bought` from `city` through `encoder` (a TOML table's body).
fn city_model(encoder: &str, extract: &str) -> String {
    format!(
        "[pipeline.extract]\nsql = \"cities\"\n{extract}\n[pipeline.split]\ntype = \"Holdout\"\n\n\
         [[pipeline.encoders]]\n{encoder}\ncolumn = \"city\"\n\n\
         [pipeline.output]\ntype = \"Boolean\"\ncolumn = \"bought\"\n\n\
         [estimator]\ntype = \"XGBoost\"\n"
    )
}

#[test]
fn target_beats_unique_on_cities_that_carry_the_signal_read_whole_or_streamed() {
    let root = project("target", "cities", 100);
    put(&root, "src/extracts/cities.sql", CITIES_SQL);
    let models = [
        ("ByCode", "by_code", "type = \"Unique\"", ""),
        ("ByMean", "by_mean", "type = \"Target\"", ""),
        (
            "ByMeanStreamed",
            "by_mean_streamed",
            "type = \"Target\"",
            "batch_rows = 7000\n",
        ),
        ("ByHash", "by_hash", "type = \"Hash\"\nbuckets = 4096", ""),
    ];
    let mut auc = std::collections::BTreeMap::new();
    for (model, file, encoder, extract) in models {
        put(
            &root,
            format!("src/models/{file}.toml"),
            city_model(encoder, extract),
        );
        let out: Value = ok_json(&lore(&root, &["-q", "fit", model, "--json"]));
        auc.insert(model, out["stats"]["test"]["auc"].as_f64().unwrap());
    }
    // Unique's codes and Hash's buckets are in no order the label follows; the city's mean is.
    assert!(auc["ByCode"] < 0.65 && auc["ByHash"] < 0.65, "{auc:?}");
    for target in ["ByMean", "ByMeanStreamed"] {
        assert!(auc[target] > auc["ByCode"] + 0.1, "{auc:?}");
    }
    put(&root, "rows.csv", "city\ncity-7\nnowhere\n");
    for model in ["ByMean", "ByHash"] {
        let predictions = ok(&lore(&root, &["predict", model, "--input", "rows.csv"]));
        assert_eq!(predictions.lines().count(), 3, "{model}: {predictions}");
    }
}
