//! A category as the mean of the label over its training rows (`Target`), as scikit-learn's
//! `TargetEncoder`: smoothed toward the overall mean, one feature per class for several classes,
//! and cross-fitted, so a training row's code never holds its own label.

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::encoders::contract::{reads, stem, Fitted, Learner, Spec, Start};
use crate::encoders::{Encoder, FittedEncoder, FittedOutput, OutputEncoder, RawLabels, Task};
use crate::error::{Error, Result};
use crate::frame::{self, TextKey};

fn five() -> usize {
    5
}

/// A category coded as the mean label of its training rows, pulled toward the mean of all
/// training rows the fewer rows it has: for yes/no labels the share of yes, for several classes
/// one feature per class (its share), for numbers the mean. Training rows are coded
/// cross-fitted: split into `folds` by a seeded hash of their position, each row's code is
/// learned from the other folds only, so an estimator never sees a row's own label in its
/// features. Unseen and null categories get the overall mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The column.
    pub column: String,
    /// How many rows of weight the overall mean has against a category's own mean; none
    /// (the default) picks it per category from the label's variance inside and across
    /// categories, as scikit-learn's `smooth = "auto"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smooth: Option<f64>,
    /// How many folds training rows are cross-fitted in.
    #[serde(default = "five")]
    pub folds: usize,
    /// Which fold each training row falls in.
    #[serde(default)]
    pub seed: u64,
}

/// A fitted [`Target`]: every training category's codes, then the codes of unseen and null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedTarget {
    /// The column.
    pub column: String,
    /// The classes its features stand for, one feature each; empty for one feature (a yes/no
    /// or number label).
    pub classes: Vec<String>,
    /// The training categories; a category's codes are row `i` of `codes`.
    pub categories: Vec<String>,
    /// `categories.len() + 1` rows of one code per feature, the last for unseen and null.
    pub codes: Vec<f32>,
    /// How many folds training rows were cross-fitted in.
    pub folds: usize,
    /// Which fold each training row fell in.
    pub seed: u64,
    /// The codes of each fold's training rows, learned from the other folds (`folds` blocks
    /// shaped like `codes`); used only while fitting, so not saved.
    #[serde(skip)]
    pub fold_codes: Vec<f32>,
}

/// A category's training rows: how many, and the sum and sum of squares of each target.
#[derive(Debug, Clone, Default)]
struct Sums {
    n: f64,
    sum: Vec<f64>,
    squares: Vec<f64>,
}

impl Sums {
    fn add(&mut self, targets: usize, label: Label) {
        self.sum.resize(targets, 0.0);
        self.squares.resize(targets, 0.0);
        self.n += 1.0;
        match label {
            Label::Number(y) => {
                self.sum[0] += y;
                self.squares[0] += y * y;
            }
            Label::Class(k) => {
                self.sum[k] += 1.0;
                self.squares[k] += 1.0;
            }
        }
    }

    fn merge(&mut self, other: &Sums) {
        let targets = self.sum.len().max(other.sum.len());
        self.sum.resize(targets, 0.0);
        self.squares.resize(targets, 0.0);
        self.n += other.n;
        for (k, (s, q)) in other.sum.iter().zip(&other.squares).enumerate() {
            self.sum[k] += s;
            self.squares[k] += q;
        }
    }
}

/// One training row's label: a number, or the class learned `k`-th.
#[derive(Debug, Clone, Copy)]
enum Label {
    Number(f64),
    Class(usize),
}

#[derive(Debug)]
struct LearnTarget {
    spec: Target,
    output: OutputEncoder,
    /// Class names in the order first seen (several classes only).
    classes: Vec<String>,
    /// Per category, its sums in each fold.
    sums: PlHashMap<String, Vec<Sums>>,
    /// The sums of rows with no category, in each fold: part of the overall mean.
    nulls: Vec<Sums>,
    /// Training rows seen so far: the next row's position.
    seen: u64,
}

reads!("Target": Target, FittedTarget);

