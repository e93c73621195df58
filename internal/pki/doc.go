// Package pki is mimic's small certificate authority.
//
// mimic serves real Azure host names (management.azure.com,
// login.microsoftonline.com, *.vault.azure.net, ...) through its intercepting
// proxy and on its direct HTTPS listeners. Clients trust those connections
// because they are configured (SSL_CERT_FILE, REQUESTS_CA_BUNDLE,
// NODE_EXTRA_CA_CERTS, CURL_CA_BUNDLE) to trust one local root: the [CA]
// created on mimic's first start and stored in MIMIC_HOME.
//
// The package provides:
//
//   - [NewCA] and [LoadCA] to create or reload that root, and [CA.CertPEM],
//     [CA.KeyPEM] to persist it;
//   - [CA.Issue] to sign a leaf server certificate for DNS names (including
//     wildcards such as "*.vault.azure.net") and IP addresses;
//   - [Minter], whose [Minter.GetCertificate] plugs into
//     tls.Config.GetCertificate and mints, caches and renews a certificate for
//     whatever server name the client asks for through SNI.
//
// All keys are ECDSA P-256: a leaf costs well under a millisecond to mint, so
// certificates can be produced on demand during the TLS handshake.
package pki
