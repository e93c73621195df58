package jwt

import (
	"bytes"
	"encoding/json"
	"errors"
)

// Claims are the claims of an Entra ID access token that mimic issues and
// checks. Empty fields are omitted when marshalling. Times are Unix seconds.
//
// Field order follows Entra's tokens, so that decoded tokens look familiar.
type Claims struct {
	// Aud is the audience: the resource the token is for, such as
	// "https://vault.azure.net" or "https://management.azure.com/".
	Aud Audience `json:"aud,omitempty"`
	// Iss is the issuer, such as "https://sts.windows.net/{tenant}/".
	Iss string `json:"iss,omitempty"`
	// Iat is when the token was issued.
	Iat int64 `json:"iat,omitempty"`
	// Nbf is when the token becomes valid.
	Nbf int64 `json:"nbf,omitempty"`
	// Exp is when the token expires. [Ring.Verify] requires it.
	Exp int64 `json:"exp,omitempty"`
	// AppID is the client ID of the application (v1 tokens).
	AppID string `json:"appid,omitempty"`
	// AppIDAcr is how the client authenticated (v1): "0" public client,
	// "1" secret, "2" certificate or managed identity.
	AppIDAcr string `json:"appidacr,omitempty"`
	// Azp is the client ID of the application (v2 tokens).
	Azp string `json:"azp,omitempty"`
	// Azpacr is how the client authenticated (v2); values as AppIDAcr.
	Azpacr string `json:"azpacr,omitempty"`
	// Idtyp is "app" for application (and managed identity) tokens.
	Idtyp string `json:"idtyp,omitempty"`
	// Oid is the object ID of the principal.
	Oid string `json:"oid,omitempty"`
	// Rh is an opaque claim Azure uses to revalidate tokens.
	Rh string `json:"rh,omitempty"`
	// Roles are the app roles granted to the principal.
	Roles []string `json:"roles,omitempty"`
	// Sub is the subject; for app tokens, the principal's object ID.
	Sub string `json:"sub,omitempty"`
	// Tid is the tenant ID.
	Tid string `json:"tid,omitempty"`
	// Uti is a unique token identifier.
	Uti string `json:"uti,omitempty"`
	// Ver is the token version, "1.0" or "2.0".
	Ver string `json:"ver,omitempty"`
	// XmsAzRid is the resource ID of the Azure resource the token was
	// requested from (for example a VM), for some managed identity tokens.
	XmsAzRid string `json:"xms_az_rid,omitempty"`
	// XmsMirid is the managed identity's resource ID.
	XmsMirid string `json:"xms_mirid,omitempty"`
}

// Audience is the aud claim. It unmarshals from a JSON string or an array of
// strings, and marshals as a plain string when it holds exactly one
// audience, as Entra does.
type Audience []string

// Contains reports whether aud is exactly one of a's audiences.
func (a Audience) Contains(aud string) bool {
	for _, x := range a {
		if x == aud {
			return true
		}
	}
	return false
}

// MarshalJSON encodes a single audience as a string, otherwise an array.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON accepts a JSON string, an array of strings, or null.
func (a *Audience) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case len(data) > 0 && data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*a = Audience{s}
		return nil
	case len(data) > 0 && data[0] == '[':
		var list []string
		if err := json.Unmarshal(data, &list); err != nil {
			return err
		}
		*a = list
		return nil
	case string(data) == "null":
		*a = nil
		return nil
	default:
		return errors.New("jwt: aud must be a string or an array of strings")
	}
}