impl Spec for Target {
    fn learner(&self, start: &Start<'_>) -> Result<Box<dyn Learner>> {
        start.at_least_one("folds", self.folds)?;
        if self.folds == 1 {
            return Err(Error::InvalidParam {
                key: format!("{}.folds", start.by),
                message: "must be at least 2: training rows are coded from the other folds".into(),
            });
        }
        if let Some(smooth) = self.smooth.filter(|s| !(s.is_finite() && *s >= 0.0)) {
            return Err(Error::InvalidParam {
                key: format!("{}.smooth", start.by),
                message: format!("{smooth} is not a weight of 0 or more; leave it out for auto"),
            });
        }
        if matches!(start.output, OutputEncoder::Cluster {}) {
            return Err(Error::InvalidParam {
                key: start.by.to_string(),
                message: "learns from the label, and this model has none; give the model an \
                          output column (Boolean, Unique or Pass), or use Unique or Hash"
                    .into(),
            });
        }
        Ok(Box::new(LearnTarget {
            spec: self.clone(),
            output: start.output.clone(),
            classes: Vec::new(),
            sums: PlHashMap::new(),
            nulls: vec![Sums::default(); self.folds],
            seen: 0,
        }))
    }
}

/// The fold of the training row at `position`: a seeded hash, so folds are even and a row's
/// fold depends on nothing but its position.
fn fold_of(seed: u64, position: u64, folds: usize) -> usize {
    // SplitMix64's finaliser.
    let mut z = seed ^ position.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((z ^ (z >> 31)) % folds as u64) as usize
}

impl Learner for LearnTarget {
    fn in_place(&self) -> bool {
        // It reads the label column too, which a copy of its own column would lack.
        true
    }

