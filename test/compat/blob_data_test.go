package compat

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
)

// Storage's data roles.
const (
	blobDataReaderRole      = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
	blobDataContributorRole = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
)

// newBlobAccount creates a StorageV2 account.
func newBlobAccount(t *testing.T, rg string, sharedKey bool) armstorage.Account {
	t.Helper()
	acct, err := createAccount(t, rg, storageName(t), armstorage.AccountCreateParameters{
		Kind: to.Ptr(armstorage.KindStorageV2), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
		Properties: &armstorage.AccountPropertiesCreateParameters{AllowSharedKeyAccess: to.Ptr(sharedKey)},
	})
	must(t, err)
	return acct
}

func blobURL(acct armstorage.Account) string {
	return "https://" + *acct.Name + ".blob.core.windows.net/"
}

func blobOptions(t *testing.T) *azblob.ClientOptions {
	return &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: proxied(t), Retry: policy.RetryOptions{MaxRetries: -1}}}
}

// blobClient is an azblob client for an account through mimic's proxy.
func blobClient(t *testing.T, acct armstorage.Account, cred azcore.TokenCredential) *azblob.Client {
	t.Helper()
	c, err := azblob.NewClient(blobURL(acct), cred, blobOptions(t))
	must(t, err)
	return c
}

// operatorBlobs grants the operator Storage Blob Data Contributor on the
// account and returns its client once the grant answers.
func operatorBlobs(t *testing.T, acct armstorage.Account) *azblob.Client {
	t.Helper()
	assign(t, *acct.ID, blobDataContributorRole, env.Profile.Operator.ObjectID)
	c := blobClient(t, acct, env.Operator(t))
	eventually(t, func() error {
		_, err := c.CreateContainer(ctx(t), "probe", nil)
		if bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
			return nil
		}
		return err
	})
	return c
}

