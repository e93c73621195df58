CREATE TABLE resources (
	rkey     TEXT PRIMARY KEY,
	id       TEXT NOT NULL,
	type     TEXT NOT NULL,
	type_key TEXT NOT NULL,
	parent   TEXT NOT NULL,
	name_key TEXT NOT NULL,
	body     TEXT NOT NULL,
	version  INTEGER NOT NULL,
	created  INTEGER NOT NULL,
	updated  INTEGER NOT NULL
);
CREATE INDEX resources_type ON resources (type_key, rkey);
CREATE INDEX resources_parent ON resources (parent, rkey);
CREATE INDEX resources_name ON resources (type_key, name_key);

CREATE TABLE principals (
	object_id    TEXT PRIMARY KEY,
	client_id    TEXT NOT NULL UNIQUE,
	kind         TEXT NOT NULL,
	display_name TEXT NOT NULL,
	resource_id  TEXT NOT NULL,
	resource_key TEXT NOT NULL,
	secret_hash  TEXT NOT NULL,
	created      INTEGER NOT NULL
);
CREATE INDEX principals_resource ON principals (resource_key);

CREATE TABLE meta (
	mkey  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE revisions (
	topic TEXT PRIMARY KEY,
	rev   INTEGER NOT NULL
);

CREATE TABLE signing_keys (
	id      TEXT PRIMARY KEY,
	pem     TEXT NOT NULL,
	created INTEGER NOT NULL,
	retired INTEGER NOT NULL
);
