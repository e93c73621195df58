package cli

import (
	"fmt"
	"net/http"
	"os/user"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mimic-emu/mimic/internal/azout"
)

// apiCompute is the Microsoft.Compute api-version az 2.45 sends.
const apiCompute = "2022-11-01"

const vmType = "Microsoft.Compute/virtualMachines"

// vmShape is az's VirtualMachine (azure-mgmt-compute 29): flattened.
var vmShape = modelShape{flatten: true, only: true, attrs: []string{
	"additionalCapabilities", "applicationProfile", "availabilitySet", "billingProfile", "capacityReservation",
	"diagnosticsProfile", "evictionPolicy", "extendedLocation", "extensionsTimeBudget", "hardwareProfile", "host",
	"hostGroup", "id", "identity", "instanceView", "licenseType", "location", "name", "networkProfile", "osProfile",
	"plan", "platformFaultDomain", "priority", "provisioningState", "proximityPlacementGroup", "resources",
	"scheduledEventsProfile", "securityProfile", "storageProfile", "tags", "timeCreated", "type", "userData",
	"virtualMachineScaleSet", "vmId", "zones"}}

// vmImages are az's image aliases (az vm image list --all is not needed
// for these).
var vmImages = map[string][4]string{
	"ubuntu2204":         {"Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2", "latest"},
	"ubuntults":          {"Canonical", "UbuntuServer", "18.04-LTS", "latest"},
	"debian11":           {"Debian", "debian-11", "11-backports-gen2", "latest"},
	"debian":             {"Debian", "debian-10", "10", "latest"},
	"centos85gen2":       {"OpenLogic", "CentOS", "8_5-gen2", "latest"},
	"rhel":               {"RedHat", "RHEL", "7-LVM", "latest"},
	"opensuse-leap-15-3": {"SUSE", "opensuse-leap-15-3", "gen2", "latest"},
	"win2022datacenter":  {"MicrosoftWindowsServer", "WindowsServer", "2022-Datacenter", "latest"},
	"win2019datacenter":  {"MicrosoftWindowsServer", "WindowsServer", "2019-Datacenter", "latest"},
	"win2016datacenter":  {"MicrosoftWindowsServer", "WindowsServer", "2016-Datacenter", "latest"},
}

func newVMCmd(g *globals) *cobra.Command {
	identity := azGroup("identity", "manage service identities of a VM",
		newVMIdentityAssignCmd(g), newVMIdentityRemoveCmd(g), newVMIdentityShowCmd(g))
	runCommand := azGroup("run-command", "Manage run commands on a Virtual Machine.", newVMRunCommandInvokeCmd(g))
	return addAzGlobals(azGroup("vm", "Manage Linux or Windows virtual machines.",
		newVMCreateCmd(g), newVMShowCmd(g), newVMListCmd(g), newVMDeleteCmd(g), identity, runCommand), g)
}

func defaultAdminUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "azureuser"
}

// imageReference turns --image (an alias or a URN) into an image
// reference.
func imageReference(image string) (map[string]any, bool, error) {
	if strings.HasPrefix(image, "/") {
		return map[string]any{"id": image}, false, nil
	}
	if a, ok := vmImages[strings.ToLower(image)]; ok {
		return map[string]any{"publisher": a[0], "offer": a[1], "sku": a[2], "version": a[3]}, strings.HasPrefix(strings.ToLower(image), "win"), nil
	}
	parts := strings.Split(image, ":")
	if len(parts) == 4 {
		return map[string]any{"publisher": parts[0], "offer": parts[1], "sku": parts[2], "version": parts[3]},
			strings.Contains(strings.ToLower(parts[0]), "windows"), nil
	}
	return nil, false, cliError("usage error: unrecognized image information \"%s\"", image)
}

