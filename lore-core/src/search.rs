//! Hyper-parameter search spaces and the strategies that propose trials from them: random,
//! grid and a tree-structured Parzen estimator (TPE). A space is declared with the model (a
//! `[search]` table in TOML, `ModelDefinition::search` in Rust), keyed by parameters as
//! `--param` names them.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// Where one parameter's values are drawn from, such as `{ log_uniform = [0.01, 0.3] }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Range {
    /// Any number between the two, evenly.
    Uniform([f64; 2]),
    /// Any positive number between the two, evenly on a log scale (learning rates, penalties).
    LogUniform([f64; 2]),
    /// A whole number from the first to the second, both included.
    Int([i64; 2]),
    /// One of the values listed.
    Choice(Vec<Value>),
}

/// A search space: each parameter (as `--param` names it) and its range.
pub type SearchSpace = BTreeMap<String, Range>;

/// How trials are proposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Each parameter drawn at random from its range.
    Random,
    /// Evenly spaced points of every range, their combinations visited in a seeded order.
    Grid,
    /// Tree-structured Parzen estimator: after a few random trials, values near those of the
    /// best trials are drawn more often than values near the rest.
    Tpe,
}

crate::choices::choices!(Strategy by "search-strategy" as "a search strategy" {
    Random => "random",
    Grid => "grid",
    Tpe => "tpe",
});

impl Range {
    /// Checks the range, naming `key` when it is empty or inverted.
    fn check(&self, key: &str) -> Result<()> {
        let bad = |message: String| {
            Err(Error::InvalidParam {
                key: format!("search.{key}"),
                message,
            })
        };
        match self {
            Range::Uniform([lo, hi]) if !(lo <= hi && lo.is_finite() && hi.is_finite()) => {
                bad(format!("[{lo}, {hi}] is not a range from low to high"))
            }
            Range::LogUniform([lo, hi]) if !(*lo > 0.0 && lo <= hi && hi.is_finite()) => bad(
                format!("[{lo}, {hi}] is not a range of positive numbers from low to high"),
            ),
            Range::Int([lo, hi]) if lo > hi => bad(format!("[{lo}, {hi}] runs backwards")),
            Range::Choice(values) if values.is_empty() => bad("lists no values".into()),
            _ => Ok(()),
        }
    }

    /// The range as an interval of the numbers TPE models: the logarithm for `log_uniform`,
    /// the index for `choice`.
    fn interval(&self) -> (f64, f64) {
        match self {
            Range::Uniform([lo, hi]) => (*lo, *hi),
            Range::LogUniform([lo, hi]) => (lo.ln(), hi.ln()),
            Range::Int([lo, hi]) => (*lo as f64 - 0.5, *hi as f64 + 0.5),
            Range::Choice(values) => (0.0, values.len() as f64),
        }
    }

    /// The parameter value at `x` of [`Range::interval`].
    fn value_at(&self, x: f64) -> Value {
        match self {
            Range::Uniform([lo, hi]) => number(x.clamp(*lo, *hi)),
            Range::LogUniform([lo, hi]) => number(x.exp().clamp(*lo, *hi)),
            Range::Int([lo, hi]) => Value::from((x.round() as i64).clamp(*lo, *hi)),
            Range::Choice(values) => {
                let i = (x.max(0.0) as usize).min(values.len() - 1);
                values[i].clone()
            }
        }
    }

    /// Where `value` lies in [`Range::interval`] (the middle of its cell for a choice).
    fn position(&self, value: &Value) -> f64 {
        match self {
            Range::Choice(values) => {
                values.iter().position(|v| v == value).unwrap_or(0) as f64 + 0.5
            }
            Range::LogUniform(_) => value.as_f64().unwrap_or(1.0).ln(),
            _ => value.as_f64().unwrap_or(0.0),
        }
    }

    /// `n` evenly spaced values (every one of a choice, every whole number when few).
    fn grid(&self, n: usize) -> Vec<Value> {
        let n = n.max(1);
        match self {
            Range::Choice(values) => values.clone(),
            Range::Int([lo, hi]) if ((hi - lo + 1) as usize) <= n => {
                (*lo..=*hi).map(Value::from).collect()
            }
            _ => {
                let (lo, hi) = match self {
                    Range::Int([lo, hi]) => (*lo as f64, *hi as f64),
                    _ => self.interval(),
                };
                let mut values: Vec<Value> = (0..n)
                    .map(|i| {
                        let t = if n == 1 {
                            0.5
                        } else {
                            i as f64 / (n - 1) as f64
                        };
                        self.value_at(lo + t * (hi - lo))
                    })
                    .collect();
                values.dedup();
                values
            }
        }
    }
}

