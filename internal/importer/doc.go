// Package importer loads the JSON exports of a real Azure estate into mimic:
// what `az identity list`, `az identity federated-credential list`,
// `az role assignment list --all`, `az role definition list`,
// `az vm list`, `az webapp list`, `az functionapp list`, `az aks list`,
// `az resource list`, `az group list` and `az account list` print, ARM's own
// list responses ({"value": [...]}, as `az rest` prints them), deny
// assignments, and Azure Resource Graph results (`az graph query` prints
// {"count", "data", "skip_token"}; the REST API {"totalRecords", "data"},
// also in its table form {"columns", "rows"}).
//
// Each element becomes the document ARM returns on GET, with its id, name,
// tags, location, identity block, principal id and client id exactly as
// exported, so that role assignments line up with identities. az flattens
// "properties" into the top level (clientId, principalId, hardwareProfile,
// oidcIssuerProfile.issuerUrl…); Normalize folds them back, and renames
// what az spells differently (issuerUrl → issuerURL, enableRbac →
// enableRBAC). What an element is comes from its "type", or, for elements
// az prints without one, from its fields (roleDefinitionName → a role
// assignment, roleName with permissions → a role definition, issuer with
// subject → a federated credential, cloudName → an `az account list`
// subscription); `mimic import --kind` names it instead.
//
// The import runs in two halves. The client side (Load, then Plan.Send)
// reads every file, validates every element and reports all problems
// (naming the file, the element index and the field, or the line and column
// of bad JSON) before anything is written; it then streams the documents in
// dependency order (subscriptions and groups, role definitions, identities,
// other resources, compute, federated credentials, role assignments, deny
// assignments), in batches, so that a million role assignments never sit in
// memory at once. The server side (Apply) validates each batch again and
// writes it in one store transaction:
//
//   - subscriptions and resource groups are created for every one seen
//     (the subscription's display name from an export that has one); the
//     importer is granted Owner on each subscription the import creates, as
//     Azure makes a subscription's creator its owner;
//   - a principal (store.Principal) is created for each user-assigned
//     identity and each system-assigned identity of a VM, site or cluster;
//     the system-assigned identity's client id, which no export shows, is
//     derived from its principal id;
//   - a compute's reference to a user-assigned identity that no export holds
//     is kept with a warning, and the identity is recreated from the
//     principalId and clientId the compute's identity block shows; an AKS
//     cluster's kubelet identity likewise;
//   - a role assignment whose principal no export describes is kept,
//     orphaned, as Azure keeps it, with a warning. Principals that az
//     resolved in Microsoft Graph (a non-empty principalName), and users and
//     groups in exports that carry no names, are entered in the directory;
//   - built-in role definitions are skipped (mimic embeds them); conditions
//     mimic cannot evaluate make their assignment or role be skipped with a
//     warning, never break the authorization engine;
//   - tenant ids become mimic's tenant (tokens come from mimic's issuer),
//     including the tenant segment of AKS OIDC issuer URLs in clusters and
//     federated credentials alike;
//   - a document that already exists is merged with the new one, so that a
//     row of `az resource list` (no properties) does not erase what
//     `az vm list` said; a re-import is idempotent.
package importer
