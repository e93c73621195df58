package server

import (
	"net/http"

	"github.com/mimic-emu/mimic/internal/dataplane"
	"github.com/mimic-emu/mimic/internal/kvplane"
)

// newKeyVaultPlane builds the Key Vault data plane (package kvplane). Its
// vault lookups are cached per ARM generation.
func (s *Server) newKeyVaultPlane(guard *dataplane.Guard) (http.Handler, error) {
	return kvplane.New(s.Store, guard, s.Tenant.ID, s.arm.Generation.Load), nil
}
