-- Workload runs: a program started by 'mimic run --as', known by the
-- secret its proxy credentials and identity header carry.
CREATE TABLE runs (
	id              TEXT PRIMARY KEY,
	secret_hash     TEXT NOT NULL UNIQUE,
	compute_id      TEXT NOT NULL,
	service_account TEXT NOT NULL,
	created         BIGINT NOT NULL,
	expires         BIGINT NOT NULL
);

-- The sign-in log: every token issued or refused.
CREATE TABLE signins (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	at           BIGINT NOT NULL,
	endpoint     TEXT NOT NULL,
	result       TEXT NOT NULL,
	error_code   TEXT NOT NULL,
	message      TEXT NOT NULL,
	principal_id TEXT NOT NULL,
	client_id    TEXT NOT NULL,
	identity_key TEXT NOT NULL,
	identity_id  TEXT NOT NULL,
	compute_key  TEXT NOT NULL,
	compute_id   TEXT NOT NULL,
	credential   TEXT NOT NULL,
	audience     TEXT NOT NULL
);
CREATE INDEX signins_at ON signins (at);
CREATE INDEX signins_identity ON signins (identity_key, at);
CREATE INDEX signins_compute ON signins (compute_key, at);
