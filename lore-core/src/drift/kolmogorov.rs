//! The distributions behind the two-sample Kolmogorov-Smirnov test's p-value, chosen as scipy's
//! `ks_2samp` chooses them: the exact distribution of the two-sample statistic counted over
//! lattice paths (Hodges, 1958) when both samples are small, otherwise the one-sample
//! distribution of Dₙ at the samples' effective size, evaluated by the method Simard and
//! L'Ecuyer (2011) pick for each region (Durbin's matrix as Marsaglia, Tsang and Wang compute
//! it, the Pelz-Good series, or twice Smirnov's one-sided tail).

/// The exact p-value of a two-sided two-sample statistic `d` for samples of `n1` and `n2`
/// values, with `d` rounded onto the lattice the statistic lives on; `None` where the count
/// leaves the range of a double, as scipy then falls back to the asymptotic distribution.
pub(super) fn exact(n1: usize, n2: usize, d: f64) -> Option<(f64, f64)> {
    let g = gcd(n1, n2);
    let lcm = (n1 / g) as f64 * n2 as f64;
    let h = (d * lcm).round_ties_even();
    let d = h / lcm;
    if h == 0.0 {
        return Some((d, 1.0));
    }
    let h = h as usize;
    let p = if n1 == n2 {
        outside_square(n1, h)
    } else {
        1.0 - inside(n1, n2, g, h)
    };
    (0.0..=1.0).contains(&p).then_some((d, p))
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The share of lattice paths from (0, 0) to (n, n) that touch a line x − y = ±h:
/// 2 (A₀ − A₀A₁ + A₀A₁A₂ − …) with each binomial ratio Aₖ folded in from the far end, which
/// avoids the cancellation of the alternating sum.
fn outside_square(n: usize, h: usize) -> f64 {
    let (nf, hf) = (n as f64, h as f64);
    let mut p = 0.0;
    for k in (0..=n / h).rev() {
        let kh = k as f64 * hf;
        let ratio = (0..h).fold(1.0, |r, j| {
            (nf - kh - j as f64) * r / (nf + kh + j as f64 + 1.0)
        });
        p = ratio * (1.0 - p);
    }
    2.0 * p
}

/// The share of lattice paths from (0, 0) to (m, n) that stay strictly inside
/// |x/m − y/n| < h / lcm(m, n), one column at a time over a sliding window of rows, rescaled
/// by powers of two (kept apart in `exponent`) because the counts are binomial-sized.
fn inside(m: usize, n: usize, g: usize, h: usize) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng, h) = ((m / g) as f64, (n / g) as f64, h as f64);
    let mut min_j = 0usize;
    let mut max_j = ((h / mg).ceil() as usize).min(n + 1);
    let mut length = max_j - min_j;
    let mut column = vec![0.0; (2 * max_j + 2).min(n + 1)];
    column[..max_j].fill(1.0);
    let mut exponent = 0i32;
    for i in 1..=m {
        let (last_min_j, last_length) = (min_j, length);
        let at = ng * i as f64;
        min_j = ((((at - h) / mg).floor() + 1.0).max(0.0) as usize).min(n);
        max_j = (((at + h) / mg).ceil() as usize).min(n + 1);
        if max_j <= min_j {
            return 0.0;
        }
        // Each entry is the sum of the entries up to it in the previous column; reading
        // ahead of writing, so one buffer serves both columns.
        let shift = min_j - last_min_j;
        length = max_j - min_j;
        let mut sum = 0.0;
        for t in 0..length {
            sum += column.get(shift + t).copied().unwrap_or(0.0);
            if let Some(entry) = column.get_mut(t) {
                *entry = sum;
            }
        }
        let stale = length..(last_length.max(length)).min(column.len());
        column[stale].fill(0.0);
        let (_, top) = frexp(column.get(length - 1).copied().unwrap_or(0.0));
        if top > 900 {
            let scale = top - 800;
            column.iter_mut().for_each(|a| *a = ldexp(*a, -scale));
            exponent += scale;
        }
    }
    let mut value = column.get(length - 1).copied().unwrap_or(0.0);
    // Divide by the number of all paths, C(m + n, n), a factor at a time.
    for i in 1..=n {
        value = value * i as f64 / (m + i) as f64;
        let (_, e) = frexp(value);
        if e < -128 {
            value = ldexp(value, -e);
            exponent += e;
        }
    }
    ldexp(value, exponent)
}

