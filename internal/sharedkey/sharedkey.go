// Package sharedkey signs and verifies Azure Storage's SharedKey
// authorization: the plane verifies with it, and mimic's own clients (the
// CLI, the attack replay) sign with it.
package sharedkey

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SharedKey authorization, as Azure Storage computes it
// (https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key):
//
//	StringToSign = VERB + "\n" +
//	    Content-Encoding + "\n" + Content-Language + "\n" +
//	    Content-Length (empty when 0) + "\n" + Content-MD5 + "\n" +
//	    Content-Type + "\n" + Date + "\n" +
//	    If-Modified-Since + "\n" + If-Match + "\n" + If-None-Match + "\n" +
//	    If-Unmodified-Since + "\n" + Range + "\n" +
//	    CanonicalizedHeaders + CanonicalizedResource
//
// CanonicalizedHeaders is every x-ms- header, name lower-cased, as
// "name:value\n" in sorted order; CanonicalizedResource is
// "/{account}{path as sent}" followed by "\n{name}:{values}" for each
// query parameter, names lower-cased and sorted, values decoded, sorted
// and joined with commas. The signature is base64(HMAC-SHA256(key,
// StringToSign)) with the base64-decoded account key.
//
// The SDKs do not agree on how to sort header names that differ only
// around hyphens (the service sorts them with .NET's culture-aware
// comparer; azblob for Go imitates it, Python sorts '-' before every
// other character, older clients sort by bytes), so the plane accepts a
// signature over any of those orders. They agree on every ordinary set of
// headers.

// headerOrders are the header orderings Verify tries.
var headerOrders = []func(a, b string) int{strings.Compare, compareHyphenFirst, compareHyphenIgnored}

// StringsToSign returns the distinct strings-to-sign of r for account.
func StringsToSign(r *http.Request, account string) []string {
	h := r.Header
	length := ""
	if r.ContentLength > 0 {
		length = strconv.FormatInt(r.ContentLength, 10)
	}
	head := func(date string) string {
		var b strings.Builder
		for _, s := range []string{r.Method, h.Get("Content-Encoding"), h.Get("Content-Language"), length, h.Get("Content-MD5"),
			h.Get("Content-Type"), date, h.Get("If-Modified-Since"), h.Get("If-Match"), h.Get("If-None-Match"),
			h.Get("If-Unmodified-Since"), h.Get("Range")} {
			b.WriteString(s)
			b.WriteByte('\n')
		}
		return b.String()
	}
	heads := []string{head(h.Get("Date"))}
	if h.Get("Date") != "" && h.Get("x-ms-date") != "" {
		heads = append(heads, head(""))
	}

	values := map[string]string{}
	var names []string
	for k, v := range h {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-ms-") {
			values[lk] = strings.TrimSpace(strings.Join(v, ","))
			names = append(names, lk)
		}
	}
	var orders [][]string
	for _, cmp := range headerOrders {
		o := slices.Clone(names)
		slices.SortFunc(o, cmp)
		if !slices.ContainsFunc(orders, func(prev []string) bool { return slices.Equal(prev, o) }) {
			orders = append(orders, o)
		}
	}
	resource := canonicalizedResource(r, account)
	var out []string
	for _, hd := range heads {
		for _, o := range orders {
			var b strings.Builder
			b.WriteString(hd)
			for _, n := range o {
				b.WriteString(n)
				b.WriteByte(':')
				b.WriteString(values[n])
				b.WriteByte('\n')
			}
			b.WriteString(resource)
			out = append(out, b.String())
		}
	}
	return out
}

// requestPath is the request's path as the client sent it (escaped).
func requestPath(r *http.Request) string {
	uri := r.RequestURI
	if uri == "" || uri[0] != '/' {
		if u, err := url.Parse(uri); err == nil && uri != "" {
			return u.EscapedPath()
		}
		return r.URL.EscapedPath()
	}
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	return uri
}

// canonicalizedResource is "/{account}{path}" and the sorted query.
func canonicalizedResource(r *http.Request, account string) string {
	var b strings.Builder
	b.WriteByte('/')
	b.WriteString(account)
	path := requestPath(r)
	if path == "" {
		path = "/"
	}
	b.WriteString(path)
	params := map[string][]string{}
	for _, kv := range strings.Split(r.URL.RawQuery, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		k = strings.ToLower(k)
		params[k] = append(params[k], v)
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vs := params[k]
		slices.Sort(vs)
		b.WriteByte('\n')
		b.WriteString(k)
		b.WriteByte(':')
		b.WriteString(strings.Join(vs, ","))
	}
	return b.String()
}

// compareHyphenFirst orders names byte-wise, except that '-' sorts before
// every other character (Python's azure-storage-blob).
func compareHyphenFirst(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		switch {
		case ca == '-':
			return -1
		case cb == '-':
			return 1
		case ca < cb:
			return -1
		default:
			return 1
		}
	}
	return len(a) - len(b)
}

// compareHyphenIgnored orders names as a culture-aware comparison does:
// hyphens are ignored, and only break ties (azblob for Go, .NET).
func compareHyphenIgnored(a, b string) int {
	strip := func(s string) string { return strings.ReplaceAll(s, "-", "") }
	if c := strings.Compare(strip(a), strip(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// Sign returns base64(HMAC-SHA256(key, stringToSign)).
func Sign(key []byte, stringToSign string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify reports whether signature signs r with one of keys, and
// returns the first string-to-sign for error messages.
func Verify(r *http.Request, account string, keys [][]byte, signature string) (bool, string) {
	candidates := StringsToSign(r, account)
	for _, key := range keys {
		for _, s := range candidates {
			if subtle.ConstantTimeCompare([]byte(Sign(key, s)), []byte(signature)) == 1 {
				return true, s
			}
		}
	}
	return false, candidates[0]
}

// Authorize signs a client's request with an account key: it sets
// x-ms-date unless the request has a date, and the Authorization header.
// Header names are sorted byte-wise, which every verifier accepts.
func Authorize(r *http.Request, account string, key []byte) {
	if r.Header.Get("x-ms-date") == "" && r.Header.Get("Date") == "" {
		r.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	}
	r.Header.Set("Authorization", "SharedKey "+account+":"+Sign(key, StringsToSign(r, account)[0]))
}
