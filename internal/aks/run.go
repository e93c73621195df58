package aks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/containerservice"
	"github.com/mimic-emu/mimic/internal/arm/msi"
	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/store"
)

// What keeps a program from running as a pod of a service account. Errors
// of PrepareRun and MintServiceAccountToken wrap exactly one of them.
var (
	ErrClusterNotFound             = errors.New("managed cluster not found")
	ErrOIDCIssuerDisabled          = errors.New("OIDC issuer not enabled")
	ErrWorkloadIdentityDisabled    = errors.New("workload identity not enabled")
	ErrServiceAccountNotFound      = errors.New("service account not found")
	ErrServiceAccountNotConfigured = errors.New("service account not configured for workload identity")
	ErrIdentityNotFound            = errors.New("identity not found")
	ErrNotFederated                = errors.New("service account not federated")
)

// RunError is a client mistake found before a run starts: Message says
// what is missing and how to fix it; Err is one of the Err* sentinels.
type RunError struct {
	Err     error
	Message string
}

func (e *RunError) Error() string { return e.Message }
func (e *RunError) Unwrap() error { return e.Err }

// runErrorCodes are the ARM error codes of run errors.
var runErrorCodes = map[error]string{
	ErrClusterNotFound:             "ClusterNotFound",
	ErrOIDCIssuerDisabled:          "OIDCIssuerNotEnabled",
	ErrWorkloadIdentityDisabled:    "WorkloadIdentityNotEnabled",
	ErrServiceAccountNotFound:      "ServiceAccountNotFound",
	ErrServiceAccountNotConfigured: "ServiceAccountNotConfigured",
	ErrIdentityNotFound:            "IdentityNotFound",
	ErrNotFederated:                "ServiceAccountNotFederated",
}

// As lets armerr.Write render a RunError as a 400 with its own code, so
// that ARM handlers and mimic's API can return it as it is.
func (e *RunError) As(target any) bool {
	t, ok := target.(**armerr.Error)
	if ok {
		*t = armerr.BadRequest(runErrorCodes[e.Err], "%s", e.Message)
	}
	return ok
}

func runErr(kind error, format string, args ...any) *RunError {
	return &RunError{Err: kind, Message: fmt.Sprintf(format, args...)}
}

// AuthorityHost is the AZURE_AUTHORITY_HOST the webhook injects.
const AuthorityHost = "https://login.microsoftonline.com/"

// PrepareRun checks that a program may run as a pod of serviceAccount
// ("namespace/name", or "name" in the default namespace) in the cluster
// clusterID, and returns the variables the workload-identity webhook
// injects: AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_AUTHORITY_HOST (the
// runner adds AZURE_FEDERATED_TOKEN_FILE).
//
// It requires what the exchange will: the cluster, its OIDC issuer and
// workload identity enabled, the service account with the client-id
// annotation and the use label, a user-assigned identity with that client
// id, and a federated credential on it for exactly the cluster's issuer,
// the account's subject and the audience api://AzureADTokenExchange.
// Errors are *RunError values (or store errors).
func (p *Plane) PrepareRun(ctx context.Context, clusterID, serviceAccount string) (map[string]string, error) {
	ns, name, ok := strings.Cut(serviceAccount, "/")
	if !ok {
		ns, name = DefaultNamespace, serviceAccount
	}
	if (ServiceAccount{Namespace: ns, Name: name}).Validate() != nil || strings.Contains(name, "/") {
		return nil, runErr(ErrServiceAccountNotFound, "invalid service account '%s': give NAMESPACE/NAME, such as default/app", serviceAccount)
	}
	var env map[string]string
	err := p.Store.View(ctx, func(tx store.Tx) error {
		cluster, err := loadCluster(ctx, tx, clusterID)
		if err != nil {
			return err
		}
		issuer, err := checkCluster(cluster)
		if err != nil {
			return err
		}
		saDoc, err := loadServiceAccount(ctx, tx, cluster, ns, name)
		if err != nil {
			return err
		}
		props := saDoc.Obj("properties")
		ann, labels := props.Obj("annotations"), props.Obj("labels")
		clientID, tenant := ann.Str(AnnotationClientID), ann.Str(AnnotationTenantID)
		switch {
		case clientID == "":
			return runErr(ErrServiceAccountNotConfigured,
				"service account %s/%s has no annotation %s: set it to the client id of the user-assigned identity its pods use", ns, name, AnnotationClientID)
		case labels.Str(LabelUse) != "true":
			return runErr(ErrServiceAccountNotConfigured,
				`service account %s/%s lacks the label %s: "true", which the workload-identity webhook requires`, ns, name, LabelUse)
		case tenant != "" && !strings.EqualFold(tenant, p.Tenant):
			return runErr(ErrServiceAccountNotConfigured,
				"service account %s/%s names tenant %s in %s, but mimic's tenant is %s", ns, name, tenant, AnnotationTenantID, p.Tenant)
		}
		if err := checkFederation(ctx, tx, clientID, issuer, ns, name); err != nil {
			return err
		}
		if tenant == "" {
			tenant = p.Tenant
		}
		env = map[string]string{"AZURE_CLIENT_ID": clientID, "AZURE_TENANT_ID": tenant, "AZURE_AUTHORITY_HOST": AuthorityHost}
		return nil
	})
	return env, err
}

