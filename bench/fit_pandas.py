"""SubscribersDeclared written the way a Python user would write it today: pandas reads the
extract, the same transformers and encoders by hand, scikit-learn's split and AUC, xgboost's
`hist` booster with early stopping on the validation split, the model and test predictions
saved. bench/fit_1m.sh times it beside `lore fit SubscribersDeclared` as a whole process.

    python fit_pandas.py USERS_SQLITE NAMES_CSV OUT_DIR
"""

import json, pathlib, sqlite3, sys

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

db, names_csv, out = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
with sqlite3.connect(db) as conn:
    df = pd.read_sql(
        "SELECT first_name, email, signup_date, last_order_at, orders, basket_value, "
        "sessions_30d, has_subscription FROM users ORDER BY id LIMIT 1000000", conn)
names = pd.read_csv(names_csv, header=None, names=["name", "sex", "age", "population"])
names = names.drop_duplicates("name").set_index("name")
first = df["first_name"].str.lower()
df["domain"] = df["email"].str.extract(r"@([^@]*)$", expand=False).str.lower()
df["log_orders"] = np.log1p(df["orders"])
df["name_sex"] = first.map(names["sex"])
df["log_name_age"] = np.log(first.map(names["age"]))
signup = pd.to_datetime(df["signup_date"])
df["age_days"] = (pd.to_datetime(df["last_order_at"]) - signup).dt.total_seconds() / 86400
df["signup_month"] = signup.dt.month
train, rest = train_test_split(df, test_size=0.19, random_state=1)
valid, test = train_test_split(rest, test_size=0.09 / 0.19, random_state=1)


def encode(part):
    x = pd.DataFrame(index=part.index)
    for column, minimum in [("first_name", 100), ("domain", 50)]:
        counts = train[column].value_counts()
        kept = counts[counts >= minimum].index
        x[column] = pd.Categorical(part[column].where(part[column].isin(kept)), categories=kept).codes
    for column in ["log_name_age", "age_days", "log_orders", "basket_value"]:
        x[column] = (part[column] - train[column].mean()) / train[column].std()
    for column, bins in [("name_sex", 10), ("signup_month", 12)]:
        lo, hi = train[column].min(), train[column].max()
        x[column] = np.floor((part[column] - lo) / (hi - lo) * bins).clip(0, bins - 1)
    edges = train["sessions_30d"].quantile(np.linspace(0, 1, 6)[1:-1]).to_numpy()
    x["sessions_30d"] = np.searchsorted(edges, part["sessions_30d"], side="right")
    return x.astype("float32"), part["has_subscription"].astype("float32")


(xt, yt), (xv, yv), (xs, ys) = encode(train), encode(valid), encode(test)
dtrain = xgb.QuantileDMatrix(xt, yt)
dvalid = xgb.QuantileDMatrix(xv, yv, ref=dtrain)
params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "tree_method": "hist",
          "eval_metric": "logloss"}
booster = xgb.train(params, dtrain, num_boost_round=100, evals=[(dtrain, "train"), (dvalid, "validation")],
                    early_stopping_rounds=10, verbose_eval=False)
best = (0, booster.best_iteration + 1)
scores = booster.predict(xgb.DMatrix(xs), iteration_range=best)
out.mkdir(parents=True, exist_ok=True)
booster.save_model(out / "model.ubj")
pd.DataFrame({"label": ys, "prediction": scores}).to_parquet(out / "test.parquet")
stats = {"test_auc": roc_auc_score(ys, scores), "best_iteration": booster.best_iteration}
(out / "stats.json").write_text(json.dumps(stats))
print(json.dumps(stats))
