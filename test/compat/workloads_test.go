package compat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v4"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v6"
)

// A probe is one language's probe program: an ordinary program using that
// language's Azure SDK (see probe/main.go and test/clients).
type probe struct {
	lang string
	argv []string
}

// probes returns the probe of every language; a missing runtime or SDK
// skips, or fails under MIMIC_STRICT=1.
func probes(t *testing.T) []probe {
	t.Helper()
	out := []probe{{"go", []string{probeGo}}}
	py, _ := filepath.Abs("../clients/python/probe.py")
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		missing(t, "/usr/bin/python3 is not installed")
	} else if err := exec.Command("/usr/bin/python3", "-c", "import azure.identity, azure.keyvault.secrets, azure.storage.blob, azure.mgmt.resource").Run(); err != nil {
		missing(t, "Debian's python3-azure is not installed (apt-get install python3-azure)")
	} else {
		out = append(out, probe{"python", []string{"/usr/bin/python3", py}})
	}
	js, _ := filepath.Abs("../clients/node/probe.js")
	if _, err := os.Stat("../clients/node/node_modules/@azure/identity"); err != nil {
		missing(t, "npm packages are not installed in test/clients/node (npm ci)")
	} else {
		out = append(out, probe{"node", []string{"node", js}})
	}
	return out
}

func missing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("MIMIC_STRICT") == "1" {
		t.Fatalf("MIMIC_STRICT=1 and %s", why)
	}
	t.Logf("skipping a language: %s", why)
}

// result is what a probe printed.
type result map[string]any

func (r result) ok() bool            { return r["ok"] == true }
func (r result) str(k string) string { s, _ := r[k].(string); return s }

// runAs runs a probe under `mimic run --as compute` with extra mimic
// flags and extra environment, and parses its output.
func runAs(t *testing.T, compute string, p probe, env []string, mimicFlags []string, args ...string) result {
	t.Helper()
	cmdArgs := append([]string{"run", "--home", env0().Home, "--as", compute}, mimicFlags...)
	cmdArgs = append(append(cmdArgs, "--"), append(p.argv, args...)...)
	cmd := exec.CommandContext(ctx(t), env0().Binary, cmdArgs...)
	cmd.Env = append(cleanEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s probe under mimic run --as %s: %v\nstdout: %s\nstderr: %s", p.lang, compute, err, stdout.String(), stderr.String())
	}
	var r result
	if err := json.Unmarshal(bytes.TrimSpace(lastLine(stdout.Bytes())), &r); err != nil {
		t.Fatalf("%s probe printed %q (stderr %s): %v", p.lang, stdout.String(), stderr.String(), err)
	}
	return r
}

func lastLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

// cleanEnv is the test process's environment without proxies or
// credentials, as a fresh shell would be.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AZURE_") || strings.HasSuffix(strings.ToLower(k), "_proxy") || k == "MIMIC_HOME" {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// env0 is the shared server (tests that swap env restore it).
func env0() *Env { return env }

// tokenClaims decodes the token a probe returned.
func tokenClaims(t *testing.T, r result) map[string]any {
	t.Helper()
	if !r.ok() {
		t.Fatalf("probe failed: %v", r)
	}
	return claimsOf(t, r.str("token"))
}

// newSite creates a site of a kind with an identity and app settings.
func newSite(t *testing.T, rg, name, kind string, identity *armappservice.ManagedServiceIdentity, settings map[string]string) armappservice.Site {
	t.Helper()
	site := createSite(t, rg, name, armappservice.Site{Location: to.Ptr("westeurope"), Kind: to.Ptr(kind), Identity: identity})
	if settings != nil {
		props := map[string]*string{}
		for k, v := range settings {
			props[k] = to.Ptr(v)
		}
		_, err := webApps(t).UpdateApplicationSettings(ctx(t), rg, name, armappservice.StringDictionary{Properties: props}, nil)
		must(t, err)
	}
	return site
}

