//! Output encoders: how the column to predict becomes labels for an estimator, and how its
//! predictions become answers again. Boolean gives a binary classifier, Unique a multi-class one,
//! Pass a regression, and Cluster (no column) a clustering model that finds its own groups.

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::yes_no;
use crate::error::{Error, Result};
use crate::frame;

/// Most classes a Unique output may have: beyond this the column is more likely an id or a
/// number to predict (Pass) than a set of classes.
pub const MAX_CLASSES: usize = 1000;

/// What an estimator learns to predict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Task {
    /// Yes or no: the probability of yes for each row.
    Binary,
    /// One of several classes: a probability for each class for each row.
    MultiClass {
        /// How many classes.
        classes: usize,
    },
    /// A number for each row.
    Regression,
    /// Groups the model finds in the rows, without labels: for each row its cluster, its
    /// squared distance to the cluster's centre and its (centroid) silhouette.
    Clustering,
}

impl Task {
    /// How many numbers an estimator predicts for each row.
    pub fn width(&self) -> usize {
        match self {
            Task::MultiClass { classes } => *classes,
            Task::Binary | Task::Regression => 1,
            Task::Clustering => 3,
        }
    }

    /// The task's name, as users call it.
    pub fn name(&self) -> &'static str {
        match self {
            Task::Binary => "binary classification",
            Task::MultiClass { .. } => "multi-class classification",
            Task::Regression => "regression",
            Task::Clustering => "clustering",
        }
    }
}

/// How the column to predict becomes labels, named in specs by its `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum OutputEncoder {
    /// A yes/no column (0/1, true/false, yes/no): labels 0 and 1, answers true when p >= 0.5.
    Boolean {
        /// The column to predict.
        column: String,
    },
    /// A column of classes (texts or whole numbers): labels 0..k in the classes' sorted order,
    /// answers the most probable class.
    Unique {
        /// The column to predict.
        column: String,
    },
    /// A number to predict as it is (regression).
    Pass {
        /// The column to predict.
        column: String,
    },
    /// No column: a clustering estimator (KMeans) finds groups in the features.
    Cluster {},
}

/// An output encoder with what it learned from the rows of a fit: the classes of a Unique output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum FittedOutput {
    /// See [`OutputEncoder::Boolean`].
    Boolean {
        /// The column to predict.
        column: String,
    },
    /// See [`OutputEncoder::Unique`].
    Unique {
        /// The column to predict.
        column: String,
        /// The classes, label 0 first: numbers for a column of numbers, texts otherwise.
        classes: Vec<serde_json::Value>,
    },
    /// See [`OutputEncoder::Pass`].
    Pass {
        /// The column to predict.
        column: String,
    },
    /// See [`OutputEncoder::Cluster`].
    Cluster {},
}

/// Every row's label as [`OutputEncoder::raw_labels`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum RawLabels {
    /// One number a row: 0/1 for a yes/no output, the value for a number.
    Numbers(Vec<f32>),
    /// One class name a row.
    Classes(Vec<String>),
}

/// An output encoder learning from batches of rows.
#[derive(Debug, Clone)]
pub struct OutputState {
    spec: OutputEncoder,
    /// The classes seen so far, by their text.
    classes: std::collections::BTreeMap<String, serde_json::Value>,
}

/// The text a class is looked up by, the same whether its column holds numbers or texts.
fn number_key(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn class_key(class: &serde_json::Value) -> String {
    match class {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.as_f64().map(number_key).unwrap_or_default(),
        other => other.to_string(),
    }
}

/// The class of `key` as a value to save and answer with: a number where it is one.
fn number_value(x: f64) -> serde_json::Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        serde_json::Value::from(x as i64)
    } else {
        serde_json::Value::from(x)
    }
}

impl OutputEncoder {
    /// The column to predict; empty for Cluster, which reads none.
    pub fn column(&self) -> &str {
        match self {
            OutputEncoder::Boolean { column }
            | OutputEncoder::Unique { column }
            | OutputEncoder::Pass { column } => column,
            OutputEncoder::Cluster {} => "",
        }
    }

