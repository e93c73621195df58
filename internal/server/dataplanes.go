package server

import (
	"net/http"
	"strings"

	"github.com/mimic-emu/mimic/internal/accesslog"
	"github.com/mimic-emu/mimic/internal/dataplane"
	"github.com/mimic-emu/mimic/internal/tokens"
)

// Host suffixes of the data planes.
const (
	vaultSuffix = ".vault.azure.net"
	blobSuffix  = ".blob.core.windows.net"
)

// initDataPlanes builds the Key Vault and Blob planes, each behind its own
// guard (package dataplane).
func (s *Server) initDataPlanes(verifier *tokens.Verifier) error {
	guard := func(plane string) *dataplane.Guard {
		return &dataplane.Guard{Plane: plane, Verifier: verifier, Authz: s.authz, Access: s.Access}
	}
	var err error
	if s.keyVault, err = s.newKeyVaultPlane(guard(accesslog.KeyVault)); err != nil {
		return err
	}
	s.blob, err = s.newBlobPlane(guard(accesslog.Blob))
	return err
}

// dataPlane returns the data plane that serves host, or nil.
func (s *Server) dataPlane(host string) http.Handler {
	switch {
	case strings.HasSuffix(host, vaultSuffix) && len(host) > len(vaultSuffix):
		return s.keyVault
	case strings.HasSuffix(host, blobSuffix) && len(host) > len(blobSuffix):
		return s.blob
	}
	return nil
}
