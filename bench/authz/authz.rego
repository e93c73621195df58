# Azure RBAC, as the benchmark's engines all define it (see doc.go): allowed
# when an assignment of the principal at the request scope or an ancestor
# grants a role whose block lists the action on the request's plane and does
# not exclude it, and no deny assignment applies. Everything is lower-case;
# input is {principal, scope, action, plane ("c" or "d")}.
package mimic.authz

default allow := false

allow if {
	granted
	not denied
}

# The request scope's ancestors, itself included: "/", then every
# "/"-boundary prefix.
ancestors contains "/"

ancestors contains s if {
	parts := split(trim_prefix(input.scope, "/"), "/")
	some i in numbers.range(1, count(parts))
	s := concat("/", array.concat([""], array.slice(parts, 0, i)))
}

granted if {
	scopes := data.assign[input.principal]
	some s in ancestors
	some role in scopes[s]
	some b in data.roles[role][input.plane]
	block_allows(b)
}

block_allows(b) if {
	matches(b.acts, input.action)
	not matches(b.nots, input.action)
}

matches(set, a) if set.lit[a]

matches(set, a) if {
	some p in set.pre
	startswith(a, p)
}

matches(set, a) if {
	some x in set.suf
	endswith(a, x)
}

matches(set, a) if {
	some x in set.ps
	count(a) >= x[2]
	startswith(a, x[0])
	endswith(a, x[1])
}

matches(set, a) if {
	some g in set.glob
	glob.match(g, null, a)
}

denied if {
	some d in data.deny_everyone
	deny_applies(d)
}

denied if {
	some d in data.deny_by[input.principal]
	deny_applies(d)
}

deny_applies(d) if {
	covers(d)
	not d.excl[input.principal]
	some b in d[input.plane]
	block_allows(b)
}

covers(d) if d.scope == input.scope

covers(d) if {
	not d.only
	d.scope == "/"
}

covers(d) if {
	not d.only
	startswith(input.scope, concat("", [d.scope, "/"]))
}
