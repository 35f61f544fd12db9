//! K-means clustering (linfa-clustering): groups rows without labels. Features are standardised
//! first, so that no feature outweighs the others by its units. Each row's prediction is its
//! cluster, its squared distance to the cluster's centre and its centroid silhouette, from which
//! a fit reports the inertia and the mean silhouette.

use linfa::prelude::*;
use linfa_clustering::KMeans as LinfaKMeans;
use ndarray::{Array2, ArrayView1};
use serde::{Deserialize, Serialize};

use super::dense;
use crate::error::{Error, Result};
use crate::estimators::guard;

/// K-means: `n_clusters` centres, each row in the nearest one's cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KMeans {
    /// Clusters to find.
    pub n_clusters: i64,
    /// Runs from different k-means++ starts; the one of least inertia is kept.
    pub n_runs: i64,
    /// Most iterations of a run.
    pub max_iterations: i64,
    /// A run stops when the centres move less than this.
    pub tolerance: f64,
}

impl Default for KMeans {
    fn default() -> Self {
        KMeans {
            n_clusters: 8,
            n_runs: 10,
            max_iterations: 300,
            tolerance: 1e-4,
        }
    }
}

/// Fitted k-means: the centres, in standardised units, and the standardisation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FittedKMeans {
    /// Each feature's training mean and standard deviation (1 where constant).
    scaling: Vec<(f64, f64)>,
    /// One centre a row.
    centroids: Array2<f64>,
}

impl KMeans {
    /// Checks the parameters.
    pub(super) fn check(&self) -> Result<()> {
        guard::at_least(&[
            ("n_clusters", self.n_clusters, 2),
            ("n_runs", self.n_runs, 1),
            ("max_iterations", self.max_iterations, 1),
        ])?;
        guard::positive(&[("tolerance", self.tolerance)])
    }

    /// Finds the clusters of the rows of `x`.
    pub(super) fn learn(&self, x: &Array2<f64>) -> Result<FittedKMeans> {
        let clusters = usize::try_from(self.n_clusters).unwrap_or(2);
        if x.nrows() < clusters {
            return Err(Error::Estimator(format!(
                "KMeans: {} training rows cannot make {clusters} clusters; lower \
                 estimator.n_clusters",
                x.nrows()
            )));
        }
        let scaling = dense::scaling(x);
        let z = dense::standardised(x, &scaling);
        let model = LinfaKMeans::params(clusters)
            .n_runs(usize::try_from(self.n_runs).unwrap_or(1))
            .max_n_iterations(u64::try_from(self.max_iterations).unwrap_or(1))
            .tolerance(self.tolerance)
            .fit(&DatasetBase::from(z))
            .map_err(|e| Error::Estimator(format!("KMeans: {e}")))?;
        Ok(FittedKMeans {
            scaling,
            centroids: model.centroids().clone(),
        })
    }
}

fn squared(a: ArrayView1<f64>, b: ArrayView1<f64>) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum()
}

impl FittedKMeans {
    /// For every row of `x`: its cluster, its squared distance to that centre, and its centroid
    /// silhouette `(b - a) / max(a, b)` (`a`, `b`: the distances to its own and to the nearest
    /// other centre).
    pub(super) fn predict(&self, x: &Array2<f64>) -> Vec<f32> {
        let z = dense::standardised(x, &self.scaling);
        let mut out = Vec::with_capacity(3 * z.nrows());
        for row in z.rows() {
            let mut distances: Vec<(usize, f64)> = self
                .centroids
                .rows()
                .into_iter()
                .map(|c| squared(row, c))
                .enumerate()
                .collect();
            distances.sort_by(|a, b| a.1.total_cmp(&b.1));
            let (cluster, own) = distances[0];
            let (a, b) = (own.sqrt(), distances.get(1).map_or(own, |d| d.1).sqrt());
            let silhouette = match a.max(b) {
                m if m > 0.0 => (b - a) / m,
                _ => 0.0,
            };
            out.extend([cluster as f32, own as f32, silhouette as f32]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    /// Three tight blobs far apart, in features of different units.
    fn blobs(n: usize) -> Array2<f64> {
        Array2::from_shape_fn((n, 2), |(r, c)| {
            let centre = [(0.0, 0.0), (10.0, 1000.0), (20.0, 0.0)][r % 3];
            let jitter = ((r * 7919 + c * 31) % 100) as f64 / 100.0 - 0.5;
            match c {
                0 => centre.0 + jitter,
                _ => centre.1 + jitter * 100.0,
            }
        })
    }

    #[test]
    fn finds_separated_groups_with_a_high_silhouette_and_reloads() {
        let x = blobs(300);
        let spec = KMeans {
            n_clusters: 3,
            ..KMeans::default()
        };
        let fitted = spec.learn(&x).unwrap();
        let p = fitted.predict(&x);
        let clusters: Vec<usize> = p.chunks(3).map(|r| r[0] as usize).collect();
        for r in 0..300 {
            assert_eq!(
                clusters[r],
                clusters[r % 3],
                "row {r} is with the rows of its blob"
            );
        }
        assert_ne!(clusters[0], clusters[1]);
        assert_ne!(clusters[1], clusters[2]);
        let stats = crate::metrics::evaluate(
            crate::encoders::Task::Clustering,
            crate::metrics::Metric::Silhouette,
            &vec![0.0; 300],
            &p,
        );
        assert!(stats.silhouette.unwrap() > 0.8, "{stats:?}");
        assert_eq!(
            stats.cluster_sizes.as_ref().map(|s| s.iter().sum()),
            Some(300)
        );
        assert!(stats.inertia.unwrap() > 0.0);
        let back: FittedKMeans = round_trip(&fitted);
        assert_eq!(back.predict(&x), p);
    }

    #[test]
    fn too_few_rows_or_clusters_are_named() {
        refused(
            KMeans {
                n_clusters: 1,
                ..KMeans::default()
            }
            .check(),
            &["estimator.n_clusters"],
        );
        refused(KMeans::default().learn(&blobs(5)), &["n_clusters"]);
    }
}
