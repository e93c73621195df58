package blobplane

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Content layout under Config.Dir:
//
//	{account uid}/{container dir}/{xx}/{id}.blob   committed content
//	{account uid}/{container dir}/blocks/{digest of the blob name}/{hex block id}
//	                                                uncommitted blocks
//	{account uid}/{container dir}/tmp/              uploads in progress
//
// Every write streams into a temporary file while hashing it, is synced,
// and is renamed into place; the store then points the blob at it, and the
// file it replaced is removed after the commit. A container's directory is
// named by a random id, so a container deleted and created again starts
// empty while the old directory is removed in the background.

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// containerDir is a container's content directory.
func (a *account) containerDir(dir string) string { return filepath.Join(a.dir, dir) }

// stagingDir is where a blob's uncommitted blocks live.
func (a *account) stagingDir(containerDir, blob string) string {
	sum := sha256.Sum256([]byte(blob))
	return filepath.Join(a.dir, containerDir, "blocks", hex.EncodeToString(sum[:16]))
}

// upload is content being written to a temporary file.
type upload struct {
	path string
	size int64
	md5  []byte
}

// errTooLarge is returned when a body exceeds its limit.
var errTooLarge = errors.New("request body too large")

// receive streams body into a new temporary file in the container's
// directory, hashing it with MD5, and syncs it unless sync is false. It
// fails with errTooLarge beyond limit bytes, and if the body is shorter
// than want (when want >= 0).
func (p *Plane) receive(a *account, containerDir string, body io.Reader, limit, want int64) (*upload, error) {
	f, err := p.createTemp(a, containerDir, "up-*")
	if err != nil {
		return nil, err
	}
	u := &upload{path: f.Name()}
	h := md5.New()
	bp := copyBuffers.Get().(*[]byte)
	n, err := io.CopyBuffer(io.MultiWriter(f, h), io.LimitReader(body, limit+1), *bp)
	copyBuffers.Put(bp)
	u.size = n
	if err == nil && n > limit {
		err = errTooLarge
	}
	if err == nil && want >= 0 && n != want {
		err = fmt.Errorf("body of %d bytes, Content-Length %d: %w", n, want, io.ErrUnexpectedEOF)
	}
	if err := p.finishTemp(f, err); err != nil {
		return nil, err
	}
	u.md5 = h.Sum(nil)
	return u, nil
}

// createTemp creates a temporary file in the container's directory.
func (p *Plane) createTemp(a *account, containerDir, pattern string) (*os.File, error) {
	tmp := filepath.Join(a.containerDir(containerDir), "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, err
	}
	return os.CreateTemp(tmp, pattern)
}

// finishTemp syncs (unless NoSync) and closes a temporary file written
// with the outcome err, and removes it if anything failed.
func (p *Plane) finishTemp(f *os.File, err error) error {
	if err == nil && !p.cfg.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// discard removes an upload that will not be committed.
func (u *upload) discard() {
	if u != nil {
		os.Remove(u.path)
	}
}

// place renames an upload to a new content file of the container and
// returns its name relative to the account's directory.
func (p *Plane) place(a *account, containerDir string, u *upload) (string, error) {
	id := randomHex(16)
	rel := containerDir + "/" + id[:2] + "/" + id + ".blob"
	dst := filepath.Join(a.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", err
	}
	if err := os.Rename(u.path, dst); err != nil {
		return "", err
	}
	u.path = dst
	return rel, nil
}

// removeContent removes a content file (relative to the account's
// directory) that no blob refers to any longer.
func (a *account) removeContent(rel string) {
	if rel != "" && !strings.Contains(rel, "..") {
		os.Remove(filepath.Join(a.dir, filepath.FromSlash(rel)))
	}
}

func errContentSize(path string, got int, want int64) error {
	return fmt.Errorf("content file %s holds %d bytes, the blob %d", path, got, want)
}
