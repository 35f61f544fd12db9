-- Runs as documents: every fit, evaluation and search trial. A run's `params` section lives in
-- its own table so that filters on everything else never read it. Fittings recorded before this
-- migration become fit runs.
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    model TEXT NOT NULL,
    fitting_id TEXT,
    started_at TEXT NOT NULL,
    document BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_model ON runs (model, run_id);
CREATE INDEX IF NOT EXISTS runs_fitting ON runs (fitting_id);
CREATE TABLE IF NOT EXISTS run_params (
    run_id TEXT PRIMARY KEY,
    params BLOB NOT NULL
);
INSERT INTO runs (run_id, kind, model, fitting_id, started_at, document)
SELECT fitting_id, 'fit', model, fitting_id, started_at,
    jsonb_object(
        'run_id', fitting_id, 'kind', 'fit', 'model', model, 'fitting_id', fitting_id,
        'started_at', started_at, 'finished_at', finished_at,
        'metrics', jsonb_remove(jsonb(stats), '$.importance', '$.importance_weight', '$.importance_cover', '$.seconds'),
        'seconds', jsonb_extract(jsonb(stats), '$.seconds'),
        'git', jsonb_object('commit', git_commit),
        'artifacts', jsonb_object('fitting', path),
        'tags', jsonb_object())
FROM fittings;
INSERT INTO run_params (run_id, params) SELECT fitting_id, jsonb(params) FROM fittings;
DROP TABLE fittings;
