package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mimic-emu/mimic/internal/azout"
	"github.com/mimic-emu/mimic/internal/sharedkey"
)

// api-versions az 2.45 sends: Microsoft.Storage, and the Blob service
// version of azure-storage-blob 12.14.
const (
	apiStorage  = "2022-09-01"
	blobVersion = "2021-08-06"
)

const storageType = "Microsoft.Storage/storageAccounts"

// storageShape is az's StorageAccount (2022-09-01): flattened;
// supportsHttpsTrafficOnly is the SDK's enable_https_traffic_only and
// networkAcls its network_rule_set.
var storageShape = modelShape{flatten: true, rename: map[string]string{"supportsHttpsTrafficOnly": "enableHttpsTrafficOnly", "networkAcls": "networkRuleSet"},
	attrs: []string{"accessTier", "allowBlobPublicAccess", "allowCrossTenantReplication", "allowSharedKeyAccess",
		"allowedCopyScope", "azureFilesIdentityBasedAuthentication", "blobRestoreStatus", "creationTime", "customDomain",
		"defaultToOAuthAuthentication", "dnsEndpointType", "enableHttpsTrafficOnly", "enableNfsV3", "encryption",
		"extendedLocation", "failoverInProgress", "geoReplicationStats", "id", "identity", "immutableStorageWithVersioning",
		"isHnsEnabled", "isLocalUserEnabled", "isSftpEnabled", "keyCreationTime", "keyPolicy", "kind",
		"largeFileSharesState", "lastGeoFailoverTime", "location", "minimumTlsVersion", "name", "networkRuleSet",
		"primaryEndpoints", "primaryLocation", "privateEndpointConnections", "provisioningState", "publicNetworkAccess",
		"routingPreference", "sasPolicy", "secondaryEndpoints", "secondaryLocation", "sku", "statusOfPrimary",
		"statusOfSecondary", "storageAccountSkuConversionStatus", "tags", "type"}}

func storageOut(doc map[string]any) map[string]any { return withIdentityNulls(storageShape.shape(doc)) }

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func newStorageCmd(g *globals) *cobra.Command {
	keys := azGroup("keys", "Manage storage account keys.", newStorageKeysListCmd(g))
	account := azGroup("account", "Manage storage accounts.",
		newStorageAccountCreateCmd(g), newStorageAccountShowCmd(g), newStorageAccountListCmd(g), newStorageAccountDeleteCmd(g), keys)
	container := azGroup("container", "Manage blob storage containers.",
		newContainerCreateCmd(g), newContainerListCmd(g), newContainerDeleteCmd(g))
	blob := azGroup("blob", "Manage object storage for unstructured data (blobs).",
		newBlobUploadCmd(g), newBlobDownloadCmd(g), newBlobListCmd(g), newBlobDeleteCmd(g))
	return addAzGlobals(azGroup("storage", "Manage Azure Cloud Storage resources.", account, container, blob), g)
}

