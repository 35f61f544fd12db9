//! How far a current sample of a column has moved from its reference: the distances and tests
//! `lore check` decides drift by, each computed as scipy computes it (and as Evidently applies
//! it), so that a decision can be checked against theirs.

/// A statistical test's statistic and its p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Test {
    /// The test statistic.
    pub statistic: f64,
    /// The chance of a statistic at least this large if both samples came from one
    /// distribution.
    pub p_value: f64,
}

/// The first Wasserstein distance between two samples of numbers (scipy's
/// `wasserstein_distance`): the area between their empirical distribution functions. NaN when
/// either is empty.
pub fn wasserstein(u: &[f64], v: &[f64]) -> f64 {
    if u.is_empty() || v.is_empty() {
        return f64::NAN;
    }
    let (u, v) = (sorted(u), sorted(v));
    let mut all = [u.as_slice(), v.as_slice()].concat();
    all.sort_by(f64::total_cmp);
    // The share of each sample at or below `x`.
    let cdf = |values: &[f64], x: f64| values.partition_point(|v| *v <= x) as f64;
    let (nu, nv) = (u.len() as f64, v.len() as f64);
    all.windows(2)
        .map(|w| (cdf(&u, w[0]) / nu - cdf(&v, w[0]) / nv).abs() * (w[1] - w[0]))
        .sum()
}

/// The first Wasserstein distance between a reference given by its distribution function and
/// a sample of numbers: ∫ |F(x) − G(x)| dx. `reference` holds points (x, F(x)) in ascending
/// order, F linear between them and jumping where two points share an x (a value's whole share
/// is two points at that value): so a profile's values with their counts give the distance to
/// them exactly, and its quantiles give it to within the quantiles' spacing squared. NaN when
/// either is empty.
pub fn wasserstein_to_distribution(reference: &[(f64, f64)], sample: &[f64]) -> f64 {
    if reference.is_empty() || sample.is_empty() {
        return f64::NAN;
    }
    let sample = sorted(sample);
    let m = sample.len() as f64;
    let mut breaks: Vec<f64> = reference
        .iter()
        .map(|(x, _)| *x)
        .chain(sample.iter().copied())
        .collect();
    breaks.sort_by(f64::total_cmp);
    breaks.dedup();
    let (mut total, mut below) = (0.0, 0usize);
    for w in breaks.windows(2) {
        let (a, b) = (w[0], w[1]);
        while sample.get(below).is_some_and(|x| *x <= a) {
            below += 1;
        }
        let current = below as f64 / m;
        // No point of the reference lies strictly between a and b: F runs along one segment.
        let k = reference.partition_point(|(x, _)| *x <= a);
        let (fa, fb) = match (
            k.checked_sub(1).and_then(|i| reference.get(i)),
            reference.get(k),
        ) {
            (None, _) => (0.0, 0.0),
            (Some((_, p)), None) => (*p, *p),
            (Some((x0, p0)), Some((x1, p1))) => {
                let at = |x: f64| p0 + (p1 - p0) * (x - x0) / (x1 - x0);
                (at(a), at(b))
            }
        };
        let (d1, d2) = (fa - current, fb - current);
        total += if d1 * d2 >= 0.0 {
            (d1.abs() + d2.abs()) / 2.0 * (b - a)
        } else {
            // The segment crosses the sample's level: two triangles.
            (b - a) / 2.0 * (d1 * d1 + d2 * d2) / (d1.abs() + d2.abs())
        };
    }
    total
}

/// The two-sample Kolmogorov-Smirnov test, two-sided (scipy's `ks_2samp` with its default
/// `method="auto"`): the largest gap between the samples' empirical distribution functions, its
/// p-value exact when neither sample has over 10,000 values and from the one-sample
/// distribution at the effective size n₁n₂ / (n₁ + n₂) otherwise. NaN when either is empty.
pub fn kolmogorov_smirnov(u: &[f64], v: &[f64]) -> Test {
    if u.is_empty() || v.is_empty() {
        return Test {
            statistic: f64::NAN,
            p_value: f64::NAN,
        };
    }
    let (u, v) = (sorted(u), sorted(v));
    let (n1, n2) = (u.len(), v.len());
    let (mut i, mut j, mut gap) = (0, 0, 0f64);
    while i < n1 || j < n2 {
        let x = match (u.get(i), v.get(j)) {
            (Some(a), Some(b)) => a.min(*b),
            (Some(a), None) => *a,
            (None, Some(b)) => *b,
            (None, None) => break,
        };
        while u.get(i).is_some_and(|a| *a <= x) {
            i += 1;
        }
        while v.get(j).is_some_and(|b| *b <= x) {
            j += 1;
        }
        gap = gap.max((i as f64 / n1 as f64 - j as f64 / n2 as f64).abs());
    }
    if n1.max(n2) <= 10_000 {
        if let Some((statistic, p_value)) = kolmogorov::exact(n1, n2, gap) {
            return Test { statistic, p_value };
        }
    }
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    let effective = (m * n / (m + n)).round_ties_even() as u64;
    Test {
        statistic: gap,
        p_value: kolmogorov::kolmogorov_sf(effective, gap),
    }
}

