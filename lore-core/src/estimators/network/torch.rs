//! The network built, trained and run on libtorch (the tch crate).

use std::collections::HashMap;
use std::path::Path;

use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use tch::nn::{self, ModuleT, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

use super::{Architecture, Input, NeuralNetwork, NETWORK_FILE, WEIGHTS_FILE};
use crate::encoders::Task;
use crate::error::{Error, Result};
use crate::estimators::contract::{self, Training};
use crate::estimators::{dense, FitHistory, Scored};
use crate::matrix::Matrix;

/// Rows run through the network at once when predicting, to bound memory.
const CHUNK: usize = 65_536;

fn torch_error(doing: &str, e: tch::TchError) -> Error {
    Error::Estimator(format!("libtorch failed {doing}: {e}"))
}

/// The layers of a network, with their weights in a var store.
struct Layers {
    embeddings: Vec<(i64, i64, nn::Embedding)>,
    floats: Vec<i64>,
    float_mean: Tensor,
    float_scale: Tensor,
    dense: Vec<(nn::Linear, Option<nn::BatchNorm>)>,
    head: nn::Linear,
    dropout: f64,
}

impl Layers {
    fn new(root: &nn::Path, shape: &Architecture) -> Layers {
        let mut embeddings = Vec::new();
        let (mut floats, mut means, mut scales) = (Vec::new(), Vec::new(), Vec::new());
        for input in &shape.inputs {
            match input {
                Input::Embedded {
                    column,
                    cardinality,
                    width,
                } => {
                    let table = nn::embedding(
                        root / format!("embedding{column}"),
                        *cardinality as i64,
                        *width as i64,
                        Default::default(),
                    );
                    embeddings.push((*column as i64, *cardinality as i64 - 1, table));
                }
                Input::Float {
                    column,
                    mean,
                    scale,
                } => {
                    floats.push(*column as i64);
                    means.push(*mean);
                    scales.push(*scale);
                }
            }
        }
        let device = root.device();
        let mut dense = Vec::new();
        let mut width = shape.input_width() as i64;
        for (i, out) in shape.layers.iter().enumerate() {
            let out = *out as i64;
            let linear = nn::linear(root / format!("dense{i}"), width, out, Default::default());
            let norm = shape
                .batch_norm
                .then(|| nn::batch_norm1d(root / format!("norm{i}"), out, Default::default()));
            dense.push((linear, norm));
            width = out;
        }
        let head = nn::linear(
            root / "head",
            width,
            shape.output_width() as i64,
            Default::default(),
        );
        Layers {
            embeddings,
            floats,
            float_mean: Tensor::from_slice(&means).to_device(device),
            float_scale: Tensor::from_slice(&scales).to_device(device),
            dense,
            head,
            dropout: shape.dropout,
        }
    }

    /// The head's outputs for rows `x` (rows × features, floats; codes as floats).
    fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        let device = x.device();
        let mut parts = Vec::with_capacity(self.embeddings.len() + 1);
        for (column, top, table) in &self.embeddings {
            // A code the fit never saw (or a missing one, read as 0) stays inside the table.
            let codes = x.select(1, *column).to_kind(Kind::Int64).clamp(0, *top);
            parts.push(table.forward_t(&codes, train));
        }
        if !self.floats.is_empty() {
            let columns = Tensor::from_slice(&self.floats).to_device(device);
            let floats = x.index_select(1, &columns);
            parts.push((floats - &self.float_mean) / &self.float_scale);
        }
        let mut h = Tensor::cat(&parts, 1);
        for (linear, norm) in &self.dense {
            h = linear.forward_t(&h, train);
            if let Some(norm) = norm {
                h = norm.forward_t(&h, train);
            }
            h = h.relu().dropout(self.dropout, train);
        }
        self.head.forward_t(&h, train)
    }
}

