//! The sample `users` table that `lore init` writes: a port of the generative model in
//! `shared/bench/gen_data.py` (names and their statistics from the shipped names table, email
//! domains, dates, orders, baskets and sessions, and a subscription label drawn from a logistic
//! model of them), so a new project has learnable data with no download.

use polars::prelude::*;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Gamma, LogNormal, Poisson};

use crate::error::Result;
use crate::io::Connection;
use crate::names;

/// The default seed, as in the Python generator.
pub const DEFAULT_SEED: u64 = 20180601;

const DOMAINS: [(&str, f64, f64); 10] = [
    ("gmail.com", 0.40, 0.0),
    ("yahoo.com", 0.15, -0.3),
    ("hotmail.com", 0.10, -0.2),
    ("outlook.com", 0.08, 0.1),
    ("icloud.com", 0.07, 0.4),
    ("aol.com", 0.06, -0.6),
    ("comcast.net", 0.04, -0.1),
    ("msn.com", 0.03, -0.4),
    ("live.com", 0.03, -0.1),
    ("instacart.com", 0.01, 1.5),
];
const RARE_DOMAIN_SHARE: f64 = 0.03;
const RARE_DOMAINS: u32 = 300;
const RARE_DOMAIN_EFFECT: f64 = 0.2;
const FAKE_NAME_SHARE: f64 = 0.02;
const NULL_NAME_SHARE: f64 = 0.01;
const FAKE_NAMES: usize = 500;
const NULL_BASKET_SHARE: f64 = 0.02;
/// 2014-01-01 00:00:00 UTC.
const EPOCH_START: i64 = 1_388_534_400;
/// 2018-06-30 23:59:59 UTC.
const SIGNUP_END: i64 = 1_530_403_199;
/// 2018-12-31 23:59:59 UTC.
const DATA_END: i64 = 1_546_300_799;

/// One row of the sample `users` table.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// 1..N.
    pub id: i64,
    /// A first name, an invented long-tail name, or null.
    pub first_name: Option<String>,
    /// `<name><id>@<domain>`.
    pub email: String,
    /// `YYYY-MM-DD HH:MM:SS`.
    pub signup_date: String,
    /// `YYYY-MM-DD HH:MM:SS`, after the signup.
    pub last_order_at: String,
    /// Number of orders.
    pub orders: i64,
    /// Mean basket value, sometimes null.
    pub basket_value: Option<f64>,
    /// Sessions in the last 30 days.
    pub sessions_30d: i64,
    /// The label: 1 when the user subscribed.
    pub has_subscription: i64,
}

fn capitalize(s: &str) -> String {
    let mut cs = s.chars();
    cs.next()
        .map(|f| f.to_uppercase().collect::<String>() + &cs.as_str().to_lowercase())
        .unwrap_or_default()
}

fn fake_names(rng: &mut impl Rng, k: usize) -> Vec<String> {
    const SYLLABLES: [&str; 16] = [
        "ka", "zo", "rix", "mu", "tal", "bek", "qui", "lor", "xan", "ep", "ny", "dra", "vel", "os",
        "tir", "gu",
    ];
    let mut out = std::collections::BTreeSet::new();
    while out.len() < k {
        let parts = rng.random_range(2..4);
        let name: String = (0..parts)
            .map(|_| SYLLABLES[rng.random_range(0..SYLLABLES.len())])
            .collect();
        out.insert(capitalize(&name));
    }
    out.into_iter().collect()
}

fn pick(cumulative: &[f64], rng: &mut impl Rng) -> usize {
    let total = cumulative.last().copied().unwrap_or(1.0);
    let u = rng.random::<f64>() * total;
    cumulative
        .partition_point(|c| *c <= u)
        .min(cumulative.len() - 1)
}

