-- Feedback: the true label of a prediction `lore api` logged (its prediction_id) or of a record
-- given whole, sent by POST /models/{name}/feedback or `lore feedback add`, with who sent it and
-- when. The key is the prediction's id (or a digest of the record), so feedback sent again for
-- the same row replaces the earlier. Inputs are the row's inputs as JSON text, copied from the
-- log for a prediction; the label is a JSON value as text.
CREATE TABLE IF NOT EXISTS feedback (
    feedback_id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    prediction_id TEXT,
    inputs TEXT NOT NULL,
    label TEXT NOT NULL,
    sent_by TEXT NOT NULL,
    sent_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_model_time ON feedback (model, sent_at);
