package storage

import (
	"testing"

	"github.com/mimic-emu/mimic/internal/arm"
)

func TestKeysAndPresent(t *testing.T) {
	doc := arm.Doc{
		"id":         "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct",
		"identity":   arm.Doc{"type": arm.IdentitySystemAndUser},
		"properties": arm.Doc{"allowSharedKeyAccess": false},
		arm.Private:  arm.Doc{"keys": []any{newKey("key1", "t"), newKey("key2", "t")}},
	}
	keys := Keys(doc)
	if len(keys) != 2 || keys["key1"] == "" || keys["key1"] == keys["key2"] {
		t.Fatalf("keys %v", keys)
	}
	if SharedKeyAllowed(doc) {
		t.Error("allowSharedKeyAccess false, yet allowed")
	}
	reg := arm.NewRegistry()
	Register(reg)
	out := (&arm.Call{}).Present(reg.Lookup(AccountType), doc)
	if _, ok := out[arm.Private]; ok {
		t.Error("present shows the keys")
	}
	if out.Obj("identity").Str("type") != "SystemAssigned,UserAssigned" || doc.Obj("identity").Str("type") != arm.IdentitySystemAndUser {
		t.Error("present changed the stored identity type or did not respell it")
	}
	if _, ok := doc[arm.Private]; !ok {
		t.Error("present modified the stored document")
	}
}
