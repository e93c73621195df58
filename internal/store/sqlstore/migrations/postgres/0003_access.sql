-- The access log: every control-plane and data-plane authorization decision.
CREATE TABLE access (
	seq          BIGSERIAL PRIMARY KEY,
	at           BIGINT NOT NULL,
	plane        TEXT NOT NULL,
	method       TEXT NOT NULL,
	principal_id TEXT COLLATE "C" NOT NULL,
	client_id    TEXT NOT NULL,
	identity_key TEXT COLLATE "C" NOT NULL,
	identity_id  TEXT NOT NULL,
	compute_key  TEXT COLLATE "C" NOT NULL,
	compute_id   TEXT NOT NULL,
	action       TEXT NOT NULL,
	data_action  BIGINT NOT NULL,
	scope        TEXT NOT NULL,
	allowed      BIGINT NOT NULL,
	assignment   TEXT NOT NULL,
	role         TEXT NOT NULL,
	deny         TEXT NOT NULL,
	reason       TEXT NOT NULL,
	status       BIGINT NOT NULL
);
CREATE INDEX access_at ON access (at);
CREATE INDEX access_identity ON access (identity_key, at);
CREATE INDEX access_compute ON access (compute_key, at);
CREATE INDEX access_principal ON access (principal_id, at);
