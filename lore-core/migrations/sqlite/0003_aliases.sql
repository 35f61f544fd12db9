-- The model registry: every promotion and rollback of an alias (production, staging, ...), in
-- order. An alias's holder is found by replaying its events: a promotion pushes a fitting, a
-- rollback pops back to the one before.
CREATE TABLE IF NOT EXISTS alias_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL,
    alias TEXT NOT NULL,
    action TEXT NOT NULL,
    fitting_id TEXT,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alias_events_model ON alias_events (model, alias, seq);
