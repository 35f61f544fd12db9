"""Fits Python's xgboost on the encoded splits that `lore fit --export` wrote, with the
parameters Lore's XGBoost estimator gives XGBoost, and prints the fit's seconds and test AUC as
JSON. The seconds cover what Lore's `seconds.fit` covers: building the quantised matrices of
train and validation, the boosting rounds (evaluating both each round, stopping early), and
predicting both splits with the best round.

    python xgboost_python.py EXPORT_DIR [--threads N]
"""

import argparse
import json
import pathlib
import time

import numpy as np
import pyarrow.parquet as pq
import xgboost


def read(path: pathlib.Path):
    table = pq.read_table(path)
    features = [
        c for c in table.column_names if c != "label" and not c.startswith("prediction")
    ]
    x = np.column_stack(
        [table[c].to_numpy(zero_copy_only=False).astype(np.float32) for c in features]
    )
    y = table["label"].to_numpy(zero_copy_only=False).astype(np.float32)
    return np.ascontiguousarray(x), y


def auc(labels, scores) -> float:
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # Ties share their mean rank.
    _, start, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    mean_rank = start + (counts + 1) / 2.0
    ranks[order] = np.repeat(mean_rank, counts)
    positives = labels > 0.5
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("export", type=pathlib.Path)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    train_x, train_y = read(args.export / "train.parquet")
    valid_x, valid_y = read(args.export / "validation.parquet")
    test_x, test_y = read(args.export / "test.parquet")
    params = {
        "objective": "binary:logistic",
        "max_depth": 3,
        "eta": 0.3,
        "min_child_weight": 1,
        "gamma": 0,
        "subsample": 1,
        "colsample_bytree": 1,
        "lambda": 1,
        "alpha": 0,
        "tree_method": "hist",
        "seed": 0,
        "eval_metric": "logloss",
        "max_bin": 256,
        "verbosity": 0,
    }
    if args.threads:
        params["nthread"] = args.threads
    started = time.perf_counter()
    dtrain = xgboost.QuantileDMatrix(train_x, train_y, max_bin=256, missing=np.nan)
    dvalid = xgboost.QuantileDMatrix(
        valid_x, valid_y, ref=dtrain, max_bin=256, missing=np.nan
    )
    booster = xgboost.train(
        params,
        dtrain,
        num_boost_round=100,
        evals=[(dtrain, "train"), (dvalid, "validation")],
        early_stopping_rounds=10,
        verbose_eval=False,
    )
    best = booster.best_iteration
    rounds = (0, best + 1)
    booster.predict(dtrain, iteration_range=rounds)
    booster.predict(dvalid, iteration_range=rounds)
    seconds = time.perf_counter() - started
    test = booster.predict(xgboost.DMatrix(test_x, missing=np.nan), iteration_range=rounds)
    print(
        json.dumps(
            {
                "xgboost": xgboost.__version__,
                "seconds": round(seconds, 3),
                "best_iteration": best,
                "rounds": booster.num_boosted_rounds(),
                "test_auc": round(auc(test_y, test), 4),
                "train_rows": len(train_y),
            }
        )
    )


if __name__ == "__main__":
    main()
