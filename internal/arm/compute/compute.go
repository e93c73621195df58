// Package compute is the Microsoft.Compute provider: virtual machines with
// managed identities, and their runCommand action.
//
// mimic never runs anything on the host. A virtual machine here is a
// description, and runCommand answers with what an attacker's token-fetch
// script on that VM would print: the IMDS token response of the VM's
// identity for the resource named in the command's parameters
// ("resource", default ARM; select an identity with "client_id",
// "object_id" or "msi_res_id"). That is exactly what run-command access to
// a VM yields in Azure, which is why the analyzer counts it as an
// escalation path.
package compute

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/mitoken"
)

// VMType is the virtual machine type.
const VMType = "Microsoft.Compute/virtualMachines"

// APIVersions of virtual machines: armcompute/v6 sends 2024-11-01, az 2.45
// 2022-11-01 (2022-08-01 with the Debian shim).
var APIVersions = []string{
	"2015-06-15", "2016-03-30", "2016-04-30-preview", "2017-03-30", "2017-12-01", "2018-04-01", "2018-06-01",
	"2018-10-01", "2019-03-01", "2019-07-01", "2019-12-01", "2020-06-01", "2020-12-01", "2021-03-01",
	"2021-04-01", "2021-07-01", "2021-11-01", "2022-03-01", "2022-08-01", "2022-11-01", "2023-03-01",
	"2023-07-01", "2023-09-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-04-01",
}

// DefaultResource is the resource runCommand asks a token for when the
// parameters name none.
const DefaultResource = "https://management.azure.com/"

var vmName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`)

// Register adds the Microsoft.Compute types.
func Register(r *arm.Registry) {
	r.Register(&arm.Type{
		Name: VMType, APIVersions: append([]string(nil), APIVersions...), Placement: arm.InGroup, Tracked: true,
		Identity: arm.SystemAndUserIdentity, Prepare: prepareVM, Present: presentVM,
		Actions: map[string]*arm.Action{
			"runcommand": {Handle: runCommand},
			"start":      {Handle: powerAction("running")},
			"poweroff":   {Handle: powerAction("stopped")},
			"restart":    {Handle: powerAction("running")},
			"deallocate": {Handle: powerAction("deallocated")},
		},
	})
}

func prepareVM(c *arm.Call, old, doc arm.Doc) error {
	name := doc.Str("name")
	if old == nil && (!vmName.MatchString(name) || strings.HasSuffix(name, ".") || strings.HasSuffix(name, "-")) {
		return armerr.BadRequest("InvalidParameter",
			"The value '%s' of parameter 'vmName' is invalid: it must be 1-64 letters, digits, '-', '_' or '.', and must not end with '-' or '.'.", name)
	}
	p := doc.Props()
	if old != nil {
		op := old.Obj("properties")
		p["vmId"], p["timeCreated"] = op["vmId"], op["timeCreated"]
		if pw := op.Obj("osProfile").Str("adminPassword"); pw != "" && p.Obj("osProfile") != nil {
			p.Obj("osProfile").SetDefault(pw, "adminPassword")
		}
	} else {
		p["vmId"], p["timeCreated"] = arm.NewGUID(), arm.Now()
	}
	p.SetDefault("Standard_DS1_v2", "hardwareProfile", "vmSize")
	p["provisioningState"] = "Succeeded"
	return nil
}

// presentVM hides the admin password, which Azure never returns.
func presentVM(_ *arm.Call, doc arm.Doc) arm.Doc {
	os := doc.Obj("properties").Obj("osProfile")
	if os == nil || os.Str("adminPassword") == "" {
		return doc
	}
	out := doc.Clone()
	delete(out.Obj("properties").Obj("osProfile"), "adminPassword")
	return out
}

func powerAction(state string) func(c *arm.Call, doc arm.Doc) error {
	return func(c *arm.Call, doc arm.Doc) error {
		doc.Props()["powerState"] = state
		t := c.S.Registry.Lookup(VMType)
		if err := c.Save(t, doc); err != nil {
			return err
		}
		return c.NoContent(http.StatusOK)
	}
}

// runCommand answers with the token response a script on the VM would get
// from IMDS. It runs nothing.
func runCommand(c *arm.Call, vm arm.Doc) error {
	body, err := arm.DecodeDoc(c.Body)
	if err != nil {
		return armerr.InvalidRequestContent(err.Error())
	}
	commandID := body.Str("commandId")
	if commandID == "" {
		return armerr.BadRequest("InvalidParameter", "Required parameter 'commandId' is missing (null).")
	}
	params := map[string]string{}
	if list, ok := body["parameters"].([]any); ok {
		for _, e := range list {
			if m, ok := e.(map[string]any); ok {
				n, _ := m["name"].(string)
				v, _ := m["value"].(string)
				params[strings.ToLower(n)] = v
			}
		}
	}
	resource := params["resource"]
	if resource == "" {
		resource = DefaultResource
	}
	sel := mitoken.Selector{ClientID: params["client_id"], ObjectID: params["object_id"], ResourceID: params["msi_res_id"]}
	var stdout string
	ident, err := mitoken.Select(c.Ctx, c.Tx, vm, sel, mitoken.IMDS)
	var mierr *mitoken.Error
	switch {
	case err == nil:
		tok, err := c.S.Minter.Mint(ident.Subject(vm.Str("id")), resource, c.S.MITokenLifetime)
		if err != nil {
			return err
		}
		b, _ := json.Marshal(mitoken.Response(tok, ident.Principal.ClientID, c.S.Now()))
		stdout = string(b)
	case errors.As(err, &mierr):
		b, _ := json.Marshal(mitoken.ErrorBody(mierr))
		stdout = string(b)
	default:
		return err
	}
	var value []arm.Doc
	if strings.Contains(strings.ToLower(commandID), "powershell") {
		value = []arm.Doc{
			{"code": "ComponentStatus/StdOut/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "message": stdout},
			{"code": "ComponentStatus/StdErr/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "message": ""},
		}
	} else {
		value = []arm.Doc{{
			"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded",
			"message": "Enable succeeded: \n[stdout]\n" + stdout + "\n\n[stderr]\n",
		}}
	}
	return c.JSON(http.StatusOK, arm.Doc{"value": value})
}