func newStorageAccountCreateCmd(g *globals) *cobra.Command {
	var rg, name, location, sku, kind, tls, accessTier, publicAccess, sharedKey, httpsOnly string
	var tags, assign []string
	return newAzCommand(g, azCmd{
		Use:   "create",
		Short: "Create a storage account.",
		Example: `  Create a storage account 'mystorageaccount' in resource group 'MyResourceGroup' in the West US region with locally redundant storage.
    mimic storage account create -n mystorageaccount -g MyResourceGroup -l westus --sku Standard_LRS`,
		Required: []string{"name", "resource-group"},
		Flags: func(f *pflag.FlagSet) {
			nameFlag(f, &name, "The storage account name.")
			groupFlag(f, &rg)
			locationFlag(f, &location)
			f.StringVar(&sku, "sku", "Standard_RAGRS", "The storage account SKU.")
			f.StringVar(&kind, "kind", "StorageV2", "Indicate the type of storage account.")
			f.StringVar(&tls, "min-tls-version", "", "The minimum TLS version to be permitted on requests to storage: TLS1_0, TLS1_1, TLS1_2.")
			f.StringVar(&accessTier, "access-tier", "", "The access tier used for billing StandardBlob accounts: Hot, Cool.")
			f.StringVar(&publicAccess, "allow-blob-public-access", "", "Allow or disallow public access to all blobs or containers in the storage account: true, false.")
			f.StringVar(&sharedKey, "allow-shared-key-access", "", "Indicate whether the storage account permits requests to be authorized with the account access key via Shared Key: true, false.")
			f.StringVar(&httpsOnly, "https-only", "", "Allow https traffic only to storage service if set to true: true, false.")
			multiOptional(f, "assign-identity", &assign, msiLocalID, "Generate and assign an Azure Active Directory Identity for this storage account.")
			tagsFlag(f, &tags)
		},
		Run: func(c *azCall) (any, error) {
			cl, err := c.armIn(rg, &location)
			if err != nil {
				return nil, err
			}
			props := map[string]any{"encryption": map[string]any{"keySource": "Microsoft.Storage",
				"services": map[string]any{"blob": map[string]any{"enabled": true}, "file": map[string]any{"enabled": true}}}}
			if tls != "" {
				props["minimumTlsVersion"] = tls
			}
			if accessTier != "" {
				props["accessTier"] = accessTier
			}
			for key, v := range map[string]string{"allowBlobPublicAccess": publicAccess, "allowSharedKeyAccess": sharedKey, "supportsHttpsTrafficOnly": httpsOnly} {
				if v == "" {
					continue
				}
				b, err := strconv.ParseBool(v)
				if err != nil {
					return nil, usageError("invalid boolean value: '" + v + "'")
				}
				props[key] = b
			}
			body := map[string]any{"location": location, "sku": map[string]any{"name": sku}, "kind": kind, "properties": props}
			if c.changed("tags") {
				body["tags"] = parseTags(tags)
			}
			if c.changed("assign-identity") {
				block, _, _ := identityBlock(identityIDs(cl, rg, assign))
				body["identity"] = block
			}
			doc, err := cl.send(c.ctx(), http.MethodPut, cl.resourcePath(rg, storageType, name), apiStorage, body)
			if err != nil {
				return nil, err
			}
			return storageOut(doc), nil
		},
	})
}

var storageKind = armKind{typ: storageType, api: apiStorage, out: storageOut}

// findAccount returns a storage account's path: in the group, or found by
// name in the subscription.
func (c *azCall) findAccount(rg, name string) (string, error) {
	if len(c.ids) > 0 {
		return c.ids[0], nil
	}
	// az's validator raises a ValueError: exit 2.
	return c.findByName(storageType, rg, name, &notFoundError{msg: fmt.Sprintf("Storage account '%s' not found.", name), code: 2})
}

func newStorageAccountShowCmd(g *globals) *cobra.Command {
	var rg, name string
	return newAzCommand(g, azCmd{
		Use:   "show",
		Short: "Show storage account properties.",
		Example: `  Show properties for a storage account by resource ID.
    mimic storage account show --ids /subscriptions/{SubID}/resourceGroups/{ResourceGroup}/providers/Microsoft.Storage/storageAccounts/{StorageAccount}
  Show properties for a storage account using an account name and resource group.
    mimic storage account show -g MyResourceGroup -n MyStorageAccount`,
		IDParts: []string{"name"},
		Flags: func(f *pflag.FlagSet) {
			nameFlag(f, &name, "The storage account name.")
			groupFlag(f, &rg)
		},
		Run: func(c *azCall) (any, error) {
			if len(c.ids) == 0 {
				p, err := c.findAccount(rg, name)
				if err != nil {
					return nil, err
				}
				c.ids = []string{p}
			}
			return c.show(storageKind, "", "", nil)
		},
	})
}

func newStorageAccountListCmd(g *globals) *cobra.Command {
	return newListCmd(g, storageKind, "List storage accounts.", `  List all storage accounts in a resource group.
    mimic storage account list -g MyResourceGroup -o table`, nil)
}