/// The values in ascending order, NaN last.
fn sorted(values: &[f64]) -> Vec<f64> {
    let mut values = values.to_vec();
    values.sort_by(f64::total_cmp);
    values
}

/// [`wasserstein`] divided by the reference's standard deviation (at least 0.001), as Evidently
/// norms it, so that one threshold (0.1) serves columns of any scale.
pub fn wasserstein_normed(reference: &[f64], current: &[f64]) -> f64 {
    let n = reference.len() as f64;
    let mean = reference.iter().sum::<f64>() / n;
    let variance = reference.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    wasserstein(reference, current) / variance.sqrt().max(0.001)
}

/// The Jensen-Shannon distance between two distributions over the same bins, each given as
/// counts or shares (scipy's `jensenshannon`, natural logarithm): 0 when they are the same,
/// at most √ln 2.
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
    // x ln(x / y), 0 where x is (scipy's `rel_entr`).
    let rel_entr = |x: f64, y: f64| if x > 0.0 { x * (x / y).ln() } else { 0.0 };
    let divergence: f64 = p
        .iter()
        .zip(q)
        .map(|(p, q)| {
            let (p, q) = (p / sp, q / sq);
            let m = (p + q) / 2.0;
            rel_entr(p, m) + rel_entr(q, m)
        })
        .sum();
    (divergence / 2.0).sqrt()
}

/// The population stability index of two distributions over the same bins, given as shares
/// with no zero (Evidently puts 0.0001 for an empty bin): Σ (r − c) ln(r / c).
pub fn psi(reference: &[f64], current: &[f64]) -> f64 {
    reference
        .iter()
        .zip(current)
        .map(|(r, c)| (r - c) * (r / c).ln())
        .sum()
}

/// Pearson's chi-squared test of observed counts against expected ones over the same
/// categories (scipy's `chisquare`): k − 1 degrees of freedom for k categories.
pub fn chi_squared(observed: &[f64], expected: &[f64]) -> Test {
    let statistic: f64 = observed
        .iter()
        .zip(expected)
        .map(|(o, e)| (o - e).powi(2) / e)
        .sum();
    let freedom = observed.len().saturating_sub(1) as f64;
    Test {
        statistic,
        p_value: upper_gamma(freedom / 2.0, statistic / 2.0),
    }
}

/// The Z-test of two proportions (Evidently's `z_stat_test`): whether the share of the first
/// category differs between two samples, each given as counts over at most two categories;
/// two-sided, p-value 1 when both samples are all one category.
pub fn two_proportions(reference: &[f64], current: &[f64]) -> Test {
    let (n1, n2) = (reference.iter().sum::<f64>(), current.iter().sum::<f64>());
    let first = |counts: &[f64]| counts.first().copied().unwrap_or(0.0);
    let (p1, p2) = (first(reference) / n1, first(current) / n2);
    let pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if !z.is_finite() {
        return Test {
            statistic: 0.0,
            p_value: 1.0,
        };
    }
    // 2 (1 − Φ(|z|)) = erfc(|z| / √2) = Q(1/2, z² / 2).
    Test {
        statistic: z,
        p_value: upper_gamma(0.5, z * z / 2.0),
    }
}

/// The regularized upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a): the chi-squared
/// survival function is Q(k / 2, x / 2). A series below a + 1, a continued fraction above
/// (Numerical Recipes' `gser` and `gcf`), each to full double precision.
fn upper_gamma(a: f64, x: f64) -> f64 {
    if a <= 0.0 || x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    // A count where none was expected: scipy's statistic is infinite and its p-value 0.
    if x == f64::INFINITY {
        return 0.0;
    }
    let front = (a * x.ln() - x - ln_gamma(a)).exp();
    if x < a + 1.0 {
        let (mut term, mut sum, mut n) = (1.0 / a, 1.0 / a, a);
        while term.abs() > sum.abs() * f64::EPSILON {
            n += 1.0;
            term *= x / n;
            sum += term;
        }
        return 1.0 - sum * front;
    }
    // Lentz's method for the continued fraction.
    let tiny = f64::MIN_POSITIVE / f64::EPSILON;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / tiny;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..10_000 {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        d = if d.abs() < tiny { tiny } else { d };
        c = b + an / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() <= f64::EPSILON {
            break;
        }
    }
    front * h
}

/// ln Γ(x) for x > 0, by Lanczos' approximation (g = 7, nine terms; about 15 digits).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let sum = C[1..]
        .iter()
        .enumerate()
        .fold(C[0], |s, (i, c)| s + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

mod kolmogorov;

#[cfg(test)]
mod tests;
