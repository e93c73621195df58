// Package jwt signs and verifies the RS256 JSON Web Tokens that mimic's
// token issuer hands out and its data planes accept.
//
// Tokens mimic Entra ID's access tokens: the JOSE header is
//
//	{"typ":"JWT","alg":"RS256","x5t":KID,"kid":KID}
//
// where KID is the base64url SHA-1 thumbprint of the signing key's
// certificate, and the claims are described by [Claims].
//
// The pieces:
//
//   - [Key] is one RSA signing key with its self-signed certificate;
//     [GenerateKey] makes one, [Key.MarshalPEM] and [ParseKeyPEM] store it.
//   - [Sign] produces a compact JWS; [Parse] splits and decodes one without
//     checking its signature.
//   - [Ring] is the set of keys currently trusted. Its newest key signs
//     ([Ring.Active]), every key verifies ([Ring.Verify]), and [Ring.JWKS]
//     serves the set as a JSON Web Key Set. Rotation is: add a new key,
//     keep the old one in the ring until the tokens it signed have expired,
//     then remove it.
//   - [VerifyCache] remembers verified tokens until they expire, so that
//     a data plane answering thousands of requests a second with the same
//     bearer token pays for one RSA verification, not thousands.
//
// Verification failures are reported with the sentinel errors [ErrMalformed],
// [ErrAlgorithm], [ErrUnknownKey], [ErrSignature], [ErrExpired],
// [ErrNotYetValid], [ErrIssuer] and [ErrAudience], wrapped with detail; test
// for them with errors.Is. An expired token's error is an [*ExpiredError]
// carrying both times.
//
// Only RS256 is supported, on purpose: accepting any other algorithm named
// by the token's own header is the classic JWT vulnerability.
package jwt
