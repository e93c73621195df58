package authzkit_test

import (
	"fmt"

	"github.com/mimic-emu/mimic/authzkit"
)

func Example() {
	const (
		oid    = "11111111-1111-1111-1111-111111111111"
		reader = "acdd72a7-3385-48ef-bd42-f606fba81ae7" // Reader
		rg     = "/subscriptions/00000000-0000-0000-0000-00000000000a/resourceGroups/rg-a"
	)
	e, err := authzkit.New(authzkit.BuiltinRoles(), []authzkit.Assignment{
		{ID: "a1", PrincipalID: oid, RoleID: reader, Scope: rg},
	}, nil)
	if err != nil {
		panic(err)
	}
	vm := rg + "/providers/Microsoft.Compute/virtualMachines/vm1"
	fmt.Println(e.Allowed(authzkit.Request{Principals: []string{oid}, Action: "Microsoft.Compute/virtualMachines/read", Scope: vm}))
	fmt.Println(e.Check(authzkit.Request{Principals: []string{oid}, Action: "Microsoft.Compute/virtualMachines/write", Scope: vm}).Allowed)
	fmt.Println(e.Allowed(authzkit.Request{Principals: []string{oid}, Action: "Microsoft.Compute/virtualMachines/read", Scope: rg + "b"}))
	// Output:
	// true
	// false
	// false
}
