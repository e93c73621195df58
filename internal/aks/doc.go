// Package aks is what mimic emulates of AKS workload identity: each
// cluster's OIDC issuer, its Kubernetes service accounts, and the projected
// service-account tokens that pods exchange for Entra tokens.
//
// mimic runs no Kubernetes. What a workload-identity pod relies on is
// emulated faithfully:
//
//   - The OIDC issuer. A cluster with oidcIssuerProfile.enabled has an
//     issuer URL https://{location}.oic.prod-aks.azure.com/{tenant}/{guid}/
//     (package containerservice draws it). The [Plane] serves, for any host
//     under .oic.prod-aks.azure.com, what AKS serves there:
//
//     GET /{tenant}/{guid}/.well-known/openid-configuration   discovery
//     GET /{tenant}/{guid}/openid/v1/jwks                     signing keys
//
//     Unknown clusters, and clusters whose issuer is disabled, get 404.
//
//   - The signing key. Each cluster has its own RSA key, made the first time
//     it is needed and kept in the cluster document's private state
//     ("serviceAccountKey", PEM), which ARM never returns. The key lives and
//     dies with the cluster.
//
//   - Service accounts. They are mimic's own ARM resource type, a child of
//     the cluster (it does not exist in Azure, where service accounts live
//     in the Kubernetes API):
//
//     Microsoft.ContainerService/managedClusters/serviceAccounts/{namespace}.{name}
//
//     The name joins namespace and name with a dot; a namespace is a DNS
//     label and has none, so the split is unambiguous. Properties carry the
//     manifest's namespace, name, annotations and labels, plus a uid and the
//     token subject system:serviceaccount:{namespace}:{name}. They go away
//     with their cluster, and RBAC authorizes them like any resource:
//     Microsoft.ContainerService/managedClusters/serviceAccounts/read, /write
//     and /delete (the names of AKS's own Kubernetes data actions), which
//     Owner, Contributor and Azure Kubernetes Service Contributor hold.
//     `mimic aks serviceaccount apply` turns a Kubernetes ServiceAccount
//     manifest into such a resource; [ParseManifests] and
//     [ServiceAccount.Validate] are shared by the CLI and the server.
//
//   - Projected tokens. [Plane.MintServiceAccountToken] signs what the
//     kubelet projects into a pod: aud api://AzureADTokenExchange, iss the
//     issuer URL, sub system:serviceaccount:NS:NAME, valid one hour (or the
//     service account's token-expiration annotation, within 1 h to 24 h). The
//     ARM action POST {serviceAccountId}/token returns one; it requires
//     Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action,
//     since cluster-admin credentials yield every service account's token.
//
//   - Runs. [Plane.PrepareRun] checks, before a program starts as a pod of a
//     service account, everything the exchange will need, and returns the
//     variables the workload-identity webhook injects. Its errors are
//     [*RunError] values wrapping one of the Err* sentinels.
//
// The token exchange itself is the issuer's (package issuer): the Plane is
// its source of keys for AKS issuers ([Plane.IssuerKeys]).
package aks