/// `x` split as f × 2ᵉ with |f| in [0.5, 1) (C's `frexp`); zero and non-finite values keep e = 0.
fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let e = x.abs().log2().floor() as i32 + 1;
    let f = ldexp(x, -e);
    // log2 can land one off at exact powers of two.
    if f.abs() >= 1.0 {
        (f / 2.0, e + 1)
    } else if f.abs() < 0.5 {
        (f * 2.0, e - 1)
    } else {
        (f, e)
    }
}

/// x × 2ᵉ, in steps so that neither the power nor an intermediate leaves the range of a double
/// before the result does.
fn ldexp(mut x: f64, mut e: i32) -> f64 {
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    x * 2f64.powi(e)
}

/// P(Dₙ ≥ x) for the two-sided one-sample statistic of `n` values (scipy's `kstwo.sf`), by the
/// method Simard and L'Ecuyer choose for the region (n, nx²) falls in.
pub(super) fn kolmogorov_sf(n: u64, x: f64) -> f64 {
    if x.is_nan() || n == 0 {
        return f64::NAN;
    }
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * x;
    let p = if t <= 1.0 {
        // Ruben and Gambino's closed forms at the ends.
        if t <= 0.5 {
            return 1.0;
        }
        1.0 - (1..=n).fold(1.0, |p, m| p * m as f64 * (2.0 * t - 1.0) / nf)
    } else if t >= nf - 1.0 {
        2.0 * (1.0 - x).powf(nf)
    } else if x >= 0.5 {
        2.0 * smirnov(n, x)
    } else {
        let nxx = t * x;
        if n <= 140 {
            // Durbin's matrix where scipy uses it or Pomeranz's recursion: both exact.
            if nxx <= 4.0 {
                1.0 - durbin_cdf(n, x)
            } else {
                2.0 * smirnov(n, x)
            }
        } else if nxx >= 370.0 {
            0.0
        } else if nxx >= 2.2 {
            2.0 * smirnov(n, x)
        } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
            1.0 - durbin_cdf(n, x)
        } else {
            1.0 - pelz_good_cdf(n, x)
        }
    };
    p.clamp(0.0, 1.0)
}

/// P(Dₙ⁺ ≥ x), Smirnov's one-sided tail, by the Birnbaum-Tingey sum
/// x Σⱼ C(n, j) (x + j/n)^(j−1) (1 − x − j/n)^(n−j), its terms taken through logarithms.
fn smirnov(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let last = ((nf * (1.0 - x)).floor() as u64).min(n);
    let mut ln_choose = 0.0;
    let mut sum = 0.0;
    for j in 0..=last {
        let jf = j as f64;
        if j > 0 {
            ln_choose += ((nf - jf + 1.0) / jf).ln();
        }
        let rest = 1.0 - x - jf / nf;
        if rest <= 0.0 {
            continue;
        }
        let ln_term = ln_choose + (jf - 1.0) * (x + jf / nf).ln() + (nf - jf) * rest.ln();
        sum += ln_term.exp();
    }
    x * sum
}