    fn learn(&mut self, df: &DataFrame, rows: Option<&[IdxSize]>, by: &str) -> Result<()> {
        let texts = frame::text(df, &self.spec.column, by)?;
        let labels = self.output.raw_labels(df)?;
        let mut label_of = |r: usize| -> Label {
            match &labels {
                RawLabels::Numbers(y) => Label::Number(f64::from(y[r])),
                RawLabels::Classes(names) => {
                    let k = match self.classes.iter().position(|c| *c == names[r]) {
                        Some(k) => k,
                        None => {
                            self.classes.push(names[r].clone());
                            self.classes.len() - 1
                        }
                    };
                    Label::Class(k)
                }
            }
        };
        let folds = self.spec.folds;
        let all: Vec<IdxSize>;
        let rows = match rows {
            Some(rows) => rows,
            None => {
                all = (0..df.height() as IdxSize).collect();
                &all
            }
        };
        let mut keyed: PlHashMap<TextKey, Vec<Sums>> = PlHashMap::new();
        let mut pending = Vec::with_capacity(rows.len());
        for (key, r) in frame::keyed_text_rows(&texts, rows).zip(rows) {
            let label = label_of(*r as usize);
            let fold = fold_of(self.spec.seed, self.seen, folds);
            self.seen += 1;
            pending.push((key.map(|(k, _)| k), fold, label));
        }
        let targets = self.classes.len().max(1);
        for (key, fold, label) in pending {
            let Some(key) = key else {
                self.nulls[fold].add(targets, label);
                continue;
            };
            let cell = keyed
                .entry(key)
                .or_insert_with(|| vec![Sums::default(); folds]);
            cell[fold].add(targets, label);
        }
        for (key, cells) in keyed {
            let into = self
                .sums
                .entry(key.text())
                .or_insert_with(|| vec![Sums::default(); folds]);
            for (to, from) in into.iter_mut().zip(&cells) {
                to.merge(from);
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>, output: &FittedOutput) -> Result<FittedEncoder> {
        let (classes, order): (Vec<String>, Vec<usize>) = match output.task() {
            Task::MultiClass { .. } => {
                let names = output.class_names();
                // Each learned class's index among the fitted classes.
                let order = self
                    .classes
                    .iter()
                    .map(|c| names.iter().position(|n| n == c).unwrap_or(0))
                    .collect();
                (names, order)
            }
            _ => (Vec::new(), vec![0]),
        };
        let width = classes.len().max(1);
        let mut categories: Vec<(String, Vec<Sums>)> = self
            .sums
            .into_iter()
            .map(|(c, cells)| {
                let cells = cells
                    .into_iter()
                    .map(|s| in_order(s, &order, width))
                    .collect();
                (c, cells)
            })
            .collect();
        categories.sort_by(|a, b| a.0.cmp(&b.0));
        let folds = self.spec.folds;
        let smooth = self.spec.smooth;
        let nulls: Vec<Sums> = self
            .nulls
            .into_iter()
            .map(|s| in_order(s, &order, width))
            .collect();
        // The sums of every category but in fold `leave` (all of them when `None`).
        let without = |cells: &[Sums], leave: Option<usize>| {
            let mut total = Sums {
                n: 0.0,
                sum: vec![0.0; width],
                squares: vec![0.0; width],
            };
            for (f, s) in cells.iter().enumerate() {
                if Some(f) != leave {
                    total.merge(s);
                }
            }
            total
        };
        let block = |leave: Option<usize>| -> Vec<f32> {
            let per_category: Vec<Sums> = categories
                .iter()
                .map(|(_, cells)| without(cells, leave))
                .collect();
            let mut overall = without(&nulls, leave);
            per_category.iter().for_each(|s| overall.merge(s));
            let mut codes = Vec::with_capacity((per_category.len() + 1) * width);
            for s in &per_category {
                codes.extend(smoothed(s, &overall, smooth));
            }
            codes.extend((0..width).map(|k| mean(&overall, k) as f32));
            codes
        };
        let codes = block(None);
        let fold_codes = (0..folds).flat_map(|f| block(Some(f))).collect();
        Ok(FittedTarget {
            column: self.spec.column,
            classes,
            categories: categories.into_iter().map(|(c, _)| c).collect(),
            codes,
            folds,
            seed: self.spec.seed,
            fold_codes,
        }
        .into())
    }
}

/// `s` with its targets in the fitted classes' order (`order[k]`: where learned class `k` goes).
fn in_order(s: Sums, order: &[usize], width: usize) -> Sums {
    let mut sum = vec![0.0; width];
    let mut squares = vec![0.0; width];
    for (k, to) in order.iter().enumerate() {
        if let (Some(v), Some(q)) = (s.sum.get(k), s.squares.get(k)) {
            sum[*to] += v;
            squares[*to] += q;
        }
    }
    Sums {
        n: s.n,
        sum,
        squares,
    }
}

fn mean(s: &Sums, k: usize) -> f64 {
    if s.n > 0.0 {
        s.sum[k] / s.n
    } else {
        0.0
    }
}

fn variance(s: &Sums, k: usize) -> f64 {
    if s.n > 0.0 {
        (s.squares[k] / s.n - mean(s, k).powi(2)).max(0.0)
    } else {
        0.0
    }
}

/// A category's codes: its mean pulled toward the overall mean, by `smooth` rows of weight, or
/// (auto) by the share of the label's variance its own rows leave unexplained.
fn smoothed(s: &Sums, overall: &Sums, smooth: Option<f64>) -> Vec<f32> {
    (0..overall.sum.len())
        .map(|k| {
            let prior = mean(overall, k);
            if s.n == 0.0 {
                return prior as f32;
            }
            let code = match smooth {
                Some(m) => (s.sum[k] + m * prior) / (s.n + m),
                None => {
                    let spread = variance(overall, k) * s.n;
                    let weight = spread / (spread + variance(s, k));
                    if weight.is_finite() {
                        weight * mean(s, k) + (1.0 - weight) * prior
                    } else {
                        prior
                    }
                }
            };
            code as f32
        })
        .collect()
}

impl FittedTarget {
    /// Each row's codes, `codes_of(row, category)` giving them (category `categories.len()` for
    /// unseen and null), or `None` where there are none.
    fn encode_with<'a>(
        &'a self,
        df: &DataFrame,
        by: &str,
        codes_of: impl Fn(usize, usize) -> Option<&'a [f32]>,
    ) -> Result<Vec<f32>> {
        let width = self.width();
        let index: PlHashMap<TextKey, usize> = self
            .categories
            .iter()
            .enumerate()
            .map(|(i, c)| (TextKey::of(c), i))
            .collect();
        let texts = frame::text(df, &self.column, by)?;
        let mut out = Vec::with_capacity(df.height() * width);
        let mut missing = false;
        frame::each_keyed_text(&texts, |v| {
            let category = v
                .and_then(|(k, _)| index.get(&k).copied())
                .unwrap_or(self.categories.len());
            match codes_of(out.len() / width, category) {
                Some(codes) => out.extend_from_slice(codes),
                None => {
                    missing = true;
                    out.extend(std::iter::repeat_n(f32::NAN, width));
                }
            }
        });
        if missing {
            return Err(Error::Fitting(format!(
                "{by}: encoder Target({}) has no cross-fitted codes for training rows, which \
                 exist only while it is fitted; refit the model",
                self.column
            )));
        }
        Ok(out)
    }
}

impl Fitted for FittedTarget {
    fn width(&self) -> usize {
        self.classes.len().max(1)
    }