func newVMCreateCmd(g *globals) *cobra.Command {
	var name, rg, image, size, location, adminUser, adminPassword, authType, nsg, publicIP, vnet, subnet, osDiskName, storageSKU, zone, sshKey string
	var identityScope, identityRole string
	var tags, assign []string
	var genKeys bool
	return newAzCommand(g, azCmd{
		Use:   "create",
		Short: "Create an Azure Virtual Machine.",
		Long: `Create an Azure Virtual Machine. mimic runs nothing: the VM is the
description Azure keeps of it, with its managed identities, and
'mimic run --as VM' runs a program as code on it. Networking, disks and
keys are accepted and not created.`,
		Example: `  Create a VM with a system-assigned identity.
    mimic vm create -n MyVm -g MyResourceGroup --image Ubuntu2204 --assign-identity
  Create a VM with a user-assigned identity and a system-assigned one.
    mimic vm create -n MyVm -g rg --image Ubuntu2204 --assign-identity [system] app-id --admin-username azureuser --generate-ssh-keys`,
		Required: []string{"resource-group", "name"},
		NoWait:   true,
		Flags: func(f *pflag.FlagSet) {
			nameFlag(f, &name, "Name of the virtual machine.")
			groupFlag(f, &rg)
			f.StringVar(&image, "image", "", "The name of the operating system image as a URN alias, URN, custom image name or ID.")
			f.StringVar(&size, "size", "Standard_DS1_v2", "The VM size to be created.")
			locationFlag(f, &location)
			tagsFlag(f, &tags)
			f.StringVar(&adminUser, "admin-username", defaultAdminUser(), "Username for the VM.")
			f.StringVar(&adminPassword, "admin-password", "", "Password for the VM if authentication type is 'Password'.")
			f.StringVar(&authType, "authentication-type", "", "Type of authentication to use with the VM: ssh, password or all.")
			f.BoolVar(&genKeys, "generate-ssh-keys", false, "Generate SSH public and private key files if missing (accepted; mimic writes no keys).")
			f.StringVar(&sshKey, "ssh-key-values", "", "Space-separated list of SSH public keys or public key file paths.")
			f.StringVar(&nsg, "nsg", "", "The name to use when creating a new Network Security Group (accepted and ignored).")
			f.StringVar(&publicIP, "public-ip-address", "", "Name of the public IP address (accepted and ignored).")
			f.StringVar(&vnet, "vnet-name", "", "Name of the virtual network (accepted and ignored).")
			f.StringVar(&subnet, "subnet", "", "The name of the subnet (accepted and ignored).")
			f.StringVar(&osDiskName, "os-disk-name", "", "The name of the new VM OS disk.")
			f.StringVar(&storageSKU, "storage-sku", "", "The SKU of the storage account with which to persist VM.")
			f.StringVarP(&zone, "zone", "z", "", "Availability zone into which to provision the resource.")
			identityFlags(f, "assign-identity", &assign, &identityRole, &identityScope)
		},
		Run: func(c *azCall) (any, error) {
			if image == "" {
				return nil, cliError("usage error: --image IMAGE | --attach-os-disk DISK")
			}
			ref, windows, err := imageReference(image)
			if err != nil {
				return nil, err
			}
			cl, err := c.armIn(rg, &location)
			if err != nil {
				return nil, err
			}
			osProfile := map[string]any{"computerName": name, "adminUsername": adminUser}
			if windows || authType == "password" || (adminPassword != "" && authType == "") {
				if adminPassword == "" {
					return nil, cliError("Please specify password in non-interactive mode.")
				}
				osProfile["adminPassword"] = adminPassword
			}
			if !windows {
				lc := map[string]any{"disablePasswordAuthentication": osProfile["adminPassword"] == nil}
				if osProfile["adminPassword"] == nil {
					key := sshKey
					if key == "" {
						key = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC mimic-generated"
					}
					lc["ssh"] = map[string]any{"publicKeys": []any{map[string]any{"path": "/home/" + adminUser + "/.ssh/authorized_keys", "keyData": key}}}
				}
				osProfile["linuxConfiguration"] = lc
			}
			nic := cl.groupPath(rg) + "/providers/Microsoft.Network/networkInterfaces/" + name + "VMNic"
			disk := map[string]any{"createOption": "FromImage", "caching": "ReadWrite", "managedDisk": map[string]any{"storageAccountType": "Premium_LRS"}}
			if osDiskName != "" {
				disk["name"] = osDiskName
			}
			if storageSKU != "" {
				disk["managedDisk"] = map[string]any{"storageAccountType": storageSKU}
			}
			body := map[string]any{
				"location": location,
				"tags":     parseTags(tags),
				"properties": map[string]any{
					"hardwareProfile": map[string]any{"vmSize": size},
					"storageProfile":  map[string]any{"imageReference": ref, "osDisk": disk},
					"osProfile":       osProfile,
					"networkProfile":  map[string]any{"networkInterfaces": []any{map[string]any{"id": nic}}},
				},
			}
			if zone != "" {
				body["zones"] = []any{zone}
			}
			assigned := c.changed("assign-identity")
			if assigned {
				block, _, _ := identityBlock(identityIDs(cl, rg, assign))
				body["identity"] = block
			}
			doc, err := cl.send(c.ctx(), http.MethodPut, cl.resourcePath(rg, vmType, name), apiCompute, body)
			if err != nil {
				return nil, err
			}
			ident := obj(doc["identity"])
			if assigned {
				if err := grantIdentityRole(c.ctx(), cl, str(ident["principalId"]), identityRole, identityScope); err != nil {
					return nil, err
				}
			}
			out := map[string]any{
				"id": doc["id"], "resourceGroup": rg, "powerState": powerState(doc), "publicIpAddress": "", "fqdns": "",
				"privateIpAddress": "", "macAddress": "", "location": doc["location"], "zones": "",
			}
			if zs, ok := doc["zones"].([]any); ok && len(zs) > 0 {
				out["zones"] = zs[0]
			}
			if assigned {
				out["identity"] = identityInfo(ident, identityScope, identityRole)
			}
			return out, nil
		},
	})
}

