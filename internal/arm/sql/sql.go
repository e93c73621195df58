// Package sql is the Microsoft.Sql management plane: logical servers with
// managed identities. mimic serves no databases.
//
// Semantics, as in Azure:
//
//   - Server names are DNS labels under database.windows.net, so they are
//     unique across every subscription and group: a second server with the
//     same name anywhere is 409 NameAlreadyExists. Names are 1-63
//     lower-case letters, digits and hyphens, not starting or ending with a
//     hyphen (400 InvalidServerName).
//   - kind is "v12.0" and properties.version "12.0".
//   - administratorLogin and administratorLoginPassword are required on
//     create. The login cannot change afterwards. The password must meet
//     Azure's complexity policy (8-128 characters from three of: upper
//     case, lower case, digits, symbols) and is neither stored nor ever
//     returned; a later PUT or PATCH may set a new one.
//   - Read-only properties: state "Ready", fullyQualifiedDomainName
//     {name}.database.windows.net; publicNetworkAccess defaults to
//     "Enabled", minimalTlsVersion to "1.2", restrictOutboundNetworkAccess
//     to "Disabled".
//   - With user-assigned identities, primaryUserAssignedIdentityId names one
//     of them; it defaults to the only one when there is exactly one.
package sql

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/armerr"
)

// ServerType is the logical server type.
const ServerType = "Microsoft.Sql/servers"

// DNSSuffix is the suffix of servers' host names.
const DNSSuffix = ".database.windows.net"

// APIVersions of Microsoft.Sql servers: armsql sends 2021-02-01-preview
// for servers (other operations of the module use 2014-04-01 up to
// 2021-11-01-preview); az 2.45 sends 2022-05-01-preview.
var APIVersions = []string{
	"2014-01-01", "2014-04-01", "2015-05-01-preview", "2017-03-01-preview", "2017-10-01-preview",
	"2018-06-01-preview", "2019-06-01-preview", "2020-02-02-preview", "2020-08-01-preview",
	"2020-11-01-preview", "2021-02-01-preview", "2021-05-01-preview", "2021-08-01-preview", "2021-11-01",
	"2021-11-01-preview", "2022-02-01-preview", "2022-05-01-preview", "2022-08-01-preview",
	"2022-11-01-preview", "2023-02-01-preview", "2023-05-01-preview", "2023-08-01", "2023-08-01-preview",
	"2024-05-01-preview",
}

var serverName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Register adds the Microsoft.Sql types.
func Register(r *arm.Registry) {
	r.Register(&arm.Type{
		Name: ServerType, APIVersions: append([]string(nil), APIVersions...), Placement: arm.InGroup, Tracked: true,
		Identity: arm.SystemAndUserIdentity, Kinds: []string{"v12.0"}, Prepare: prepareServer, CompactIdentityType: true,
		NameTaken: func(name string) error {
			return armerr.Conflict("NameAlreadyExists", "The name '%s' already exists. Choose a different name.", name)
		},
	})
}

func prepareServer(c *arm.Call, old, doc arm.Doc) error {
	name := doc.Str("name")
	if old == nil {
		if !serverName.MatchString(name) {
			return armerr.BadRequest("InvalidServerName",
				"Server name '%s' cannot be empty or null. It can only be made up of lowercase letters 'a'-'z', the numbers 0-9 and the hyphen. The hyphen may not lead or trail in the name.", name)
		}
	}
	p := doc.Props()
	var op arm.Doc
	if old != nil {
		op = old.Obj("properties")
	}

	login := p.Str("administratorLogin")
	if old != nil {
		prev := op.Str("administratorLogin")
		if login != "" && prev != "" && login != prev {
			return armerr.BadRequest("InvalidParameterValue", "The administrator login of a server cannot be changed: it is '%s'.", prev)
		}
		if prev != "" {
			login = prev
		}
	}
	if old == nil && login == "" {
		return armerr.BadRequest("InvalidParameterValue", "Invalid value given for parameter Login. Specify a valid parameter value.")
	}
	if login != "" {
		p["administratorLogin"] = login
	}
	pw, hasPW := p["administratorLoginPassword"].(string)
	if old == nil && (!hasPW || pw == "") {
		return armerr.BadRequest("InvalidParameterValue", "Invalid value given for parameter Password. Specify a valid parameter value.")
	}
	if hasPW && pw != "" && !complexEnough(pw, login) {
		return armerr.BadRequest("PasswordNotComplex", "Password validation failed. The password does not meet policy requirements because it is not complex enough.")
	}
	// Azure keeps the password to itself; mimic needs it for nothing.
	delete(p, "administratorLoginPassword")

	p["version"] = "12.0"
	p["state"] = "Ready"
	p["fullyQualifiedDomainName"] = strings.ToLower(name) + DNSSuffix
	keep := func(key string, def any) {
		if v, ok := p[key]; ok && v != nil {
			return
		}
		if v, ok := op[key]; ok && v != nil {
			p[key] = v
			return
		}
		if def != nil {
			p[key] = def
		}
	}
	keep("publicNetworkAccess", "Enabled")
	keep("minimalTlsVersion", "1.2")
	keep("restrictOutboundNetworkAccess", "Disabled")
	keep("administrators", nil)
	keep("primaryUserAssignedIdentityId", nil)
	switch strings.ToLower(p.Str("publicNetworkAccess")) {
	case "enabled":
		p["publicNetworkAccess"] = "Enabled"
	case "disabled":
		p["publicNetworkAccess"] = "Disabled"
	case "securedbyperimeter":
		p["publicNetworkAccess"] = "SecuredByPerimeter"
	default:
		return armerr.BadRequest("InvalidParameterValue", "Invalid value given for parameter PublicNetworkAccess. Specify a valid parameter value.")
	}
	switch p.Str("minimalTlsVersion") {
	case "None", "1.0", "1.1", "1.2", "1.3":
	default:
		return armerr.BadRequest("InvalidParameterValue", "Invalid value given for parameter MinimalTlsVersion. Specify a valid parameter value.")
	}
	p.SetDefault([]any{}, "privateEndpointConnections")

	_, uais := arm.IdentityIDs(doc)
	primary := p.Str("primaryUserAssignedIdentityId")
	switch {
	case len(uais) == 0:
		delete(p, "primaryUserAssignedIdentityId")
	case primary == "" && len(uais) == 1:
		p["primaryUserAssignedIdentityId"] = uais[0]
	case primary == "":
		return armerr.BadRequest("PrimaryUserAssignedIdentityIdRequired",
			"The server has several user assigned identities: 'primaryUserAssignedIdentityId' must name one of them.")
	default:
		found := false
		for _, u := range uais {
			if strings.EqualFold(u, primary) {
				p["primaryUserAssignedIdentityId"], found = u, true
			}
		}
		if !found {
			return armerr.BadRequest("InvalidPrimaryUserAssignedIdentityId",
				"The primary user assigned identity '%s' is not one of the server's user assigned identities.", primary)
		}
	}
	return nil
}

// complexEnough applies Azure SQL's password policy.
func complexEnough(pw, login string) bool {
	if len(pw) < 8 || len(pw) > 128 {
		return false
	}
	if login != "" && strings.Contains(strings.ToLower(pw), strings.ToLower(login)) {
		return false
	}
	var upper, lower, digit, other bool
	for _, r := range pw {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	n := 0
	for _, b := range []bool{upper, lower, digit, other} {
		if b {
			n++
		}
	}
	return n >= 3
}