func newStorageAccountDeleteCmd(g *globals) *cobra.Command {
	var rg, name string
	return newAzCommand(g, azCmd{
		Use:   "delete",
		Short: "Delete a storage account.",
		Example: `  Delete a storage account using a resource group and account name.
    mimic storage account delete -n MyStorageAccount -g MyResourceGroup --yes`,
		IDParts: []string{"resource-group", "name"},
		Confirm: "Are you sure you want to perform this operation?",
		Flags: func(f *pflag.FlagSet) {
			nameFlag(f, &name, "The storage account name.")
			groupFlag(f, &rg)
		},
		Run: func(c *azCall) (any, error) { return c.remove(storageKind, rg, name, nil) },
	})
}

func newStorageKeysListCmd(g *globals) *cobra.Command {
	var rg, name string
	return newAzCommand(g, azCmd{
		Use:   "list",
		Short: "List the access keys or Kerberos keys (if active directory enabled) for a storage account.",
		Example: `  List the access keys for a storage account.
    mimic storage account keys list -g MyResourceGroup -n MyStorageAccount`,
		IDParts: []string{"account-name"},
		Flags: func(f *pflag.FlagSet) {
			f.StringVarP(&name, "account-name", "n", "", "The storage account name.")
			groupFlag(f, &rg)
		},
		Run: func(c *azCall) (any, error) {
			cl, err := c.arm()
			if err != nil {
				return nil, err
			}
			path, err := c.findAccount(rg, name)
			if err != nil {
				return nil, err
			}
			res, err := cl.send(c.ctx(), http.MethodPost, path+"/listKeys", apiStorage, nil)
			if err != nil {
				return nil, err
			}
			out := []any{}
			for _, k := range asList(res["keys"]) {
				out = append(out, withNulls(obj(azValue("", k)), "creationTime", "keyName", "permissions", "value"))
			}
			return out, nil
		},
	})
}

// ---- the Blob data plane ----

// blobAuth are the arguments that say how to reach an account's blobs.
type blobAuth struct {
	account, key, authMode, connString string
}

func (b *blobAuth) add(f *pflag.FlagSet) {
	f.StringVar(&b.account, "account-name", "", "Storage account name. Related environment variable: AZURE_STORAGE_ACCOUNT.")
	f.StringVar(&b.key, "account-key", "", "Storage account key. Must be used in conjunction with storage account name. Environment variable: AZURE_STORAGE_KEY.")
	f.StringVar(&b.authMode, "auth-mode", "", "The mode in which to run the command. \"login\" mode will directly use your login credentials for the authentication. The legacy \"key\" mode will attempt to query for an account key if no authentication parameters for the account are provided.")
	f.StringVar(&b.connString, "connection-string", "", "Storage account connection string. Environment variable: AZURE_STORAGE_CONNECTION_STRING.")
}

// blobClient is an authenticated client of one account's blob service.
type blobClient struct {
	c       *azCall
	cl      *azClient
	account string
	key     []byte
	token   string
}

func (b *blobAuth) client(c *azCall) (*blobClient, error) {
	if b.account == "" {
		b.account = os.Getenv("AZURE_STORAGE_ACCOUNT")
	}
	if b.key == "" {
		b.key = os.Getenv("AZURE_STORAGE_KEY")
	}
	if b.connString == "" {
		b.connString = os.Getenv("AZURE_STORAGE_CONNECTION_STRING")
	}
	if b.connString != "" {
		for _, part := range strings.Split(b.connString, ";") {
			k, v, _ := strings.Cut(part, "=")
			switch strings.ToLower(k) {
			case "accountname":
				b.account = v
			case "accountkey":
				b.key = v
			}
		}
	}
	mode := strings.ToLower(b.authMode)
	if mode != "" && mode != "login" && mode != "key" {
		return nil, usageError("argument --auth-mode: invalid choice: '" + b.authMode + "' (choose from 'key', 'login')")
	}
	if b.account == "" {
		return nil, cliError("Missing account name. Please provide --account-name or set AZURE_STORAGE_ACCOUNT.")
	}
	cl, err := c.arm()
	if err != nil {
		return nil, err
	}
	bc := &blobClient{c: c, cl: cl, account: strings.ToLower(b.account)}
	if mode == "login" {
		if b.key != "" {
			return nil, cliError("usage error: --account-key cannot be used with --auth-mode login")
		}
		if bc.token, err = cl.token(c.ctx(), "https://storage.azure.com"); err != nil {
			return nil, err
		}
		return bc, nil
	}
	if b.key == "" {
		c.warn("\nThere are no credentials provided in your command and environment, we will query for account key for your storage account.\nIt is recommended to provide --connection-string, --account-key or --sas-token in your command as credentials.\n\nYou also can add `--auth-mode login` in your command to use Azure Active Directory (Azure AD) for authorization if your login account is assigned required RBAC roles.\nFor more information about RBAC roles in storage, visit https://docs.microsoft.com/azure/storage/common/storage-auth-aad-rbac-cli.\n\nIn addition, setting the corresponding environment variables can avoid inputting credentials in your command. Please use --help to get more information about environment variable usage.")
		path, err := c.findAccount("", b.account)
		if err != nil {
			return nil, err
		}
		res, err := cl.send(c.ctx(), http.MethodPost, path+"/listKeys", apiStorage, nil)
		if err != nil {
			return nil, err
		}
		if ks := asList(res["keys"]); len(ks) > 0 {
			b.key = str(obj(ks[0])["value"])
		}
	}
	key, err := base64.StdEncoding.DecodeString(b.key)
	if err != nil {
		return nil, cliError("The account key is not valid base64.")
	}
	bc.key = key
	return bc, nil
}

