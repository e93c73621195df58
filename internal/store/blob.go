package store

// BlobTx holds Blob containers and blobs. (Defined by the Blob data plane.)
type BlobTx interface{}
