package cli

import (
	"net/http"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// apiSQL is the Microsoft.Sql api-version az 2.45 sends.
const apiSQL = "2022-05-01-preview"

const sqlServerType = "Microsoft.Sql/servers"

// sqlServerShape is az's Server (azure-mgmt-sql 4.0.0b6, 2022-05-01-preview):
// flattened.
var sqlServerShape = modelShape{flatten: true, only: true, attrs: []string{
	"administratorLogin", "administratorLoginPassword", "administrators", "federatedClientId",
	"fullyQualifiedDomainName", "id", "identity", "keyId", "kind", "location", "minimalTlsVersion", "name",
	"primaryUserAssignedIdentityId", "privateEndpointConnections", "publicNetworkAccess", "restrictOutboundNetworkAccess",
	"state", "tags", "type", "version", "workspaceFeature"}}

func sqlServerOut(doc map[string]any) map[string]any {
	out := withIdentityNulls(sqlServerShape.shape(doc))
	withNulls(obj(out["administrators"]), "administratorType", "azureAdOnlyAuthentication", "login", "principalType", "sid", "tenantId")
	return out
}

var sqlServerKind = armKind{typ: sqlServerType, api: apiSQL, out: sqlServerOut}

func newSQLCmd(g *globals) *cobra.Command {
	server := azGroup("server", "Manage SQL servers.",
		newSQLServerCreateCmd(g), newSQLServerShowCmd(g), newSQLServerListCmd(g), newSQLServerDeleteCmd(g))
	return addAzGlobals(azGroup("sql", "Manage Azure SQL Databases and Data Warehouses.", server), g)
}

func newSQLServerCreateCmd(g *globals) *cobra.Command {
	var rg, name, location, user, password, tls, public, primary string
	var assign bool
	var identities []string
	return newAzCommand(g, azCmd{
		Use:   "create",
		Short: "Create a server.",
		Long: `Create a logical SQL server (mimic serves no databases). The password must
meet Azure's complexity policy; it is neither stored nor returned.`,
		Example: `  Create a server.
    mimic sql server create -l westus -g mygroup -n myserver -u myadminuser -p myadminpassword
  Create a server with a system assigned identity.
    mimic sql server create -g mygroup -n myserver -u myadminuser -p myadminpassword --assign-identity`,
		Required: []string{"name", "resource-group"},
		NoWait:   true,
		Flags: func(f *pflag.FlagSet) {
			nameFlag(f, &name, "Name of the Azure SQL Server.")
			groupFlag(f, &rg)
			locationFlag(f, &location)
			f.StringVarP(&user, "admin-user", "u", "", "Administrator username for the server. Once created it cannot be changed.")
			f.StringVarP(&password, "admin-password", "p", "", "The administrator login password (required for server creation).")
			f.StringVar(&tls, "minimal-tls-version", "", "The minimal TLS version enforced by the sql server for inbound connections: 1.0, 1.1, 1.2.")
			f.StringVarP(&public, "enable-public-network", "e", "", "Set whether public network access to server is allowed or not: true, false.")
			f.BoolVarP(&assign, "assign-identity", "i", false, "Generate and assign an Azure Active Directory Identity for this server for use with key management services like Azure KeyVault.")
			multi(f, "user-assigned-identity-id", "a", &identities, "Generate and assign a User Managed Identity(UMI) for this server.")
			f.StringVar(&primary, "primary-user-assigned-identity-id", "", "The ID of the primary user managed identity.")
		},
		Run: func(c *azCall) (any, error) {
			if user == "" || password == "" {
				return nil, cliError("Please specify both --admin-user and --admin-password for a server with SQL authentication.")
			}
			cl, err := c.armIn(rg, &location)
			if err != nil {
				return nil, err
			}
			props := map[string]any{"administratorLogin": user, "administratorLoginPassword": password, "version": "12.0"}
			if tls != "" {
				props["minimalTlsVersion"] = tls
			}
			switch public {
			case "true":
				props["publicNetworkAccess"] = "Enabled"
			case "false":
				props["publicNetworkAccess"] = "Disabled"
			}
			if primary != "" {
				props["primaryUserAssignedIdentityId"] = primary
			}
			body := map[string]any{"location": location, "properties": props}
			if assign || len(identities) > 0 {
				ids := identityIDs(cl, rg, identities)
				if assign {
					ids = append(ids, msiLocalID)
				}
				block, _, _ := identityBlock(ids)
				body["identity"] = block
			}
			doc, err := cl.send(c.ctx(), http.MethodPut, cl.resourcePath(rg, sqlServerType, name), apiSQL, body)
			if err != nil {
				return nil, err
			}
			return sqlServerOut(doc), nil
		},
	})
}

func newSQLServerShowCmd(g *globals) *cobra.Command {
	var rg, name string
	return newAzCommand(g, azCmd{
		Use:   "show",
		Short: "Gets a server.",
		Example: `  Get a server.
    mimic sql server show -g mygroup -n myserver`,
		IDParts: []string{"resource-group", "name"},
		Flags: func(f *pflag.FlagSet) {
			nameFlag(f, &name, "Name of the Azure SQL Server.")
			groupFlag(f, &rg)
		},
		Run: func(c *azCall) (any, error) { return c.show(sqlServerKind, rg, name, nil) },
	})
}

func newSQLServerListCmd(g *globals) *cobra.Command {
	return newListCmd(g, sqlServerKind, "List available servers.", `  List all servers in the current subscription.
    mimic sql server list`, nil)
}

func newSQLServerDeleteCmd(g *globals) *cobra.Command {
	var rg, name string
	return newAzCommand(g, azCmd{
		Use:   "delete",
		Short: "Deletes a server.",
		Example: `  Delete a server.
    mimic sql server delete -g mygroup -n myserver --yes`,
		IDParts: []string{"resource-group", "name"},
		Confirm: "Are you sure you want to perform this operation?",
		NoWait:  true,
		Flags: func(f *pflag.FlagSet) {
			nameFlag(f, &name, "Name of the Azure SQL Server.")
			groupFlag(f, &rg)
		},
		Run: func(c *azCall) (any, error) { return c.remove(sqlServerKind, rg, name, nil) },
	})
}