// powerState is what az's -d/--show-details reports.
func powerState(vm map[string]any) string {
	switch str(dig(vm, "properties", "powerState")) {
	case "stopped":
		return "VM stopped"
	case "deallocated":
		return "VM deallocated"
	}
	return "VM running"
}

// vmKind is the VM resource kind; details adds what -d shows.
func vmKind(details bool) armKind {
	return armKind{typ: vmType, api: apiCompute, out: func(doc map[string]any) map[string]any { return vmOut(doc, details) }}
}

// vmOut is az's vm show: the model, and with -d the instance details.
func vmOut(doc map[string]any, details bool) map[string]any {
	out := withIdentityNulls(vmShape.shape(doc))
	if details {
		out["powerState"] = powerState(doc)
		out["publicIps"] = ""
		out["fqdns"] = ""
		out["privateIps"] = ""
		out["macAddresses"] = ""
	}
	return out
}

// vmTable is az's transform_vm (and transform_vm_list).
func vmTable(v any) any {
	return tableRows(v, func(r map[string]any) azout.Ordered {
		row := azout.Row("Name", r["name"], "ResourceGroup", r["resourceGroup"], "PowerState", r["powerState"],
			"PublicIps", r["publicIps"], "Fqdns", r["fqdns"], "Location", r["location"])
		if zs, ok := r["zones"]; ok {
			z := ""
			if list, ok := zs.([]any); ok {
				parts := make([]string, len(list))
				for i, x := range list {
					parts[i] = fmt.Sprint(x)
				}
				z = strings.Join(parts, ",")
			}
			row = append(row, azout.Field{Key: "Zones", Value: z})
		}
		return row
	})
}

func newVMShowCmd(g *globals) *cobra.Command {
	var rg, name string
	var details bool
	return newAzCommand(g, azCmd{
		Use:   "show",
		Short: "Get the details of a VM.",
		Example: `  Show information about a VM.
    mimic vm show -g MyResourceGroup -n MyVm -d
  Get the principal id of its system-assigned identity.
    mimic vm show -g MyResourceGroup -n MyVm --query identity.principalId -o tsv`,
		IDParts: []string{"resource-group", "name"},
		Table:   vmTable,
		Flags: func(f *pflag.FlagSet) {
			groupFlag(f, &rg)
			nameFlag(f, &name, "The name of the Virtual Machine.")
			f.BoolVarP(&details, "show-details", "d", false, "Show public ip address, FQDN, and power states. command will run slow")
		},
		Run: func(c *azCall) (any, error) { return c.show(vmKind(details), rg, name, nil) },
	})
}

func newVMListCmd(g *globals) *cobra.Command {
	var rg string
	var details bool
	return newAzCommand(g, azCmd{
		Use:   "list",
		Short: "List details of Virtual Machines.",
		Example: `  List all VMs.
    mimic vm list -o table`,
		Table: vmTable,
		Flags: func(f *pflag.FlagSet) {
			groupFlag(f, &rg)
			f.BoolVarP(&details, "show-details", "d", false, "Show public ip address, FQDN, and power states. command will run slow")
		},
		Run: func(c *azCall) (any, error) { return c.list(vmKind(details), rg) },
	})
}

