package cli

import (
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// apiMSI is the Microsoft.ManagedIdentity api-version az 2.45 sends.
const apiMSI = "2022-01-31-preview"

const identityType = "Microsoft.ManagedIdentity/userAssignedIdentities"

// identityShape is az's Identity (azure-mgmt-msi, 2022-01-31-preview):
// properties flattened, clientId, principalId and tenantId top-level.
var identityShape = modelShape{flatten: true, attrs: []string{
	"clientId", "id", "location", "name", "principalId", "systemData", "tags", "tenantId", "type"}}

// ficShape is az's FederatedIdentityCredential.
var ficShape = modelShape{flatten: true, attrs: []string{
	"audiences", "id", "issuer", "name", "subject", "systemData", "type"}}

func newIdentityCmd(g *globals) *cobra.Command {
	fic := azGroup("federated-credential", "Manage federated credentials under user assigned identities.",
		newFICCreateCmd(g, "create"), newFICCreateCmd(g, "update"), newFICShowCmd(g), newFICListCmd(g), newFICDeleteCmd(g))
	return addAzGlobals(azGroup("identity", "Managed Identities",
		newIdentityCreateCmd(g), newIdentityShowCmd(g), newIdentityListCmd(g), newIdentityDeleteCmd(g), fic), g)
}

var identityKind = armKind{typ: identityType, api: apiMSI, out: identityShape.shape}

func newIdentityCreateCmd(g *globals) *cobra.Command {
	var rg, name, location string
	var tags []string
	return newAzCommand(g, azCmd{
		Use:   "create",
		Short: "Create Identities.",
		Example: `  Create an identity.
    mimic identity create --name MyIdentity --resource-group MyResourceGroup`,
		Required: []string{"resource-group", "name"},
		Flags: func(f *pflag.FlagSet) {
			groupFlag(f, &rg)
			nameFlag(f, &name, "The name of the identity resource.")
			locationFlag(f, &location)
			tagsFlag(f, &tags)
		},
		Run: func(c *azCall) (any, error) {
			cl, err := c.armIn(rg, &location)
			if err != nil {
				return nil, err
			}
			body := map[string]any{"location": location}
			if c.changed("tags") {
				body["tags"] = parseTags(tags)
			}
			doc, err := cl.send(c.ctx(), http.MethodPut, cl.resourcePath(rg, identityType, name), apiMSI, body)
			return identityShape.shape(doc), err
		},
	})
}

func newIdentityShowCmd(g *globals) *cobra.Command {
	var rg, name string
	return newAzCommand(g, azCmd{
		Use:   "show",
		Short: "Show the details of a managed identity.",
		Example: `  Show an identity.
    mimic identity show --name MyIdentity --resource-group MyResourceGroup
  Get its client id.
    mimic identity show -g MyResourceGroup -n MyIdentity --query clientId -o tsv`,
		IDParts: []string{"resource-group", "name"},
		Flags: func(f *pflag.FlagSet) {
			groupFlag(f, &rg)
			nameFlag(f, &name, "The name of the identity resource.")
		},
		Run: func(c *azCall) (any, error) { return c.show(identityKind, rg, name, nil) },
	})
}

func newIdentityListCmd(g *globals) *cobra.Command {
	return newListCmd(g, identityKind, "List Managed Identities.", `  List the identities of a resource group.
    mimic identity list -g MyResourceGroup -o table`, nil)
}

func newIdentityDeleteCmd(g *globals) *cobra.Command {
	var rg, name string
	return newAzCommand(g, azCmd{
		Use:   "delete",
		Short: "Delete a managed identity.",
		Long: `Delete a user-assigned identity. As in Azure, it is detached from every
resource that has it, its federated credentials go with it, and its role
assignments stay behind, orphaned: 'mimic role assignment list' shows them
with principalType Unknown.`,
		Example: `  Delete an identity.
    mimic identity delete --name MyIdentity --resource-group MyResourceGroup`,
		IDParts: []string{"resource-group", "name"},
		Flags: func(f *pflag.FlagSet) {
			groupFlag(f, &rg)
			nameFlag(f, &name, "The name of the identity resource.")
		},
		Run: func(c *azCall) (any, error) { return c.remove(identityKind, rg, name, nil) },
	})
}

// ficFlags are the arguments every federated-credential command takes.
type ficFlags struct{ rg, identity, name string }

func (f *ficFlags) add(fs *pflag.FlagSet, withName bool) {
	groupFlag(fs, &f.rg)
	fs.StringVar(&f.identity, "identity-name", "", "The name of the identity resource.")
	if withName {
		nameFlag(fs, &f.name, "The name of the federated identity credential resource.")
	}
}

// call sends a request about the federated credential(s) the flags name.
func (f *ficFlags) call(c *azCall, method string, body any) (any, error) {
	cl, err := c.arm()
	if err != nil {
		return nil, err
	}
	switch {
	case method == http.MethodGet && f.name == "":
		items, err := cl.list(c.ctx(), f.path(cl), apiMSI)
		return ficShape.shapeList(items), err
	case method == http.MethodDelete:
		_, err := cl.call(c.ctx(), method, f.path(cl), apiMSI, nil)
		return nil, err
	}
	doc, err := cl.send(c.ctx(), method, f.path(cl), apiMSI, body)
	return ficShape.shape(doc), err
}

func (f *ficFlags) path(cl *azClient) string {
	p := cl.resourcePath(f.rg, identityType, f.identity) + "/federatedIdentityCredentials"
	if f.name != "" {
		p += "/" + url.PathEscape(f.name)
	}
	return p
}

func newFICCreateCmd(g *globals, verb string) *cobra.Command {
	var ff ficFlags
	var issuer, subject string
	var audiences []string
	short := "Create a federated identity credential under an existing user assigned identity."
	if verb == "update" {
		short = "Update a federated identity credential under an existing user assigned identity."
	}
	return newAzCommand(g, azCmd{
		Use:   verb,
		Short: short,
		Long: short + `
The audience defaults to api://AzureADTokenExchange. Tokens from the issuer
whose subject matches can then be exchanged for the identity's tokens.`,
		Example: `  Create a federated identity credential under a specific user assigned identity.
    mimic identity federated-credential ` + verb + ` --name myFicName --identity-name myIdentityName --resource-group myResourceGroup --issuer myIssuer --subject mySubject --audiences myAudiences
  Federate an identity to an AKS service account.
    mimic identity federated-credential ` + verb + ` -g rg --identity-name app-id -n aks-app --issuer "$(mimic aks show -g rg -n aks1 --query oidcIssuerProfile.issuerUrl -o tsv)" --subject system:serviceaccount:default:app`,
		Required: []string{"resource-group", "identity-name", "name"},
		Flags: func(f *pflag.FlagSet) {
			ff.add(f, true)
			f.StringVar(&issuer, "issuer", "", "The openId connect metadata URL of the issuer of the identity provider that Azure AD would use in the token exchange protocol for validating tokens before issuing a token as the user-assigned managed identity.")
			f.StringVar(&subject, "subject", "", "The sub value in the token sent to Azure AD for getting the user-assigned managed identity token. The value configured in the federated credential and the one in the incoming token must exactly match for Azure AD to issue the access token.")
			multi(f, "audiences", "", &audiences, "The aud value in the token sent to Azure for getting the user-assigned managed identity token. The value configured in the federated credential and the one in the incoming token must exactly match for Azure to issue the access token. Default: api://AzureADTokenExchange.")
			multi(f, "audience", "", &audiences, "An alias of --audiences.")
		},
		Run: func(c *azCall) (any, error) {
			if issuer == "" || subject == "" {
				return nil, cliError("usage error: please provide both --issuer and --subject parameters")
			}
			if len(audiences) == 0 {
				audiences = []string{"api://AzureADTokenExchange"}
			}
			return ff.call(c, http.MethodPut, map[string]any{"properties": map[string]any{"issuer": issuer, "subject": subject, "audiences": audiences}})
		},
	})
}

func newFICShowCmd(g *globals) *cobra.Command {
	var ff ficFlags
	return newAzCommand(g, azCmd{
		Use:   "show",
		Short: "Show a federated identity credential under an existing user assigned identity.",
		Example: `  Show a federated identity credential under a specific user assigned identity.
    mimic identity federated-credential show --name myFicName --identity-name myIdentityName --resource-group myResourceGroup`,
		Required: []string{"resource-group", "identity-name", "name"},
		Flags:    func(f *pflag.FlagSet) { ff.add(f, true) },
		Run:      func(c *azCall) (any, error) { return ff.call(c, http.MethodGet, nil) },
	})
}

func newFICListCmd(g *globals) *cobra.Command {
	var ff ficFlags
	return newAzCommand(g, azCmd{
		Use:   "list",
		Short: "List all federated identity credentials under an existing user assigned identity.",
		Example: `  List all federated identity credentials under an existing user assigned identity.
    mimic identity federated-credential list --identity-name myIdentityName --resource-group myResourceGroup`,
		Required: []string{"resource-group", "identity-name"},
		Flags:    func(f *pflag.FlagSet) { ff.add(f, false) },
		Run:      func(c *azCall) (any, error) { return ff.call(c, http.MethodGet, nil) },
	})
}

func newFICDeleteCmd(g *globals) *cobra.Command {
	var ff ficFlags
	return newAzCommand(g, azCmd{
		Use:   "delete",
		Short: "Delete a federated identity credential under an existing user assigned identity.",
		Example: `  Delete a federated identity credential under a specific user assigned identity.
    mimic identity federated-credential delete --name myFicName --identity-name myIdentityName --resource-group myResourceGroup --yes`,
		Required: []string{"resource-group", "identity-name", "name"},
		Confirm:  "Are you sure you want to perform this operation?",
		Flags:    func(f *pflag.FlagSet) { ff.add(f, true) },
		Run:      func(c *azCall) (any, error) { return ff.call(c, http.MethodDelete, nil) },
	})
}
