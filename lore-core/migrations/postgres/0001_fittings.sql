-- Every fitting of every model: valid SQL for both SQLite and PostgreSQL.
CREATE TABLE IF NOT EXISTS fittings (
    fitting_id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    params TEXT NOT NULL,
    stats TEXT NOT NULL,
    git_commit TEXT,
    path TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fittings_model ON fittings (model, fitting_id);
