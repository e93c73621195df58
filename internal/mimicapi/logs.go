package mimicapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/authz"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/store"
)

// logReadAction is what reading mimic's logs needs at the default
// subscription: Reader and above hold it.
const logReadAction = "Microsoft.Insights/logs/read"

// SignIn is a sign-in log entry as the API returns it.
type SignIn struct {
	Seq         int64     `json:"seq"`
	Time        time.Time `json:"time"`
	Endpoint    string    `json:"endpoint"`
	Result      string    `json:"result"`
	ErrorCode   string    `json:"errorCode,omitempty"`
	Message     string    `json:"message,omitempty"`
	PrincipalID string    `json:"principalId,omitempty"`
	ClientID    string    `json:"clientId,omitempty"`
	IdentityID  string    `json:"identity,omitempty"`
	ComputeID   string    `json:"compute,omitempty"`
	Credential  string    `json:"federatedCredential,omitempty"`
	Audience    string    `json:"audience,omitempty"`
}

// Access is an access log entry as the API returns it.
type Access struct {
	Seq         int64     `json:"seq"`
	Time        time.Time `json:"time"`
	Plane       string    `json:"plane"`
	Method      string    `json:"method"`
	PrincipalID string    `json:"principalId,omitempty"`
	ClientID    string    `json:"clientId,omitempty"`
	IdentityID  string    `json:"identity,omitempty"`
	ComputeID   string    `json:"compute,omitempty"`
	Action      string    `json:"action"`
	DataAction  bool      `json:"dataAction"`
	Scope       string    `json:"scope"`
	Allowed     bool      `json:"allowed"`
	Assignment  string    `json:"roleAssignment,omitempty"`
	Role        string    `json:"role,omitempty"`
	Deny        string    `json:"denyAssignment,omitempty"`
	Reason      string    `json:"reason"`
	Status      int       `json:"status"`
}

// logQuery is the common query of the log endpoints.
type logQuery struct {
	identity, compute, principal string
	since                        time.Time
	after                        int64
	limit                        int
}

func (a *API) readLogQuery(r *http.Request) (logQuery, error) {
	caller, err := a.ARM.Authenticate(r)
	if err != nil {
		return logQuery{}, err
	}
	if err := a.ARM.Authorize(r.Context(), caller, logReadAction, resourceid.ID{Subscription: a.SubscriptionID}); err != nil {
		return logQuery{}, err
	}
	q := r.URL.Query()
	lq := logQuery{identity: q.Get("identity"), compute: q.Get("compute"), principal: q.Get("principal"), limit: 1000}
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return lq, armerr.BadRequest("InvalidQuery", "'since' must be an RFC 3339 time: %v", err)
		}
		lq.since = t
	}
	if s := q.Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return lq, armerr.BadRequest("InvalidQuery", "'after' must be a number")
		}
		lq.after = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > 10000 {
			return lq, armerr.BadRequest("InvalidQuery", "'limit' must be between 1 and 10000")
		}
		lq.limit = n
	}
	return lq, nil
}

