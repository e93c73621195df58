package server

import (
	"net/http"

	"github.com/mimic-emu/mimic/internal/dataplane"
)

// newKeyVaultPlane builds the Key Vault data plane.
func (s *Server) newKeyVaultPlane(guard *dataplane.Guard) (http.Handler, error) {
	return http.NotFoundHandler(), nil
}