func newVMDeleteCmd(g *globals) *cobra.Command {
	var rg, name, force string
	return newAzCommand(g, azCmd{
		Use:   "delete",
		Short: "Delete a VM.",
		Example: `  Delete a VM without a prompt for confirmation.
    mimic vm delete -g MyResourceGroup -n MyVm --yes`,
		IDParts: []string{"resource-group", "name"},
		Confirm: "Are you sure you want to perform this operation?",
		NoWait:  true,
		Flags: func(f *pflag.FlagSet) {
			groupFlag(f, &rg)
			nameFlag(f, &name, "The name of the Virtual Machine.")
			f.StringVar(&force, "force-deletion", "", "Optional parameter to force delete virtual machines (accepted).")
		},
		Run: func(c *azCall) (any, error) { return c.remove(vmKind(false), rg, name, nil) },
	})
}

// vmIdentityFlags name the VM of an identity command.
type vmIdentityFlags struct {
	rg, name string
}

func (v *vmIdentityFlags) add(f *pflag.FlagSet) {
	groupFlag(f, &v.rg)
	nameFlag(f, &v.name, "The name of the Virtual Machine.")
}

func newVMIdentityAssignCmd(g *globals) *cobra.Command {
	var vf vmIdentityFlags
	var identities []string
	var role, scope string
	return newAzCommand(g, azCmd{
		Use:   "assign",
		Short: "Enable managed service identity on a VM.",
		Long: `Enable managed service identity on a VM. Attaching a user-assigned
identity needs Microsoft.ManagedIdentity/userAssignedIdentities/assign/action
on it, as in Azure.`,
		Example: `  Enable the system assigned identity on a VM with the 'Reader' role.
    mimic vm identity assign -g MyResourceGroup -n MyVm --role Reader --scope /subscriptions/db5eb68e-73e2-4fa8-b18a-0123456789999/resourceGroups/MyResourceGroup
  Enable the system assigned identity and a user assigned identity on a VM.
    mimic vm identity assign -g MyResourceGroup -n MyVm --identities [system] myAssignedId`,
		IDParts: []string{"resource-group", "name"},
		Flags: func(f *pflag.FlagSet) {
			vf.add(f)
			identityFlags(f, "identities", &identities, &role, &scope)
		},
		Run: func(c *azCall) (any, error) {
			return c.forEach(vf.rg, vf.name, vmType, func(t target) (any, error) {
				cl, doc, err := c.vmDoc(t)
				if err != nil {
					return nil, err
				}
				block := assignedIdentity(obj(doc["identity"]), identityIDs(cl, t.rg, identities))
				doc, err = cl.send(c.ctx(), http.MethodPatch, t.path, apiCompute, map[string]any{"identity": block})
				if err != nil {
					return nil, err
				}
				ident := obj(doc["identity"])
				if err := grantIdentityRole(c.ctx(), cl, str(ident["principalId"]), role, scope); err != nil {
					return nil, err
				}
				return identityInfo(ident, scope, role), nil
			})
		},
	})
}

func newVMIdentityRemoveCmd(g *globals) *cobra.Command {
	var vf vmIdentityFlags
	var identities []string
	return newAzCommand(g, azCmd{
		Use:   "remove",
		Short: "Remove managed service identities from a VM.",
		Example: `  Remove the system assigned identity.
    mimic vm identity remove -g MyResourceGroup -n MyVm
  Remove a user assigned identity.
    mimic vm identity remove -g MyResourceGroup -n MyVm --identities readerId writerId`,
		IDParts: []string{"resource-group", "name"},
		Flags: func(f *pflag.FlagSet) {
			vf.add(f)
			multiOptional(f, "identities", &identities, msiLocalID, "Space-separated identities to remove. Use '[system]' to refer to the system assigned identity. Default: '[system]'.")
		},
		Run: func(c *azCall) (any, error) {
			if len(identities) == 0 {
				identities = []string{msiLocalID}
			}
			return c.forEach(vf.rg, vf.name, vmType, func(t target) (any, error) {
				cl, doc, err := c.vmDoc(t)
				if err != nil {
					return nil, err
				}
				current := obj(doc["identity"])
				if current == nil {
					return nil, nil
				}
				block, err := removedIdentity(current, identityIDs(cl, t.rg, identities), t.name)
				if err != nil {
					return nil, err
				}
				doc, err = cl.send(c.ctx(), http.MethodPatch, t.path, apiCompute, map[string]any{"identity": block})
				if err != nil {
					return nil, err
				}
				return vmIdentityOut(doc), nil
			})
		},
	})
}

