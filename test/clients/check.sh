#!/usr/bin/env bash
# Smoke test of the SDK probes (python/probe.py, node/probe.js): it needs no
# mimic and no network, and fails fast when an SDK install is broken.
#   - a usage error exits 2;
#   - `token --credential environment` in an empty environment prints one line
#     of JSON {"ok":false,"errorType":…,"error":…} and exits 0;
#   - probe.py under a python that cannot import the SDK exits 3 and says why.
set -uo pipefail
cd "$(dirname "$0")"

PY=/usr/bin/python3 # the only python that sees Debian's python3-azure
failures=0
fail() { echo "check.sh: FAIL: $*" >&2; failures=$((failures + 1)); }

# expect_exit CODE NAME CMD...: run CMD in an empty environment (no AZURE_*,
# no proxy); its stdout is left in $out and its stderr in $err.
expect_exit() {
	local want=$1 name=$2
	shift 2
	local errfile
	errfile=$(mktemp)
	out=$(env -i PATH="$PATH" HOME="${HOME:-/root}" "$@" 2>"$errfile")
	local got=$?
	err=$(cat "$errfile")
	rm -f "$errfile"
	if [ "$got" -ne "$want" ]; then
		fail "$name: exit $got, want $want; stdout: $out; stderr: $err"
		return 1
	fi
}

# is_unavailable_json: $out is exactly one line of JSON with ok false and an errorType.
is_unavailable_json() {
	local name=$1
	if [ "$(printf '%s\n' "$out" | wc -l)" -ne 1 ]; then
		fail "$name: want one line on stdout, got: $out"
		return
	fi
	printf '%s' "$out" | $PY -c '
import json, sys
d = json.loads(sys.stdin.read())
assert d["ok"] is False, d
assert d["errorType"] and d["error"], d
' 2>/dev/null || fail "$name: not the JSON of a failed token request: $out"
}

for probe in "$PY python/probe.py" "node node/probe.js"; do
	# shellcheck disable=SC2086 # $probe is interpreter and script
	expect_exit 2 "$probe (no arguments)" $probe
	# shellcheck disable=SC2086
	expect_exit 2 "$probe --help" $probe --help
	# shellcheck disable=SC2086
	expect_exit 2 "$probe token --credential bogus" $probe token --credential bogus
	# shellcheck disable=SC2086
	expect_exit 2 "$probe secret (no --vault)" $probe secret --name x
	# shellcheck disable=SC2086
	if expect_exit 0 "$probe token --credential environment" $probe token --credential environment; then
		is_unavailable_json "$probe token --credential environment"
	fi
done

# A python without the Azure packages (-S drops dist-packages from sys.path)
# must refuse to start, with a message, and print nothing on stdout.
if expect_exit 3 "python3 -S probe.py (no SDK)" $PY -S python/probe.py token --credential environment; then
	[ -z "$out" ] || fail "probe.py without the SDK printed on stdout: $out"
	grep -q 'cannot import the Azure SDK' <<<"$err" || fail "probe.py without the SDK: unclear message: $err"
fi

if [ "$failures" -ne 0 ]; then
	echo "check.sh: $failures failure(s)" >&2
	exit 1
fi
echo "check.sh: probes OK (python: $($PY -c 'import azure.identity as i, msal; print("azure-identity", i.__version__, "msal", msal.__version__)'); node: @azure/identity $(node -p 'require("./node/node_modules/@azure/identity/package.json").version'))"
