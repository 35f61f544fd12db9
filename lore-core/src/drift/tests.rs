//! The statistics on known values, and on generated samples against scipy's own.

use super::*;
use crate::testing::*;

/// `n` numbers drawn from a fixed sequence, spread around `centre` by `spread`.
fn sample(n: usize, seed: u64, centre: f64, spread: f64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            // Roughly bell-shaped: the sum of three uniforms.
            let v = (state.rotate_left(17) >> 11) as f64 / (1u64 << 53) as f64;
            let w = (state.rotate_left(37) >> 11) as f64 / (1u64 << 53) as f64;
            centre + spread * (u + v + w - 1.5)
        })
        .collect()
}

#[test]
fn known_values() {
    // scipy's documentation examples.
    assert!((wasserstein(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0]) - 5.0).abs() < 1e-12);
    assert!((wasserstein(&[0.0, 1.0], &[0.0, 1.0, 1.0]) - 1.0 / 6.0).abs() < 1e-12);
    let uniform = chi_squared(
        &[16.0, 18.0, 16.0, 14.0, 12.0, 12.0],
        &[14.666_666_666_666_666; 6],
    );
    assert!((uniform.statistic - 2.0).abs() < 1e-12);
    assert!((uniform.p_value - 0.849_145_036_084_609_6).abs() < 1e-12);
    assert!((jensen_shannon(&[1.0, 0.0], &[0.0, 1.0]) - 2f64.ln().sqrt()).abs() < 1e-12);
    assert_eq!(jensen_shannon(&[3.0, 1.0], &[0.75, 0.25]), 0.0);
    assert_eq!(psi(&[0.5, 0.5], &[0.5, 0.5]), 0.0);
    assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
    assert!((ln_gamma(10.0) - 362_880f64.ln()).abs() < 1e-12);
    assert!(wasserstein(&[], &[1.0]).is_nan());
    // Against a uniform distribution on [0, 1]: a sample at 0.5 is a quarter away.
    let uniform = [(0.0, 0.0), (1.0, 1.0)];
    assert!((wasserstein_to_distribution(&uniform, &[0.5]) - 0.25).abs() < 1e-12);
    // Values with their shares as steps: the distance to the values themselves.
    let steps = [
        (1.0, 0.0),
        (1.0, 0.25),
        (2.0, 0.25),
        (2.0, 0.75),
        (3.0, 0.75),
        (3.0, 1.0),
    ];
    let sample = sample(500, 9, 2.0, 3.0);
    let exact = wasserstein(&[1.0, 2.0, 2.0, 3.0], &sample);
    assert!((wasserstein_to_distribution(&steps, &sample) - exact).abs() < 1e-12);
    assert!(wasserstein_to_distribution(&[], &[1.0]).is_nan());
    assert!(kolmogorov_smirnov(&[], &[1.0]).p_value.is_nan());
    // Apart entirely: the statistic is 1; the same sample: 0 with p-value 1.
    let apart = kolmogorov_smirnov(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]);
    assert_eq!(apart.statistic, 1.0);
    assert!((apart.p_value - 0.1).abs() < 1e-12);
    let same = kolmogorov_smirnov(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]);
    assert_eq!((same.statistic, same.p_value), (0.0, 1.0));
    assert_eq!(upper_gamma(2.0, 0.0), 1.0);
    // A category that was never expected: scipy's infinite statistic, p-value 0.
    assert_eq!(chi_squared(&[3.0, 1.0], &[4.0, 0.0]).p_value, 0.0);
}

