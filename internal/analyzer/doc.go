// Package analyzer shows what every identity and every compute resource can
// reach, and why.
//
// The estate (package-level Load: computes, identities, federated
// credentials, role assignments, roles, deny assignments, resources) comes
// from mimic's store, whether the state was built through the emulator or
// imported from a real tenant's exports.
//
// The reachability core is a graph on compact integer adjacency (CSR).
// Nodes are computes, identities and, for each resource, one node per
// capability class ("may execute code on the VMs under here", "may assign
// the identities under here"…); edges are "code here can get a token for
// that identity", "this identity holds a role granting that capability at
// that scope", and "that scope contains this one". Capability nodes keep
// the graph linear in the estate: a subscription-wide role adds one edge,
// not one per resource. A blast radius is a breadth-first search from a
// compute or an identity, so every identity held comes with the shortest
// path that explains it; what those identities' roles grant on each
// resource is then the reach.
//
// Escalations, following DESIGN §3: run-command or write on a VM, and
// write or publish on a site, yield their identities; cluster-admin
// credentials on an AKS cluster yield its nodes' kubelet identity and every
// service account's federated identity; assign/action on a user-assigned
// identity, with write on some compute, yields that identity; writing an
// identity's federated credentials yields it; roleAssignments/write yields
// everything under its scope; listKeys yields an account's blob data; and
// write on an access-policy vault yields its secrets.
package analyzer