func (a *API) signins(w http.ResponseWriter, r *http.Request) error {
	lq, err := a.readLogQuery(r)
	if err != nil {
		return err
	}
	entries, err := a.Signins.Query(r.Context(), store.SignInFilter{IdentityID: lq.identity, ComputeID: lq.compute, PrincipalID: lq.principal,
		Since: lq.since, AfterSeq: lq.after, Limit: lq.limit})
	if err != nil {
		return err
	}
	out := make([]SignIn, 0, len(entries))
	for _, e := range entries {
		out = append(out, SignIn{Seq: e.Seq, Time: e.At, Endpoint: e.Endpoint, Result: e.Result, ErrorCode: e.ErrorCode, Message: e.Message,
			PrincipalID: e.PrincipalID, ClientID: e.ClientID, IdentityID: e.IdentityID, ComputeID: e.ComputeID, Credential: e.Credential, Audience: e.Audience})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

func (a *API) access(w http.ResponseWriter, r *http.Request) error {
	lq, err := a.readLogQuery(r)
	if err != nil {
		return err
	}
	entries, err := a.Access.Query(r.Context(), store.AccessFilter{IdentityID: lq.identity, ComputeID: lq.compute, PrincipalID: lq.principal,
		Since: lq.since, AfterSeq: lq.after, Limit: lq.limit})
	if err != nil {
		return err
	}
	out := make([]Access, 0, len(entries))
	for _, e := range entries {
		out = append(out, Access{Seq: e.Seq, Time: e.At, Plane: e.Plane, Method: e.Method, PrincipalID: e.PrincipalID, ClientID: e.ClientID,
			IdentityID: e.IdentityID, ComputeID: e.ComputeID, Action: e.Action, DataAction: e.DataAction, Scope: e.Scope, Allowed: e.Allowed,
			Assignment: e.Assignment, Role: e.Role, Deny: e.Deny, Reason: e.Reason, Status: e.Status})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

// Check is a decision of the engine as the API returns it.
type Check struct {
	Principal  string           `json:"principal"`
	Action     string           `json:"action"`
	DataAction bool             `json:"dataAction"`
	Scope      string           `json:"scope"`
	Allowed    bool             `json:"allowed"`
	Reason     string           `json:"reason"`
	Assignment *CheckAssignment `json:"roleAssignment,omitempty"`
	Role       string           `json:"role,omitempty"`
	RoleID     string           `json:"roleDefinitionId,omitempty"`
	Deny       string           `json:"denyAssignment,omitempty"`
}

// CheckAssignment is the role assignment a check names: the grant, or a
// refusal's nearest miss.
type CheckAssignment struct {
	ID               string `json:"id"`
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	Scope            string `json:"scope"`
	Condition        string `json:"condition,omitempty"`
	ConditionVersion string `json:"conditionVersion,omitempty"`
}

// check explains what the engine decides for a principal, action and
// scope. It needs read access to role assignments at the scope.
func (a *API) check(w http.ResponseWriter, r *http.Request) error {
	caller, err := a.ARM.Authenticate(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	principal, action, scope := q.Get("principal"), q.Get("action"), q.Get("scope")
	if principal == "" || action == "" || scope == "" {
		return armerr.BadRequest("InvalidQuery", "principal, action and scope are required")
	}
	sid, err := resourceid.Parse(scope)
	if err != nil {
		return armerr.BadRequest("InvalidScope", "%s", err.Error())
	}
	if err := a.ARM.Authorize(r.Context(), caller, "Microsoft.Authorization/roleAssignments/read", sid); err != nil {
		return err
	}
	dataAction := q.Get("dataAction") == "true"
	if q.Get("dataAction") == "" {
		dataAction = looksLikeDataAction(action)
	}
	attrs := map[string]string{}
	for k, vs := range q {
		if strings.HasPrefix(k, "@") && len(vs) > 0 {
			attrs[k] = vs[0]
		}
	}
	d := a.Authz.Engine().Check(authz.Request{Principals: []string{strings.ToLower(principal)}, Action: action, DataAction: dataAction, Scope: sid.String(), Attributes: attrs})
	as, role, reason := d.Explain()
	out := Check{Principal: principal, Action: action, DataAction: dataAction, Scope: sid.String(), Allowed: d.Allowed, Reason: reason}
	if as != nil {
		out.Assignment = &CheckAssignment{ID: as.ID, PrincipalID: as.PrincipalID, RoleDefinitionID: as.RoleID, Scope: as.Scope,
			Condition: as.Condition, ConditionVersion: as.ConditionVersion}
	}
	if role != nil {
		out.Role, out.RoleID = role.Name, role.ID
	}
	if deny := d.Denied(); deny != nil {
		out.Deny = deny.ID
	}
	return writeJSON(w, http.StatusOK, out)
}

// looksLikeDataAction guesses whether an action is a data action from the
// built-in catalogue's shapes: data actions read and write data inside
// vaults and storage (…/secrets/getSecret/action, …/blobs/read).
func looksLikeDataAction(action string) bool {
	a := strings.ToLower(action)
	for _, s := range []string{"/vaults/secrets/", "/vaults/keys/", "/vaults/certificates/", "/blobservices/containers/blobs/", "/queueservices/queues/messages/", "/tableservices/tables/entities/", "/fileservices/fileshares/files/"} {
		if strings.Contains(a, s) {
			return true
		}
	}
	return false
}