// checkCluster requires the OIDC issuer and workload identity, and returns
// the issuer URL.
func checkCluster(cluster arm.Doc) (string, error) {
	issuer := containerservice.IssuerURL(cluster)
	if issuer == "" {
		return "", issuerDisabled(cluster)
	}
	if on, _ := cluster.Bool("properties", "securityProfile", "workloadIdentity", "enabled"); !on {
		id, _ := arm.ParseDocID(cluster)
		return "", runErr(ErrWorkloadIdentityDisabled,
			"managed cluster '%s' does not have workload identity enabled (securityProfile.workloadIdentity.enabled); enable it with: az aks update -g %s -n %s --enable-workload-identity",
			cluster.Str("name"), id.ResourceGroup, cluster.Str("name"))
	}
	return issuer, nil
}

func issuerDisabled(cluster arm.Doc) *RunError {
	id, _ := arm.ParseDocID(cluster)
	return runErr(ErrOIDCIssuerDisabled,
		"managed cluster '%s' does not have its OIDC issuer enabled (oidcIssuerProfile.enabled); enable it with: az aks update -g %s -n %s --enable-oidc-issuer",
		cluster.Str("name"), id.ResourceGroup, cluster.Str("name"))
}

// checkFederation requires a user-assigned identity with clientID that
// trusts issuer for the service account ns/name.
func checkFederation(ctx context.Context, tx store.Tx, clientID, issuer, ns, name string) error {
	p, err := tx.PrincipalByClientID(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return runErr(ErrIdentityNotFound, "service account %s/%s names client id %s, but no identity has it", ns, name, clientID)
	}
	if err != nil {
		return err
	}
	if p.Kind != store.KindUserAssigned {
		return runErr(ErrNotFederated,
			"service account %s/%s names client id %s, which belongs to %s '%s'; only user-assigned identities can have federated credentials",
			ns, name, clientID, strings.ToLower(string(p.Kind)), p.DisplayName)
	}
	subject := Subject(ns, name)
	creds, err := msi.FederatedCredentials(ctx, tx, p.ResourceID)
	if err != nil {
		return err
	}
	for _, f := range creds {
		if f.Issuer != issuer || f.Subject != subject {
			continue
		}
		if !slices.Contains(f.Audiences, msi.DefaultAudience) {
			return runErr(ErrNotFederated,
				"service account %s/%s is not federated: the federated credential '%s' of identity '%s' has audiences %v, but service-account tokens are for %s",
				ns, name, f.Name, p.DisplayName, f.Audiences, msi.DefaultAudience)
		}
		return nil
	}
	id, _ := resourceid.Parse(p.ResourceID)
	return runErr(ErrNotFederated,
		"service account %s/%s is not federated: identity '%s' (client id %s) has no federated credential for issuer '%s' and subject '%s'; create one with: az identity federated-credential create -g %s --identity-name %s --name %s --issuer %s --subject %s --audiences %s",
		ns, name, p.DisplayName, clientID, issuer, subject, id.ResourceGroup, id.Name(), ficName(ns, name), issuer, subject, msi.DefaultAudience)
}

// ficName suggests a federated credential name for a service account.
func ficName(ns, name string) string {
	n := strings.ReplaceAll(ns+"-"+name, ".", "-")
	if len(n) > 120 {
		n = n[:120]
	}
	return n
}