    fn features(&self) -> Vec<String> {
        let stem = stem("Target", &[&self.column]);
        match self.classes.is_empty() {
            true => vec![stem],
            false => self.classes.iter().map(|c| format!("{stem}={c}")).collect(),
        }
    }

    fn encode(&self, df: &DataFrame, by: &str) -> Result<Vec<f32>> {
        let width = self.width();
        self.encode_with(df, by, |_, c| self.codes.get(c * width..(c + 1) * width))
    }

    fn encode_training(&self, df: &DataFrame, first: u64, by: &str) -> Result<Vec<f32>> {
        let (width, rows) = (self.width(), self.categories.len() + 1);
        self.encode_with(df, by, |r, c| {
            let fold = fold_of(self.seed, first + r as u64, self.folds);
            let at = (fold * rows + c) * width;
            self.fold_codes.get(at..at + width)
        })
    }

    fn codes_training_apart(&self) -> bool {
        true
    }
}

/// Builders for Rust pipelines.
impl Encoder {
    /// `Target` of `column`, auto-smoothed, cross-fitted in five folds.
    pub fn target(column: impl Into<String>) -> Encoder {
        Target {
            column: column.into(),
            smooth: None,
            folds: five(),
            seed: 0,
        }
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoders::tests::{codes, same};
    use crate::testing::*;
    use proptest::prelude::*;

    /// `spec` fitted on `df` for a model predicting `output`.
    fn fit_for(spec: Target, df: &DataFrame, output: OutputEncoder) -> FittedEncoder {
        let fitted = output.fit(df).unwrap();
        Encoder::from(spec)
            .fit_rows(df, None, (&output, &fitted))
            .unwrap()
    }

    fn yes_no(column: &str) -> OutputEncoder {
        OutputEncoder::Boolean {
            column: column.into(),
        }
    }

    fn spec(smooth: Option<f64>) -> Target {
        Target {
            column: "c".into(),
            smooth,
            folds: 5,
            seed: 0,
        }
    }

    #[test]
    fn a_category_is_coded_by_its_mean_label_pulled_toward_the_overall_mean() {
        let df = df!(
            "c" => [Some("a"), Some("a"), Some("a"), Some("b"), None, Some("b")],
            "y" => [1, 1, 0, 0, 1, 0]
        )
        .unwrap();
        let f = fit_for(spec(Some(2.0)), &df, yes_no("y"));
        assert_eq!(f.features(), vec!["Target(c)"]);
        assert_eq!(f.width(), 1);
        let later = df!("c" => [Some("a"), Some("b"), Some("never seen"), None]).unwrap();
        // Overall mean 3/6; a: (2 + 2 × 0.5) / (3 + 2); b: (0 + 2 × 0.5) / (2 + 2).
        assert!(
            same(&codes(&f, &later), &[0.6, 0.25, 0.5, 0.5]),
            "{:?}",
            codes(&f, &later)
        );
        let exact = fit_for(spec(Some(0.0)), &df, yes_no("y"));
        assert!(same(&codes(&exact, &later), &[2.0 / 3.0, 0.0, 0.5, 0.5]));
    }

    #[test]
    fn auto_smoothing_keeps_a_category_whose_rows_agree_at_its_own_mean() {
        let df = df!("c" => ["a", "a", "b", "b", "b"], "y" => [10.0, 10.0, 1.0, 2.0, 3.0]).unwrap();
        let f = fit_for(spec(None), &df, OutputEncoder::Pass { column: "y".into() });
        let v = codes(&f, &df!("c" => ["a", "b"]).unwrap());
        // a has no variance of its own: its mean stands. b's mean 2 keeps the weight
        // var_y × n_b / (var_y × n_b + var_b) against the overall 5.2 (var_y 15.76, var_b 2/3).
        let w = 15.76 * 3.0 / (15.76 * 3.0 + 2.0 / 3.0);
        assert!(
            same(&v, &[10.0, (w * 2.0 + (1.0 - w) * 5.2) as f32]),
            "{v:?}"
        );
    }

    #[test]
    fn several_classes_get_a_feature_each_in_the_classes_order() {
        let df = df!("c" => ["a", "a", "b", "b"], "y" => ["z", "x", "y", "y"]).unwrap();
        let f = fit_for(
            spec(Some(0.0)),
            &df,
            OutputEncoder::Unique { column: "y".into() },
        );
        assert_eq!(
            f.features(),
            vec!["Target(c)=x", "Target(c)=y", "Target(c)=z"]
        );
        let v = codes(&f, &df!("c" => ["a", "b"]).unwrap());
        assert!(same(&v, &[0.5, 0.0, 0.5, 0.0, 1.0, 0.0]), "{v:?}");
    }

    #[test]
    fn a_model_without_labels_and_a_single_fold_are_refused() {
        let df = df!("c" => ["a"]).unwrap();
        refused(
            Encoder::target("c").fit(&df),
            &["Target(c)", "output column"],
        );
        let one = Target {
            folds: 1,
            ..spec(None)
        };
        refused(
            Encoder::from(one).start(&yes_no("y")),
            &["Target(c).folds", "at least 2"],
        );
    }

    #[test]
    fn training_codes_come_from_the_other_folds_and_are_not_saved() {
        let n = 200;
        let c: Vec<String> = (0..n).map(|i| format!("k{}", i % 4)).collect();
        let y: Vec<i32> = (0..n).map(|i| i32::from(i % 3 == 0)).collect();
        let df = df!("c" => &c, "y" => &y).unwrap();
        let f = fit_for(spec(Some(1.0)), &df, yes_no("y"));
        let training = f.encode_training(&df, 0).unwrap();
        assert_ne!(
            training,
            codes(&f, &df),
            "cross-fitted codes differ from the full ones"
        );
        // Encoded in two parts, the rows' positions keep their folds.
        let parts = [
            f.encode_training(&df.slice(0, 70), 0).unwrap(),
            f.encode_training(&df.slice(70, n), 70).unwrap(),
        ]
        .concat();
        assert_eq!(parts, training);
        let saved: FittedEncoder = round_trip(&f);
        assert_eq!(codes(&saved, &df), codes(&f, &df));
        refused(saved.encode_training(&df, 0), &["refit"]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Flipping one training row's label changes no code that row is trained with.
        #[test]
        fn a_training_row_s_code_never_depends_on_its_own_label(
            rows in prop::collection::vec((0u8..4, any::<bool>()), 2..60),
            pick in any::<prop::sample::Index>(),
            smooth in prop::option::of(0.0f64..10.0),
        ) {
            let frame = |rows: &[(u8, bool)]| {
                let c: Vec<String> = rows.iter().map(|(c, _)| format!("k{c}")).collect();
                let y: Vec<i32> = rows.iter().map(|(_, y)| i32::from(*y)).collect();
                df!("c" => &c, "y" => &y).unwrap()
            };
            let j = pick.index(rows.len());
            let mut flipped = rows.clone();
            flipped[j].1 = !flipped[j].1;
            let (a, b) = (frame(&rows), frame(&flipped));
            let output = || yes_no("y");
            let before = fit_for(spec(smooth), &a, output()).encode_training(&a, 0).unwrap();
            let after = fit_for(spec(smooth), &b, output()).encode_training(&b, 0).unwrap();
            prop_assert_eq!(before[j].to_bits(), after[j].to_bits());
        }
    }
}