// eventually retries fn for a few seconds (role assignments reach the
// engine a moment after ARM answers).
func eventually(t *testing.T, fn func() error) {
	t.Helper()
	var err error
	for i := 0; i < 50; i++ {
		if err = fn(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal(err)
}

// blobCode is the Storage status and error code of err.
func blobCode(err error) (int, string) {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode, re.ErrorCode
	}
	return 0, ""
}

func upload(t *testing.T, c *azblob.Client, containerName, name, content string) {
	t.Helper()
	_, err := c.UploadBuffer(ctx(t), containerName, name, []byte(content), nil)
	must(t, err)
}

// blobProbes runs each language's probe under `mimic run --as vm` to read
// a blob, and checks what it gets.
func blobProbes(t *testing.T, vm string, acct armstorage.Account, containerName, name string, check func(t *testing.T, p probe, r result)) {
	t.Helper()
	for _, p := range probes(t) {
		r := runAs(t, vm, p, nil, nil, "blob", "--account", strings.TrimSuffix(blobURL(acct), "/"), "--container", containerName, "--blob", name)
		check(t, p, r)
	}
}

func wantContent(content string) func(t *testing.T, p probe, r result) {
	return func(t *testing.T, p probe, r result) {
		t.Helper()
		if !r.ok() || r.str("content") != content {
			t.Errorf("%s probe: %v, want the content %q", p.lang, r, content)
		}
	}
}

func wantBlobError(status int, code string) func(t *testing.T, p probe, r result) {
	return func(t *testing.T, p probe, r result) {
		t.Helper()
		got, _ := r["status"].(float64)
		if r.ok() || int(got) != status || r.str("errorCode") != code {
			t.Errorf("%s probe: %v, want %d %s", p.lang, r, status, code)
		}
	}
}

// TestBlobWorkloadsRBAC: programs in Go, Python and Node on a VM read a
// blob with the VM's identity. Storage Blob Data Reader at the account or
// the group lets them; without it, and with Owner at the subscription or
// Reader on the account (control-plane roles), Storage answers 403
// AuthorizationPermissionMismatch.
func TestBlobWorkloadsRBAC(t *testing.T) {
	rg := newGroup(t, "rg-blobw", nil)
	acct := newBlobAccount(t, rg, true)
	ident := newIdentity(t, rg, "blob-reader")
	vm := createVM(t, rg, uniq(t, "vmblob"), &armcompute.VirtualMachineIdentity{
		Type: to.Ptr(armcompute.ResourceIdentityTypeUserAssigned), UserAssignedIdentities: uaiMap(*ident.ID),
	})
	ops := operatorBlobs(t, acct)
	_, err := ops.CreateContainer(ctx(t), "data", nil)
	must(t, err)
	const content = "hello from mimic's blob plane"
	upload(t, ops, "data", "dir/hello.txt", content)
	principal := *ident.Properties.PrincipalID
	denied := wantBlobError(http.StatusForbidden, "AuthorizationPermissionMismatch")

	t.Run("no role", func(t *testing.T) { blobProbes(t, *vm.Name, acct, "data", "dir/hello.txt", denied) })
	owner := assign(t, "/subscriptions/"+sub(), ownerRole, principal)
	reader := assign(t, *acct.ID, readerRole, principal)
	t.Run("Owner at the subscription and Reader", func(t *testing.T) { blobProbes(t, *vm.Name, acct, "data", "dir/hello.txt", denied) })
	unassign(t, owner)
	unassign(t, reader)

	atAccount := assign(t, *acct.ID, blobDataReaderRole, principal)
	t.Run("Storage Blob Data Reader at the account", func(t *testing.T) {
		blobProbes(t, *vm.Name, acct, "data", "dir/hello.txt", wantContent(content))
	})
	t.Run("a missing blob", func(t *testing.T) {
		blobProbes(t, *vm.Name, acct, "data", "absent.txt", wantBlobError(http.StatusNotFound, "BlobNotFound"))
	})
	unassign(t, atAccount)
	assign(t, rgID(rg), blobDataReaderRole, principal)
	t.Run("Storage Blob Data Reader at the group", func(t *testing.T) {
		blobProbes(t, *vm.Name, acct, "data", "dir/hello.txt", wantContent(content))
	})

	// The access log has the identity's reads and refusals, with the VM.
	var allowed, refused bool
	for _, e := range accessLog(t, *ident.ID) {
		if e["plane"] != "blob" || !strings.EqualFold(fmt.Sprint(e["compute"]), *vm.ID) {
			continue
		}
		switch e["allowed"] {
		case true:
			allowed = allowed || e["action"] == "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
		case false:
			refused = true
		}
	}
	if !allowed || !refused {
		t.Errorf("access log of the identity: allowed %v, refused %v", allowed, refused)
	}
}

// TestBlobSDKOperations drives the Blob plane with azblob for Go, as the
// operator with Storage Blob Data Contributor: containers, small and
// block-wise uploads, ranged downloads, listings with prefixes and pages,
// deletes, and Storage's errors.
func TestBlobSDKOperations(t *testing.T) {
	rg := newGroup(t, "rg-blobops", nil)
	acct := newBlobAccount(t, rg, true)
	c := operatorBlobs(t, acct)
	_, err := c.CreateContainer(ctx(t), "work", &azblob.CreateContainerOptions{Metadata: map[string]*string{"Team": to.Ptr("blue")}})
	must(t, err)
	_, err = c.CreateContainer(ctx(t), "work", nil)
	if !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		t.Fatalf("second create: %v", err)
	}

	upload(t, c, "work", "small.txt", "tiny")
	big := make([]byte, 20<<20)
	for i := range big {
		big[i] = byte(i*7 + i>>13)
	}
	_, err = c.UploadBuffer(ctx(t), "work", "big/buffer.bin", big, &azblob.UploadBufferOptions{BlockSize: 4 << 20, Concurrency: 4})
	must(t, err)
	_, err = c.UploadStream(ctx(t), "work", "big/stream.bin", bytes.NewReader(big), &azblob.UploadStreamOptions{BlockSize: 3 << 20, Concurrency: 3,
		Metadata: map[string]*string{"Source": to.Ptr("stream")}})
	must(t, err)
	want := sha256.Sum256(big)
	for _, name := range []string{"big/buffer.bin", "big/stream.bin"} {
		resp, err := c.DownloadStream(ctx(t), "work", name, nil)
		must(t, err)
		h := sha256.New()
		_, err = io.Copy(h, resp.Body)
		resp.Body.Close()
		must(t, err)
		if !bytes.Equal(h.Sum(nil), want[:]) || *resp.ContentLength != int64(len(big)) {
			t.Fatalf("%s: content differs (length %d)", name, *resp.ContentLength)
		}
	}
	// UploadBuffer sends one Put Blob up to 256 MiB; UploadStream stages
	// blocks of BlockSize and commits them with Put Block List.
	bb := c.ServiceClient().NewContainerClient("work").NewBlockBlobClient("big/stream.bin")
	blocks, err := bb.GetBlockList(ctx(t), blockblob.BlockListTypeAll, nil)
	must(t, err)
	if len(blocks.CommittedBlocks) != 7 || *blocks.CommittedBlocks[0].Size != 3<<20 || len(blocks.UncommittedBlocks) != 0 {
		t.Fatalf("committed blocks %d, uncommitted %d", len(blocks.CommittedBlocks), len(blocks.UncommittedBlocks))
	}
	// A ranged download.
	resp, err := c.DownloadStream(ctx(t), "work", "big/stream.bin", &azblob.DownloadStreamOptions{Range: azblob.HTTPRange{Offset: 5<<20 - 10, Count: 1000}})
	must(t, err)
	part, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	must(t, err)
	if !bytes.Equal(part, big[5<<20-10:5<<20+990]) || *resp.ContentRange != fmt.Sprintf("bytes %d-%d/%d", 5<<20-10, 5<<20+989, len(big)) {
		t.Fatalf("range: %d bytes, Content-Range %s", len(part), *resp.ContentRange)
	}
	buf := make([]byte, len(big))
	n, err := c.DownloadBuffer(ctx(t), "work", "big/buffer.bin", buf, &azblob.DownloadBufferOptions{BlockSize: 5 << 20, Concurrency: 4})
	must(t, err)
	if n != int64(len(big)) || !bytes.Equal(buf, big) {
		t.Fatal("DownloadBuffer differs")
	}
	props, err := c.ServiceClient().NewContainerClient("work").NewBlobClient("big/stream.bin").GetProperties(ctx(t), nil)
	must(t, err)
	if *props.ContentLength != int64(len(big)) || *props.BlobType != blob.BlobTypeBlockBlob || *props.Metadata["Source"] != "stream" {
		t.Fatalf("properties %+v", props)
	}

	// Listings: flat with a prefix and pages of 2, and by directory.
	for i := 0; i < 5; i++ {
		upload(t, c, "work", fmt.Sprintf("logs/2026/%02d.log", i), "line")
	}
	var names []string
	pages := 0
	for pager := c.NewListBlobsFlatPager("work", &azblob.ListBlobsFlatOptions{Prefix: to.Ptr("logs/"), MaxResults: to.Ptr(int32(2))}); pager.More(); {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		pages++
		for _, b := range page.Segment.BlobItems {
			names = append(names, *b.Name)
		}
	}
	if pages != 3 || fmt.Sprint(names) != "[logs/2026/00.log logs/2026/01.log logs/2026/02.log logs/2026/03.log logs/2026/04.log]" {
		t.Fatalf("%d pages: %v", pages, names)
	}
	var prefixes, top []string
	for pager := c.ServiceClient().NewContainerClient("work").NewListBlobsHierarchyPager("/", nil); pager.More(); {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		for _, p := range page.Segment.BlobPrefixes {
			prefixes = append(prefixes, *p.Name)
		}
		for _, b := range page.Segment.BlobItems {
			top = append(top, *b.Name)
		}
	}
	if fmt.Sprint(prefixes) != "[big/ logs/]" || fmt.Sprint(top) != "[small.txt]" {
		t.Fatalf("hierarchy: %v %v", prefixes, top)
	}
	var containers []string
	// azblob lower-cases the names of listed metadata.
	for pager := c.NewListContainersPager(&azblob.ListContainersOptions{Include: azblob.ListContainersInclude{Metadata: true}}); pager.More(); {
		page, err := pager.NextPage(ctx(t))
		must(t, err)
		for _, ci := range page.ContainerItems {
			containers = append(containers, *ci.Name)
			if *ci.Name == "work" && (ci.Metadata["team"] == nil || *ci.Metadata["team"] != "blue") {
				t.Errorf("container metadata %v", ci.Metadata)
			}
		}
	}
	if fmt.Sprint(containers) != "[probe work]" {
		t.Fatalf("containers %v", containers)
	}

	// Errors and deletes.
	_, err = c.DownloadStream(ctx(t), "work", "absent", nil)
	if !bloberror.HasCode(err, bloberror.BlobNotFound) {
		t.Fatalf("missing blob: %v", err)
	}
	_, err = c.DownloadStream(ctx(t), "nocontainer", "x", nil)
	if !bloberror.HasCode(err, bloberror.ContainerNotFound) {
		t.Fatalf("missing container: %v", err)
	}
	_, err = c.DeleteBlob(ctx(t), "work", "small.txt", nil)
	must(t, err)
	_, err = c.DeleteBlob(ctx(t), "work", "small.txt", nil)
	if !bloberror.HasCode(err, bloberror.BlobNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	_, err = c.DeleteContainer(ctx(t), "work", nil)
	must(t, err)
	_, err = c.ServiceClient().NewContainerClient("work").GetProperties(ctx(t), nil)
	if !bloberror.HasCode(err, bloberror.ContainerNotFound) {
		t.Fatalf("deleted container: %v", err)
	}

	// A token for another resource is 401 with Storage's challenge, which
	// azblob follows (asking its credential again) without panicking.
	armToken := StaticToken(operatorToken(t))
	_, err = blobClient(t, acct, armToken).ServiceClient().NewContainerClient("probe").GetProperties(ctx(t), nil)
	if status, code := blobCode(err); status != http.StatusUnauthorized || code != "InvalidAuthenticationInfo" {
		t.Fatalf("an ARM token: %v", err)
	}
	// An anonymous request is 401 NoAuthenticationInformation (mimic has
	// no public containers).
	anon, err := azblob.NewClientWithNoCredential(blobURL(acct), blobOptions(t))
	must(t, err)
	_, err = anon.ServiceClient().NewContainerClient("probe").GetProperties(ctx(t), nil)
	if status, code := blobCode(err); status != http.StatusUnauthorized || code != "NoAuthenticationInformation" {
		t.Fatalf("anonymous: %v", err)
	}
	// Deleting the account makes its data unreachable; a new account of
	// the same name starts empty.
	_, err = accounts(t).Delete(ctx(t), rg, *acct.Name, nil)
	must(t, err)
	_, err = c.ServiceClient().NewContainerClient("probe").GetProperties(ctx(t), nil)
	if status, code := blobCode(err); status != http.StatusNotFound || code != "ResourceNotFound" {
		t.Fatalf("deleted account: %v", err)
	}
	again, err := createAccount(t, rg, *acct.Name, armstorage.AccountCreateParameters{
		Kind: to.Ptr(armstorage.KindStorageV2), SKU: &armstorage.SKU{Name: to.Ptr(armstorage.SKUNameStandardLRS)},
	})
	must(t, err)
	_, err = blobClient(t, again, env.Operator(t)).ServiceClient().NewContainerClient("probe").GetProperties(ctx(t), nil)
	if !bloberror.HasCode(err, bloberror.ContainerNotFound) {
		t.Fatalf("re-created account: %v", err)
	}
}

// TestBlobSharedKey: the account key from listKeys authorizes without any
// role, as in Azure, unless the account disallows shared keys.
func TestBlobSharedKey(t *testing.T) {
	rg := newGroup(t, "rg-blobsk", nil)
	acct := newBlobAccount(t, rg, true)
	keys, err := accounts(t).ListKeys(ctx(t), rg, *acct.Name, nil)
	must(t, err)
	cred, err := azblob.NewSharedKeyCredential(*acct.Name, *keys.Keys[1].Value)
	must(t, err)
	c, err := azblob.NewClientWithSharedKeyCredential(blobURL(acct), cred, blobOptions(t))
	must(t, err)
	_, err = c.CreateContainer(ctx(t), "keyed", nil)
	must(t, err)
	_, err = c.UploadBuffer(ctx(t), "keyed", "a/b c+d.txt", []byte("signed"), &azblob.UploadBufferOptions{
		Metadata: map[string]*string{"Alpha": to.Ptr("1"), "Beta_2": to.Ptr("two")}, HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain")},
	})
	must(t, err)
	resp, err := c.DownloadStream(ctx(t), "keyed", "a/b c+d.txt", &azblob.DownloadStreamOptions{Range: azblob.HTTPRange{Offset: 1, Count: 3}})
	must(t, err)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "ign" || *resp.ContentType != "text/plain" {
		t.Fatalf("SharedKey download %q %v", got, *resp.ContentType)
	}
	for pager := c.NewListBlobsFlatPager("keyed", &azblob.ListBlobsFlatOptions{Prefix: to.Ptr("a/"), Include: azblob.ListBlobsInclude{Metadata: true}}); pager.More(); {
		_, err := pager.NextPage(ctx(t))
		must(t, err)
	}
	// A wrong key is refused.
	bad, err := azblob.NewSharedKeyCredential(*acct.Name, *keys.Keys[1].Value)
	must(t, err)
	must(t, bad.SetAccountKey("d3Jvbmcga2V5"))
	badClient, err := azblob.NewClientWithSharedKeyCredential(blobURL(acct), bad, blobOptions(t))
	must(t, err)
	_, err = badClient.DownloadStream(ctx(t), "keyed", "a/b c+d.txt", nil)
	if status, code := blobCode(err); status != http.StatusForbidden || code != "AuthenticationFailed" {
		t.Fatalf("a wrong key: %v", err)
	}

	locked := newBlobAccount(t, rg, false)
	keys, err = accounts(t).ListKeys(ctx(t), rg, *locked.Name, nil)
	must(t, err)
	cred, err = azblob.NewSharedKeyCredential(*locked.Name, *keys.Keys[0].Value)
	must(t, err)
	c, err = azblob.NewClientWithSharedKeyCredential(blobURL(locked), cred, blobOptions(t))
	must(t, err)
	_, err = c.CreateContainer(ctx(t), "keyed", nil)
	if status, code := blobCode(err); status != http.StatusForbidden || code != "KeyBasedAuthenticationNotPermitted" {
		t.Fatalf("allowSharedKeyAccess false: %v", err)
	}
}

// TestBlobConditionOnContainerName: Storage Blob Data Reader with Azure's
// documented container-name condition reads container logs but not
// container other.
func TestBlobConditionOnContainerName(t *testing.T) {
	rg := newGroup(t, "rg-blobcond", nil)
	acct := newBlobAccount(t, rg, true)
	ident := newIdentity(t, rg, "logs-reader")
	vm := createVM(t, rg, uniq(t, "vmcond"), &armcompute.VirtualMachineIdentity{
		Type: to.Ptr(armcompute.ResourceIdentityTypeUserAssigned), UserAssignedIdentities: uaiMap(*ident.ID),
	})
	ops := operatorBlobs(t, acct)
	for _, name := range []string{"logs", "other"} {
		_, err := ops.CreateContainer(ctx(t), name, nil)
		must(t, err)
		upload(t, ops, name, "app.log", "in "+name)
	}
	_, err := roleAssignments(t).Create(ctx(t), *acct.ID, newGUID(), armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{
			RoleDefinitionID: to.Ptr("/subscriptions/" + sub() + "/providers/Microsoft.Authorization/roleDefinitions/" + blobDataReaderRole),
			PrincipalID:      ident.Properties.PrincipalID,
			PrincipalType:    to.Ptr(armauthorization.PrincipalTypeServicePrincipal),
			Condition: to.Ptr("((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR " +
				"(@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'logs'))"),
			ConditionVersion: to.Ptr("2.0"),
		},
	}, nil)
	must(t, err)
	tok := runCommandToken(t, rg, *vm.Name, map[string]string{"resource": "https://storage.azure.com"})["access_token"]
	c := blobClient(t, acct, StaticToken(tok))
	var resp azblob.DownloadStreamResponse
	eventually(t, func() error {
		var err error
		resp, err = c.DownloadStream(ctx(t), "logs", "app.log", nil)
		return err
	})
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "in logs" {
		t.Fatalf("logs: %q", got)
	}
	_, err = c.DownloadStream(ctx(t), "other", "app.log", nil)
	if status, code := blobCode(err); status != http.StatusForbidden || code != "AuthorizationPermissionMismatch" {
		t.Fatalf("other: %v", err)
	}
	// The probes see the same, in every language.
	blobProbes(t, *vm.Name, acct, "logs", "app.log", wantContent("in logs"))
	blobProbes(t, *vm.Name, acct, "other", "app.log", wantBlobError(http.StatusForbidden, "AuthorizationPermissionMismatch"))
}
