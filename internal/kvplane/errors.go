package kvplane

import (
	"fmt"
	"net/http"
)

// kvError is a Key Vault error response:
// {"error":{"code":…,"message":…,"innererror":{"code":…}}}.
type kvError struct {
	status  int
	code    string
	message string
	inner   string
}

func (e *kvError) Error() string { return e.code + ": " + e.message }

func newError(status int, code, inner, format string, args ...any) *kvError {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &kvError{status: status, code: code, message: msg, inner: inner}
}

// Errors whose wording comes from Key Vault's answers.
const (
	// msgNoToken is Key Vault's answer to a request without a token.
	msgNoToken = "AKV10000: Request is missing a Bearer or PoP token."
	// msgExpired is Key Vault's answer to an expired token.
	msgExpired = "[TokenExpired] Error validating token: 'S2S12086'."
	// linkNotFound and linkAccessDenied are the help links of Key Vault's
	// SecretNotFound and access-policy messages.
	linkNotFound     = "https://go.microsoft.com/fwlink/?linkid=2125182"
	linkAccessDenied = "https://go.microsoft.com/fwlink/?linkid=2125287"
)

func errSecretNotFound(nameOrID string) *kvError {
	return newError(http.StatusNotFound, "SecretNotFound", "",
		"A secret with (name/id) %s was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see %s", nameOrID, linkNotFound)
}

func errDeletedNotFound() *kvError {
	return newError(http.StatusNotFound, "SecretNotFound", "", "Deleted Secret not found")
}

func errDisabled() *kvError {
	return newError(http.StatusForbidden, "Forbidden", "SecretDisabled", "Operation get is not allowed on a disabled secret.")
}

func errDeletedConflict(name string) *kvError {
	return newError(http.StatusConflict, "Conflict", "ObjectIsDeletedButRecoverable",
		"Secret %s is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.", name)
}

func errPurgeProtected(v *vault) *kvError {
	return newError(http.StatusForbidden, "Forbidden", "",
		"Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.\r\nVault: %s;location=%s", v.name, v.location)
}

func errBadParameter(format string, args ...any) *kvError {
	return newError(http.StatusBadRequest, "BadParameter", "", format, args...)
}

func errMissingAPIVersion() *kvError {
	return errBadParameter("The request URI must include the api-version query parameter, for example ?api-version=7.4.")
}

func errBadName(name string) *kvError {
	return errBadParameter("The request URI contains an invalid name: %s", name)
}

func errNoRoute(path string) *kvError {
	return newError(http.StatusNotFound, "NotFound", "", "The path '%s' is not a Key Vault secrets operation.", path)
}

func errMethod(method string) *kvError {
	return newError(http.StatusMethodNotAllowed, "MethodNotAllowed", "", "The requested resource does not support http method '%s'.", method)
}

func errNotImplemented(collection string) *kvError {
	return newError(http.StatusNotImplemented, "NotImplemented", "",
		"mimic's Key Vault data plane serves secrets only; /%s is not emulated.", collection)
}

func errVaultNotFound(host string) *kvError {
	return newError(http.StatusNotFound, "VaultNotFound", "",
		"No key vault answers at %s: no Microsoft.KeyVault/vaults resource has that name. (In Azure the host name would not resolve.)", host)
}

var errInternal = newError(http.StatusInternalServerError, "InternalServerError", "", "mimic could not read or write its store; see its log.")