// do sends a Blob request: bearer token or SharedKey signature.
func (bc *blobClient) do(method, path string, query url.Values, header http.Header, body []byte) (*http.Response, []byte, error) {
	if header == nil {
		header = http.Header{}
	}
	header.Set("x-ms-version", blobVersion)
	header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	header.Set("x-ms-client-request-id", newRequestID())
	u := "https://" + bc.account + ".blob.core.windows.net" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	if bc.token != "" {
		header.Set("Authorization", "Bearer "+bc.token)
	} else {
		// Sign the request as it will be sent: same URL, headers, length.
		req, err := http.NewRequest(method, u, bytes.NewReader(body))
		if err != nil {
			return nil, nil, err
		}
		req.Header = header
		sharedkey.Authorize(req, bc.account, bc.key)
	}
	return bc.cl.dataRequest(bc.c.ctx(), method, u, header, body)
}

func newRequestID() string { return uuid.NewString() }

// storageError is a Blob error answer as az prints it.
type storageError struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func blobError(resp *http.Response, data []byte) error {
	var e storageError
	xml.Unmarshal(data, &e)
	if e.Code == "" {
		e.Code = resp.Header.Get("x-ms-error-code")
	}
	msg := strings.SplitN(e.Message, "\n", 2)[0]
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	api := &APIError{Status: resp.StatusCode, Code: e.Code, Message: msg}
	code := 1
	if resp.StatusCode == http.StatusNotFound {
		code = 3
	}
	return &ExitError{Code: code, Err: &blobServiceError{api}}
}

// blobServiceError reads as azure-storage-blob's errors do in az.
type blobServiceError struct{ api *APIError }

func (e *blobServiceError) Error() string {
	return e.api.Message + "\nErrorCode:" + e.api.Code
}

// httpTime prints an HTTP date as Python's isoformat.
func httpTime(s string) any {
	t, err := http.ParseTime(s)
	if err != nil {
		if s == "" {
			return nil
		}
		return s
	}
	return t.UTC().Format("2006-01-02T15:04:05") + "+00:00"
}

func newContainerCreateCmd(g *globals) *cobra.Command {
	var ba blobAuth
	var name, public string
	var failOnExist bool
	return newAzCommand(g, azCmd{
		Use:   "create",
		Short: "Create a container in a storage account.",
		Example: `  Create a storage container in a storage account with your Azure AD credentials.
    mimic storage container create -n mystoragecontainer --account-name mystorageaccount --auth-mode login`,
		Required: []string{"name"},
		Flags: func(f *pflag.FlagSet) {
			nameFlag(f, &name, "The container name.")
			ba.add(f)
			f.StringVar(&public, "public-access", "", "Specifies whether data in the container may be accessed publicly: off, blob, container.")
			f.BoolVar(&failOnExist, "fail-on-exist", false, "Throw an exception if the container already exists.")
		},
		Run: func(c *azCall) (any, error) {
			bc, err := ba.client(c)
			if err != nil {
				return nil, err
			}
			h := http.Header{}
			if public != "" && public != "off" {
				h.Set("x-ms-blob-public-access", public)
			}
			return bc.container(http.MethodPut, name, h, http.StatusConflict, "created", failOnExist)
		},
	})
}