    /// Its type name, as written in specs.
    pub fn kind(&self) -> &'static str {
        match self {
            OutputEncoder::Boolean { .. } => "Boolean",
            OutputEncoder::Unique { .. } => "Unique",
            OutputEncoder::Pass { .. } => "Pass",
            OutputEncoder::Cluster {} => "Cluster",
        }
    }

    /// Whether it predicts classes (Boolean, Unique) rather than numbers (Pass) or clusters.
    pub fn is_categorical(&self) -> bool {
        matches!(
            self,
            OutputEncoder::Boolean { .. } | OutputEncoder::Unique { .. }
        )
    }

    /// `Boolean(column)`, as errors name it.
    fn by(&self) -> String {
        format!("output encoder {}({})", self.kind(), self.column())
    }

    /// Starts learning from batches of rows.
    pub fn start(&self) -> OutputState {
        OutputState {
            spec: self.clone(),
            classes: Default::default(),
        }
    }

    /// Learns from every row of `df`: the classes of a Unique output. Classes are learned from
    /// every split, so a class rare enough to miss the training rows still has a label.
    pub fn fit(&self, df: &DataFrame) -> Result<FittedOutput> {
        let mut state = self.start();
        state.update(df)?;
        state.finish()
    }

    /// Every row's label before the classes are known, for encoders that learn from labels in
    /// the same pass as the output: 0/1 for Boolean, the number for Pass, the class's name for
    /// Unique (as [`FittedOutput::class_names`] names it).
    pub fn raw_labels(&self, df: &DataFrame) -> Result<RawLabels> {
        Ok(match self {
            OutputEncoder::Boolean { column } => RawLabels::Numbers(
                FittedOutput::Boolean {
                    column: column.clone(),
                }
                .labels(df)?,
            ),
            OutputEncoder::Pass { column } => RawLabels::Numbers(
                FittedOutput::Pass {
                    column: column.clone(),
                }
                .labels(df)?,
            ),
            OutputEncoder::Unique { column } => {
                let by = self.by();
                let numeric = frame::column(df, column, &by)?
                    .dtype()
                    .is_primitive_numeric();
                let mut keys = Vec::with_capacity(df.height());
                if numeric {
                    frame::each_number(df, column, &by, None, |v| {
                        keys.push(v.map(number_key).unwrap_or_default())
                    })?;
                } else {
                    keys.extend(
                        frame::text(df, column, &by)?
                            .iter()
                            .map(|v| v.unwrap_or_default().trim().to_string()),
                    );
                }
                RawLabels::Classes(keys)
            }
            OutputEncoder::Cluster {} => {
                return Err(Error::Data(
                    "a clustering model has no labels to learn from; encoders of labels need \
                     an output column (Boolean, Unique or Pass)"
                        .into(),
                ))
            }
        })
    }

    /// A label per row to split classes evenly by (`split.stratify_labels`).
    pub fn strata(&self, df: &DataFrame) -> Result<Vec<f32>> {
        if !self.is_categorical() {
            return Err(Error::InvalidParam {
                key: "pipeline.split.stratify_labels".into(),
                message: format!(
                    "{} has no classes to stratify; set it to false or predict classes \
                     (Boolean, Unique)",
                    self.by()
                ),
            });
        }
        self.fit(df)?.labels(df)
    }
}

impl OutputState {
    /// Learns from the rows of one batch.
    pub fn update(&mut self, df: &DataFrame) -> Result<()> {
        let OutputEncoder::Unique { column } = &self.spec else {
            return Ok(());
        };
        let by = self.spec.by();
        let numeric = frame::column(df, column, &by)?
            .dtype()
            .is_primitive_numeric();
        let mut missing = None;
        if numeric {
            let mut row = 0;
            frame::each_number(df, column, &by, None, |v| {
                match v.filter(|x| x.is_finite()) {
                    Some(x) => {
                        self.classes
                            .entry(number_key(x))
                            .or_insert_with(|| number_value(x));
                    }
                    None => {
                        missing.get_or_insert(row);
                    }
                }
                row += 1;
            })?;
        } else {
            for (row, v) in frame::text(df, column, &by)?.iter().enumerate() {
                match v.map(str::trim).filter(|v| !v.is_empty()) {
                    Some(v) if !self.classes.contains_key(v) => {
                        self.classes.insert(v.to_string(), v.into());
                    }
                    Some(_) => {}
                    None => {
                        missing.get_or_insert(row);
                    }
                }
            }
        }
        if let Some(row) = missing {
            return Err(Error::ColumnType {
                column: column.clone(),
                message: format!(
                    "row {}: {by} needs a class in every row but found nothing; filter such \
                     rows out in the extract",
                    row + 1
                ),
            });
        }
        if self.classes.len() > MAX_CLASSES {
            return Err(Error::ColumnType {
                column: column.clone(),
                message: format!(
                    "{by} found more than {MAX_CLASSES} classes; to predict a number use \
                     `type = \"Pass\"`"
                ),
            });
        }
        Ok(())
    }

    /// The fitted output.
    pub fn finish(self) -> Result<FittedOutput> {
        Ok(match self.spec {
            OutputEncoder::Boolean { column } => FittedOutput::Boolean { column },
            OutputEncoder::Pass { column } => FittedOutput::Pass { column },
            OutputEncoder::Cluster {} => FittedOutput::Cluster {},
            OutputEncoder::Unique { column } => {
                let mut classes: Vec<serde_json::Value> = self.classes.into_values().collect();
                if classes.len() < 2 {
                    return Err(Error::ColumnType {
                        column,
                        message: format!(
                            "output encoder Unique found {} class(es); a classifier needs at \
                             least two",
                            classes.len()
                        ),
                    });
                }
                if classes.iter().all(serde_json::Value::is_number) {
                    classes.sort_by(|a, b| {
                        let (a, b) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
                        a.total_cmp(&b)
                    });
                }
                FittedOutput::Unique { column, classes }
            }
        })
    }
}