/// The loss of outputs `out` against labels `y` for `task` (on the standardised label for
/// regression).
fn loss(task: Task, out: &Tensor, y: &Tensor) -> Tensor {
    match task {
        Task::Binary => out
            .squeeze_dim(1)
            .binary_cross_entropy_with_logits::<Tensor>(y, None, None, Reduction::Mean),
        Task::MultiClass { .. } => out.cross_entropy_for_logits(&y.to_kind(Kind::Int64)),
        // Clustering never reaches a network: Estimator::validate refuses it.
        Task::Regression | Task::Clustering => out.squeeze_dim(1).mse_loss(y, Reduction::Mean),
    }
}

/// A fitted network: its shape and its weights.
pub struct FittedNetwork {
    shape: Architecture,
    store: nn::VarStore,
    layers: Layers,
}

impl std::fmt::Debug for FittedNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FittedNetwork({:?})", self.shape.layers)
    }
}

/// Each column's mean and standard deviation over the rows of `x`.
fn moments(x: &Array2<f32>) -> Vec<(f32, f32)> {
    x.columns()
        .into_iter()
        .map(|c| mean_and_scale(c.iter()))
        .collect()
}

/// The mean and standard deviation of `values` (1 where they are all the same).
fn mean_and_scale<'a>(values: impl Iterator<Item = &'a f32> + Clone) -> (f32, f32) {
    let (mean, scale) = dense::moments(values.map(|v| f64::from(*v)));
    (mean as f32, scale as f32)
}

/// The rows of `x` as a tensor on `device`.
fn tensor(x: &Array2<f32>, device: Device) -> Result<Tensor> {
    let (rows, columns) = x.dim();
    let flat: Vec<f32> = match x.as_slice() {
        Some(s) => s.to_vec(),
        None => x.iter().copied().collect(),
    };
    Tensor::from_slice(&flat)
        .f_view([rows as i64, columns as i64])
        .and_then(|t| t.f_to_device(device))
        .map_err(|e| torch_error("to copy the rows", e))
}