// container creates or deletes a container and answers as az does:
// {"created": true}, or false when the service answers with the status
// az tolerates (the container exists, or is gone) unless fail says to
// fail then.
func (bc *blobClient) container(method, name string, h http.Header, tolerated int, key string, fail bool) (any, error) {
	resp, data, err := bc.do(method, "/"+name, url.Values{"restype": {"container"}}, h, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == tolerated && !fail {
		return map[string]any{key: false}, nil
	}
	if resp.StatusCode >= 400 {
		return nil, blobError(resp, data)
	}
	return map[string]any{key: true}, nil
}

// enumerate reads every page of a container or blob listing.
func (bc *blobClient) enumerate(path string, q url.Values, page func(*enumeration)) error {
	for {
		resp, data, err := bc.do(http.MethodGet, path, q, nil, nil)
		if err != nil {
			return err
		}
		if resp.StatusCode >= 400 {
			return blobError(resp, data)
		}
		var e enumeration
		if err := xml.Unmarshal(data, &e); err != nil {
			return err
		}
		page(&e)
		if e.NextMarker == "" {
			return nil
		}
		q.Set("marker", e.NextMarker)
	}
}

// enumeration is the XML of a container or blob listing.
type enumeration struct {
	Containers []struct {
		Name     string   `xml:"Name"`
		Props    xmlProps `xml:"Properties"`
		Metadata xmlProps `xml:"Metadata"`
	} `xml:"Containers>Container"`
	Blobs []struct {
		Name     string   `xml:"Name"`
		Props    xmlProps `xml:"Properties"`
		Metadata xmlProps `xml:"Metadata"`
	} `xml:"Blobs>Blob"`
	NextMarker string `xml:"NextMarker"`
}

// xmlProps reads any flat XML element into a map.
type xmlProps map[string]string

func (p *xmlProps) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	m := xmlProps{}
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var s string
			if err := d.DecodeElement(&s, &t); err != nil {
				return err
			}
			m[t.Name.Local] = s
		case xml.EndElement:
			*p = m
			return nil
		}
	}
}

func xmlBool(s string) bool { return strings.EqualFold(s, "true") }