impl FittedOutput {
    /// The column to predict; empty for Cluster, which reads none.
    pub fn column(&self) -> &str {
        match self {
            FittedOutput::Boolean { column }
            | FittedOutput::Unique { column, .. }
            | FittedOutput::Pass { column } => column,
            FittedOutput::Cluster {} => "",
        }
    }

    /// What an estimator learns from its labels.
    pub fn task(&self) -> Task {
        match self {
            FittedOutput::Boolean { .. } => Task::Binary,
            FittedOutput::Unique { classes, .. } => Task::MultiClass {
                classes: classes.len(),
            },
            FittedOutput::Pass { .. } => Task::Regression,
            FittedOutput::Cluster {} => Task::Clustering,
        }
    }

    /// The names of the classes, label 0 first (`false`, `true` for Boolean; none for Pass).
    pub fn class_names(&self) -> Vec<String> {
        match self {
            FittedOutput::Boolean { .. } => vec!["false".into(), "true".into()],
            FittedOutput::Unique { classes, .. } => classes.iter().map(class_key).collect(),
            FittedOutput::Pass { .. } | FittedOutput::Cluster {} => vec![],
        }
    }

    fn by(&self) -> String {
        let kind = match self {
            FittedOutput::Boolean { .. } => "Boolean",
            FittedOutput::Unique { .. } => "Unique",
            FittedOutput::Pass { .. } => "Pass",
            FittedOutput::Cluster {} => "Cluster",
        };
        format!("output encoder {kind}({})", self.column())
    }

