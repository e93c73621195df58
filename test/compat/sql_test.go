package compat

import (
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"
)

func sqlServers(t *testing.T) *armsql.ServersClient {
	c, err := armsql.NewServersClient(sub(), env.Operator(t), env.ARMOptions())
	must(t, err)
	return c
}

const sqlPassword = "Str0ng!Passw0rd"

func putSQLServer(t *testing.T, rg, name string, s armsql.Server) (armsql.Server, error) {
	t.Helper()
	if s.Location == nil {
		s.Location = to.Ptr("westeurope")
	}
	p, err := sqlServers(t).BeginCreateOrUpdate(ctx(t), rg, name, s, nil)
	if err != nil {
		return armsql.Server{}, err
	}
	r, err := p.PollUntilDone(ctx(t), nil)
	return r.Server, err
}

func sqlAdmin(login, password string) *armsql.ServerProperties {
	return &armsql.ServerProperties{AdministratorLogin: to.Ptr(login), AdministratorLoginPassword: to.Ptr(password)}
}

func TestSQLServerLifecycle(t *testing.T) {
	rg := newGroup(t, "rg-sql", nil)
	name := uniq(t, "sql")
	srv, err := putSQLServer(t, rg, name, armsql.Server{
		Identity:   &armsql.ResourceIdentity{Type: to.Ptr(armsql.IdentityTypeSystemAssigned)},
		Properties: sqlAdmin("sqladmin", sqlPassword),
	})
	must(t, err)
	p := srv.Properties
	if *srv.Kind != "v12.0" || *p.Version != "12.0" || *p.State != "Ready" || *p.FullyQualifiedDomainName != name+".database.windows.net" ||
		*p.AdministratorLogin != "sqladmin" || *p.PublicNetworkAccess != armsql.ServerNetworkAccessFlagEnabled || *p.MinimalTLSVersion != "1.2" {
		t.Fatalf("server properties %+v", p)
	}
	if p.AdministratorLoginPassword != nil {
		t.Fatal("the create answer shows the password")
	}
	if srv.Identity == nil || *srv.Identity.Type != armsql.IdentityTypeSystemAssigned || srv.Identity.PrincipalID == nil || *srv.Identity.TenantID != env.Profile.TenantID {
		t.Fatalf("identity %+v", srv.Identity)
	}
	got, err := sqlServers(t).Get(ctx(t), rg, name, nil)
	must(t, err)
	if got.Properties.AdministratorLoginPassword != nil || *got.Identity.PrincipalID != *srv.Identity.PrincipalID {
		t.Fatalf("get %+v", got.Server)
	}
	if code, body := rawARM(t, http.MethodGet, *srv.ID+"?api-version=2021-02-01-preview", ""); code != http.StatusOK || strings.Contains(body, sqlPassword) || strings.Contains(body, "administratorLoginPassword") {
		t.Fatalf("GET shows the password: %d %s", code, body)
	}

	// An update needs no password, and the login cannot change.
	got.Tags = map[string]*string{"env": to.Ptr("test")}
	upd, err := putSQLServer(t, rg, name, got.Server)
	must(t, err)
	if *upd.Tags["env"] != "test" || *upd.Properties.AdministratorLogin != "sqladmin" {
		t.Fatalf("update %+v", upd)
	}
	got.Properties.AdministratorLogin = to.Ptr("someoneelse")
	_, err = putSQLServer(t, rg, name, got.Server)
	if code, ec := respErr(t, err); code != http.StatusBadRequest || ec != "InvalidParameterValue" {
		t.Fatalf("login change: %d %s", code, ec)
	}

	// A user-assigned identity becomes the primary one.
	uai := newIdentity(t, rg, "id-sql")
	withUser, err := putSQLServer(t, rg, name, armsql.Server{
		Identity: &armsql.ResourceIdentity{
			Type:                   to.Ptr(armsql.IdentityTypeSystemAssignedUserAssigned),
			UserAssignedIdentities: map[string]*armsql.UserIdentity{*uai.ID: {}},
		},
		Properties: &armsql.ServerProperties{AdministratorLogin: to.Ptr("sqladmin")},
	})
	must(t, err)
	if *withUser.Identity.Type != armsql.IdentityTypeSystemAssignedUserAssigned || *withUser.Properties.PrimaryUserAssignedIdentityID != *uai.ID ||
		*withUser.Identity.UserAssignedIdentities[*uai.ID].ClientID != *uai.Properties.ClientID {
		t.Fatalf("user assigned identity %+v %v", withUser.Identity, withUser.Properties.PrimaryUserAssignedIdentityID)
	}

	dp, err := sqlServers(t).BeginDelete(ctx(t), rg, name, nil)
	must(t, err)
	_, err = dp.PollUntilDone(ctx(t), nil)
	must(t, err)
	_, err = sqlServers(t).Get(ctx(t), rg, name, nil)
	if code, ec := respErr(t, err); code != http.StatusNotFound || ec != "ResourceNotFound" {
		t.Fatalf("get after delete: %d %s", code, ec)
	}
	if _, err := armmsiSystem(t, *srv.ID); err == nil {
		t.Fatal("the system identity outlived the server")
	}
}

func TestSQLServerErrors(t *testing.T) {
	rg := newGroup(t, "rg-sqlerr", nil)
	other := newGroup(t, "rg-sqlerr2", nil)
	name := uniq(t, "sql")
	_, err := putSQLServer(t, rg, name, armsql.Server{Properties: sqlAdmin("sqladmin", sqlPassword)})
	must(t, err)
	_, err = putSQLServer(t, other, name, armsql.Server{Properties: sqlAdmin("sqladmin", sqlPassword)})
	if code, ec := respErr(t, err); code != http.StatusConflict || ec != "NameAlreadyExists" {
		t.Errorf("duplicate name: %d %s", code, ec)
	}
	for _, bad := range []string{"Upper", "-lead", "trail-", "under_score", strings.Repeat("a", 64)} {
		_, err := putSQLServer(t, rg, bad, armsql.Server{Properties: sqlAdmin("sqladmin", sqlPassword)})
		if code, ec := respErr(t, err); code != http.StatusBadRequest || ec != "InvalidServerName" {
			t.Errorf("name %q: %d %s", bad, code, ec)
		}
	}
	cases := []struct {
		what  string
		props *armsql.ServerProperties
		ec    string
	}{
		{"no login", &armsql.ServerProperties{AdministratorLoginPassword: to.Ptr(sqlPassword)}, "InvalidParameterValue"},
		{"no password", &armsql.ServerProperties{AdministratorLogin: to.Ptr("sqladmin")}, "InvalidParameterValue"},
		{"simple password", sqlAdmin("sqladmin", "password"), "PasswordNotComplex"},
	}
	for _, tc := range cases {
		_, err := putSQLServer(t, rg, uniq(t, "sql"), armsql.Server{Properties: tc.props})
		if code, ec := respErr(t, err); code != http.StatusBadRequest || ec != tc.ec {
			t.Errorf("%s: %d %s", tc.what, code, ec)
		}
	}
	_, err = putSQLServer(t, uniq(t, "rg-missing"), uniq(t, "sql"), armsql.Server{Properties: sqlAdmin("sqladmin", sqlPassword)})
	if code, ec := respErr(t, err); code != http.StatusNotFound || ec != "ResourceGroupNotFound" {
		t.Errorf("missing group: %d %s", code, ec)
	}
}