func newContainerListCmd(g *globals) *cobra.Command {
	var ba blobAuth
	var prefix string
	return newAzCommand(g, azCmd{
		Use:   "list",
		Short: "List containers in a storage account.",
		Example: `  List containers in a storage account with your Azure AD credentials.
    mimic storage container list --account-name mystorageaccount --auth-mode login`,
		Flags: func(f *pflag.FlagSet) {
			ba.add(f)
			f.StringVar(&prefix, "prefix", "", "Filter the results to return only blobs whose name begins with the specified prefix.")
		},
		Run: func(c *azCall) (any, error) {
			bc, err := ba.client(c)
			if err != nil {
				return nil, err
			}
			out := []any{}
			q := url.Values{"comp": {"list"}}
			if prefix != "" {
				q.Set("prefix", prefix)
			}
			err = bc.enumerate("/", q, func(e *enumeration) {
				for _, ct := range e.Containers {
					p := ct.Props
					var public any
					if v := p["PublicAccess"]; v != "" {
						public = v
					}
					var lease any
					if v := p["LeaseDuration"]; v != "" {
						lease = v
					}
					var meta any
					if len(ct.Metadata) > 0 {
						m := map[string]any{}
						for k, v := range ct.Metadata {
							m[k] = v
						}
						meta = m
					}
					out = append(out, map[string]any{
						"deleted": nil, "encryptionScope": map[string]any{"defaultEncryptionScope": "$account-encryption-key", "preventEncryptionScopeOverride": false},
						"immutableStorageWithVersioningEnabled": false, "metadata": meta, "name": ct.Name,
						"properties": map[string]any{"etag": p["Etag"], "hasImmutabilityPolicy": xmlBool(p["HasImmutabilityPolicy"]),
							"hasLegalHold": xmlBool(p["HasLegalHold"]), "lastModified": httpTime(p["Last-Modified"]),
							"lease":        map[string]any{"duration": lease, "state": orDefault(p["LeaseState"], "available"), "status": orDefault(p["LeaseStatus"], "unlocked")},
							"publicAccess": public},
						"version": nil,
					})
				}
			})
			return out, err
		},
	})
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func newContainerDeleteCmd(g *globals) *cobra.Command {
	var ba blobAuth
	var name string
	var failNotExist bool
	return newAzCommand(g, azCmd{
		Use:   "delete",
		Short: "Mark the specified container for deletion.",
		Example: `  Delete a container.
    mimic storage container delete -n mystoragecontainer --account-name mystorageaccount --auth-mode login`,
		Required: []string{"name"},
		Flags: func(f *pflag.FlagSet) {
			nameFlag(f, &name, "The container name.")
			ba.add(f)
			f.BoolVar(&failNotExist, "fail-not-exist", false, "Throw an exception if the container does not exist.")
		},
		Run: func(c *azCall) (any, error) {
			bc, err := ba.client(c)
			if err != nil {
				return nil, err
			}
			return bc.container(http.MethodDelete, name, nil, http.StatusNotFound, "deleted", failNotExist)
		},
	})
}

// blobFlags name a blob.
type blobFlags struct {
	ba              blobAuth
	container, name string
}

func (b *blobFlags) add(f *pflag.FlagSet, withName bool) {
	f.StringVarP(&b.container, "container-name", "c", "", "The container name.")
	if withName {
		nameFlag(f, &b.name, "The blob name.")
	}
	b.ba.add(f)
}

func (b *blobFlags) path() string {
	return "/" + b.container + "/" + strings.ReplaceAll(url.PathEscape(b.name), "%2F", "/")
}

func newBlobUploadCmd(g *globals) *cobra.Command {
	var bf blobFlags
	var file, contentType, data string
	var overwrite bool
	return newAzCommand(g, azCmd{
		Use:   "upload",
		Short: "Upload a file to a storage blob.",
		Example: `  Upload to a blob with your Azure AD credentials.
    mimic storage blob upload --account-name mystorageaccount --container-name mycontainer --file /path/to/file --name myblob --auth-mode login`,
		Required: []string{"container-name"},
		Flags: func(f *pflag.FlagSet) {
			bf.add(f, true)
			f.StringVarP(&file, "file", "f", "", "Path of the file to upload as the blob content.")
			f.StringVar(&data, "data", "", "The blob data to upload.")
			f.StringVar(&contentType, "content-type", "", "The content MIME type.")
			f.BoolVar(&overwrite, "overwrite", false, "Whether the blob to be uploaded should overwrite the current data.")
		},
		Run: func(c *azCall) (any, error) {
			var body []byte
			switch {
			case file != "" && data != "":
				return nil, cliError("usage error: --file PATH | --data DATA")
			case file != "":
				b, err := os.ReadFile(file)
				if err != nil {
					return nil, cliError("%s", err.Error())
				}
				body = b
				if bf.name == "" {
					bf.name = filepath.Base(file)
				}
			case data != "":
				body = []byte(data)
			default:
				return nil, cliError("usage error: --file PATH | --data DATA")
			}
			if bf.name == "" {
				return nil, usageError("the following arguments are required: --name/-n")
			}
			bc, err := bf.ba.client(c)
			if err != nil {
				return nil, err
			}
			h := http.Header{"x-ms-blob-type": {"BlockBlob"}}
			if contentType == "" {
				contentType = "application/octet-stream"
			}
			h.Set("x-ms-blob-content-type", contentType)
			h.Set("Content-Type", "application/octet-stream")
			if !overwrite {
				h.Set("If-None-Match", "*")
			}
			resp, raw, err := bc.do(http.MethodPut, bf.path(), nil, h, body)
			if err != nil {
				return nil, err
			}
			if resp.StatusCode >= 400 {
				return nil, blobError(resp, raw)
			}
			rh := resp.Header
			var md5 any
			if v := rh.Get("Content-MD5"); v != "" {
				md5 = v
			}
			return map[string]any{
				"client_request_id": rh.Get("x-ms-client-request-id"), "content_md5": md5, "date": httpTime(rh.Get("Date")),
				"encryption_key_sha256": nil, "encryption_scope": nil, "etag": rh.Get("ETag"), "lastModified": httpTime(rh.Get("Last-Modified")),
				"request_id": rh.Get("x-ms-request-id"), "request_server_encrypted": rh.Get("x-ms-request-server-encrypted") == "true",
				"version": rh.Get("x-ms-version"), "version_id": nil,
			}, nil
		},
	})
}

// blobOut is az's output of a blob's properties.
func blobOut(container, name string, p map[string]string, meta map[string]string) map[string]any {
	length, _ := strconv.ParseInt(p["Content-Length"], 10, 64)
	var metadata any = map[string]any{}
	if len(meta) > 0 {
		m := map[string]any{}
		for k, v := range meta {
			m[k] = v
		}
		metadata = m
	}
	nilIfEmpty := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	return map[string]any{
		"container": container, "content": "", "deleted": false, "encryptedMetadata": nil, "encryptionKeySha256": nil,
		"encryptionScope": nil, "hasLegalHold": nil, "hasVersionsOnly": nil, "immutabilityPolicy": map[string]any{"expiryTime": nil, "policyMode": nil},
		"isAppendBlobSealed": nil, "isCurrentVersion": nil, "lastAccessedOn": nil, "metadata": metadata, "name": name,
		"objectReplicationDestinationPolicy": nil, "objectReplicationSourceProperties": []any{}, "orMetadata": nil,
		"properties": map[string]any{
			"appendBlobCommittedBlockCount": nil, "blobTier": nilIfEmpty(p["AccessTier"]), "blobTierChangeTime": nil,
			"blobTierInferred": xmlBool(p["AccessTierInferred"]), "blobType": nilIfEmpty(p["BlobType"]),
			"contentLength": length, "contentRange": nil,
			"contentSettings": map[string]any{"cacheControl": nilIfEmpty(p["Cache-Control"]), "contentDisposition": nilIfEmpty(p["Content-Disposition"]),
				"contentEncoding": nilIfEmpty(p["Content-Encoding"]), "contentLanguage": nilIfEmpty(p["Content-Language"]),
				"contentMd5": nilIfEmpty(p["Content-MD5"]), "contentType": nilIfEmpty(p["Content-Type"])},
			"copy":         map[string]any{"completionTime": nil, "destinationSnapshot": nil, "id": nil, "incrementalCopy": nil, "progress": nil, "source": nil, "status": nil, "statusDescription": nil},
			"creationTime": httpTime(p["Creation-Time"]), "deletedTime": nil, "etag": p["Etag"], "lastModified": httpTime(p["Last-Modified"]),
			"lease":                  map[string]any{"duration": nil, "state": orDefault(p["LeaseState"], "available"), "status": orDefault(p["LeaseStatus"], "unlocked")},
			"pageBlobSequenceNumber": nil, "pageRanges": nil, "rehydrationStatus": nil, "remainingRetentionDays": nil,
			"serverEncrypted": strings.EqualFold(orDefault(p["ServerEncrypted"], "true"), "true"),
		},
		"rehydratePriority": nil, "requestServerEncrypted": nil, "snapshot": nil, "tagCount": nil, "tags": nil, "versionId": nil,
	}
}

func newBlobDownloadCmd(g *globals) *cobra.Command {
	var bf blobFlags
	var file string
	var overwrite bool
	return newAzCommand(g, azCmd{
		Use:   "download",
		Short: "Download a blob to a file path.",
		Example: `  Download a blob with your Azure AD credentials.
    mimic storage blob download --account-name mystorageaccount --container-name mycontainer --name myblob --file /path/to/file --auth-mode login`,
		Required: []string{"container-name", "name"},
		Flags: func(f *pflag.FlagSet) {
			bf.add(f, true)
			f.StringVarP(&file, "file", "f", "", "Path of file to write out to. If not specified, stdout will be used and max_connections will be set to 1.")
			f.BoolVar(&overwrite, "overwrite", true, "Overwrite an existing file when specified.")
		},
		Run: func(c *azCall) (any, error) {
			bc, err := bf.ba.client(c)
			if err != nil {
				return nil, err
			}
			resp, data, err := bc.do(http.MethodGet, bf.path(), nil, nil, nil)
			if err != nil {
				return nil, err
			}
			if resp.StatusCode >= 400 {
				return nil, blobError(resp, data)
			}
			if file == "" {
				_, err := c.g.stdout.Write(data)
				return nil, err
			}
			if !overwrite {
				if _, err := os.Stat(file); err == nil {
					return nil, cliError("The specified path already exists. Please change to a valid path.")
				}
			}
			if err := os.WriteFile(file, data, 0o644); err != nil {
				return nil, cliError("%s", err.Error())
			}
			h := resp.Header
			props := map[string]string{"Content-Length": strconv.Itoa(len(data)), "Content-Type": h.Get("Content-Type"),
				"Content-MD5": h.Get("Content-MD5"), "Etag": h.Get("ETag"), "Last-Modified": h.Get("Last-Modified"),
				"BlobType": h.Get("x-ms-blob-type"), "Creation-Time": h.Get("x-ms-creation-time"),
				"LeaseState": h.Get("x-ms-lease-state"), "LeaseStatus": h.Get("x-ms-lease-status")}
			meta := map[string]string{}
			for k, v := range h {
				if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-ms-meta-") {
					meta[lk[len("x-ms-meta-"):]] = v[0]
				}
			}
			return blobOut(bf.container, bf.name, props, meta), nil
		},
	})
}