    /// The labels of every row of `df`; a missing or unreadable label is an error naming the row.
    pub fn labels(&self, df: &DataFrame) -> Result<Vec<f32>> {
        let column = self.column();
        let by = self.by();
        let bad = |row: usize, message: String| Error::ColumnType {
            column: column.to_string(),
            message: format!("row {}: {by} {message}", row + 1),
        };
        let numeric = match self {
            FittedOutput::Cluster {} => false,
            _ => frame::column(df, column, &by)?
                .dtype()
                .is_primitive_numeric(),
        };
        match self {
            // Nothing to learn from: every row's label is 0, which a clustering estimator ignores.
            FittedOutput::Cluster {} => Ok(vec![0.0; df.height()]),
            FittedOutput::Boolean { .. } if numeric => {
                let mut labels = Vec::with_capacity(df.height());
                let mut wrong = None;
                frame::each_number(df, column, &by, None, |v| match v {
                    Some(x) if x == 0.0 || x == 1.0 => labels.push(x as f32),
                    _ => {
                        wrong.get_or_insert((labels.len(), v));
                        labels.push(0.0);
                    }
                })?;
                let found = |v: Option<f64>| v.map_or("nothing".into(), |x| format!("{x}"));
                match wrong {
                    None => Ok(labels),
                    Some((row, v)) => Err(bad(
                        row,
                        format!("needs 0/1 or true/false but found {}", found(v)),
                    )),
                }
            }
            FittedOutput::Boolean { .. } => frame::text(df, column, &by)?
                .iter()
                .enumerate()
                .map(|(row, v)| {
                    let v = v.unwrap_or_default();
                    yes_no(v)
                        .map(|yes| f32::from(u8::from(yes)))
                        .ok_or_else(|| {
                            bad(
                                row,
                                format!("needs 0/1 or true/false but found {:?}", v.trim()),
                            )
                        })
                })
                .collect(),
            FittedOutput::Pass { .. } => {
                let mut labels = Vec::with_capacity(df.height());
                let mut wrong = None;
                frame::each_number(df, column, &by, None, |v| match v {
                    Some(x) if x.is_finite() => labels.push(x as f32),
                    _ => {
                        wrong.get_or_insert(labels.len());
                        labels.push(0.0);
                    }
                })
                .map_err(|_| {
                    bad(
                        0,
                        "needs numbers; predict classes with Boolean or Unique".into(),
                    )
                })?;
                match wrong {
                    None => Ok(labels),
                    Some(row) => Err(bad(row, "needs a number but found nothing".into())),
                }
            }
            FittedOutput::Unique { classes, .. } => {
                let index: PlHashMap<String, f32> = classes
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (class_key(c), i as f32))
                    .collect();
                let unknown = |row: usize, found: &str| {
                    bad(
                        row,
                        format!(
                            "found {found:?}, which is not one of the {} classes it was fitted \
                             with ({})",
                            classes.len(),
                            self.class_names().join(", ")
                        ),
                    )
                };
                let mut labels = Vec::with_capacity(df.height());
                if numeric {
                    let mut wrong = None;
                    frame::each_number(df, column, &by, None, |v| {
                        let key = v.map(number_key).unwrap_or_default();
                        match index.get(&key) {
                            Some(label) => labels.push(*label),
                            None => {
                                wrong.get_or_insert((labels.len(), key));
                                labels.push(0.0);
                            }
                        }
                    })?;
                    if let Some((row, key)) = wrong {
                        return Err(unknown(row, &key));
                    }
                    return Ok(labels);
                }
                for (row, v) in frame::text(df, column, &by)?.iter().enumerate() {
                    let v = v.unwrap_or_default().trim();
                    labels.push(*index.get(v).ok_or_else(|| unknown(row, v))?);
                }
                Ok(labels)
            }
        }
    }

    /// The answer for one row's prediction: a probability (Boolean), one probability per class
    /// (Unique) or the number itself (Pass).
    pub fn decode(&self, prediction: &[f32]) -> serde_json::Value {
        let first = prediction.first().copied().unwrap_or(f32::NAN);
        match self {
            FittedOutput::Boolean { .. } => serde_json::Value::Bool(first >= 0.5),
            FittedOutput::Pass { .. } => serde_json::Value::from(f64::from(first)),
            // [cluster, squared distance, silhouette]: the answer is the cluster's number.
            FittedOutput::Cluster {} => serde_json::Value::from(first as i64),
            FittedOutput::Unique { classes, .. } => {
                let best = prediction
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(i, _)| i);
                classes.get(best).cloned().unwrap_or_default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn fit(spec: OutputEncoder, df: &DataFrame) -> FittedOutput {
        spec.fit(df).unwrap()
    }

    #[test]
    fn boolean_labels_name_the_bad_row() {
        let df = df!("y" => ["1", "false", "maybe"]).unwrap();
        refused(
            fit(OutputEncoder::Boolean { column: "y".into() }, &df).labels(&df),
            &["row 3", "maybe", "`y`"],
        );
    }

    #[test]
    fn unique_labels_classes_in_sorted_order_and_answers_the_most_probable() {
        let df = df!("plan" => ["pro", "free", "team", "free"]).unwrap();
        let out = fit(
            OutputEncoder::Unique {
                column: "plan".into(),
            },
            &df,
        );
        assert_eq!(out.task(), Task::MultiClass { classes: 3 });
        assert_eq!(out.labels(&df).unwrap(), vec![1.0, 0.0, 2.0, 0.0]);
        assert_eq!(out.decode(&[0.1, 0.2, 0.7]), serde_json::json!("team"));
        let back: FittedOutput = round_trip(&out);
        assert_eq!(back, out);
        let other = df!("plan" => ["pro", "gold"]).unwrap();
        refused(
            out.labels(&other),
            &["row 2", "\"gold\"", "free, pro, team"],
        );
    }

    #[test]
    fn unique_numbers_sort_as_numbers_and_match_their_text() {
        let df = df!("digit" => [10i64, 2, 9, 2]).unwrap();
        let out = fit(
            OutputEncoder::Unique {
                column: "digit".into(),
            },
            &df,
        );
        assert_eq!(out.class_names(), vec!["2", "9", "10"]);
        assert_eq!(out.labels(&df).unwrap(), vec![2.0, 0.0, 1.0, 0.0]);
        assert_eq!(out.decode(&[0.0, 0.0, 1.0]), serde_json::json!(10));
        let texts = df!("digit" => ["9", "10"]).unwrap();
        assert_eq!(out.labels(&texts).unwrap(), vec![1.0, 2.0]);
    }

    #[test]
    fn unique_needs_two_classes_and_a_class_in_every_row() {
        let spec = OutputEncoder::Unique { column: "y".into() };
        refused(
            spec.fit(&df!("y" => ["a", "a"]).unwrap()),
            &["at least two"],
        );
        refused(
            spec.fit(&df!("y" => [Some("a"), None, Some("b")]).unwrap()),
            &["row 2"],
        );
    }

    #[test]
    fn pass_labels_numbers_and_refuses_texts_and_stratifying() {
        let spec = OutputEncoder::Pass {
            column: "spend".into(),
        };
        let df = df!("spend" => [Some(1.5), None]).unwrap();
        let out = fit(spec.clone(), &df);
        assert_eq!(out.task(), Task::Regression);
        refused(out.labels(&df), &["row 2"]);
        assert_eq!(out.decode(&[2.5]), serde_json::json!(2.5));
        refused(spec.strata(&df), &["stratify_labels"]);
        refused(
            out.labels(&df!("spend" => ["a lot"]).unwrap()),
            &["needs numbers"],
        );
    }
}