// vmDoc reads a VM.
func (c *azCall) vmDoc(t target) (*azClient, map[string]any, error) {
	cl, err := c.arm()
	if err != nil {
		return nil, nil, err
	}
	doc, err := cl.get(c.ctx(), t.path, apiCompute)
	return cl, doc, err
}

// vmIdentityOut is az's VirtualMachineIdentity of a VM, or nothing.
func vmIdentityOut(doc map[string]any) any {
	ident := obj(doc["identity"])
	if ident == nil {
		return nil
	}
	return withNulls(obj(azValue("identity", ident)), "principalId", "tenantId", "type", "userAssignedIdentities")
}

func newVMIdentityShowCmd(g *globals) *cobra.Command {
	var vf vmIdentityFlags
	return newAzCommand(g, azCmd{
		Use:   "show",
		Short: "Display VM's managed identity info.",
		Example: `  Display VM's managed identity info.
    mimic vm identity show -g MyResourceGroup -n MyVm`,
		IDParts: []string{"resource-group", "name"},
		Flags:   func(f *pflag.FlagSet) { vf.add(f) },
		Run: func(c *azCall) (any, error) {
			return c.show(armKind{typ: vmType, api: apiCompute, out: func(doc map[string]any) map[string]any { return obj(vmIdentityOut(doc)) }}, vf.rg, vf.name, nil)
		},
	})
}

func newVMRunCommandInvokeCmd(g *globals) *cobra.Command {
	var vf vmIdentityFlags
	var commandID string
	var scripts, params []string
	return newAzCommand(g, azCmd{
		Use:   "invoke",
		Short: "Execute a specific run command on a vm.",
		Long: `Execute a specific run command on a VM. mimic runs nothing: the answer is
what a token-fetch script on that VM would print, the IMDS token response of
the VM's identity for the resource named in --parameters (resource=…,
default ARM; client_id, object_id or msi_res_id select an identity). That is
what run-command access to a VM yields in Azure.`,
		Example: `  Fetch a Key Vault token as the VM's identity would.
    mimic vm run-command invoke -g MyResourceGroup -n MyVm --command-id RunShellScript --scripts "curl -s -H Metadata:true http://169.254.169.254/metadata/identity/oauth2/token" --parameters resource=https://vault.azure.net`,
		IDParts:  []string{"resource-group", "name"},
		Required: []string{"command-id"},
		Flags: func(f *pflag.FlagSet) {
			vf.add(f)
			f.StringVar(&commandID, "command-id", "", "The command id. Use 'az vm run-command list' to get the list.")
			multi(f, "scripts", "", &scripts, "Space-separated script lines. Use @{file} to load script from a file.")
			multi(f, "parameters", "", &params, "Space-separated parameters in the format of '[name=]value'.")
		},
		Run: func(c *azCall) (any, error) {
			body := map[string]any{"commandId": commandID}
			if len(scripts) > 0 {
				body["script"] = scripts
			}
			if len(params) > 0 {
				var ps []any
				for i, p := range params {
					k, v, ok := strings.Cut(p, "=")
					if !ok {
						k, v = fmt.Sprintf("arg%d", i+1), p
					}
					ps = append(ps, map[string]any{"name": k, "value": v})
				}
				body["parameters"] = ps
			}
			return c.forEach(vf.rg, vf.name, vmType, func(t target) (any, error) {
				cl, _ := c.arm()
				res, err := cl.send(c.ctx(), http.MethodPost, t.path+"/runCommand", apiCompute, body)
				if err != nil {
					return nil, err
				}
				out := obj(azValue("", res))
				for _, v := range asList(out["value"]) {
					withNulls(obj(v), "code", "displayStatus", "level", "message", "time")
				}
				return out, nil
			})
		},
	})
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