#[test]
fn equal_to_scipy_on_the_same_samples() {
    let Some(python) = python() else {
        return;
    };
    let mut cases = Vec::new();
    for (i, (n, m, shift)) in [(50, 80, 0.0), (1_000, 700, 0.3), (5_000, 20_000, 1.5)]
        .into_iter()
        .enumerate()
    {
        let reference = sample(n, i as u64, 10.0, 4.0);
        let current = sample(m, 100 + i as u64, 10.0 + shift, 4.0 + shift);
        // Counts over categories: a handful, then many with a long tail.
        let counts = |k: usize, seed: u64| -> Vec<f64> {
            sample(k, seed, 50.0, 60.0)
                .iter()
                .map(|x| x.abs().round() + 1.0)
                .collect()
        };
        let observed = counts(3 + 20 * i, 7 + i as u64);
        let reference_counts = counts(3 + 20 * i, 70 + i as u64);
        let scale = observed.iter().sum::<f64>() / reference_counts.iter().sum::<f64>();
        let expected: Vec<f64> = reference_counts.iter().map(|c| c * scale).collect();
        let shares = |c: &[f64]| -> Vec<f64> {
            let total: f64 = c.iter().sum();
            c.iter().map(|x| x / total).collect()
        };
        let chi = chi_squared(&observed, &expected);
        cases.push(serde_json::json!({
            "reference": reference,
            "current": current,
            "observed": observed,
            "expected": expected,
            "p": shares(&reference_counts),
            "q": shares(&observed),
            "lore": {
                "wasserstein_normed": wasserstein_normed(&reference, &current),
                "chi_statistic": chi.statistic,
                "chi_p": chi.p_value,
                "jensen_shannon": jensen_shannon(&shares(&reference_counts), &shares(&observed)),
                "psi": psi(&shares(&reference_counts), &shares(&observed)),
            },
        }));
    }
    let script = r#"
import json, sys
import numpy as np
from scipy.stats import chisquare, wasserstein_distance
from scipy.spatial.distance import jensenshannon
out = []
for c in json.load(sys.stdin):
    r, cur = np.array(c["reference"]), np.array(c["current"])
    stat, p = chisquare(c["observed"], c["expected"])
    ps, qs = np.array(c["p"]), np.array(c["q"])
    out.append({
        "wasserstein_normed": wasserstein_distance(r, cur) / max(np.std(r), 0.001),
        "chi_statistic": stat, "chi_p": p,
        "jensen_shannon": jensenshannon(ps, qs),
        "psi": float(np.sum((ps - qs) * np.log(ps / qs))),
    })
json.dump(out, sys.stdout)
"#;
    let scipy = scipy(&python, script, &cases);
    agree(&cases, &scipy);
}

/// Every value under each case's "lore" equals scipy's of the same name to 1e-6 (relative above
/// 1).
fn agree(cases: &[serde_json::Value], scipy: &[serde_json::Value]) {
    assert_eq!(cases.len(), scipy.len());
    for (case, theirs) in cases.iter().zip(scipy) {
        for (name, ours) in case["lore"].as_object().unwrap() {
            let (ours, theirs) = (ours.as_f64().unwrap(), theirs[name].as_f64().unwrap());
            assert!(
                (ours - theirs).abs() <= 1e-6 * theirs.abs().max(1.0),
                "{name} on {} and {} values: Lore {ours}, scipy {theirs}",
                case["reference"].as_array().map_or(0, Vec::len),
                case["current"].as_array().map_or(0, Vec::len),
            );
        }
    }
}

/// What `script` prints as JSON, given `cases` as JSON on its standard input.
fn scipy(
    python: &std::path::Path,
    script: &str,
    cases: &[serde_json::Value],
) -> Vec<serde_json::Value> {
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input = serde_json::to_vec(cases).unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "scipy failed");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn kolmogorov_smirnov_equal_to_scipy_in_every_region() {
    let Some(python) = python() else {
        return;
    };
    // Sizes and shifts that reach each way scipy computes the p-value: exact for equal and
    // unequal sizes; asymptotic at small and large effective sizes, near and far apart.
    let mut cases = Vec::new();
    for (i, (n, m)) in [
        (40, 40),
        (300, 300),
        (50, 80),
        (1_000, 700),
        (997, 10_000),
        (60, 30_000),
        (1_000, 200_000),
        (20_000, 30_000),
    ]
    .into_iter()
    .enumerate()
    {
        for (k, shift) in [0.0, 0.02, 0.1, 0.4, 2.0].into_iter().enumerate() {
            let reference = sample(n, (10 * i + k) as u64, 10.0, 4.0);
            let current = sample(m, (500 + 10 * i + k) as u64, 10.0 + shift, 4.0);
            let test = kolmogorov_smirnov(&reference, &current);
            cases.push(serde_json::json!({
                "reference": reference,
                "current": current,
                "lore": {"ks_statistic": test.statistic, "ks_p": test.p_value},
            }));
        }
    }
    let script = r#"
import json, sys
from scipy.stats import ks_2samp
out = []
for c in json.load(sys.stdin):
    result = ks_2samp(c["reference"], c["current"])
    out.append({"ks_statistic": result.statistic, "ks_p": result.pvalue})
json.dump(out, sys.stdout)
"#;
    let scipy = scipy(&python, script, &cases);
    agree(&cases, &scipy);
}
