// Command probe is an ordinary Go program that uses the Azure SDK for Go the
// way any application does: no custom clouds, authority hosts or
// transports. The compatibility tests run it under `mimic run --as …` and in
// an operator shell, where only the environment points it at mimic.
//
//	probe token  --credential default|managed|workload|environment [--client-id ID] [--scope S]
//	probe groups --subscription SUB [--credential …] [--client-id ID]
//	probe secret --vault https://NAME.vault.azure.net --name N [--credential …] [--client-id ID]
//	probe blob   --account https://NAME.blob.core.windows.net --container C --blob B [--credential …]
//
// It prints one line of JSON: {"ok":true,…} or {"ok":false,"errorType":…,"error":…}.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd := os.Args[1]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	credential := fs.String("credential", "default", "default, managed, workload or environment")
	clientID := fs.String("client-id", "", "user-assigned identity client id")
	scope := fs.String("scope", "https://management.azure.com/.default", "token scope")
	subscription := fs.String("subscription", "", "subscription id")
	vault := fs.String("vault", "", "vault URL")
	name := fs.String("name", "", "secret name")
	account := fs.String("account", "", "blob service URL")
	container := fs.String("container", "", "container")
	blob := fs.String("blob", "", "blob")
	fs.Parse(os.Args[2:])

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cred, err := newCredential(*credential, *clientID)
	if err != nil {
		fail(err)
	}
	switch cmd {
	case "token":
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{*scope}})
		if err != nil {
			fail(err)
		}
		emit(map[string]any{"ok": true, "token": tok.Token, "expiresOn": tok.ExpiresOn.Unix()})
	case "groups":
		c, err := armresources.NewResourceGroupsClient(*subscription, cred, nil)
		if err != nil {
			fail(err)
		}
		groups := []string{}
		for pager := c.NewListPager(nil); pager.More(); {
			page, err := pager.NextPage(ctx)
			if err != nil {
				fail(err)
			}
			for _, g := range page.Value {
				groups = append(groups, *g.Name)
			}
		}
		emit(map[string]any{"ok": true, "groups": groups})
	case "secret":
		c, err := azsecrets.NewClient(*vault, cred, nil)
		if err != nil {
			fail(err)
		}
		s, err := c.GetSecret(ctx, *name, "", nil)
		if err != nil {
			fail(err)
		}
		emit(map[string]any{"ok": true, "value": *s.Value})
	case "blob":
		c, err := azblob.NewClient(*account, cred, nil)
		if err != nil {
			fail(err)
		}
		resp, err := c.DownloadStream(ctx, *container, *blob, nil)
		if err != nil {
			fail(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			fail(err)
		}
		emit(map[string]any{"ok": true, "content": string(b)})
	default:
		usage()
	}
}

func newCredential(kind, clientID string) (azcore.TokenCredential, error) {
	switch kind {
	case "default":
		return azidentity.NewDefaultAzureCredential(nil)
	case "managed":
		opts := &azidentity.ManagedIdentityCredentialOptions{}
		if clientID != "" {
			opts.ID = azidentity.ClientID(clientID)
		}
		return azidentity.NewManagedIdentityCredential(opts)
	case "workload":
		return azidentity.NewWorkloadIdentityCredential(nil)
	case "environment":
		return azidentity.NewEnvironmentCredential(nil)
	}
	usage()
	return nil, nil
}

func emit(v map[string]any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func fail(err error) {
	out := map[string]any{"ok": false, "errorType": fmt.Sprintf("%T", err), "error": err.Error()}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		out["status"], out["errorCode"] = re.StatusCode, re.ErrorCode
	}
	emit(out)
	os.Exit(0)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: probe token|groups|secret|blob [flags]")
	os.Exit(2)
}
