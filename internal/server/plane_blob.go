package server

import (
	"net/http"

	"github.com/mimic-emu/mimic/internal/dataplane"
)

// newBlobPlane builds the Blob data plane.
func (s *Server) newBlobPlane(guard *dataplane.Guard) (http.Handler, error) {
	return http.NotFoundHandler(), nil
}