/// `x` folded back into [lo, hi) at the edge it went past, so that draws near an edge stay
/// spread out instead of piling up on it.
fn reflect(x: f64, lo: f64, hi: f64) -> f64 {
    let width = hi - lo;
    if width <= 0.0 {
        return lo;
    }
    let mut t = (x - lo).rem_euclid(2.0 * width);
    if t >= width {
        t = 2.0 * width - t;
    }
    (lo + t).min(hi - 1e-9 * width)
}

/// A JSON number (rounded to 6 significant digits, so trials print and compare cleanly).
fn number(x: f64) -> Value {
    let rounded = format!("{x:.6e}").parse::<f64>().unwrap_or(x);
    serde_json::Number::from_f64(rounded).map_or(Value::Null, Value::Number)
}

/// Checks every range of `space`.
pub fn check(space: &SearchSpace) -> Result<()> {
    if space.is_empty() {
        return Err(Error::InvalidParam {
            key: "search".into(),
            message: "the model declares no search space; add a [search] table, such as \
                      max_depth = { int = [2, 8] }"
                .into(),
        });
    }
    space.iter().try_for_each(|(key, range)| range.check(key))
}

/// Trials TPE draws at random before it models the results.
const TPE_STARTUP: usize = 5;
/// The share of finished trials TPE counts as good.
const TPE_GAMMA: f64 = 0.25;
/// Candidates TPE draws from the good trials' density for each parameter, keeping the best.
const TPE_CANDIDATES: usize = 24;

/// Proposes the parameters of each trial.
pub struct Sampler {
    space: Vec<(String, Range)>,
    strategy: Strategy,
    rng: rand_pcg::Pcg64,
    grid: Vec<Vec<Value>>,
}

impl Sampler {
    /// A sampler of `space` for about `trials` trials, seeded.
    pub fn new(space: &SearchSpace, strategy: Strategy, trials: usize, seed: u64) -> Sampler {
        let space: Vec<(String, Range)> =
            space.iter().map(|(k, r)| (k.clone(), r.clone())).collect();
        let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
        let grid = match strategy {
            Strategy::Grid => {
                let continuous = space
                    .iter()
                    .filter(|(_, r)| !matches!(r, Range::Choice(_)))
                    .count()
                    .max(1);
                let fixed: usize = space
                    .iter()
                    .filter_map(|(_, r)| match r {
                        Range::Choice(v) => Some(v.len()),
                        _ => None,
                    })
                    .product();
                let per = ((trials as f64 / fixed.max(1) as f64)
                    .powf(1.0 / continuous as f64)
                    .ceil() as usize)
                    .max(2);
                let mut points: Vec<Vec<Value>> = vec![vec![]];
                for (_, range) in &space {
                    let values = range.grid(per);
                    points = points
                        .into_iter()
                        .flat_map(|p| {
                            values.iter().map(move |v| {
                                let mut p = p.clone();
                                p.push(v.clone());
                                p
                            })
                        })
                        .collect();
                }
                points.shuffle(&mut rng);
                points
            }
            Strategy::Random | Strategy::Tpe => Vec::new(),
        };
        Sampler {
            space,
            strategy,
            rng,
            grid,
        }
    }

    /// The parameters searched, in the order of each proposal's values.
    pub fn keys(&self) -> Vec<String> {
        self.space.iter().map(|(k, _)| k.clone()).collect()
    }

    /// The next trial's values, one per key, given the values and scores of the trials so far
    /// (a higher score is better; `None` for a failed trial). `None` when a grid is used up.
    pub fn propose(&mut self, done: &[(Vec<Value>, Option<f64>)]) -> Option<Vec<Value>> {
        match self.strategy {
            Strategy::Grid => (!self.grid.is_empty()).then(|| self.grid.remove(0)),
            Strategy::Random => Some(self.random()),
            Strategy::Tpe => {
                let scored: Vec<(&Vec<Value>, f64)> =
                    done.iter().filter_map(|(v, s)| s.map(|s| (v, s))).collect();
                if scored.len() < TPE_STARTUP {
                    return Some(self.random());
                }
                Some(self.tpe(scored))
            }
        }
    }

    fn random(&mut self) -> Vec<Value> {
        let rng = &mut self.rng;
        self.space
            .iter()
            .map(|(_, range)| {
                let (lo, hi) = range.interval();
                let x = if hi > lo {
                    rng.random_range(lo..hi)
                } else {
                    lo
                };
                range.value_at(x)
            })
            .collect()
    }

