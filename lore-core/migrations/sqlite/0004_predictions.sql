-- The prediction log: every row `lore api` predicted while `log_predictions = true` in
-- config/api.toml, with its inputs, its answer, the fitting that made it and the request it came
-- in. Times are UTC RFC 3339 of one width, so that text order is time order; JSON is kept as
-- text (the record's inputs, the prediction, the probability or probabilities).
CREATE TABLE IF NOT EXISTS predictions (
    prediction_id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    fitting_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    predicted_at TEXT NOT NULL,
    latency_ms DOUBLE PRECISION NOT NULL,
    inputs TEXT NOT NULL,
    prediction TEXT NOT NULL,
    probability TEXT
);
CREATE INDEX IF NOT EXISTS predictions_model_time ON predictions (model, predicted_at);
CREATE INDEX IF NOT EXISTS predictions_time ON predictions (predicted_at);
