"""Loads a booster that Lore saved into Python's own xgboost and checks that it predicts exactly
what Lore predicted for the same rows.

    python booster_in_python.py FITTING_DIR EXPORT_DIR

FITTING_DIR is a fitting (models/<Model>/<id>/, holding model.json or model.ubj); EXPORT_DIR is
where `lore fit --export` wrote that fitting's encoded splits, with Lore's predictions beside
each row. Exits non-zero, saying which row differs, when Python's predictions are not identical.
"""

import json
import pathlib
import sys

import numpy as np
import pyarrow.parquet as pq
import xgboost


def main(fitting: pathlib.Path, export: pathlib.Path) -> None:
    models = [p for p in (fitting / "model.json", fitting / "model.ubj") if p.is_file()]
    if not models:
        sys.exit(f"{fitting}: no model.json or model.ubj")
    booster = xgboost.Booster(model_file=str(models[0]))
    checked = 0
    for split in ("train", "validation", "test"):
        table = pq.read_table(export / f"{split}.parquet")
        names = table.column_names
        predicted = [c for c in names if c == "prediction" or c.startswith("prediction_")]
        features = [c for c in names if c != "label" and c not in predicted]
        if table.num_rows == 0:
            continue
        x = np.column_stack(
            [table[c].to_numpy(zero_copy_only=False).astype(np.float32) for c in features]
        )
        lore = np.column_stack(
            [table[c].to_numpy(zero_copy_only=False).astype(np.float32) for c in predicted]
        )
        python = booster.predict(xgboost.DMatrix(x, missing=np.nan)).reshape(lore.shape)
        if not np.array_equal(python, lore):
            row = int(np.argwhere(python != lore)[0][0])
            sys.exit(
                f"{export / split}.parquet row {row + 1}: Python's xgboost "
                f"{xgboost.__version__} predicts {python[row].tolist()}, "
                f"Lore predicted {lore[row].tolist()}"
            )
        checked += table.num_rows
    print(
        json.dumps(
            {
                "model": str(models[0]),
                "xgboost": xgboost.__version__,
                "rows": checked,
                "identical": True,
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]))