/// P(Dₙ < x) by Durbin's matrix: the k-th diagonal entry of (n!/nⁿ) Hⁿ for the (2k − 1)-square
/// H of Marsaglia, Tsang and Wang, with x = (k − h)/n, powers scaled by 2¹²⁸ as they grow.
fn durbin_cdf(n: u64, x: f64) -> f64 {
    let nx = n as f64 * x;
    let k = nx.ceil() as usize;
    let h = k as f64 - nx;
    let m = 2 * k - 1;
    let mut factorial = 1.0;
    let mut inverse_factorials = vec![0.0; m];
    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powi(j as i32)).collect();
    for j in 1..=m {
        inverse_factorials[j - 1] = factorial;
        factorial /= j as f64;
        v[j - 1] *= factorial;
    }
    v[m - 1] = (1.0 - 2.0 * h.powi(m as i32) + (2.0 * h - 1.0).max(0.0).powi(m as i32)) * factorial;
    let mut matrix = vec![0.0; m * m];
    for i in 1..m {
        for row in i - 1..m {
            matrix[row * m + i] = inverse_factorials[row + 1 - i];
        }
    }
    for row in 0..m {
        matrix[row * m] = v[row];
    }
    for column in 0..m {
        matrix[(m - 1) * m + column] = v[m - 1 - column];
    }
    let multiply = |a: &[f64], b: &[f64]| -> Vec<f64> {
        let mut c = vec![0.0; m * m];
        for i in 0..m {
            for l in 0..m {
                let a = a[i * m + l];
                if a != 0.0 {
                    for j in 0..m {
                        c[i * m + j] += a * b[l * m + j];
                    }
                }
            }
        }
        c
    };
    let big = 2f64.powi(128);
    let mut power: Vec<f64> = (0..m * m)
        .map(|i| if i % (m + 1) == 0 { 1.0 } else { 0.0 })
        .collect();
    let (mut exponent, mut matrix_exponent) = (0i32, 0i32);
    let mut remaining = n;
    while remaining > 0 {
        if remaining % 2 == 1 {
            power = multiply(&power, &matrix);
            exponent += matrix_exponent;
        }
        matrix = multiply(&matrix, &matrix);
        matrix_exponent *= 2;
        if matrix[(k - 1) * m + k - 1].abs() > big {
            matrix.iter_mut().for_each(|a| *a /= big);
            matrix_exponent += 128;
        }
        remaining /= 2;
    }
    let mut p = power[(k - 1) * m + k - 1];
    let nf = n as f64;
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < 1.0 / big {
            p *= big;
            exponent -= 128;
        }
    }
    ldexp(p, exponent)
}

/// P(Dₙ ≤ x) by Pelz and Good's series (Li-Chien and Korolyuk's expansion in 1/√n, each term
/// turned by Jacobi's theta identity into a sum that converges fast for small z = x√n).
fn pelz_good_cdf(n: u64, x: f64) -> f64 {
    use std::f64::consts::PI;
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (z2, z4, z6) = (z * z, z.powi(4), z.powi(6));
    let (pi2, pi4, pi6) = (PI * PI, PI.powi(4), PI.powi(6));
    let q_log = -pi2 / 8.0 / z2;
    if q_log < -708.0 {
        return 0.0;
    }
    let q = q_log.exp();
    let max_k = (16.0 * z / PI).ceil() as i32;
    // Σ over odd m = 2k − 1 of q^(m²) times each term's polynomial in m², evaluated by Horner
    // in q⁸ᵏ from the far end.
    let mut terms = [0.0f64; 4];
    for k in (1..=max_k).rev() {
        let m2 = f64::from(2 * k - 1).powi(2);
        let coefficients = [
            1.0,
            -z2 + pi2 / 4.0 * m2,
            6.0 * z6
                + 2.0 * z4
                + (2.0 * z4 - 5.0 * z2) * pi2 / 4.0 * m2
                + pi4 * (1.0 - 2.0 * z2) / 16.0 * m2 * m2,
            -30.0 * z6 - 90.0 * z.powi(8)
                + pi2 * (135.0 * z4 - 96.0 * z6) / 4.0 * m2
                + pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0 * m2 * m2
                + pi6 * (5.0 - 30.0 * z2) / 64.0 * m2 * m2 * m2,
        ];
        let step = q.powi(8 * k);
        for (term, c) in terms.iter_mut().zip(coefficients) {
            *term = *term * step + c;
        }
    }
    let root = (2.0 * PI).sqrt();
    for (term, divisor) in
        terms
            .iter_mut()
            .zip([z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)])
    {
        *term *= q * root / divisor;
    }
    // The second sum, over all k, adds to the last two terms.
    let q = (-pi2 / 2.0 / z2).exp();
    let mut extra = [0.0f64; 2];
    for k in (1..=max_k).rev() {
        let k2 = f64::from(k).powi(2);
        let coefficients = [pi2 * k2, 3.0 * pi2 * z2 * k2 - pi4 * k2 * k2];
        let step = q.powi(2 * k + 1);
        for (term, c) in extra.iter_mut().zip(coefficients) {
            *term = *term * step + c;
        }
    }
    terms[2] += extra[0] * q * root / (-36.0 * z.powi(3));
    terms[3] += extra[1] * q * root / (216.0 * z6);
    terms
        .iter()
        .enumerate()
        .map(|(i, term)| term / nf.powf(i as f64 / 2.0))
        .sum()
}