func TestVMWithTwoUserAssignedIdentities(t *testing.T) {
	rg := newGroup(t, "rg-wvm2", nil)
	a, b := newIdentity(t, rg, "id-wa"), newIdentity(t, rg, "id-wb")
	vm := createVM(t, rg, uniq(t, "vm2id"), &armcompute.VirtualMachineIdentity{
		Type: to.Ptr(armcompute.ResourceIdentityTypeUserAssigned), UserAssignedIdentities: uaiMap(*a.ID, *b.ID),
	})
	for _, p := range probes(t) {
		t.Run(p.lang, func(t *testing.T) {
			for _, cred := range []string{"default", "managed"} {
				r := runAs(t, *vm.Name, p, nil, nil, "token", "--credential", cred)
				// Go passes IMDS's message on; Python and Node replace it
				// with their own "not assigned" wording.
				if r.ok() || p.lang == "go" && !strings.Contains(r.str("error"), "Multiple user assigned identities exist") {
					t.Errorf("%s credential without a client id: %v", cred, r)
				}
			}
			c := tokenClaims(t, runAs(t, *vm.Name, p, nil, nil, "token", "--credential", "managed", "--client-id", *b.Properties.ClientID))
			checkMIClaims(t, c, *b.Properties.PrincipalID, *b.Properties.ClientID, *b.ID, *vm.ID, "https://management.azure.com")
			// DefaultAzureCredential picks the identity named by AZURE_CLIENT_ID.
			c = tokenClaims(t, runAs(t, *vm.Name, p, []string{"AZURE_CLIENT_ID=" + *a.Properties.ClientID}, []string{"--keep-env"},
				"token", "--credential", "default", "--scope", "https://vault.azure.net/.default"))
			checkMIClaims(t, c, *a.Properties.PrincipalID, *a.Properties.ClientID, *a.ID, *vm.ID, "https://vault.azure.net")
		})
	}
}

// checkMIClaims checks a managed identity token against the identity.
func checkMIClaims(t *testing.T, c map[string]any, oid, appid, mirid, azrid, aud string) {
	t.Helper()
	want := map[string]string{"oid": oid, "sub": oid, "appid": appid, "tid": env.Profile.TenantID, "idtyp": "app", "ver": "1.0",
		"iss": "https://sts.windows.net/" + env.Profile.TenantID + "/", "aud": aud, "appidacr": "2"}
	for k, v := range want {
		if got, _ := c[k].(string); got != v {
			t.Errorf("claim %s = %q, want %q", k, got, v)
		}
	}
	if got, _ := c["xms_mirid"].(string); !strings.EqualFold(got, mirid) {
		t.Errorf("xms_mirid = %q, want %q", got, mirid)
	}
	if got, _ := c["xms_az_rid"].(string); azrid != "" && !strings.EqualFold(got, azrid) || azrid == "" && got != "" {
		t.Errorf("xms_az_rid = %q, want %q", got, azrid)
	}
}

func TestVMWithSystemAssignedIdentity(t *testing.T) {
	rg := newGroup(t, "rg-wsys", nil)
	vm := createVM(t, rg, uniq(t, "vmsys"), &armcompute.VirtualMachineIdentity{Type: to.Ptr(armcompute.ResourceIdentityTypeSystemAssigned)})
	for _, p := range probes(t) {
		t.Run(p.lang, func(t *testing.T) {
			for _, cred := range []string{"default", "managed"} {
				c := tokenClaims(t, runAs(t, *vm.Name, p, nil, nil, "token", "--credential", cred))
				if c["oid"] != *vm.Identity.PrincipalID || !strings.EqualFold(c["xms_mirid"].(string), *vm.ID) || c["xms_az_rid"] != nil {
					t.Errorf("%s: claims %v", cred, c)
				}
			}
		})
	}
}