func newBlobListCmd(g *globals) *cobra.Command {
	var bf blobFlags
	var prefix string
	return newAzCommand(g, azCmd{
		Use:   "list",
		Short: "List blobs in a given container.",
		Example: `  List all storage blobs in a container whose names start with 'foo'.
    mimic storage blob list -c mycontainer --prefix foo --account-name mystorageaccount --auth-mode login`,
		Required: []string{"container-name"},
		Table:    blobTable,
		Flags: func(f *pflag.FlagSet) {
			bf.add(f, false)
			f.StringVar(&prefix, "prefix", "", "Filter the results to return only blobs whose name begins with the specified prefix.")
		},
		Run: func(c *azCall) (any, error) {
			bc, err := bf.ba.client(c)
			if err != nil {
				return nil, err
			}
			out := []any{}
			q := url.Values{"restype": {"container"}, "comp": {"list"}}
			if prefix != "" {
				q.Set("prefix", prefix)
			}
			err = bc.enumerate("/"+bf.container, q, func(e *enumeration) {
				for _, b := range e.Blobs {
					o := blobOut(bf.container, b.Name, b.Props, b.Metadata)
					o["content"] = nil
					out = append(out, o)
				}
			})
			return out, err
		},
	})
}

// blobTable is az's transform_blob_output.
func blobTable(v any) any {
	return tableRows(v, func(r map[string]any) azout.Ordered {
		p := obj(r["properties"])
		return azout.Row("Name", r["name"], "IsDirectory", dig(r, "metadata", "hdi_isfolder"), "Blob Type", p["blobType"], "Blob Tier", p["blobTier"],
			"Length", p["contentLength"], "Content Type", dig(p, "contentSettings", "contentType"), "Last Modified", p["lastModified"],
			"Snapshot", r["snapshot"])
	})
}

func newBlobDeleteCmd(g *globals) *cobra.Command {
	var bf blobFlags
	return newAzCommand(g, azCmd{
		Use:   "delete",
		Short: "Mark a blob or snapshot for deletion.",
		Example: `  Delete a blob.
    mimic storage blob delete -c mycontainer -n MyBlob --account-name mystorageaccount --auth-mode login`,
		Required: []string{"container-name", "name"},
		Flags:    func(f *pflag.FlagSet) { bf.add(f, true) },
		Run: func(c *azCall) (any, error) {
			bc, err := bf.ba.client(c)
			if err != nil {
				return nil, err
			}
			resp, data, err := bc.do(http.MethodDelete, bf.path(), nil, nil, nil)
			if err != nil {
				return nil, err
			}
			if resp.StatusCode >= 400 {
				return nil, blobError(resp, data)
			}
			return nil, nil
		},
	})
}
