package jwt

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// MaxTokenSize is the longest token [Parse] accepts. Entra's access tokens
// are 1-3 KB; the cap keeps hostile input cheap to reject.
const MaxTokenSize = 16 << 10

// Verification errors. Errors returned by [Parse], [Ring.Verify] and
// [VerifyCache.Verify] wrap exactly one of them; test with errors.Is.
var (
	// ErrMalformed: the token is not a well-formed compact JWS, or its
	// claims cannot be decoded, or it has no exp claim.
	ErrMalformed = errors.New("jwt: malformed token")
	// ErrAlgorithm: the header's alg is not RS256.
	ErrAlgorithm = errors.New("jwt: unsupported signing algorithm")
	// ErrUnknownKey: the header's kid names no key in the ring.
	ErrUnknownKey = errors.New("jwt: unknown signing key")
	// ErrSignature: the signature does not verify.
	ErrSignature = errors.New("jwt: invalid signature")
	// ErrExpired: the token has expired. The error is an [*ExpiredError].
	ErrExpired = errors.New("jwt: token expired")
	// ErrNotYetValid: the token's nbf is in the future.
	ErrNotYetValid = errors.New("jwt: token not yet valid")
	// ErrIssuer: the iss claim is not an accepted issuer.
	ErrIssuer = errors.New("jwt: invalid issuer")
	// ErrAudience: no aud claim is an accepted audience.
	ErrAudience = errors.New("jwt: invalid audience")
)

// b64 is the token segment encoding: base64url without padding, rejecting
// non-zero trailing bits so that each token has a single encoding.
var b64 = base64.RawURLEncoding.Strict()

// Token is a parsed, unverified compact JWS.
type Token struct {
	// Alg, Kid, Typ and X5t are the header's alg, kid, typ and x5t.
	Alg, Kid, Typ, X5t string
	// RawClaims is the decoded payload, a JSON object.
	RawClaims []byte
	// SigningInput is the part of the token the signature covers:
	// header and payload segments joined by a dot.
	SigningInput string
	// Signature is the decoded signature; it is empty for unsigned tokens.
	Signature []byte
}

// Sign returns claims signed by k as a compact JWS with the header
// {"typ":"JWT","alg":"RS256","x5t":ID,"kid":ID}. The claims are marshalled
// with encoding/json; pass a [Claims], a *Claims, or any other value that
// marshals to a JSON object.
func Sign(k *Key, claims any) (string, error) {
	if k == nil || k.Private == nil {
		return "", errors.New("jwt: Sign: no private key")
	}
	if k.ID == "" {
		return "", errors.New("jwt: Sign: key has no ID")
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("jwt: marshal claims: %w", err)
	}
	if len(payload) == 0 || payload[0] != '{' {
		return "", fmt.Errorf("jwt: claims of type %T do not marshal to a JSON object", claims)
	}
	var hdrBuf [160]byte
	hdr, err := appendHeader(hdrBuf[:0], k.ID)
	if err != nil {
		return "", err
	}

	sigLen := k.Private.Size()
	out := make([]byte, 0, b64.EncodedLen(len(hdr))+1+b64.EncodedLen(len(payload))+1+b64.EncodedLen(sigLen))
	out = b64.AppendEncode(out, hdr)
	out = append(out, '.')
	out = b64.AppendEncode(out, payload)
	digest := sha256.Sum256(out)
	sig, err := rsa.SignPKCS1v15(nil, k.Private, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("jwt: sign: %w", err)
	}
	out = append(out, '.')
	out = b64.AppendEncode(out, sig)
	return string(out), nil
}

// appendHeader appends the JOSE header JSON for key ID kid to dst.
func appendHeader(dst []byte, kid string) ([]byte, error) {
	q, err := appendJSONString(nil, kid)
	if err != nil {
		return nil, err
	}
	dst = append(dst, `{"typ":"JWT","alg":"RS256","x5t":`...)
	dst = append(dst, q...)
	dst = append(dst, `,"kid":`...)
	dst = append(dst, q...)
	return append(dst, '}'), nil
}

// appendJSONString appends s as a JSON string. Key IDs are normally base64url
// and take the fast path; anything else is escaped by encoding/json.
func appendJSONString(dst []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, err := json.Marshal(s)
			if err != nil {
				return nil, fmt.Errorf("jwt: encode key ID: %w", err)
			}
			return append(dst, q...), nil
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"'), nil
}

