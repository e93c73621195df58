package blobplane

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// storageError is an error in Azure Storage's wire form: a status, an
// error code (the x-ms-error-code header and the body's <Code>), a message,
// and optional extra elements such as <HeaderName> or
// <AuthenticationErrorDetail>.
type storageError struct {
	status  int
	code    string
	message string
	details [][2]string // element name, text
	// challenge adds Storage's WWW-Authenticate bearer challenge.
	challenge bool
}

func (e *storageError) Error() string { return e.code + ": " + e.message }

func newError(status int, code, message string, details ...string) *storageError {
	e := &storageError{status: status, code: code, message: message}
	for i := 0; i+1 < len(details); i += 2 {
		e.details = append(e.details, [2]string{details[i], details[i+1]})
	}
	return e
}

// Storage's messages, verbatim.
const (
	msgContainerNotFound      = "The specified container does not exist."
	msgContainerExists        = "The specified container already exists."
	msgBlobNotFound           = "The specified blob does not exist."
	msgBlobExists             = "The specified blob already exists."
	msgResourceNotFound       = "The specified resource does not exist."
	msgPermissionMismatch     = "This request is not authorized to perform this operation using this permission."
	msgAuthFailed             = "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature."
	msgAuthChallenge          = "Server failed to authenticate the request. Please refer to the information in the www-authenticate header."
	msgKeyAuthNotPermitted    = "Key based authentication is not permitted on this storage account."
	msgConditionNotMet        = "The condition specified using HTTP conditional header(s) is not met."
	msgInvalidRange           = "The range specified is invalid for the current size of the resource."
	msgInvalidBlockList       = "The specified block list is invalid."
	msgInvalidBlockID         = "The specified block ID is invalid. The block ID must be Base64-encoded."
	msgInvalidBlobOrBlock     = "The specified blob or block content is invalid."
	msgInvalidResourceName    = "The specifed resource name contains invalid characters."
	msgOutOfRangeInput        = "The specified resource name length is not within the permissible limits."
	msgInvalidHeaderValue     = "The value for one of the HTTP headers is not in the correct format."
	msgMissingHeader          = "An HTTP header that's mandatory for this request is not specified."
	msgInvalidQueryValue      = "Value for one of the query parameters specified in the request URI is invalid."
	msgMd5Mismatch            = "The MD5 value specified in the request did not match with the MD5 value calculated by the server."
	msgInvalidXML             = "The XML specified is not syntactically valid."
	msgRequestBodyTooLarge    = "The request body is too large and exceeds the maximum permissible limit."
	msgPublicAccessNotAllowed = "Public access is not permitted on this storage account."
	msgInvalidMetadata        = "The metadata specified is invalid. It has characters that are not permitted."
	msgUnsupportedHTTPVerb    = "The resource doesn't support specified Http Verb."
	msgInvalidURI             = "The requested URI does not represent any resource on the server."
	msgMissingContentLength   = "The Content-Length header is required."
)

func errContainerNotFound() *storageError {
	return newError(http.StatusNotFound, "ContainerNotFound", msgContainerNotFound)
}

func errBlobNotFound() *storageError {
	return newError(http.StatusNotFound, "BlobNotFound", msgBlobNotFound)
}

func errConditionNotMet() *storageError {
	return newError(http.StatusPreconditionFailed, "ConditionNotMet", msgConditionNotMet)
}

func errInvalidHeader(name, value string) *storageError {
	return newError(http.StatusBadRequest, "InvalidHeaderValue", msgInvalidHeaderValue, "HeaderName", name, "HeaderValue", value)
}

func errInvalidQuery(name, value, reason string) *storageError {
	e := newError(http.StatusBadRequest, "InvalidQueryParameterValue", msgInvalidQueryValue, "QueryParameterName", name, "QueryParameterValue", value)
	if reason != "" {
		e.details = append(e.details, [2]string{"Reason", reason})
	}
	return e
}

func errAuthFailed(detail string) *storageError {
	return newError(http.StatusForbidden, "AuthenticationFailed", msgAuthFailed, "AuthenticationErrorDetail", detail)
}

func errNotImplemented(what string) *storageError {
	return newError(http.StatusNotImplemented, "NotImplemented", "mimic does not implement this Blob operation: "+what+".")
}

// timeFormat is the time in Storage's messages: 7 fraction digits.
const timeFormat = "2006-01-02T15:04:05.0000000Z"

// writeError answers with e: headers, and for any method but HEAD the XML
// body
//
//	<?xml version="1.0" encoding="utf-8"?><Error><Code>…</Code><Message>…
//	RequestId:…
//	Time:…</Message>…</Error>
func (rq *request) writeError(e *storageError) {
	h := rq.w.Header()
	h.Set("x-ms-error-code", e.code)
	if e.challenge {
		h.Set("WWW-Authenticate", rq.p.challenge)
	}
	if rq.r.Method == http.MethodHead || e.status == http.StatusNotModified {
		rq.writeHeader(e.status)
		return
	}
	var b strings.Builder
	b.Grow(256 + len(e.message))
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><Error><Code>`)
	b.WriteString(e.code)
	b.WriteString("</Code><Message>")
	xmlEscape(&b, e.message)
	b.WriteString("\nRequestId:")
	b.WriteString(rq.id)
	b.WriteString("\nTime:")
	b.WriteString(rq.p.now().UTC().Format(timeFormat))
	b.WriteString("</Message>")
	for _, d := range e.details {
		b.WriteString("<" + d[0] + ">")
		xmlEscape(&b, d[1])
		b.WriteString("</" + d[0] + ">")
	}
	b.WriteString("</Error>")
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	rq.writeHeader(e.status)
	_, _ = rq.w.Write([]byte(b.String()))
}

// xmlEscape writes s with XML's special characters escaped.
func xmlEscape(b *strings.Builder, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '&':
			esc = "&amp;"
		case '"':
			esc = "&quot;"
		case '\'':
			esc = "&apos;"
		case '\r':
			esc = "&#xD;"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(esc)
		last = i + 1
	}
	b.WriteString(s[last:])
}

// httpTime formats t as HTTP dates are (RFC 1123, GMT).
func httpTime(t time.Time) string { return t.UTC().Format(http.TimeFormat) }
