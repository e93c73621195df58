package store

import (
	"context"
	"time"
	"unicode/utf8"
)

// BlobContainer is a container of a storage account's Blob service.
type BlobContainer struct {
	// Account is the storage key of the account the container belongs to:
	// the Blob plane derives it from the ARM account's id and creation, so
	// that a re-created account never sees the containers of a deleted one.
	Account string
	// Name is the container's name (lower case, or $root, $web, $logs).
	Name string
	// Dir names the container's data directory, unique to this container
	// (a re-created container gets a new one).
	Dir      string
	Metadata map[string]string
	ETag     string
	Created  time.Time
	Modified time.Time
}

// BlobBlock is one committed block of a block blob.
type BlobBlock struct {
	// ID is the block id as clients send it: base64.
	ID   string `json:"id"`
	Size int64  `json:"size"`
}

// Blob is a block blob's properties. Its content lives in a file the Blob
// plane manages; File names it within the container's directory.
type Blob struct {
	Account   string
	Container string
	Name      string
	Size      int64
	ETag      string
	Created   time.Time
	Modified  time.Time

	ContentType        string
	ContentEncoding    string
	ContentLanguage    string
	ContentDisposition string
	CacheControl       string
	ContentMD5         []byte
	Metadata           map[string]string
	// Blocks is the committed block list; empty for a blob written whole
	// by Put Blob.
	Blocks []BlobBlock
	// File is the content file's name within the container's directory.
	File string
}

// BlobFilter selects containers or blobs by name, in byte order.
type BlobFilter struct {
	// Prefix selects names that start with it.
	Prefix string
	// From selects names at or after it.
	From string
	// Limit bounds the number of results; 0 means no bound.
	Limit int
}

// BlobTx holds Blob containers and blobs.
//
// Names are compared byte-wise (case-sensitively), and listings are
// ordered by name in byte order, as Azure Storage lists them.
type BlobTx interface {
	// CreateBlobContainer inserts a container, or returns ErrConflict if
	// the account has one with that name.
	CreateBlobContainer(ctx context.Context, c *BlobContainer) error
	// GetBlobContainer returns a container, or ErrNotFound.
	GetBlobContainer(ctx context.Context, account, name string) (*BlobContainer, error)
	// UpdateBlobContainer replaces a container's metadata, ETag and
	// modification time, or returns ErrNotFound.
	UpdateBlobContainer(ctx context.Context, c *BlobContainer) error
	// ListBlobContainers returns an account's containers ordered by name.
	ListBlobContainers(ctx context.Context, account string, f BlobFilter) ([]*BlobContainer, error)
	// DeleteBlobContainer deletes a container and its blobs, or returns
	// ErrNotFound.
	DeleteBlobContainer(ctx context.Context, account, name string) error

	// PutBlob inserts or replaces a blob. Its container must exist
	// (ErrNotFound otherwise).
	PutBlob(ctx context.Context, b *Blob) error
	// GetBlob returns a blob, or ErrNotFound.
	GetBlob(ctx context.Context, account, container, name string) (*Blob, error)
	// ListBlobs returns a container's blobs ordered by name.
	ListBlobs(ctx context.Context, account, container string, f BlobFilter) ([]*Blob, error)
	// DeleteBlob deletes a blob, or returns ErrNotFound.
	DeleteBlob(ctx context.Context, account, container, name string) error

	// ListBlobAccounts returns the distinct accounts that have containers,
	// in order.
	ListBlobAccounts(ctx context.Context) ([]string, error)
	// DeleteBlobAccount deletes every container and blob of an account and
	// returns how many containers it deleted.
	DeleteBlobAccount(ctx context.Context, account string) (int, error)
}

// PrefixBound returns the smallest string greater than every string that
// starts with prefix, or "" when there is none: the prefix with its last
// rune incremented, so that the bound stays valid UTF-8 (which PostgreSQL
// requires of text) and byte order agrees with code point order. Names
// that start with prefix are those >= prefix and < PrefixBound(prefix).
func PrefixBound(prefix string) string {
	for prefix != "" {
		r, size := utf8.DecodeLastRuneInString(prefix)
		prefix = prefix[:len(prefix)-size]
		switch {
		case r == utf8.RuneError && size == 1, r == utf8.MaxRune:
			continue // not UTF-8 (no name holds it), or no successor
		case r == 0xD7FF:
			return prefix + string(rune(0xE000)) // skip the surrogates
		default:
			return prefix + string(r+1)
		}
	}
	return ""
}
