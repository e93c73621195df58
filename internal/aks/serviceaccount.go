package aks

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/mimic-emu/mimic/internal/directory"
)

// The workload-identity annotations and label, as the webhook reads them.
const (
	AnnotationClientID        = "azure.workload.identity/client-id"
	AnnotationTenantID        = "azure.workload.identity/tenant-id"
	AnnotationTokenExpiration = "azure.workload.identity/service-account-token-expiration"
	LabelUse                  = "azure.workload.identity/use"
)

// DefaultNamespace is the namespace of a manifest that names none.
const DefaultNamespace = "default"

var (
	// dnsLabel is an RFC 1123 label, as Kubernetes requires of namespaces.
	dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	// dnsSubdomain is an RFC 1123 subdomain, as Kubernetes requires of
	// service account names.
	dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// ServiceAccount is a Kubernetes service account as far as workload
// identity is concerned.
type ServiceAccount struct {
	Namespace   string            `json:"namespace"`
	Name        string            `json:"name"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// Subject is the sub claim of the account's tokens.
func (sa ServiceAccount) Subject() string { return Subject(sa.Namespace, sa.Name) }

// Subject is the sub claim of a service account's tokens.
func Subject(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// ResourceName is the account's name as an ARM resource: namespace.name.
func (sa ServiceAccount) ResourceName() string { return ResourceName(sa.Namespace, sa.Name) }

// ResourceName is the ARM resource name of a service account.
func ResourceName(namespace, name string) string { return namespace + "." + name }

// SplitResourceName reverses ResourceName.
func SplitResourceName(s string) (namespace, name string, ok bool) {
	namespace, name, ok = strings.Cut(s, ".")
	return namespace, name, ok && namespace != "" && name != ""
}

// Validate checks names and annotations as Kubernetes and the
// workload-identity webhook would.
func (sa ServiceAccount) Validate() error {
	switch {
	case sa.Name == "":
		return errors.New("metadata.name is required")
	case len(sa.Name) > 253 || !dnsSubdomain.MatchString(sa.Name):
		return fmt.Errorf("metadata.name %q is invalid: a service account name must be a lowercase RFC 1123 subdomain (letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters)", sa.Name)
	case len(sa.Namespace) > 63 || !dnsLabel.MatchString(sa.Namespace):
		return fmt.Errorf("metadata.namespace %q is invalid: a namespace must be a lowercase RFC 1123 label (letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)", sa.Namespace)
	}
	if v, ok := sa.Annotations[AnnotationClientID]; ok && !directory.IsGUID(v) {
		return fmt.Errorf("annotation %s is %q, which is not a client id (a GUID)", AnnotationClientID, v)
	}
	if v, ok := sa.Annotations[AnnotationTenantID]; ok && !directory.IsGUID(v) {
		return fmt.Errorf("annotation %s is %q, which is not a tenant id (a GUID)", AnnotationTenantID, v)
	}
	if v, ok := sa.Annotations[AnnotationTokenExpiration]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err != nil || n <= 0 {
			return fmt.Errorf("annotation %s is %q: it must be a number of seconds (3600 to 86400)", AnnotationTokenExpiration, v)
		}
	}
	if v, ok := sa.Labels[LabelUse]; ok && v != "true" && v != "false" {
		return fmt.Errorf(`label %s is %q: it must be "true" or "false"`, LabelUse, v)
	}
	return nil
}

// manifest is the part of a Kubernetes object that ParseManifests reads.
type manifest struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name        string            `yaml:"name"`
		Namespace   string            `yaml:"namespace"`
		Annotations map[string]string `yaml:"annotations"`
		Labels      map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
}

// maxManifest bounds what ParseManifests reads.
const maxManifest = 1 << 20

// ParseManifests reads one or more ServiceAccount manifests (YAML or JSON,
// several YAML documents separated by ---) and validates each. Errors name
// the document, counting from 1.
func ParseManifests(r io.Reader) ([]ServiceAccount, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxManifest+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxManifest {
		return nil, fmt.Errorf("the manifest is larger than %d bytes", maxManifest)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []ServiceAccount
	for n := 1; ; n++ {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		if len(node.Content) == 0 || node.Content[0].Tag == "!!null" {
			continue // an empty document
		}
		var m manifest
		if err := node.Decode(&m); err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		sa, err := m.serviceAccount()
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		out = append(out, sa)
	}
	if len(out) == 0 {
		return nil, errors.New("the manifest holds no ServiceAccount")
	}
	return out, nil
}

func (m *manifest) serviceAccount() (ServiceAccount, error) {
	if m.Kind != "ServiceAccount" {
		if m.Kind == "" {
			return ServiceAccount{}, errors.New("kind is missing: expected kind: ServiceAccount")
		}
		return ServiceAccount{}, fmt.Errorf("kind is %q: only kind: ServiceAccount is supported", m.Kind)
	}
	if m.APIVersion != "v1" {
		return ServiceAccount{}, fmt.Errorf("apiVersion is %q: a ServiceAccount is apiVersion: v1", m.APIVersion)
	}
	sa := ServiceAccount{
		Namespace:   m.Metadata.Namespace,
		Name:        m.Metadata.Name,
		Annotations: m.Metadata.Annotations,
		Labels:      m.Metadata.Labels,
	}
	if sa.Namespace == "" {
		sa.Namespace = DefaultNamespace
	}
	if err := sa.Validate(); err != nil {
		if sa.Name == "" {
			return ServiceAccount{}, err
		}
		return ServiceAccount{}, fmt.Errorf("ServiceAccount %q: %w", sa.Name, err)
	}
	return sa, nil
}