func TestAppServiceIdentities(t *testing.T) {
	rg := newGroup(t, "rg-wapp", nil)
	u := newIdentity(t, rg, "app-ua")
	site := newSite(t, rg, uniq(t, "web"), "app", &armappservice.ManagedServiceIdentity{
		Type:                   to.Ptr(armappservice.ManagedServiceIdentityTypeSystemAssignedUserAssigned),
		UserAssignedIdentities: map[string]*armappservice.UserAssignedIdentity{*u.ID: {}},
	}, nil)
	withSetting := newSite(t, rg, uniq(t, "websetting"), "app", &armappservice.ManagedServiceIdentity{
		Type:                   to.Ptr(armappservice.ManagedServiceIdentityTypeSystemAssignedUserAssigned),
		UserAssignedIdentities: map[string]*armappservice.UserAssignedIdentity{*u.ID: {}},
	}, map[string]string{"AZURE_CLIENT_ID": *u.Properties.ClientID})
	for _, p := range probes(t) {
		t.Run(p.lang, func(t *testing.T) {
			// No selector: the system-assigned identity wins.
			for _, cred := range []string{"default", "managed"} {
				c := tokenClaims(t, runAs(t, *site.Name, p, nil, nil, "token", "--credential", cred))
				if c["oid"] != *site.Identity.PrincipalID {
					t.Errorf("%s: oid %v, want the system-assigned %s", cred, c["oid"], *site.Identity.PrincipalID)
				}
			}
			c := tokenClaims(t, runAs(t, *site.Name, p, nil, nil, "token", "--credential", "managed", "--client-id", *u.Properties.ClientID))
			checkMIClaims(t, c, *u.Properties.PrincipalID, *u.Properties.ClientID, *u.ID, *site.ID, "https://management.azure.com")
			// The app setting AZURE_CLIENT_ID reaches the code and selects the user-assigned identity.
			c = tokenClaims(t, runAs(t, *withSetting.Name, p, nil, nil, "token", "--credential", "default"))
			checkMIClaims(t, c, *u.Properties.PrincipalID, *u.Properties.ClientID, *u.ID, *withSetting.ID, "https://management.azure.com")
		})
	}
}

func TestFunctionAppIdentity(t *testing.T) {
	rg := newGroup(t, "rg-wfunc", nil)
	u := newIdentity(t, rg, "func-ua")
	fn := newSite(t, rg, uniq(t, "func"), "functionapp,linux", &armappservice.ManagedServiceIdentity{
		Type:                   to.Ptr(armappservice.ManagedServiceIdentityTypeUserAssigned),
		UserAssignedIdentities: map[string]*armappservice.UserAssignedIdentity{*u.ID: {}},
	}, map[string]string{"AZURE_CLIENT_ID": *u.Properties.ClientID, "FUNCTIONS_WORKER_RUNTIME": "python"})
	for _, p := range probes(t) {
		t.Run(p.lang, func(t *testing.T) {
			c := tokenClaims(t, runAs(t, *fn.Name, p, nil, nil, "token", "--credential", "default"))
			checkMIClaims(t, c, *u.Properties.PrincipalID, *u.Properties.ClientID, *u.ID, *fn.ID, "https://management.azure.com")
			// Without a selector and without a system identity, App Service refuses.
			r := runAs(t, *fn.Name, p, nil, nil, "token", "--credential", "managed")
			if r.ok() {
				t.Errorf("managed identity without a client id on a user-assigned-only function app succeeded: %v", r)
			}
		})
	}
}

// shellRun runs a shell script under `mimic run --as compute`.
func shellRun(t *testing.T, compute, script string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx(t), env.Binary, "run", "--home", env.Home, "--as", compute, "--", "sh", "-c", script)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mimic run --as %s -- sh -c %q: %v\n%s", compute, script, err, out)
	}
	return string(out)
}

const imdsURL = "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net"