impl NeuralNetwork {
    fn device(&self) -> Result<Device> {
        match self.device.as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" if !tch::Cuda::is_available() => Err(super::invalid(
                "device",
                "`cuda` was asked for, but libtorch sees no CUDA device here; use `auto` to \
                 fall back to the CPU"
                    .into(),
            )),
            "cuda" => Ok(Device::Cuda(0)),
            _ => Ok(Device::cuda_if_available()),
        }
    }

    /// Trains on `train`, stopping early on `validation` (which may have no rows), and returns
    /// the network of the best epoch with both splits scored by it.
    pub(super) fn learn(
        &self,
        training: Training<'_>,
    ) -> Result<(FittedNetwork, FitHistory, [Scored; 2])> {
        let Training {
            task,
            cardinalities,
            train,
            validation,
            on_round,
        } = training;
        let device = self.device()?;
        if self.n_jobs > 0 {
            tch::set_num_threads(i32::try_from(self.n_jobs).unwrap_or(i32::MAX));
        }
        tch::manual_seed(self.seed as i64);
        let (x, y): (Array2<f32>, _) = dense::read(train)?;
        if cardinalities.len() != x.ncols() {
            return Err(Error::Estimator(format!(
                "the encoded rows have {} columns but the pipeline describes {}",
                x.ncols(),
                cardinalities.len()
            )));
        }
        let shape = self.architecture(task, cardinalities, &moments(&x), mean_and_scale(y.iter()));
        let (vx, vy): (Array2<f32>, _) = match validation.rows() {
            0 => (Array2::zeros((0, x.ncols())), vec![]),
            _ => dense::read(validation)?,
        };
        let store = nn::VarStore::new(device);
        let layers = Layers::new(&store.root(), &shape);
        let mut adam = nn::Adam {
            wd: self.weight_decay,
            ..Default::default()
        }
        .build(&store, self.learning_rate)
        .map_err(|e| torch_error("to make the optimiser", e))?;

        let target = |y: &[f32]| -> Result<Tensor> {
            let scaled: Vec<f32> = y
                .iter()
                .map(|v| (v - shape.label_mean) / shape.label_scale)
                .collect();
            Tensor::from_slice(&scaled)
                .f_to_device(device)
                .map_err(|e| torch_error("to copy the labels", e))
        };
        let (tx, ty) = (tensor(&x, device)?, target(&y)?);
        let (tvx, tvy) = (tensor(&vx, device)?, target(&vy)?);
        let epochs = u32::try_from(self.epochs).unwrap_or(u32::MAX);
        let patience = u32::try_from(self.patience).unwrap_or(0);
        let batch = usize::try_from(self.batch_size).unwrap_or(usize::MAX);
        let mut order: Vec<i64> = (0..x.nrows() as i64).collect();
        let mut rng = rand_pcg::Pcg64::seed_from_u64(self.seed);
        let mut history = FitHistory {
            best_iteration: 0,
            rounds: 0,
            metric: metric(task).into(),
            train_loss: vec![],
            validation_loss: vec![],
        };
        let mut best = (f64::INFINITY, HashMap::new());
        for epoch in 0..epochs {
            order.shuffle(&mut rng);
            for rows in order.chunks(batch) {
                // Batch normalisation needs two rows or more to train.
                if shape.batch_norm && rows.len() < 2 {
                    continue;
                }
                let index = Tensor::from_slice(rows).to_device(device);
                let out = layers.forward(&tx.index_select(0, &index), true);
                let l = loss(task, &out, &ty.index_select(0, &index));
                adam.backward_step(&l);
            }
            let train_loss = reported(task, &shape, evaluate(&layers, task, &tx, &ty)?);
            let valid_loss = match vx.nrows() {
                0 => train_loss,
                _ => reported(task, &shape, evaluate(&layers, task, &tvx, &tvy)?),
            };
            history.train_loss.push(train_loss);
            history.validation_loss.push(valid_loss);
            history.rounds = epoch + 1;
            on_round(epoch + 1, epochs);
            if !valid_loss.is_finite() {
                return Err(Error::Estimator(format!(
                    "the network's loss became {valid_loss} at epoch {}; lower \
                     estimator.learning_rate or turn on estimator.batch_norm",
                    epoch + 1
                )));
            }
            if valid_loss < best.0 {
                best = (valid_loss, snapshot(&store));
                history.best_iteration = epoch;
            } else if patience > 0 && epoch - history.best_iteration >= patience {
                break;
            }
        }
        restore(&store, &best.1)?;
        let fitted = FittedNetwork {
            shape,
            store,
            layers,
        };
        let scored = [
            Scored {
                predictions: fitted.predict_tensor(&tx)?,
                labels: y,
            },
            Scored {
                predictions: fitted.predict_tensor(&tvx)?,
                labels: vy,
            },
        ];
        Ok((fitted, history, scored))
    }
}

/// The loss as the fit history reports it: log-loss for classes, RMSE in the label's units.
fn reported(task: Task, shape: &Architecture, loss: f64) -> f64 {
    match task {
        Task::Regression | Task::Clustering => loss.sqrt() * f64::from(shape.label_scale),
        Task::Binary | Task::MultiClass { .. } => loss,
    }
}

/// The name of the loss [`reported`] gives, as XGBoost names it.
fn metric(task: Task) -> &'static str {
    match task {
        Task::Binary => "logloss",
        Task::MultiClass { .. } => "mlogloss",
        Task::Regression | Task::Clustering => "rmse",
    }
}

