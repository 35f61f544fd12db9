//! The linfa models fitted through the estimator contract: each beats a constant, round-trips
//! through its saved file, and suits only the outputs it can predict.

use super::*;
use crate::estimators::tests::bands;
use crate::estimators::{Estimator, FittedEstimator};
use crate::matrix::Values;
use crate::metrics;
use crate::testing::*;

/// Two features: the first decides the class (above 5), the second is noise; the number is
/// twice the first plus one.
fn two_features(n: usize) -> (Matrix, Vec<f32>, Vec<f32>) {
    let mut values = Vec::with_capacity(2 * n);
    let (mut classes, mut numbers) = (vec![], vec![]);
    for i in 0..n {
        let a = (i % 10) as f32;
        values.extend([a, ((i * 7) % 3) as f32]);
        classes.push(f32::from(a >= 5.0));
        numbers.push(2.0 * a + 1.0);
    }
    (Matrix::dense(values, n, 2), classes, numbers)
}

#[test]
fn every_linfa_estimator_fits_beats_a_constant_and_round_trips() {
    let (x, classes, numbers) = two_features(400);
    let classifiers = [
        Estimator::LogisticRegression(LogisticRegression::default()),
        Estimator::GaussianNB(GaussianNB::default()),
        Estimator::MultinomialNB(MultinomialNB::default()),
        Estimator::DecisionTree(DecisionTree::default()),
    ];
    let regressors = [
        Estimator::LinearRegression(LinearRegression::default()),
        Estimator::ElasticNet(ElasticNet::default()),
    ];
    let cases = classifiers
        .into_iter()
        .map(|e| (e, Task::Binary, &classes, metrics::Metric::Auc))
        .chain(
            regressors
                .into_iter()
                .map(|e| (e, Task::Regression, &numbers, metrics::Metric::R2)),
        );
    for (estimator, task, y, metric) in cases {
        let name = estimator.name();
        let (fitted, history, [train, validation]) = estimator.fit_on(task, &x, y, true).unwrap();
        assert_eq!(history.rounds, 1);
        let p = fitted.predict(&x).unwrap();
        assert_eq!(p.len(), 400, "{name}");
        assert_eq!(train.predictions, p, "{name}");
        assert_eq!(validation.predictions, p, "{name}");
        let score = metrics::evaluate(task, metric, y, &p).score.unwrap();
        // A constant predictor scores AUC 0.5 and R² 0.
        assert!(score > 0.8, "{name}: {metric:?} {score}");
        let dir = tempfile::tempdir().unwrap();
        fitted.save(dir.path()).unwrap();
        assert!(dir.path().join(LINFA_FILE).is_file(), "{name}");
        let back = FittedEstimator::load(dir.path()).unwrap();
        assert_eq!(back.predict(&x).unwrap(), p, "{name}");
        refused(back.contributions(&x), &["XGBoost"]);
    }
}

#[test]
fn the_elastic_net_is_least_squares_without_a_penalty_and_shrinks_with_one() {
    let (x, _, y) = two_features(400);
    let fit = |penalty: f64, l1_ratio: f64| {
        let spec = ElasticNet {
            penalty,
            l1_ratio,
            ..ElasticNet::default()
        };
        let (fitted, _, _) = Estimator::ElasticNet(spec)
            .fit_on(Task::Regression, &x, &y, false)
            .unwrap();
        let weights = fitted.importance(2, Importance::Gain).unwrap().unwrap();
        (weights, fitted.predict(&x).unwrap())
    };
    // y = 2a + 1 exactly: no penalty finds it.
    let (weights, p) = fit(0.0, 0.5);
    assert!(
        (weights[0] - 2.0).abs() < 1e-6 && weights[1] < 1e-6,
        "{weights:?}"
    );
    assert!((p[3] - 7.0).abs() < 1e-4, "{:?}", &p[..4]);
    // Lasso drops the noise feature and shrinks the other; ridge shrinks.
    let (lasso, _) = fit(0.5, 1.0);
    assert!(
        lasso[1] == 0.0 && lasso[0] < 2.0 && lasso[0] > 1.5,
        "{lasso:?}"
    );
    let (ridge, _) = fit(0.5, 0.0);
    assert!(ridge[0] < 2.0 && ridge[0] > 1.5, "{ridge:?}");
}

#[test]
fn linfa_classifiers_give_a_probability_per_class() {
    let (x, y) = bands(300);
    let Values::Dense(values) = &x.values else {
        panic!("dense data")
    };
    let x = Matrix::dense(values.clone(), 300, 1);
    for estimator in [
        Estimator::LogisticRegression(LogisticRegression::default()),
        Estimator::GaussianNB(GaussianNB::default()),
        Estimator::DecisionTree(DecisionTree::default()),
    ] {
        let name = estimator.name();
        let task = Task::MultiClass { classes: 3 };
        let (fitted, _, _) = estimator.fit_on(task, &x, &y, false).unwrap();
        let p = fitted.predict(&x).unwrap();
        assert_eq!(p.len(), 900, "{name}");
        for row in p.chunks(3) {
            assert!(
                (row.iter().sum::<f32>() - 1.0).abs() < 1e-4,
                "{name}: {row:?}"
            );
        }
        let stats = metrics::evaluate(task, metrics::Metric::Accuracy, &y, &p);
        assert!(stats.accuracy.unwrap() > 0.9, "{name}: {stats:?}");
    }
}

#[test]
fn a_linfa_estimator_must_suit_the_output() {
    let boolean = OutputEncoder::Boolean { column: "y".into() };
    refused(
        Estimator::LinearRegression(LinearRegression::default()).validate(&boolean),
        &["estimator.type", "LinearRegression", "Boolean(y)"],
    );
    let pass = OutputEncoder::Pass { column: "y".into() };
    assert!(Estimator::GaussianNB(GaussianNB::default())
        .validate(&pass)
        .is_err());
    refused(
        Estimator::LogisticRegression(LogisticRegression {
            alpha: -1.0,
            ..LogisticRegression::default()
        })
        .validate(&boolean),
        &["estimator.alpha"],
    );
}