func TestIMDSProtocol(t *testing.T) {
	rg := newGroup(t, "rg-imds", map[string]*string{"env": to.Ptr("dev")})
	a := newIdentity(t, rg, "imds-a")
	vm := createVM(t, rg, uniq(t, "vmimds"), &armcompute.VirtualMachineIdentity{
		Type: to.Ptr(armcompute.ResourceIdentityTypeUserAssigned), UserAssignedIdentities: uaiMap(*a.ID),
	})
	other := newIdentity(t, rg, "imds-other")
	curl := "curl -s -w ' %{http_code}' "
	out := shellRun(t, *vm.Name, curl+"'"+imdsURL+"'")
	if !strings.Contains(out, "Required metadata header not specified") || !strings.HasSuffix(out, " 400") {
		t.Errorf("without Metadata: %s", out)
	}
	out = shellRun(t, *vm.Name, curl+"-H Metadata:true -H 'X-Forwarded-For: 10.0.0.1' '"+imdsURL+"'")
	if !strings.HasSuffix(out, " 400") || !strings.Contains(out, "X-Forwarded-For") {
		t.Errorf("with X-Forwarded-For: %s", out)
	}
	out = shellRun(t, *vm.Name, curl+"-H Metadata:true '"+imdsURL+"&client_id="+*other.Properties.ClientID+"'")
	if !strings.Contains(out, "Identity not found") || !strings.HasSuffix(out, " 400") {
		t.Errorf("an identity of another VM: %s", out)
	}
	// Tokens are cached per identity and resource.
	out = shellRun(t, *vm.Name, "for i in 1 2; do curl -s -H Metadata:true '"+imdsURL+"'; echo; done")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("two requests printed %q", out)
	}
	var first, second map[string]string
	must(t, json.Unmarshal([]byte(lines[0]), &first))
	must(t, json.Unmarshal([]byte(lines[1]), &second))
	if first["access_token"] == "" || first["access_token"] != second["access_token"] || first["resource"] != "https://vault.azure.net" {
		t.Errorf("not cached: %v / %v", first, second)
	}
	if exp := first["expires_in"]; len(exp) < 5 || exp[0] != '8' {
		t.Errorf("expires_in %q, want about a day (86399)", exp)
	}
	// Detaching the identity takes effect at once, cache or not.
	p, err := vms(t).BeginUpdate(ctx(t), rg, *vm.Name, armcompute.VirtualMachineUpdate{Identity: &armcompute.VirtualMachineIdentity{
		Type: to.Ptr(armcompute.ResourceIdentityTypeSystemAssigned),
	}}, nil)
	must(t, err)
	updated, err := p.PollUntilDone(ctx(t), nil)
	must(t, err)
	out = shellRun(t, *vm.Name, "curl -s -H Metadata:true '"+imdsURL+"&client_id="+*a.Properties.ClientID+"'")
	if !strings.Contains(out, "Identity not found") {
		t.Errorf("a detached identity is still served: %s", out)
	}
	var now map[string]string
	must(t, json.Unmarshal([]byte(shellRun(t, *vm.Name, "curl -s -H Metadata:true '"+imdsURL+"'")), &now))
	if c := claimsOf(t, now["access_token"]); c["oid"] != *updated.Identity.PrincipalID {
		t.Errorf("after the change, IMDS hands out %v, want the new system identity %s", c["oid"], *updated.Identity.PrincipalID)
	}
	out = shellRun(t, *vm.Name, "curl -s -H Metadata:true 'http://169.254.169.254/metadata/instance?api-version=2021-02-01'")
	var inst struct{ Compute map[string]any }
	must(t, json.Unmarshal([]byte(out), &inst))
	if !strings.EqualFold(inst.Compute["resourceId"].(string), *vm.ID) || inst.Compute["name"] != *vm.Name || inst.Compute["resourceGroupName"] != rg || inst.Compute["subscriptionId"] != sub() {
		t.Errorf("instance metadata %v", inst.Compute)
	}
}

func TestIMDSRateLimit(t *testing.T) {
	other, err := Start(env.Binary, filepath.Join(t.TempDir(), "home"), "--imds-rate", "1", "--imds-concurrency", "5")
	must(t, err)
	defer other.Stop()
	saved := env
	env = other
	defer func() { env = saved }()
	rg := newGroup(t, "rg-limit", nil)
	vm := createVM(t, rg, "vmlimit", &armcompute.VirtualMachineIdentity{Type: to.Ptr(armcompute.ResourceIdentityTypeSystemAssigned)})
	out := shellRun(t, *vm.Name, "for i in 1 2 3 4 5; do curl -s -o /dev/null -w '%{http_code} ' -H Metadata:true '"+imdsURL+"'; done")
	codes := strings.Fields(out)
	if len(codes) != 5 || codes[0] != "200" || !strings.Contains(out, "429") {
		t.Fatalf("five requests at 1/s: %q, want 200 then 429s", out)
	}
}

