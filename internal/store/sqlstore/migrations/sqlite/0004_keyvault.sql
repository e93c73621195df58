-- Key Vault secrets. A secret is a name in a vault (kv_secrets) with its
-- versions (kv_secret_versions); "latest" is the version a GET without a
-- version returns. vault is the data plane's key for the vault resource
-- (its id and creation time); name_key is the lower-case name.
CREATE TABLE kv_secrets (
	vault    TEXT NOT NULL,
	name_key TEXT NOT NULL,
	name     TEXT NOT NULL,
	latest   TEXT NOT NULL,
	deleted  BIGINT NOT NULL,
	purge_at BIGINT NOT NULL,
	PRIMARY KEY (vault, name_key)
);

CREATE TABLE kv_secret_versions (
	vault        TEXT NOT NULL,
	name_key     TEXT NOT NULL,
	version      TEXT NOT NULL,
	value        BLOB NOT NULL,
	content_type TEXT NOT NULL,
	tags         TEXT NOT NULL,
	enabled      BIGINT NOT NULL,
	nbf          BIGINT NOT NULL,
	exp          BIGINT NOT NULL,
	created      BIGINT NOT NULL,
	updated      BIGINT NOT NULL,
	PRIMARY KEY (vault, name_key, version)
);
