package server

import (
	"net/http"
	"path/filepath"

	"github.com/mimic-emu/mimic/internal/blobplane"
	"github.com/mimic-emu/mimic/internal/dataplane"
)

// newBlobPlane builds the Blob data plane: content under HOME/blobs,
// accounts cached until the next ARM write.
func (s *Server) newBlobPlane(guard *dataplane.Guard) (http.Handler, error) {
	return blobplane.New(blobplane.Config{
		Store:      s.Store,
		Guard:      guard,
		Dir:        filepath.Join(s.Config.Home, "blobs"),
		Tenant:     s.Tenant.ID,
		Generation: s.arm.Generation.Load,
	})
}