func TestWorkloadIsolation(t *testing.T) {
	rg := newGroup(t, "rg-iso", nil)
	a := newIdentity(t, rg, "iso-a")
	vm := createVM(t, rg, uniq(t, "vmiso"), &armcompute.VirtualMachineIdentity{
		Type: to.Ptr(armcompute.ResourceIdentityTypeUserAssigned), UserAssignedIdentities: uaiMap(*a.ID),
	})
	site := newSite(t, rg, uniq(t, "webiso"), "app", &armappservice.ManagedServiceIdentity{Type: to.Ptr(armappservice.ManagedServiceIdentityTypeSystemAssigned)}, nil)

	// An operator shell (no run credentials) gets no IMDS token.
	cmd := exec.CommandContext(ctx(t), "curl", "-s", "-w", " %{http_code}", "-x", env.Profile.Endpoints.Proxy, "-H", "Metadata:true", imdsURL)
	out, err := cmd.CombinedOutput()
	must(t, err)
	if !strings.HasSuffix(string(out), " 400") || !strings.Contains(string(out), "mimic run --as") {
		t.Errorf("operator shell asking IMDS: %s", out)
	}
	// Made-up proxy credentials: 407.
	cmd = exec.CommandContext(ctx(t), "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-x", strings.Replace(env.Profile.Endpoints.Proxy, "http://", "http://run:forged@", 1), "-H", "Metadata:true", imdsURL)
	out, err = cmd.CombinedOutput()
	must(t, err)
	if string(out) != "407" {
		t.Errorf("forged proxy credentials: %s", out)
	}
	// A run's identity header is worth nothing once the run is over, and a
	// VM's run gets nothing from the App Service endpoint.
	header := strings.TrimSpace(shellRun(t, *site.Name, "echo $IDENTITY_HEADER"))
	endpoint := strings.TrimSpace(shellRun(t, *site.Name, "echo $IDENTITY_ENDPOINT"))
	cmd = exec.CommandContext(ctx(t), "curl", "-s", "-w", " %{http_code}", "-H", "X-IDENTITY-HEADER: "+header, endpoint+"?api-version=2019-08-01&resource=https://vault.azure.net")
	out, err = cmd.CombinedOutput()
	must(t, err)
	if !strings.HasSuffix(string(out), " 401") {
		t.Errorf("the header of a finished run: %s", out)
	}
	out2 := shellRun(t, *vm.Name, fmt.Sprintf("curl -s -w ' %%{http_code}' -H 'X-IDENTITY-HEADER: x' '%s?api-version=2019-08-01&resource=https://vault.azure.net'", endpoint))
	if !strings.HasSuffix(out2, " 401") {
		t.Errorf("a VM run calling the App Service endpoint: %s", out2)
	}
	// One VM's run cannot get another VM's identity through its own IMDS.
	var vm2 armcompute.VirtualMachine
	other := newIdentity(t, rg, "iso-b")
	vm2 = createVM(t, rg, uniq(t, "vmiso2"), &armcompute.VirtualMachineIdentity{
		Type: to.Ptr(armcompute.ResourceIdentityTypeUserAssigned), UserAssignedIdentities: uaiMap(*other.ID),
	})
	out3 := shellRun(t, *vm.Name, "curl -s -H Metadata:true '"+imdsURL+"&msi_res_id="+*other.ID+"'")
	if !strings.Contains(out3, "Identity not found") {
		t.Errorf("vm1 asking for vm2's identity: %s", out3)
	}
	_ = vm2
}

func TestRunErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--as", "no-such-compute", "--", "true"}, "No virtual machine, web app, function app or AKS cluster is named 'no-such-compute'"},
		{[]string{"run", "--", "true"}, "--as is required"},
	}
	for _, tc := range cases {
		cmd := exec.CommandContext(ctx(t), env.Binary, append([]string{"--home", env.Home}, tc.args...)...)
		cmd.Env = cleanEnv()
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("mimic %v: %v %s; want an error containing %q", tc.args, err, out, tc.want)
		}
	}
	// The program's exit status is passed on.
	rg := newGroup(t, "rg-exit", nil)
	vm := createVM(t, rg, uniq(t, "vmexit"), nil)
	cmd := exec.CommandContext(ctx(t), env.Binary, "run", "--home", env.Home, "--as", *vm.Name, "--", "sh", "-c", "exit 7")
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 7 {
		t.Errorf("exit status: %v", err)
	}
}