/// The mean loss over rows `x` with labels `y`, in inference mode, a chunk at a time.
fn evaluate(layers: &Layers, task: Task, x: &Tensor, y: &Tensor) -> Result<f64> {
    let rows = x.size()[0];
    let mut total = 0.0;
    tch::no_grad(|| {
        let mut start = 0;
        while start < rows {
            let n = (rows - start).min(CHUNK as i64);
            let out = layers.forward(&x.narrow(0, start, n), false);
            let l = loss(task, &out, &y.narrow(0, start, n));
            total += l.double_value(&[]) * n as f64;
            start += n;
        }
    });
    Ok(total / rows.max(1) as f64)
}

/// A copy of every weight and running statistic.
fn snapshot(store: &nn::VarStore) -> HashMap<String, Tensor> {
    store
        .variables()
        .into_iter()
        .map(|(name, t)| (name, t.detach().copy()))
        .collect()
}

fn restore(store: &nn::VarStore, saved: &HashMap<String, Tensor>) -> Result<()> {
    tch::no_grad(|| {
        for (name, mut t) in store.variables() {
            if let Some(s) = saved.get(&name) {
                t.f_copy_(s)
                    .map_err(|e| torch_error("to restore the best epoch", e))?;
            }
        }
        Ok(())
    })
}

impl FittedNetwork {
    /// The predictions for every row of `x`: [`Task::width`] numbers a row.
    pub fn predict(&self, x: &Matrix) -> Result<Vec<f32>> {
        let x: Array2<f32> = dense::of(x)?;
        self.predict_tensor(&tensor(&x, self.store.device())?)
    }

