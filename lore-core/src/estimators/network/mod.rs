//! Lore's deep model, a neural network on libtorch (cargo feature `torch`): one embedding per
//! integer-coded feature (sized from its cardinality × `embed_scale`), the float features
//! standardised and fed in directly, then `hidden_layers` dense layers that shrink by
//! `layer_shrink`, and a head for the task (a logit, a logit per class, or a number). Trained
//! with Adam in mini-batches, stopping early on the validation loss and keeping the best epoch.
//!
//! The spec is always compiled so that a project naming `NeuralNetwork` reads the same with or
//! without the feature; without it, fitting or loading one says how to enable it.

use serde::{Deserialize, Serialize};

use std::path::Path;

use super::contract::{self, Fitted, Outcome, Spec, Training};
use super::{guard, invalid};
use crate::encoders::{OutputEncoder, Task};
use crate::error::{Error, Result};

#[cfg(feature = "torch")]
mod torch;
#[cfg(feature = "torch")]
pub use torch::FittedNetwork;

/// The neural network's hyper-parameters, with the names of Python Lore's Keras estimator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NeuralNetwork {
    /// An integer-coded feature of cardinality `n` gets an embedding of `ceil(n ×
    /// embed_scale)` numbers, at most `max_embedding`.
    pub embed_scale: f64,
    /// The widest an embedding may be.
    pub max_embedding: i64,
    /// Dense layers between the inputs and the head.
    pub hidden_layers: i64,
    /// Width of the first dense layer.
    pub hidden_width: i64,
    /// Each dense layer is this share of the previous one's width (at least 1 unit).
    pub layer_shrink: f64,
    /// Share of a dense layer's outputs dropped in training.
    pub dropout: f64,
    /// Normalise each dense layer's outputs over the batch.
    pub batch_norm: bool,
    /// Adam's step size.
    pub learning_rate: f64,
    /// L2 penalty on the weights (Adam's weight decay).
    pub weight_decay: f64,
    /// Rows per training step.
    pub batch_size: i64,
    /// Most passes over the training rows.
    pub epochs: i64,
    /// Stop when the validation loss has not improved for this many epochs (0: never stop
    /// early); the weights of the best epoch are kept.
    pub patience: i64,
    /// Where to train: `auto` (CUDA when present, else the CPU), `cpu` or `cuda`.
    pub device: String,
    /// Threads on the CPU (0: libtorch's choice, every core).
    pub n_jobs: i64,
    /// Random seed of the initial weights, the shuffles and dropout.
    pub seed: u64,
}

impl Default for NeuralNetwork {
    fn default() -> Self {
        NeuralNetwork {
            embed_scale: 0.25,
            max_embedding: 32,
            hidden_layers: 2,
            hidden_width: 128,
            layer_shrink: 0.5,
            dropout: 0.1,
            batch_norm: false,
            learning_rate: 1e-3,
            weight_decay: 0.0,
            batch_size: 1024,
            epochs: 20,
            patience: 3,
            device: "auto".into(),
            n_jobs: 0,
            seed: 0,
        }
    }
}

/// The file of a fitted network's architecture, task and input scaling, beside its weights.
pub const NETWORK_FILE: &str = "model.network.json";

/// The file of a fitted network's weights, in the safetensors format (PyTorch reads it).
pub const WEIGHTS_FILE: &str = "model.safetensors";

/// What to do when Lore was built without libtorch.
pub const ENABLE_TORCH: &str = "NeuralNetwork needs Lore built with the `torch` cargo feature \
     on libtorch from PyTorch 2.13.0: in Lore's checkout run `eval \"$(scripts/torch)\"` (it \
     installs PyPI's torch into a virtual environment and sets LIBTORCH_USE_PYTORCH=1), then \
     `cargo build --release --features lore-cli/torch`";

/// How one feature column enters the network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// An integer code looked up in an embedding.
    Embedded {
        /// The feature's column in the encoded rows.
        column: usize,
        /// How many codes it takes.
        cardinality: usize,
        /// The embedding's width.
        width: usize,
    },
    /// A float, standardised.
    Float {
        /// The feature's column in the encoded rows.
        column: usize,
        /// Its mean over the training rows.
        mean: f32,
        /// Its standard deviation over the training rows (1 where it is constant).
        scale: f32,
    },
}