func TestSignInLog(t *testing.T) {
	rg := newGroup(t, "rg-log", nil)
	a := newIdentity(t, rg, "log-a")
	vm := createVM(t, rg, uniq(t, "vmlog"), &armcompute.VirtualMachineIdentity{
		Type: to.Ptr(armcompute.ResourceIdentityTypeUserAssigned), UserAssignedIdentities: uaiMap(*a.ID),
	})
	shellRun(t, *vm.Name, "curl -s -H Metadata:true '"+imdsURL+"' >/dev/null; curl -s -H Metadata:true '"+imdsURL+"&client_id=00000000-0000-0000-0000-000000000001' >/dev/null")
	cmd := exec.CommandContext(ctx(t), env.Binary, "logs", "signins", "--home", env.Home, "--compute", *vm.Name, "-o", "json")
	cmd.Env = cleanEnv()
	out, err := cmd.Output()
	must(t, err)
	var entries []map[string]any
	must(t, json.Unmarshal(out, &entries))
	var ok, refused bool
	for _, e := range entries {
		if e["endpoint"] != "imds" || !strings.EqualFold(e["compute"].(string), *vm.ID) {
			t.Errorf("entry %v", e)
		}
		if e["result"] == "success" && strings.EqualFold(e["identity"].(string), *a.ID) && e["audience"] == "https://vault.azure.net" && e["principalId"] == *a.Properties.PrincipalID {
			ok = true
		}
		if e["result"] == "failure" && e["errorCode"] == "invalid_request" {
			refused = true
		}
	}
	if !ok || !refused {
		t.Fatalf("sign-in log for %s: %s", *vm.Name, out)
	}
	table := exec.CommandContext(ctx(t), env.Binary, "logs", "signins", "--home", env.Home, "--identity", "log-a", "--since", "1h")
	table.Env = cleanEnv()
	tout, err := table.Output()
	must(t, err)
	if !strings.Contains(string(tout), "imds") || !strings.Contains(string(tout), *vm.Name) || !strings.Contains(string(tout), "success") {
		t.Fatalf("table: %s", tout)
	}
}

// TestOperatorShell: after eval "$(mimic env)", unmodified programs reach
// mimic at Azure's real hostnames with the operator's credentials, and get
// no managed identity tokens.
func TestOperatorShell(t *testing.T) {
	cmd := exec.CommandContext(ctx(t), env.Binary, "env", "--home", env.Home, "-o", "json")
	out, err := cmd.Output()
	must(t, err)
	var vars map[string]string
	must(t, json.Unmarshal(out, &vars))
	shell := cleanEnv()
	for k, v := range vars {
		shell = append(shell, k+"="+v)
	}
	rg := newGroup(t, "rg-opshell", nil)
	for _, p := range probes(t) {
		t.Run(p.lang, func(t *testing.T) {
			run := func(args ...string) result {
				c := exec.CommandContext(ctx(t), p.argv[0], append(p.argv[1:], args...)...)
				c.Env = shell
				var stdout, stderr bytes.Buffer
				c.Stdout, c.Stderr = &stdout, &stderr
				if err := c.Run(); err != nil {
					t.Fatalf("%v: %v\n%s\n%s", args, err, stdout.String(), stderr.String())
				}
				var r result
				if err := json.Unmarshal(lastLine(stdout.Bytes()), &r); err != nil {
					t.Fatalf("%v printed %q: %v (stderr %s)", args, stdout.String(), err, stderr.String())
				}
				return r
			}
			c := tokenClaims(t, run("token", "--credential", "default"))
			if c["oid"] != env.Profile.Operator.ObjectID || c["appid"] != env.Profile.Operator.ClientID {
				t.Errorf("operator token claims %v", c)
			}
			r := run("groups", "--subscription", sub(), "--credential", "default")
			groups, _ := r["groups"].([]any)
			found := false
			for _, g := range groups {
				found = found || g == rg
			}
			if !r.ok() || !found {
				t.Errorf("groups through management.azure.com: %v", r)
			}
			if r := run("token", "--credential", "managed"); r.ok() {
				t.Errorf("an operator shell got a managed identity token: %v", r)
			}
		})
	}
}