// header is the JOSE header as Parse decodes it.
type header struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  string          `json:"typ"`
	X5t  string          `json:"x5t"`
	Crit json.RawMessage `json:"crit"`
}

// Parse splits and decodes a compact JWS without verifying it.
//
// Parse is strict: the token must be at most [MaxTokenSize] bytes, consist
// of exactly three dot-separated segments of unpadded base64url (padding,
// the standard alphabet, whitespace and non-canonical trailing bits are
// rejected), with a non-empty header that is a JSON object without a crit
// member and a non-empty payload that is a JSON object. The signature
// segment may be empty (as in alg "none" tokens, which [Ring.Verify]
// rejects). Every error wraps [ErrMalformed].
func Parse(token string) (*Token, error) {
	if len(token) == 0 {
		return nil, malformed("empty token")
	}
	if len(token) > MaxTokenSize {
		return nil, malformed("token is %d bytes, more than %d", len(token), MaxTokenSize)
	}
	dot1, dot2 := -1, -1
	for i := 0; i < len(token); i++ {
		switch c := token[i]; {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		case c == '.':
			switch {
			case dot1 < 0:
				dot1 = i
			case dot2 < 0:
				dot2 = i
			default:
				return nil, malformed("more than three segments")
			}
		default:
			return nil, malformed("invalid character %q at offset %d", c, i)
		}
	}
	if dot2 < 0 {
		return nil, malformed("fewer than three segments")
	}
	hdrSeg, claimsSeg, sigSeg := token[:dot1], token[dot1+1:dot2], token[dot2+1:]
	if hdrSeg == "" {
		return nil, malformed("empty header")
	}
	if claimsSeg == "" {
		return nil, malformed("empty payload")
	}

	// One buffer holds the three decoded segments.
	buf := make([]byte, 0, b64.DecodedLen(len(hdrSeg))+b64.DecodedLen(len(claimsSeg))+b64.DecodedLen(len(sigSeg)))
	buf, err := b64.AppendDecode(buf, []byte(hdrSeg))
	if err != nil {
		return nil, malformed("header is not base64url: %v", err)
	}
	hdrJSON := buf[:len(buf):len(buf)]
	buf, err = b64.AppendDecode(buf, []byte(claimsSeg))
	if err != nil {
		return nil, malformed("payload is not base64url: %v", err)
	}
	claimsJSON := buf[len(hdrJSON):len(buf):len(buf)]
	buf, err = b64.AppendDecode(buf, []byte(sigSeg))
	if err != nil {
		return nil, malformed("signature is not base64url: %v", err)
	}
	sig := buf[len(hdrJSON)+len(claimsJSON):]

	if !isJSONObject(hdrJSON) {
		return nil, malformed("header is not a JSON object")
	}
	var h header
	if err := json.Unmarshal(hdrJSON, &h); err != nil {
		return nil, malformed("header: %v", err)
	}
	if h.Crit != nil {
		return nil, malformed("unsupported crit header")
	}
	if !isJSONObject(claimsJSON) || !json.Valid(claimsJSON) {
		return nil, malformed("payload is not a JSON object")
	}
	return &Token{
		Alg:          h.Alg,
		Kid:          h.Kid,
		Typ:          h.Typ,
		X5t:          h.X5t,
		RawClaims:    claimsJSON,
		SigningInput: token[:dot2],
		Signature:    sig,
	}, nil
}

// isJSONObject reports whether data, after leading JSON whitespace, starts
// with '{'. It does not validate the rest.
func isJSONObject(data []byte) bool {
	for _, c := range data {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}

// malformed returns an error wrapping ErrMalformed.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// keyID returns the key identifier of t: its kid, or its x5t when it has no
// kid (Entra sets both to the same value).
func (t *Token) keyID() string {
	if t.Kid != "" {
		return t.Kid
	}
	return t.X5t
}

// quoteList formats list for error messages: ["a", "b"].
func quoteList(list []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", s)
	}
	b.WriteByte(']')
	return b.String()
}

// sumString returns the SHA-256 of s without copying it: s is only read.
// It keeps cached verification allocation-free.
func sumString(s string) [sha256.Size]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(s), len(s)))
}