    /// Each parameter on its own: draw candidates near the good trials' values and keep the one
    /// most likely under the good trials relative to the rest.
    fn tpe(&mut self, mut scored: Vec<(&Vec<Value>, f64)>) -> Vec<Value> {
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        let good = ((scored.len() as f64 * TPE_GAMMA).ceil() as usize).max(1);
        let (best, rest) = scored.split_at(good);
        let mut out = Vec::with_capacity(self.space.len());
        for (k, (_, range)) in self.space.iter().enumerate() {
            let (lo, hi) = range.interval();
            let at = |trials: &[(&Vec<Value>, f64)]| -> Vec<f64> {
                trials.iter().map(|(v, _)| range.position(&v[k])).collect()
            };
            let (good_x, bad_x) = (at(best), at(rest));
            let width = (hi - lo).max(1e-12);
            let bandwidth = |n: usize| width / (n as f64 + 1.0).powf(0.6);
            let density = |xs: &[f64], x: f64| -> f64 {
                // A uniform prior over the range keeps unexplored values possible.
                let h = bandwidth(xs.len());
                let kernels: f64 = xs
                    .iter()
                    .map(|c| (-0.5 * ((x - c) / h).powi(2)).exp() / h)
                    .sum::<f64>()
                    / (2.0 * std::f64::consts::PI).sqrt();
                (kernels + 1.0 / width) / (xs.len() as f64 + 1.0)
            };
            let h = bandwidth(good_x.len());
            let mut pick = lo;
            let mut pick_ratio = f64::NEG_INFINITY;
            for _ in 0..TPE_CANDIDATES {
                let centre = good_x[self.rng.random_range(0..good_x.len())];
                let drawn = Normal::new(centre, h)
                    .map(|n| n.sample(&mut self.rng))
                    .unwrap_or(centre);
                let x = reflect(drawn, lo, hi);
                let ratio = density(&good_x, x).ln() - density(&bad_x, x).ln();
                if ratio > pick_ratio {
                    (pick, pick_ratio) = (x, ratio);
                }
            }
            out.push(range.value_at(pick));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn space() -> SearchSpace {
        [
            ("max_depth".to_string(), Range::Int([2, 8])),
            ("learning_rate".into(), Range::LogUniform([0.01, 0.3])),
            (
                "tree_method".into(),
                Range::Choice(vec!["hist".into(), "approx".into()]),
            ),
        ]
        .into_iter()
        .collect()
    }

    fn in_range(values: &[Value]) {
        let depth = values[1].as_i64().unwrap();
        assert!((2..=8).contains(&depth), "{values:?}");
        let rate = values[0].as_f64().unwrap();
        assert!((0.01..=0.3).contains(&rate), "{values:?}");
        assert!(["hist", "approx"].contains(&values[2].as_str().unwrap()));
    }

    #[test]
    fn ranges_are_declared_as_tables_and_checked() {
        let parsed: SearchSpace = toml::from_str(
            "max_depth = { int = [2, 8] }\nlearning_rate = { log_uniform = [0.01, 0.3] }\n\
             tree_method = { choice = [\"hist\", \"approx\"] }\n",
        )
        .unwrap();
        assert_eq!(parsed, space());
        check(&parsed).unwrap();
        let backwards: SearchSpace = toml::from_str("eta = { log_uniform = [0.3, 0]}").unwrap();
        refused(check(&backwards), &["search.eta"]);
        assert!(check(&SearchSpace::new()).is_err());
    }

    #[test]
    fn random_and_tpe_stay_in_range_and_repeat_with_the_seed() {
        for strategy in [Strategy::Random, Strategy::Tpe] {
            let mut a = Sampler::new(&space(), strategy, 20, 7);
            let mut b = Sampler::new(&space(), strategy, 20, 7);
            let mut done = vec![];
            for _ in 0..20 {
                let values = a.propose(&done).unwrap();
                assert_eq!(Some(values.clone()), b.propose(&done));
                in_range(&values);
                // Deeper is better here.
                let score = values[1].as_f64().unwrap();
                done.push((values, Some(score)));
            }
        }
    }

    #[test]
    fn tpe_draws_near_the_best_trials() {
        let space: SearchSpace = [("x".to_string(), Range::Uniform([0.0, 1.0]))].into();
        let mut sampler = Sampler::new(&space, Strategy::Tpe, 60, 3);
        let mut done = vec![];
        for _ in 0..60 {
            let values = sampler.propose(&done).unwrap();
            let x = values[0].as_f64().unwrap();
            done.push((values, Some(-(x - 0.8f64).abs())));
        }
        let late: Vec<f64> = done[40..]
            .iter()
            .map(|(v, _)| v[0].as_f64().unwrap())
            .collect();
        let near = late.iter().filter(|x| (*x - 0.8).abs() < 0.15).count();
        assert!(near >= 12, "{late:?}");
    }

    #[test]
    fn a_grid_visits_each_combination_once() {
        let mut sampler = Sampler::new(&space(), Strategy::Grid, 20, 1);
        let mut seen = vec![];
        while let Some(values) = sampler.propose(&[]) {
            in_range(&values);
            assert!(!seen.contains(&values));
            seen.push(values);
        }
        // Two choices, then 20 / 2 = 10 points for two numbers: 4 each (ceil of its root).
        assert_eq!(seen.len(), 2 * 4 * 4);
    }
}