// TestAKSPodThroughMimicRun runs each language's probe as an AKS pod: the
// workload identity webhook's variables and a projected token file, then
// Entra's federated exchange.
func TestAKSPodThroughMimicRun(t *testing.T) {
	rg := newGroup(t, "rg-aksrun", nil)
	u := newIdentity(t, rg, "pod-id")
	cluster := newWorkloadCluster(t, rg, uniq(t, "aks"))
	issuer := *cluster.Properties.OidcIssuerProfile.IssuerURL
	federate(t, rg, "pod-id", "app", issuer, "system:serviceaccount:default:app")
	// A second service account whose credential names the wrong subject.
	federate(t, rg, "pod-id", "wrong", issuer, "system:serviceaccount:default:someone-else")
	for _, sa := range []string{"app", "unfederated"} {
		if _, stderr, err := mimicCLI(t, serviceAccountManifest(sa, *u.Properties.ClientID), "aks", "serviceaccount", "apply", "-g", rg, "--cluster", *cluster.Name, "-f", "-"); err != nil {
			t.Fatalf("apply %s: %v %s", sa, err, stderr)
		}
	}
	for _, p := range probes(t) {
		t.Run(p.lang, func(t *testing.T) {
			for _, cred := range []string{"workload", "default"} {
				c := tokenClaims(t, runAs(t, *cluster.Name, p, nil, []string{"--service-account", "default/app"}, "token", "--credential", cred))
				if c["oid"] != *u.Properties.PrincipalID || c["appid"] != *u.Properties.ClientID || !strings.EqualFold(c["xms_mirid"].(string), *u.ID) || c["xms_az_rid"] != nil {
					t.Errorf("%s: claims %v", cred, c)
				}
			}
		})
	}
	// A pod whose service account is not federated never starts.
	cmd := exec.CommandContext(ctx(t), env.Binary, "run", "--home", env.Home, "--as", *cluster.Name, "--service-account", "default/unfederated", "--", "true")
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not federated") {
		t.Errorf("an unfederated service account: %v %s", err, out)
	}
	// A cluster needs a service account.
	cmd = exec.CommandContext(ctx(t), env.Binary, "run", "--home", env.Home, "--as", *cluster.Name, "--", "true")
	cmd.Env = cleanEnv()
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--service-account") {
		t.Errorf("a cluster without a service account: %v %s", err, out)
	}
	// The token file holds a projected token for the service account.
	tokenFile := shellRunFlags(t, *cluster.Name, []string{"--service-account", "default/app"}, "cat $AZURE_FEDERATED_TOKEN_FILE; echo; echo $AZURE_CLIENT_ID $AZURE_TENANT_ID $AZURE_AUTHORITY_HOST")
	lines := strings.Split(strings.TrimSpace(tokenFile), "\n")
	c := claimsOf(t, lines[0])
	if c["iss"] != issuer || c["sub"] != "system:serviceaccount:default:app" || fmt.Sprint(c["aud"]) != "[api://AzureADTokenExchange]" {
		t.Errorf("projected token %v", c)
	}
	if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 3600 {
		t.Errorf("projected token lifetime %v s, want 3600", exp-iat)
	}
	if want := *u.Properties.ClientID + " " + env.Profile.TenantID + " https://login.microsoftonline.com/"; lines[1] != want {
		t.Errorf("webhook variables %q, want %q", lines[1], want)
	}
}

