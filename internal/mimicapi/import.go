package mimicapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mimic-emu/mimic/internal/arm"
	"github.com/mimic-emu/mimic/internal/arm/authorization"
	"github.com/mimic-emu/mimic/internal/armerr"
	"github.com/mimic-emu/mimic/internal/importer"
	"github.com/mimic-emu/mimic/internal/resourceid"
	"github.com/mimic-emu/mimic/internal/store"
)

// importAction is what importing needs at the default subscription, and at
// every existing subscription a batch writes into: writing role
// assignments, as an Owner or a User Access Administrator can. An import
// writes role assignments and the identities they name, which is as much
// power as that action grants anyway.
const importAction = "Microsoft.Authorization/roleAssignments/write"

// maxImportBody bounds one batch's body.
const maxImportBody = 64 << 20

// importDocs serves POST /mimic/v1/import: one batch of an import
// (importer.Request), validated again and written in one store
// transaction. It answers the batch's importer.Result: counts, and
// warnings naming each element's file, index and field.
func (a *API) importDocs(w http.ResponseWriter, r *http.Request) error {
	caller, err := a.ARM.Authenticate(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if err := a.ARM.Authorize(ctx, caller, importAction, resourceid.ID{Subscription: a.SubscriptionID}); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxImportBody))
	if err != nil {
		return armerr.New(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "An import batch is at most %d bytes; send smaller batches.", maxImportBody)
	}
	var req importer.Request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return armerr.InvalidRequestContent(err.Error())
	}
	if err := a.authorizeImport(r, caller, req.Items); err != nil {
		return err
	}
	opts := importer.Options{Tenant: a.ARM.Tenant, Owner: caller.ObjectID}
	var res *importer.Result
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		if res, err = importer.Apply(ctx, tx, req.Items, opts); err != nil {
			return err
		}
		if _, err := tx.Bump(ctx, arm.RevisionTopic); err != nil {
			return err
		}
		if len(res.Subscriptions) > 0 {
			// The importer's new grants must hold for its next batch.
			_, err = tx.Bump(ctx, rbacTopic)
		}
		return err
	})
	var be *importer.BatchError
	if errors.As(err, &be) {
		return armerr.BadRequest("InvalidImport", "%s", be.Error())
	}
	if err != nil {
		return err
	}
	a.ARM.Generation.Add(1)
	// Deny assignments have no ARM write; they are stored as `mimic up
	// --deny-assignments` stores them.
	for _, it := range res.Denies {
		data, err := json.Marshal([]arm.Doc{it.Doc})
		if err != nil {
			return err
		}
		if _, err := authorization.LoadDenyAssignments(ctx, a.Store, fmt.Sprintf("%s: [%d]", it.Source, it.Index), data); err != nil {
			return armerr.BadRequest("InvalidImport", "%s", err.Error())
		}
		a.ARM.Generation.Add(1)
	}
	if len(res.Subscriptions) > 0 {
		a.ARM.Authz.Changed()
	}
	if err := a.rbacImported(r, res.RBAC || len(res.Denies) > 0, req.Final); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// rbacTopic is the store revision the authorizers of every replica poll.
const rbacTopic = "rbac"

// rbacSettle is how long after an import's last batch the authorization
// engine reloads if no final batch comes (the client died).
const rbacSettle = 3 * time.Second

// pendingRBAC remembers, per API, that imported role data awaits a reload.
var pendingRBAC sync.Map // *API → *time.Timer

// rbacImported makes imported role data take effect. Rebuilding the engine
// reads every assignment, so it is done once, at the end of an import, and
// not after each of a million-assignment import's batches: the final
// batch bumps the "rbac" revision (for other replicas) and reloads at
// once; a batch that is not final only arms a timer that does the same if
// no further batch comes.
func (a *API) rbacImported(r *http.Request, changed, final bool) error {
	if !changed && !final {
		return nil
	}
	if v, ok := pendingRBAC.Load(a); ok {
		v.(*time.Timer).Stop()
	} else if !changed {
		return nil
	}
	reload := func(ctx context.Context) error {
		pendingRBAC.Delete(a)
		err := a.Store.Update(ctx, func(tx store.Tx) error {
			_, err := tx.Bump(ctx, rbacTopic)
			return err
		})
		if err != nil {
			return err
		}
		a.ARM.Authz.Changed()
		return nil
	}
	if final {
		return reload(r.Context())
	}
	pendingRBAC.Store(a, time.AfterFunc(rbacSettle, func() {
		if err := reload(context.Background()); err != nil {
			slog.Error("import: rbac reload", "err", err)
		}
	}))
	return nil
}

// authorizeImport checks the caller's rights at every existing subscription
// other than the default one that the batch writes into. Subscriptions the
// import creates need nothing more: the importer becomes their owner.
func (a *API) authorizeImport(r *http.Request, caller *arm.Caller, items []importer.Item) error {
	subs := map[string]bool{}
	for i := range items {
		for _, s := range importer.SubscriptionsOf(&items[i]) {
			if !strings.EqualFold(s, a.SubscriptionID) && authorization.IsGUID(s) {
				subs[strings.ToLower(s)] = true
			}
		}
	}
	for sub := range subs {
		var exists, granted bool
		err := a.Store.View(r.Context(), func(tx store.Tx) error {
			_, err := tx.GetResource(r.Context(), "/subscriptions/"+sub)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			exists = true
			_, err = tx.GetResource(r.Context(), importer.GrantAssignmentID(sub, caller.ObjectID))
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			granted = err == nil
			return err
		})
		if err != nil {
			return err
		}
		if !exists || granted {
			continue
		}
		if err := a.ARM.Authorize(r.Context(), caller, importAction, resourceid.ID{Subscription: sub}); err != nil {
			return err
		}
	}
	return nil
}
