package kvplane

import (
	"net/http"
	"net/url"
	"strings"
)

// op is one Key Vault secrets operation: what it needs under each
// permission model.
type op struct {
	// name describes the operation in mimic's own messages.
	name string
	// dataAction is the RBAC data action Azure checks.
	dataAction string
	// permission is the access policy secrets permission Azure checks.
	permission string
	// vaultScope: the operation acts on the vault (a listing, a restore),
	// so it is authorized at the vault's scope rather than the secret's.
	vaultScope bool
	// run performs the authorized operation and returns the status.
	run func(c *call) int
}

// Data actions of Microsoft.KeyVault/vaults/secrets, as Azure names them
// (and as the built-in Key Vault Secrets User, Secrets Officer and
// Administrator roles grant them).
const (
	actionGetSecret    = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
	actionSetSecret    = "Microsoft.KeyVault/vaults/secrets/setSecret/action"
	actionUpdate       = "Microsoft.KeyVault/vaults/secrets/update/action"
	actionReadMetadata = "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
	actionDelete       = "Microsoft.KeyVault/vaults/secrets/delete"
	actionRecover      = "Microsoft.KeyVault/vaults/secrets/recover/action"
	actionPurge        = "Microsoft.KeyVault/vaults/secrets/purge/action"
	actionBackup       = "Microsoft.KeyVault/vaults/secrets/backup/action"
	actionRestore      = "Microsoft.KeyVault/vaults/secrets/restore/action"
)

// The operations. Access policy permissions are those the Key Vault REST
// reference names for each operation ("This operation requires the
// secrets/… permission").
var (
	opGet          = &op{"get", actionGetSecret, "get", false, (*call).get}
	opSet          = &op{"set", actionSetSecret, "set", false, (*call).set}
	opUpdate       = &op{"update", actionUpdate, "set", false, (*call).update}
	opList         = &op{"list", actionReadMetadata, "list", true, func(c *call) int { return c.list(false) }}
	opListVersions = &op{"list versions", actionReadMetadata, "list", false, (*call).listVersions}
	opDelete       = &op{"delete", actionDelete, "delete", false, (*call).delete}
	opGetDeleted   = &op{"get deleted", actionReadMetadata, "get", false, (*call).getDeleted}
	opListDeleted  = &op{"list deleted", actionReadMetadata, "list", true, func(c *call) int { return c.list(true) }}
	opRecover      = &op{"recover", actionRecover, "recover", false, (*call).recover}
	opPurge        = &op{"purge", actionPurge, "purge", false, (*call).purge}
	opBackup       = &op{"backup", actionBackup, "backup", false, (*call).backup}
	opRestore      = &op{"restore", actionRestore, "restore", true, (*call).restore}
)

// route is a request resolved to an operation.
type route struct {
	op      *op
	name    string
	version string
}

// parseRoute resolves a method and (decoded) path. Empty segments are
// ignored, so "/secrets/x/" (what the SDKs send) and "//secrets/x" (what
// some tools send) both name the secret x.
func parseRoute(method, path string) (route, *kvError) {
	var segs [4]string
	n := 0
	for rest := path; rest != ""; {
		var seg string
		seg, rest, _ = strings.Cut(rest, "/")
		if seg == "" {
			continue
		}
		if n == len(segs) {
			return route{}, errNoRoute(path)
		}
		segs[n] = seg
		n++
	}
	if n == 0 {
		return route{}, errNoRoute(path)
	}
	switch strings.ToLower(segs[0]) {
	case "secrets":
		switch n {
		case 1:
			if method == http.MethodGet {
				return route{op: opList}, nil
			}
		case 2:
			switch method {
			case http.MethodGet:
				return route{op: opGet, name: segs[1]}, nil
			case http.MethodPut:
				return route{op: opSet, name: segs[1]}, nil
			case http.MethodPatch:
				return route{op: opUpdate, name: segs[1]}, nil
			case http.MethodDelete:
				return route{op: opDelete, name: segs[1]}, nil
			case http.MethodPost:
				if strings.EqualFold(segs[1], "restore") {
					return route{op: opRestore}, nil
				}
			}
		case 3:
			switch {
			case method == http.MethodGet && strings.EqualFold(segs[2], "versions"):
				return route{op: opListVersions, name: segs[1]}, nil
			case method == http.MethodPost && strings.EqualFold(segs[2], "backup"):
				return route{op: opBackup, name: segs[1]}, nil
			case method == http.MethodGet:
				return route{op: opGet, name: segs[1], version: segs[2]}, nil
			case method == http.MethodPatch:
				return route{op: opUpdate, name: segs[1], version: segs[2]}, nil
			}
		}
		if n <= 3 {
			return route{}, errMethod(method)
		}
	case "deletedsecrets":
		switch {
		case n == 1 && method == http.MethodGet:
			return route{op: opListDeleted}, nil
		case n == 2 && method == http.MethodGet:
			return route{op: opGetDeleted, name: segs[1]}, nil
		case n == 2 && method == http.MethodDelete:
			return route{op: opPurge, name: segs[1]}, nil
		case n == 3 && method == http.MethodPost && strings.EqualFold(segs[2], "recover"):
			return route{op: opRecover, name: segs[1]}, nil
		case n <= 2:
			return route{}, errMethod(method)
		}
	case "keys", "deletedkeys", "certificates", "deletedcertificates", "storage", "deletedstorage", "rng", "securitydomain", "settings":
		return route{}, errNotImplemented(segs[0])
	}
	return route{}, errNoRoute(path)
}

// validName reports whether s is a valid secret name: 1-127 letters,
// digits and hyphens.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 127 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// validVersion reports whether s is a version id: 32 hex digits.
func validVersion(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// query holds the query parameters the plane reads.
type query struct {
	apiVersion string
	maxResults string
	skipToken  string
	hasMax     bool
}

// parseQuery reads a raw query without building a map. Keys are decoded
// when escaped: Node's SDK sends "api%2Dversion".
func parseQuery(raw string) query {
	var q query
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(kv, "=")
		if strings.ContainsAny(k, "%+") {
			if dk, err := url.QueryUnescape(k); err == nil {
				k = dk
			}
		}
		if strings.ContainsAny(v, "%+") {
			if dv, err := url.QueryUnescape(v); err == nil {
				v = dv
			}
		}
		switch {
		case strings.EqualFold(k, "api-version"):
			if q.apiVersion == "" {
				q.apiVersion = v
			}
		case strings.EqualFold(k, "maxresults"):
			q.maxResults, q.hasMax = v, true
		case strings.EqualFold(k, "$skiptoken"):
			q.skipToken = v
		}
	}
	return q
}