/// A network's shape, fixed at fit time from the spec, the task and the encoded features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    /// What it predicts.
    pub task: Task,
    /// Each feature column, in order.
    pub inputs: Vec<Input>,
    /// The dense layers' widths.
    pub layers: Vec<usize>,
    /// Dropout share after each dense layer.
    pub dropout: f64,
    /// Batch normalisation after each dense layer.
    pub batch_norm: bool,
    /// For regression, the labels' mean and standard deviation: the network learns the
    /// standardised label, which keeps Adam's steps at one scale whatever the label's units.
    pub label_mean: f32,
    /// See `label_mean`.
    pub label_scale: f32,
}

impl Spec for NeuralNetwork {
    /// A network learns classes or a number, so any output with labels suits it.
    fn validate(&self, output: &OutputEncoder) -> Result<()> {
        contract::check_labels("NeuralNetwork", true, output)?;
        self.check()
    }

    fn share_cores(&mut self, threads: i64) {
        if self.n_jobs == 0 {
            self.n_jobs = threads;
        }
    }

    #[cfg(feature = "torch")]
    fn fit(&self, training: Training<'_>) -> Result<Outcome> {
        let (model, history, scored) = self.learn(training)?;
        Ok((
            Box::new(Locked(std::sync::Mutex::new(model))),
            history,
            scored,
        ))
    }

    #[cfg(not(feature = "torch"))]
    fn fit(&self, _: Training<'_>) -> Result<Outcome> {
        Err(Error::Estimator(ENABLE_TORCH.into()))
    }
}

/// A fitted network behind a lock: libtorch's tensors may not be used from two threads at once,
/// and the API shares one fitting between all its requests.
#[cfg(feature = "torch")]
#[derive(Debug)]
struct Locked(std::sync::Mutex<FittedNetwork>);

#[cfg(feature = "torch")]
impl Locked {
    /// The network; a panic in another request's prediction leaves it usable, as a prediction
    /// changes nothing in it.
    fn network(&self) -> std::sync::MutexGuard<'_, FittedNetwork> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(feature = "torch")]
impl Fitted for Locked {
    fn predict(&self, x: &crate::matrix::Matrix) -> Result<Vec<f32>> {
        self.network().predict(x)
    }

    fn save(&self, dir: &Path) -> Result<()> {
        self.network().save(dir)
    }
}

/// Reads a network saved in a fitting's folder `dir`; without the `torch` feature, says how to
/// get it.
pub(super) fn load(dir: &Path) -> Result<Option<Box<dyn Fitted>>> {
    if !dir.join(NETWORK_FILE).is_file() {
        return Ok(None);
    }
    #[cfg(feature = "torch")]
    return Ok(Some(Box::new(Locked(std::sync::Mutex::new(
        FittedNetwork::load(dir)?,
    )))));
    #[cfg(not(feature = "torch"))]
    Err(Error::Fitting(format!(
        "{}: this fitting is a neural network. {ENABLE_TORCH}",
        dir.join(NETWORK_FILE).display()
    )))
}

impl NeuralNetwork {
    /// Checks every parameter before any data is read.
    fn check(&self) -> Result<()> {
        guard::at_least(&[
            ("max_embedding", self.max_embedding, 1),
            ("hidden_layers", self.hidden_layers, 0),
            ("hidden_width", self.hidden_width, 1),
            ("batch_size", self.batch_size, 1),
            ("epochs", self.epochs, 1),
            ("patience", self.patience, 0),
            ("n_jobs", self.n_jobs, 0),
        ])?;
        guard::within("hidden_layers", self.hidden_layers, 0, 64)?;
        guard::positive(&[
            ("embed_scale", self.embed_scale),
            ("learning_rate", self.learning_rate),
        ])?;
        guard::shares(&[("layer_shrink", self.layer_shrink)])?;
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(invalid(
                "dropout",
                format!("{} is not in [0, 1)", self.dropout),
            ));
        }
        guard::non_negative(&[("weight_decay", self.weight_decay)])?;
        guard::one_of("device", &self.device, &["auto", "cpu", "cuda"])?;
        if cfg!(not(feature = "torch")) {
            return Err(Error::InvalidParam {
                key: "estimator.type".into(),
                message: ENABLE_TORCH.into(),
            });
        }
        Ok(())
    }