    fn predict_tensor(&self, x: &Tensor) -> Result<Vec<f32>> {
        let rows = x.size()[0];
        let mut out = Vec::with_capacity(rows as usize * self.shape.task.width());
        tch::no_grad(|| -> Result<()> {
            let mut start = 0;
            while start < rows {
                let n = (rows - start).min(CHUNK as i64);
                let raw = self.layers.forward(&x.narrow(0, start, n), false);
                let p = match self.shape.task {
                    Task::Binary => raw.sigmoid(),
                    Task::MultiClass { .. } => raw.softmax(1, Kind::Float),
                    Task::Regression | Task::Clustering => {
                        raw * f64::from(self.shape.label_scale) + f64::from(self.shape.label_mean)
                    }
                };
                let flat = p.to_kind(Kind::Float).to_device(Device::Cpu).flatten(0, -1);
                let values = Vec::<f32>::try_from(&flat)
                    .map_err(|e| torch_error("to read the predictions", e))?;
                out.extend(values);
                start += n;
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Saves the architecture as JSON and the weights as safetensors into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(NETWORK_FILE);
        let json =
            serde_json::to_vec_pretty(&self.shape).map_err(|e| Error::Estimator(e.to_string()))?;
        std::fs::write(&path, json).map_err(|e| Error::io(&path, e))?;
        let weights = dir.join(WEIGHTS_FILE);
        self.store
            .save(&weights)
            .map_err(|e| Error::Fitting(format!("{}: {e}", weights.display())))
    }

    /// Loads a network saved by [`FittedNetwork::save`], on the CPU.
    pub fn load(dir: &Path) -> Result<FittedNetwork> {
        let path = dir.join(NETWORK_FILE);
        let shape: Architecture = contract::parse_json(&path)?;
        let mut store = nn::VarStore::new(Device::Cpu);
        let layers = Layers::new(&store.root(), &shape);
        let weights = dir.join(WEIGHTS_FILE);
        store.load(&weights).map_err(|e| {
            Error::Fitting(format!(
                "{}: {e}; the weights do not match {}",
                weights.display(),
                path.display()
            ))
        })?;
        Ok(FittedNetwork {
            shape,
            store,
            layers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimators::InMemory;
    use crate::metrics;

    /// Rows of a code (0..4) and a float; the label is yes for codes 1 and 3 and big floats.
    fn data(n: usize) -> (Matrix, Vec<f32>) {
        let mut values = Vec::with_capacity(2 * n);
        let mut labels = Vec::with_capacity(n);
        for i in 0..n {
            let code = (i % 4) as f32;
            let float = ((i * 7919) % 100) as f32;
            values.extend([code, float]);
            let yes = code == 1.0 || code == 3.0 || float > 80.0;
            labels.push(if yes { 1.0 } else { 0.0 });
        }
        (Matrix::dense(values, n, 2), labels)
    }

    #[test]
    fn learns_codes_and_floats_and_reloads_identically() {
        let (x, y) = data(2000);
        let spec = NeuralNetwork {
            epochs: 30,
            batch_size: 64,
            learning_rate: 0.01,
            dropout: 0.0,
            device: "cpu".into(),
            ..NeuralNetwork::default()
        };
        let mut rounds = 0;
        let (fitted, history, [train, _]) = spec
            .learn(Training {
                task: Task::Binary,
                cardinalities: &[Some(4), None],
                train: &mut InMemory::new(x.clone(), y.clone()),
                validation: &mut InMemory::new(x.clone(), y.clone()),
                on_round: &mut |r, _| rounds = r,
            })
            .unwrap();
        assert_eq!(rounds, history.rounds);
        assert!(
            matches!(fitted.shape.inputs[0], Input::Embedded { width: 1, .. }),
            "{:?}",
            fitted.shape.inputs
        );
        let p = fitted.predict(&x).unwrap();
        assert!(metrics::auc(&y, &p) > 0.98, "AUC {}", metrics::auc(&y, &p));
        assert_eq!(train.predictions, p, "fit scores with the kept epoch");
        let best = history.best_iteration as usize;
        assert!(history.validation_loss[best..]
            .iter()
            .all(|l| *l >= history.validation_loss[best]));
        let dir = tempfile::tempdir().unwrap();
        fitted.save(dir.path()).unwrap();
        let back = FittedNetwork::load(dir.path()).unwrap();
        assert_eq!(back.predict(&x).unwrap(), p);
    }

    #[test]
    fn learns_a_number_in_its_units_and_several_classes() {
        let n = 1000;
        let values: Vec<f32> = (0..n).map(|i| (i % 50) as f32).collect();
        let x = Matrix::dense(values.clone(), n, 1);
        let y: Vec<f32> = values.iter().map(|v| 1000.0 + 10.0 * v).collect();
        let spec = NeuralNetwork {
            epochs: 60,
            batch_size: 32,
            learning_rate: 0.01,
            dropout: 0.0,
            batch_norm: true,
            device: "cpu".into(),
            ..NeuralNetwork::default()
        };
        let (fitted, _, _) = spec
            .learn(Training {
                task: Task::Regression,
                cardinalities: &[None],
                train: &mut InMemory::new(x.clone(), y.clone()),
                validation: &mut InMemory::new(Matrix::empty(1), vec![]),
                on_round: &mut |_, _| {},
            })
            .unwrap();
        let stats = metrics::evaluate(
            Task::Regression,
            metrics::Metric::R2,
            &y,
            &fitted.predict(&x).unwrap(),
        );
        assert!(stats.r2.unwrap() > 0.95, "{stats:?}");

        let y: Vec<f32> = values.iter().map(|v| (v / 17.0).floor()).collect();
        let (fitted, history, _) = spec
            .learn(Training {
                task: Task::MultiClass { classes: 3 },
                cardinalities: &[None],
                train: &mut InMemory::new(x.clone(), y.clone()),
                validation: &mut InMemory::new(x.clone(), y.clone()),
                on_round: &mut |_, _| {},
            })
            .unwrap();
        assert_eq!(history.metric, "mlogloss");
        let p = fitted.predict(&x).unwrap();
        assert_eq!(p.len(), n * 3);
        let stats = metrics::evaluate(
            Task::MultiClass { classes: 3 },
            metrics::Metric::Accuracy,
            &y,
            &p,
        );
        assert!(stats.accuracy.unwrap() > 0.9, "{stats:?}");
    }
}
