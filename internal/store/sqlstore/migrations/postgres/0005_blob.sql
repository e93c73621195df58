-- The Blob data plane: containers and block blobs of storage accounts.
-- account is the plane's storage key of an ARM storage account (its id and
-- creation), so a re-created account starts empty. Names compare byte-wise.
CREATE TABLE blob_containers (
	account  TEXT COLLATE "C" NOT NULL,
	name     TEXT COLLATE "C" NOT NULL,
	dir      TEXT NOT NULL,
	metadata TEXT NOT NULL,
	etag     TEXT NOT NULL,
	created  BIGINT NOT NULL,
	modified BIGINT NOT NULL,
	PRIMARY KEY (account, name)
);
CREATE TABLE blobs (
	account             TEXT COLLATE "C" NOT NULL,
	container           TEXT COLLATE "C" NOT NULL,
	name                TEXT COLLATE "C" NOT NULL,
	size                BIGINT NOT NULL,
	etag                TEXT NOT NULL,
	created             BIGINT NOT NULL,
	modified            BIGINT NOT NULL,
	content_type        TEXT NOT NULL,
	content_encoding    TEXT NOT NULL,
	content_language    TEXT NOT NULL,
	content_disposition TEXT NOT NULL,
	cache_control       TEXT NOT NULL,
	content_md5         BYTEA,
	metadata            TEXT NOT NULL,
	blocks              TEXT NOT NULL,
	file                TEXT NOT NULL,
	PRIMARY KEY (account, container, name),
	FOREIGN KEY (account, container) REFERENCES blob_containers (account, name) ON DELETE CASCADE
);
