package cli

import (
	"fmt"
	"regexp"
	"strings"
)

// mimic has no Microsoft Graph yet, so where az asks Graph about a
// principal (--assignee, principalName) the az-style commands ask ARM:
// the operator is in the profile, user-assigned identities are listed by
// subscription, and system-assigned identities are read from the
// resources that carry them. A principal's displayable name is what az
// shows for a service principal, its first servicePrincipalName, which is
// its client id.

// principal is a service principal known to the subscription.
type principal struct {
	objectID, clientID string
	// resourceID is the identity or the resource that carries it.
	resourceID string
	// name is the identity's resource name ("" for the operator).
	name string
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isGUID(s string) bool { return guidPattern.MatchString(s) }

// directory lists the principals of the subscription, once per command.
func (c *azCall) directory() ([]principal, error) {
	if c.principals != nil {
		return c.principals, nil
	}
	cl, err := c.arm()
	if err != nil {
		return nil, err
	}
	p := cl.profile
	out := []principal{{objectID: p.Operator.ObjectID, clientID: p.Operator.ClientID}}
	idents, err := cl.list(c.ctx(), cl.subPath()+"/providers/"+identityType, apiMSI)
	if err != nil {
		return nil, err
	}
	for _, it := range idents {
		d := obj(it)
		out = append(out, principal{
			objectID: str(dig(d, "properties", "principalId")), clientID: str(dig(d, "properties", "clientId")),
			resourceID: str(d["id"]), name: str(d["name"]),
		})
	}
	// System-assigned identities: the generic listing carries each
	// resource's identity block; the client id is on the identity's
	// read-only view.
	resources, err := cl.list(c.ctx(), cl.subPath()+"/resources", "2021-04-01")
	if err != nil {
		return nil, err
	}
	for _, it := range resources {
		d := obj(it)
		pid := str(dig(d, "identity", "principalId"))
		if pid == "" {
			continue
		}
		out = append(out, principal{objectID: pid, resourceID: str(d["id"]), name: str(d["name"])})
	}
	c.principals = out
	return out, nil
}

// displayName is az's principalName for an object id: the client id of
// the service principal, or "" when nothing has that id any more.
func (c *azCall) displayName(objectID string) (string, error) {
	dir, err := c.directory()
	if err != nil {
		return "", err
	}
	for i, p := range dir {
		if !strings.EqualFold(p.objectID, objectID) {
			continue
		}
		if p.clientID == "" && p.resourceID != "" {
			cl, _ := c.arm()
			doc, err := cl.get(c.ctx(), p.resourceID+"/providers/Microsoft.ManagedIdentity/identities/default", apiMSI)
			if err == nil {
				dir[i].clientID = str(dig(doc, "properties", "clientId"))
			}
		}
		return dir[i].clientID, nil
	}
	return "", nil
}

// resolveAssignee is az's _resolve_object_id: an object id, a client id
// or, for mimic, an identity's name, to an object id. A GUID that names
// nothing known is taken as an object id, as az does.
func (c *azCall) resolveAssignee(assignee string) (objectID string, known bool, err error) {
	dir, err := c.directory()
	if err != nil {
		return "", false, err
	}
	if isGUID(assignee) {
		for _, p := range dir {
			if strings.EqualFold(p.objectID, assignee) || strings.EqualFold(p.clientID, assignee) {
				return p.objectID, true, nil
			}
		}
		return strings.ToLower(assignee), false, nil
	}
	var found []principal
	for _, p := range dir {
		if p.name != "" && strings.EqualFold(p.name, assignee) && strings.Contains(strings.ToLower(p.resourceID), "/microsoft.managedidentity/userassignedidentities/") {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 1:
		return found[0].objectID, true, nil
	case 0:
		return "", false, cliError("Cannot find user or service principal in graph database for '%s'. If the assignee is an appId, make sure the corresponding service principal is created with 'az ad sp create --id %s'.", assignee, assignee)
	}
	ids := make([]string, len(found))
	for i, p := range found {
		ids[i] = p.resourceID
	}
	return "", false, cliError("%s", fmt.Sprintf("More than one identity is named '%s': %s. Pass its object id or client id.", assignee, strings.Join(ids, ", ")))
}