    /// The network's shape for `task`, given each feature column's cardinality (`None` for a
    /// float) and the training rows' column means and standard deviations.
    pub fn architecture(
        &self,
        task: Task,
        cardinalities: &[Option<usize>],
        moments: &[(f32, f32)],
        labels: (f32, f32),
    ) -> Architecture {
        let inputs = cardinalities
            .iter()
            .zip(moments)
            .enumerate()
            .map(|(column, (cardinality, (mean, scale)))| match cardinality {
                Some(n) => {
                    let cardinality = (*n).max(1);
                    let wide = (cardinality as f64 * self.embed_scale).ceil() as usize;
                    let most = usize::try_from(self.max_embedding).unwrap_or(1);
                    Input::Embedded {
                        column,
                        cardinality,
                        width: wide.clamp(1, most.max(1)),
                    }
                }
                None => Input::Float {
                    column,
                    mean: *mean,
                    scale: if *scale > 0.0 { *scale } else { 1.0 },
                },
            })
            .collect();
        let mut layers = Vec::new();
        let mut width = self.hidden_width as f64;
        for _ in 0..self.hidden_layers {
            layers.push((width.round() as usize).max(1));
            width *= self.layer_shrink;
        }
        let (label_mean, label_scale) = match task {
            Task::Regression => (labels.0, if labels.1 > 0.0 { labels.1 } else { 1.0 }),
            Task::Binary | Task::MultiClass { .. } | Task::Clustering => (0.0, 1.0),
        };
        Architecture {
            task,
            inputs,
            layers,
            dropout: self.dropout,
            batch_norm: self.batch_norm,
            label_mean,
            label_scale,
        }
    }
}

impl Architecture {
    /// How many numbers enter the first dense layer.
    pub fn input_width(&self) -> usize {
        self.inputs
            .iter()
            .map(|i| match i {
                Input::Embedded { width, .. } => *width,
                Input::Float { .. } => 1,
            })
            .sum()
    }

    /// How many numbers the head gives a row: a logit, a logit per class, or a number.
    pub fn output_width(&self) -> usize {
        match self.task {
            Task::MultiClass { classes } => classes,
            Task::Binary | Task::Regression | Task::Clustering => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn embeddings_are_sized_by_cardinality_and_layers_shrink() {
        let spec = NeuralNetwork {
            hidden_layers: 3,
            hidden_width: 100,
            ..NeuralNetwork::default()
        };
        let shape = spec.architecture(
            Task::Regression,
            &[Some(10), None, Some(1000)],
            &[(0.0, 1.0), (5.0, 0.0), (0.0, 1.0)],
            (3.0, 2.0),
        );
        assert_eq!(
            shape.inputs,
            vec![
                Input::Embedded {
                    column: 0,
                    cardinality: 10,
                    width: 3
                },
                Input::Float {
                    column: 1,
                    mean: 5.0,
                    scale: 1.0
                },
                Input::Embedded {
                    column: 2,
                    cardinality: 1000,
                    width: 32
                },
            ]
        );
        assert_eq!(shape.layers, vec![100, 50, 25]);
        assert_eq!(shape.input_width(), 3 + 1 + 32);
        assert_eq!((shape.label_mean, shape.label_scale), (3.0, 2.0));
        assert_eq!(shape.output_width(), 1);
    }

    #[test]
    fn bad_parameters_are_named() {
        let error = |spec: NeuralNetwork| spec.check().unwrap_err().to_string();
        let e = error(NeuralNetwork {
            hidden_layers: -1,
            ..NeuralNetwork::default()
        });
        holds(&e, &["estimator.hidden_layers"]);
        let e = error(NeuralNetwork {
            dropout: 1.0,
            ..NeuralNetwork::default()
        });
        holds(&e, &["estimator.dropout"]);
        let e = error(NeuralNetwork {
            device: "tpu".into(),
            ..NeuralNetwork::default()
        });
        holds(&e, &["estimator.device"]);
    }

    #[cfg(not(feature = "torch"))]
    #[test]
    fn without_libtorch_the_error_says_how_to_enable_it() {
        refused(
            NeuralNetwork::default().check(),
            &["estimator.type", "--features lore-cli/torch"],
        );
    }
}
