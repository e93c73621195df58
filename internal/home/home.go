// Package home locates a mimic home directory (MIMIC_HOME) and reads and
// writes the profile.json in it, from which clients find the running server.
//
// The profile carries secrets (the operator's client secret), so it is
// written with mode 0600 and replaced atomically: readers never see half a
// file.
package home

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Env is the environment variable naming the home directory.
const Env = "MIMIC_HOME"

// Dir resolves the home directory: the flag value if set, else MIMIC_HOME,
// else ~/.mimic.
func Dir(flag string) (string, error) {
	dir := flag
	if dir == "" {
		dir = os.Getenv(Env)
	}
	if dir == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find a home directory; set %s or --home: %w", Env, err)
		}
		dir = filepath.Join(h, ".mimic")
	}
	return filepath.Abs(dir)
}

// Paths of the files in a home.
func ProfilePath(dir string) string { return filepath.Join(dir, "profile.json") }

// CAPath is the PEM file of mimic's CA certificate.
func CAPath(dir string) string { return filepath.Join(dir, "ca.pem") }

// DatabasePath is the default SQLite database.
func DatabasePath(dir string) string { return filepath.Join(dir, "mimic.db") }

// Operator is the service principal created on first start, with Owner on
// the default subscription.
type Operator struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	ObjectID     string `json:"objectId"`
}

// Endpoints are the URLs a client needs.
type Endpoints struct {
	// ResourceManager is the ARM endpoint, e.g. https://127.0.0.1:7443/.
	ResourceManager string `json:"resourceManager"`
	// ResourceManagerAudience is the audience of ARM tokens.
	ResourceManagerAudience string `json:"resourceManagerAudience"`
	// ActiveDirectory is the authority host, e.g. https://127.0.0.1:7443/.
	ActiveDirectory string `json:"activeDirectory"`
	// Proxy is the intercepting proxy, e.g. http://127.0.0.1:7480.
	Proxy string `json:"proxy"`
}

// Profile is profile.json.
type Profile struct {
	TenantID       string    `json:"tenantId"`
	SubscriptionID string    `json:"subscriptionId"`
	Operator       Operator  `json:"operator"`
	Endpoints      Endpoints `json:"endpoints"`
	CAFile         string    `json:"caFile"`
	// PID is the process id of the server that wrote the profile.
	PID int `json:"pid"`
	// InstanceID changes on every start; status checks compare it.
	InstanceID string `json:"instanceId"`
}

// ErrNoProfile means the home has no profile: mimic never started there.
var ErrNoProfile = errors.New("no profile.json")

// ReadProfile reads dir/profile.json.
func ReadProfile(dir string) (*Profile, error) {
	b, err := os.ReadFile(ProfilePath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s: start the server with 'mimic up --home %s'", ErrNoProfile, dir, dir)
	}
	if err != nil {
		return nil, err
	}
	var p Profile
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", ProfilePath(dir), err)
	}
	return &p, nil
}

// WriteProfile replaces dir/profile.json atomically, mode 0600.
func WriteProfile(dir string, p *Profile) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(ProfilePath(dir), append(b, '\n'), 0o600)
}

// WriteFileAtomic writes a file through a temporary file and a rename, and
// syncs it, so that a crash leaves either the old or the new content.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