fn timestamp(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// Generates `n` users, the same ones for the same `seed`.
pub fn generate(n: usize, seed: u64) -> Vec<User> {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let table = names::all();
    let mut acc = 0.0;
    let name_cumulative: Vec<f64> = table
        .iter()
        .map(|(_, s)| {
            acc += s.population;
            acc
        })
        .collect();
    let fakes = fake_names(&mut rng, FAKE_NAMES);
    let mut acc = 0.0;
    let domain_cumulative: Vec<f64> = DOMAINS
        .iter()
        .map(|d| d.1)
        .chain([RARE_DOMAIN_SHARE])
        .map(|s| {
            acc += s;
            acc
        })
        .collect();
    let (Ok(orders_gamma), Ok(basket_dist)) =
        (Gamma::new(2.0, 0.85 / 0.15), LogNormal::new(3.8, 0.5))
    else {
        return Vec::new();
    };

    (1..=n as i64)
        .map(|id| {
            let (name, stats) = &table[pick(&name_cumulative, &mut rng)];
            let kind: f64 = rng.random();
            let (first_name, share_male, name_age) = if kind < FAKE_NAME_SHARE {
                (
                    Some(fakes[rng.random_range(0..fakes.len())].clone()),
                    0.5,
                    45.0,
                )
            } else if kind < FAKE_NAME_SHARE + NULL_NAME_SHARE {
                (None, 0.5, 45.0)
            } else {
                (Some(capitalize(name)), stats.share_male, stats.mean_age)
            };

            let d = pick(&domain_cumulative, &mut rng);
            let (domain, domain_effect) = match DOMAINS.get(d) {
                Some((name, _, effect)) => (name.to_string(), *effect),
                None => (
                    format!("mail{}.example.org", rng.random_range(0..RARE_DOMAINS)),
                    RARE_DOMAIN_EFFECT,
                ),
            };
            let local = first_name
                .as_deref()
                .map(str::to_lowercase)
                .unwrap_or_else(|| "user".into());
            let email = format!("{local}{id}@{domain}");

            let signup = EPOCH_START + rng.random_range(0..SIGNUP_END - EPOCH_START);
            let last_order = signup + (rng.random::<f64>() * (DATA_END - signup) as f64) as i64;
            let tenure_days = (last_order - signup) as f64 / 86_400.0;
            let signup_month = chrono::DateTime::from_timestamp(signup, 0)
                .map(|t| chrono::Datelike::month(&t))
                .unwrap_or(1);

            let lambda: f64 = orders_gamma.sample(&mut rng);
            let orders = Poisson::new(lambda.max(1e-9))
                .map(|p| p.sample(&mut rng) as i64)
                .unwrap_or(0);
            let basket =
                (Distribution::<f64>::sample(&basket_dist, &mut rng) * 100.0).round() / 100.0;
            let basket_value = (rng.random::<f64>() >= NULL_BASKET_SHARE).then_some(basket);
            let sessions_30d = Poisson::new(2.0 + 0.1 * orders.min(30) as f64)
                .map(|p| p.sample(&mut rng) as i64)
                .unwrap_or(0);

            let z = -1.9
                + 1.0 * (0.5 - share_male)
                + 0.025 * (name_age - 45.0)
                + domain_effect
                + 0.45 * (orders as f64).ln_1p()
                + 0.01 * (basket_value.unwrap_or(50.0) - 50.0)
                + 0.08 * (sessions_30d as f64 - 3.0)
                + 0.0006 * tenure_days
                + if signup_month >= 11 { 0.3 } else { 0.0 };
            let p = 1.0 / (1.0 + (-z).exp());
            let has_subscription = i64::from(rng.random::<f64>() < p);

            User {
                id,
                first_name,
                email,
                signup_date: timestamp(signup),
                last_order_at: timestamp(last_order),
                orders,
                basket_value,
                sessions_30d,
                has_subscription,
            }
        })
        .collect()
}

/// The users as a data frame with the columns of the `users` table.
pub fn frame(users: &[User]) -> Result<DataFrame> {
    fn each<T>(users: &[User], field: impl Fn(&User) -> T) -> Vec<T> {
        users.iter().map(field).collect()
    }
    Ok(df!(
        "id" => each(users, |u| u.id),
        "first_name" => each(users, |u| u.first_name.clone()),
        "email" => each(users, |u| u.email.clone()),
        "signup_date" => each(users, |u| u.signup_date.clone()),
        "last_order_at" => each(users, |u| u.last_order_at.clone()),
        "orders" => each(users, |u| u.orders),
        "basket_value" => each(users, |u| u.basket_value),
        "sessions_30d" => each(users, |u| u.sessions_30d),
        "has_subscription" => each(users, |u| u.has_subscription),
    )?)
}

/// The `users` table's definition (the same on SQLite and PostgreSQL).
pub const USERS_TABLE: &str = "CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    first_name TEXT,
    email TEXT,
    signup_date TEXT,
    last_order_at TEXT,
    orders BIGINT,
    basket_value DOUBLE PRECISION,
    sessions_30d BIGINT,
    has_subscription BIGINT NOT NULL)";

/// Writes `users` as the table `users` (replacing it) on `connection`.
pub async fn write(connection: &Connection, users: &[User]) -> Result<()> {
    connection
        .execute(&format!("DROP TABLE IF EXISTS users; {USERS_TABLE};"))
        .await?;
    connection.insert("users", &frame(users)?).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_deterministic_and_shaped_like_the_python_generator() {
        let a = generate(20_000, DEFAULT_SEED);
        assert_eq!(a, generate(20_000, DEFAULT_SEED));
        assert_ne!(a[..50], generate(50, 1)[..]);
        let n = a.len() as f64;
        let positives = a.iter().filter(|u| u.has_subscription == 1).count() as f64 / n;
        assert!(
            (0.25..0.45).contains(&positives),
            "positive share {positives}"
        );
        let nulls = a.iter().filter(|u| u.first_name.is_none()).count() as f64 / n;
        assert!((0.005..0.02).contains(&nulls), "null names {nulls}");
        let mean_orders = a.iter().map(|u| u.orders as f64).sum::<f64>() / n;
        assert!(
            (10.0..13.0).contains(&mean_orders),
            "mean orders {mean_orders}"
        );
        assert!(a
            .iter()
            .all(|u| u.last_order_at >= u.signup_date && u.email.contains('@')));
        assert_eq!(a[0].id, 1);
    }
}