// TestFederatedSubjectMismatch: when a pod's federated credential stops
// matching its token's subject, each SDK gets Entra's AADSTS700213.
func TestFederatedSubjectMismatch(t *testing.T) {
	rg := newGroup(t, "rg-akssub", nil)
	u := newIdentity(t, rg, "pod-sub")
	cluster := newWorkloadCluster(t, rg, uniq(t, "akssub"))
	issuer := *cluster.Properties.OidcIssuerProfile.IssuerURL
	federate(t, rg, "pod-sub", "app", issuer, "system:serviceaccount:default:app")
	if _, stderr, err := mimicCLI(t, serviceAccountManifest("app", *u.Properties.ClientID), "aks", "serviceaccount", "apply", "-g", rg, "--cluster", *cluster.Name, "-f", "-"); err != nil {
		t.Fatalf("apply: %v %s", err, stderr)
	}
	dir := t.TempDir()
	flag := filepath.Join(dir, "go")
	var runs []*exec.Cmd
	var outs []*bytes.Buffer
	var ready []string
	for i, p := range probes(t) {
		// Each pod starts federated, says so, then waits for the credential
		// to change.
		ready = append(ready, filepath.Join(dir, fmt.Sprintf("ready-%d", i)))
		script := fmt.Sprintf("touch %s; i=0; while [ ! -f %s ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; %s token --credential workload",
			ready[i], flag, strings.Join(p.argv, " "))
		cmd := exec.CommandContext(ctx(t), env.Binary, "run", "--home", env.Home, "--as", *cluster.Name, "--service-account", "default/app", "--", "sh", "-c", script)
		cmd.Env = cleanEnv()
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		must(t, cmd.Start())
		runs, outs = append(runs, cmd), append(outs, &out)
	}
	for _, r := range ready {
		for i := 0; i < 600; i++ {
			if _, err := os.Stat(r); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	federate(t, rg, "pod-sub", "app", issuer, "system:serviceaccount:default:renamed")
	must(t, os.WriteFile(flag, nil, 0o600))
	for i, cmd := range runs {
		cmd.Wait()
		if !strings.Contains(outs[i].String(), "AADSTS700213") {
			t.Errorf("pod %d after the subject changed: %s", i, outs[i].String())
		}
	}
}

// shellRunFlags is shellRun with extra mimic run flags; the run is allowed
// to fail.
func shellRunFlags(t *testing.T, compute string, flags []string, script string) string {
	t.Helper()
	args := append([]string{"run", "--home", env.Home, "--as", compute}, flags...)
	cmd := exec.CommandContext(ctx(t), env.Binary, append(args, "--", "sh", "-c", script)...)
	cmd.Env = cleanEnv()
	out, _ := cmd.CombinedOutput()
	return string(out)
}

// TestProxyTunnelsOtherHosts: destinations mimic does not serve are
// tunnelled (CONNECT) or forwarded (plain HTTP) like any proxy does.
func TestProxyTunnelsOtherHosts(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "tls:"+r.URL.Path) }))
	defer srv.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "plain:"+r.URL.Path) }))
	defer plain.Close()
	proxyURL, err := url.Parse(env.Profile.Endpoints.Proxy)
	must(t, err)
	tr := &http.Transport{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: srv.Client().Transport.(*http.Transport).TLSClientConfig}
	// Go never proxies loopback by itself; force it, as Node does.
	tr.Proxy = func(*http.Request) (*url.URL, error) { return proxyURL, nil }
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for _, tc := range []struct{ url, want string }{{srv.URL + "/x", "tls:/x"}, {plain.URL + "/y", "plain:/y"}} {
		resp, err := c.Get(tc.url)
		must(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != tc.want {
			t.Errorf("%s through the proxy: %q", tc.url, b)
		}
	}
}

// TestRunForwardsSignals: SIGTERM to `mimic run` reaches the program, and
// its death by that signal is the exit status.
func TestRunForwardsSignals(t *testing.T) {
	rg := newGroup(t, "rg-sig", nil)
	vm := createVM(t, rg, uniq(t, "vmsig"), nil)
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	cmd := exec.CommandContext(ctx(t), env.Binary, "run", "--home", env.Home, "--as", *vm.Name, "--", "sh", "-c",
		"trap 'echo got-term; exit 42' TERM; touch "+ready+"; i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done")
	cmd.Env = cleanEnv()
	var out bytes.Buffer
	cmd.Stdout = &out
	must(t, cmd.Start())
	for i := 0; i < 300; i++ {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	must(t, cmd.Process.Signal(syscall.SIGTERM))
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 42 || !strings.Contains(out.String(), "got-term") {
		t.Fatalf("after SIGTERM: %v, output %q", err, out.String())
	}
}

// TestAppServiceLegacyProtocol: the 2017-09-01 protocol (MSI_ENDPOINT and
// the secret header), which az 2.45 uses.
func TestAppServiceLegacyProtocol(t *testing.T) {
	rg := newGroup(t, "rg-legacy", nil)
	site := newSite(t, rg, uniq(t, "weblegacy"), "app", &armappservice.ManagedServiceIdentity{Type: to.Ptr(armappservice.ManagedServiceIdentityTypeSystemAssigned)}, nil)
	out := shellRun(t, *site.Name, `curl -s -H "secret: $MSI_SECRET" "$MSI_ENDPOINT?resource=https://vault.azure.net&api-version=2017-09-01"`)
	var r map[string]string
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("2017-09-01 answer %q", out)
	}
	if c := claimsOf(t, r["access_token"]); c["oid"] != *site.Identity.PrincipalID || r["resource"] != "https://vault.azure.net" || r["expires_on"] == "" {
		t.Fatalf("2017-09-01 token %v claims %v", r, c)
	}
}
