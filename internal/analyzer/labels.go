package analyzer

import (
	"regexp"
	"strings"

	"github.com/mimic-emu/mimic/internal/resourceid"
)

// Label is an inferred environment or team with where it came from.
type Label struct {
	Value  string `json:"value"`
	Source string `json:"source"`
}

// Labels are a node's environment and team.
type Labels struct {
	Env  Label `json:"environment"`
	Team Label `json:"team"`
}

// Override sets labels for an id and everything below it, from the
// analyzer's configuration; it wins over tags and names.
type Override struct {
	Scope string `json:"scope" yaml:"scope"`
	Env   string `json:"environment,omitempty" yaml:"environment"`
	Team  string `json:"team,omitempty" yaml:"team"`
}

var envTokens = map[string]string{
	"dev": "dev", "development": "dev", "develop": "dev",
	"test": "test", "tst": "test", "testing": "test",
	"qa":    "qa",
	"uat":   "uat",
	"stage": "stage", "staging": "stage", "stg": "stage", "preprod": "stage",
	"prod": "prod", "production": "prod", "prd": "prod", "live": "prod",
}

var tokenSplit = regexp.MustCompile(`[^a-z0-9]+`)

// envFromName finds an environment word in a name ("rg-prod-eu" → prod).
func envFromName(name string) string {
	for _, tok := range tokenSplit.Split(strings.ToLower(name), -1) {
		if env, ok := envTokens[tok]; ok {
			return env
		}
	}
	return ""
}

// normalizeEnv maps tag values onto the canonical environments, keeping
// unknown ones as they are.
func normalizeEnv(v string) string {
	if env, ok := envTokens[strings.ToLower(strings.TrimSpace(v))]; ok {
		return env
	}
	return strings.ToLower(strings.TrimSpace(v))
}

func tagValue(tags map[string]string, keys ...string) (string, string) {
	for _, want := range keys {
		for k, v := range tags {
			if strings.EqualFold(k, want) && strings.TrimSpace(v) != "" {
				return v, k
			}
		}
	}
	return "", ""
}

// SetOverrides installs configured labels.
func (e *Estate) SetOverrides(o []Override) {
	e.overrides = o
	e.labels = nil
}

// Labels returns the environment and team of a resource id (a compute, an
// identity key, any resource), inferred from configuration, tags on it and
// its ancestors, and names, in that order.
func (e *Estate) Labels(id string) Labels {
	e.labelsMu.Lock()
	l, ok := e.labels[id] // as spelt before: no folding
	e.labelsMu.Unlock()
	if ok {
		return l
	}
	key := strings.ToLower(id)
	e.labelsMu.Lock()
	l, ok = e.labels[key]
	e.labelsMu.Unlock()
	if !ok {
		l = e.inferLabels(id)
	}
	e.labelsMu.Lock()
	if e.labels == nil {
		e.labels = map[string]Labels{}
	}
	e.labels[key], e.labels[id] = l, l
	e.labelsMu.Unlock()
	return l
}

func (e *Estate) inferLabels(id string) Labels {
	var l Labels
	parsed, err := resourceid.Parse(id)
	if err != nil {
		return l
	}
	for _, o := range e.overrides {
		scope, err := resourceid.Parse(o.Scope)
		if err != nil || !scope.Contains(parsed) {
			continue
		}
		if o.Env != "" && l.Env.Value == "" {
			l.Env = Label{normalizeEnv(o.Env), "configuration for " + o.Scope}
		}
		if o.Team != "" && l.Team.Value == "" {
			l.Team = Label{o.Team, "configuration for " + o.Scope}
		}
	}
	// Tags, from the resource up through its group and subscription.
	for cur := parsed; ; cur = cur.Parent() {
		tags := e.tagsOf(cur)
		if l.Env.Value == "" {
			if v, k := tagValue(tags, "env", "environment"); v != "" {
				l.Env = Label{normalizeEnv(v), "tag '" + k + "' on " + describe(cur)}
			}
		}
		if l.Team.Value == "" {
			if v, k := tagValue(tags, "team", "owner"); v != "" {
				l.Team = Label{v, "tag '" + k + "' on " + describe(cur)}
			}
		}
		if cur.IsRoot() || (l.Env.Value != "" && l.Team.Value != "") {
			break
		}
	}
	// Names: the resource, its group, its subscription.
	if l.Env.Value == "" {
		for cur := parsed; !cur.IsRoot(); cur = cur.Parent() {
			name := cur.Name()
			if cur.IsSubscription() {
				if n := e.SubscriptionNames[strings.ToLower(cur.Subscription)]; n != "" {
					name = n
				}
			}
			if env := envFromName(name); env != "" {
				l.Env = Label{env, "name of " + describe(cur)}
				break
			}
		}
	}
	return l
}

func (e *Estate) tagsOf(id resourceid.ID) map[string]string {
	if r := e.resourceByKey[id.Key()]; r != nil {
		return r.Tags
	}
	return nil
}

// describe names an id for a label's source.
func describe(id resourceid.ID) string {
	switch {
	case id.IsSubscription():
		return "subscription " + id.Subscription
	case id.IsResourceGroup():
		return "resource group '" + id.ResourceGroup + "'"
	}
	return "'" + id.Name() + "'"
}
