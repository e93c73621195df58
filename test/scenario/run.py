#!/usr/bin/env python3
"""Runs the golden scenario (golden.sh) with mimic's commands and with the
real az, each against its own running mimic, and compares what they printed
and the state they left.

    run.py --mimic BIN --mimic-home HOME_A [--az-home HOME_B] [--out DIR] [--update]

HOME_A and HOME_B are homes of two fresh, running mimic servers (mimic up
--home …). Without --az-home only the mimic run is made. For each run the
runner

  - gives the script an operator shell: `mimic env` (the proxy, CA trust, the
    operator's AZURE_* credentials), a fresh AZURE_CONFIG_DIR seeded with
    versionCheck.json (so az does not probe the internet for updates), the
    AZURE_CORE_* switches that stop telemetry, error recommendations and
    surveys, and for az PYTHONPATH=test/clients/azcli (fixes two bugs of Debian's
    azure-cli package; set MIMIC_AZCLI_SHIM to use another folder);
  - runs prelude + golden.sh with bash; its standard output is the
    transcript, its standard error goes to DIR/stderr-RUN.log;
  - dumps the final state with mimic's own commands: every resource group's
    resources and every role assignment, principals named by their
    identities.

Transcripts and states are normalised: GUIDs become <guid-N> in order of
first appearance, timestamps <time>, 32-hex-digit ids <hex>, account keys
<secret>. The two runs must agree with each other and with expected.txt and
expected-state.json beside this file (--update rewrites those from the mimic
run). Exit status: 0 when everything agrees, 1 on a difference (the diffs are
printed), 2 on a usage or setup error.
"""

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(HERE, "golden.sh")
EXPECTED = os.path.join(HERE, "expected.txt")
EXPECTED_STATE = os.path.join(HERE, "expected-state.json")
PROBE = os.path.join(REPO, "test", "clients", "python", "probe.py")

# Any non-empty "versions" stops az 2.45 from probing azure.microsoft.com and
# GitHub for a newer version on its first run in a config dir.
VERSION_CHECK = {
    "versions": {"azure-cli": {"local": "2.45.0"}, "core": {"local": "2.45.0"}, "telemetry": {"local": "1.0.8"}},
    "update_time": "2099-01-01 00:00:00.000000",
}
AZ_SWITCHES = {
    "AZURE_CORE_COLLECT_TELEMETRY": "false",
    "AZURE_CORE_ERROR_RECOMMENDATION": "off",
    "AZURE_CORE_SURVEY_MESSAGE": "false",
}

PRELUDE = r"""
set -euo pipefail
step() { printf '\n== %s\n' "$*"; }
# x CMD: print the command, then run it.
x() { printf '$ %s\n' "$*"; "$@"; }
# xfail CODE CMD: the command must fail with exit status CODE; print the
# status and the first line of its error.
xfail() {
	local want=$1 code=0
	shift
	printf '$ %s\n' "$*"
	"$@" >"$WORK/xfail.out" 2>"$WORK/xfail.err" || code=$?
	if [ "$code" != "$want" ]; then
		echo "xfail: $*: exit $code, want $want" >&2
		cat "$WORK/xfail.out" "$WORK/xfail.err" >&2
		return 1
	fi
	printf 'exit %s: %s\n' "$code" "$(head -n 1 "$WORK/xfail.err")"
}
mimic() { "$MIMIC_BIN" --home "$MIMIC_HOME_DIR" "$@"; }
if [ "$SCENARIO_CLI" = mimic ]; then
	az() { mimic "$@"; }
fi
# fresh_az_config: a new AZURE_CONFIG_DIR for az in a workload, seeded like
# the operator's (and with its command index, which saves az a rebuild).
fresh_az_config() {
	local d
	d=$(mktemp -d "$WORK/azconfig.XXXXXX")
	cp "$AZ_SEED/versionCheck.json" "$d/"
	if [ -f "$AZURE_CONFIG_DIR/commandIndex.json" ]; then cp "$AZURE_CONFIG_DIR/commandIndex.json" "$d/"; fi
	echo "$d"
}
if [ "$SCENARIO_CLI" = az ]; then
	# The operator route: sign in as the operator's service principal.
	az login --service-principal -u "$AZURE_CLIENT_ID" -p "$AZURE_CLIENT_SECRET" --tenant "$AZURE_TENANT_ID" -o none
fi
"""


def fail_setup(msg):
    sys.stderr.write("run.py: %s\n" % msg)
    sys.exit(2)


def clean_environ():
    """The caller's environment without identity, proxy or mimic variables."""
    out = {}
    for k, v in os.environ.items():
        if k.startswith("AZURE_") or k.lower().endswith("_proxy") or k in ("MIMIC_HOME", "PYTHONPATH"):
            continue
        out[k] = v
    return out


def mimic_env(binary, home):
    p = subprocess.run([binary, "env", "--home", home, "-o", "json"], capture_output=True, text=True)
    if p.returncode != 0:
        fail_setup("mimic env --home %s: %s" % (home, p.stderr.strip()))
    return json.loads(p.stdout)


def azcli_shim():
    shim = os.environ.get("MIMIC_AZCLI_SHIM") or os.path.join(REPO, "test", "clients", "azcli")
    if not os.path.isfile(os.path.join(shim, "sitecustomize.py")):
        fail_setup("no sitecustomize.py in %s (test/clients/azcli, or MIMIC_AZCLI_SHIM)" % shim)
    return shim


def run_scenario(name, cli, binary, home, out):
    work = os.path.join(out, "work-" + name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    seed = os.path.join(work, "azseed")
    os.makedirs(seed)
    with open(os.path.join(seed, "versionCheck.json"), "w") as f:
        json.dump(VERSION_CHECK, f)
    config = os.path.join(work, "azconfig-operator")
    shutil.copytree(seed, config)

    env = clean_environ()
    env.update(mimic_env(binary, home))
    env.update(AZ_SWITCHES)
    env.update({
        "AZURE_CONFIG_DIR": config, "SCENARIO_CLI": cli, "MIMIC_BIN": binary, "MIMIC_HOME_DIR": home,
        "WORK": work, "AZ_SEED": seed, "PROBE": PROBE,
    })
    if cli == "az":
        env["PYTHONPATH"] = azcli_shim()
    script = os.path.join(work, "scenario.sh")
    with open(SCRIPT) as f:
        body = f.read()
    with open(script, "w") as f:
        f.write(PRELUDE + "\n" + body)
    started = time.time()
    with open(os.path.join(out, "stderr-%s.log" % name), "w") as errf:
        p = subprocess.run(["bash", script], env=env, stdout=subprocess.PIPE, stderr=errf, text=True, cwd=work)
    elapsed = time.time() - started
    with open(os.path.join(out, "transcript-%s.txt" % name), "w") as f:
        f.write(p.stdout)
    if p.returncode != 0:
        with open(os.path.join(out, "stderr-%s.log" % name)) as f:
            err = f.read()
        sys.stdout.write("the %s run failed (exit %d) after %.0fs; its transcript:\n%s\nits stderr (last lines):\n%s\n"
                         % (name, p.returncode, elapsed, p.stdout, "\n".join(err.splitlines()[-40:])))
        return None, None, elapsed
    return p.stdout, dump_state(binary, home), elapsed


def mimic_json(binary, home, *args):
    p = subprocess.run([binary, "--home", home] + list(args) + ["-o", "json"], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("mimic %s: %s" % (" ".join(args), p.stderr.strip()))
    return json.loads(p.stdout) if p.stdout.strip() else None


def dump_state(binary, home):
    """Every group's resources and every role assignment, as mimic lists
    them, with principals named."""
    with open(os.path.join(home, "profile.json")) as f:
        profile = json.load(f)
    principals = {profile["operator"]["objectId"].lower(): "operator"}
    for ident in mimic_json(binary, home, "identity", "list") or []:
        principals[ident["principalId"].lower()] = "identity:" + ident["name"]
    groups = sorted(g["name"] for g in mimic_json(binary, home, "group", "list") or [])
    resources = {}
    for g in groups:
        items = []
        for r in mimic_json(binary, home, "resource", "list", "-g", g) or []:
            ident = r.get("identity") or {}
            if ident.get("principalId"):
                principals[ident["principalId"].lower()] = "system:" + r["name"]
            items.append(r)
        resources[g] = sorted(items, key=lambda r: (r.get("type", "").lower(), r.get("name", "").lower()))
    assignments = []
    for a in mimic_json(binary, home, "role", "assignment", "list", "--all") or []:
        assignments.append({
            "principal": principals.get((a.get("principalId") or "").lower(), a.get("principalId")),
            "principalType": a.get("principalType"),
            "role": a.get("roleDefinitionName"),
            "scope": a.get("scope"),
        })
    assignments.sort(key=lambda a: (a["scope"].lower(), a["role"] or "", a["principal"] or ""))
    return {"groups": groups, "resources": resources, "roleAssignments": assignments}


GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
HEX32 = re.compile(r"\b[0-9a-fA-F]{32,}\b")
ACCOUNT_KEY = re.compile(r"(AccountKey=)[^;\"\s]+")


def normalise(text):
    seen = {}

    def guid(m):
        k = m.group(0).lower()
        if k not in seen:
            seen[k] = "<guid-%d>" % (len(seen) + 1)
        return seen[k]

    text = ACCOUNT_KEY.sub(r"\1<secret>", text)
    text = TIME.sub("<time>", text)
    text = GUID.sub(guid, text)
    return HEX32.sub("<hex>", text)


def diff(a, b, name_a, name_b):
    return "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), name_a, name_b))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mimic", required=True, help="the mimic binary")
    ap.add_argument("--mimic-home", required=True, help="home of the running mimic for the run with mimic's commands")
    ap.add_argument("--az-home", help="home of another running mimic for the run with the real az")
    ap.add_argument("--out", help="where transcripts, states and logs go (default: a new temporary folder)")
    ap.add_argument("--update", action="store_true", help="rewrite expected.txt and expected-state.json from the mimic run")
    args = ap.parse_args()
    out = args.out or __import__("tempfile").mkdtemp(prefix="mimic-scenario-")
    os.makedirs(out, exist_ok=True)
    binary = os.path.abspath(args.mimic)

    runs = [("mimic", "mimic", args.mimic_home)]
    if args.az_home:
        if shutil.which("az") is None:
            fail_setup("--az-home given but there is no az on PATH")
        runs.append(("az", "az", args.az_home))
    results = {}
    ok = True
    for name, cli, home in runs:
        transcript, state, elapsed = run_scenario(name, cli, binary, home, out)
        print("%s run: %.1fs" % (name, elapsed))
        if transcript is None:
            ok = False
            continue
        norm = normalise(transcript)
        norm_state = normalise(json.dumps(state, indent=2, sort_keys=True)) + "\n"
        with open(os.path.join(out, "transcript-%s.norm.txt" % name), "w") as f:
            f.write(norm)
        with open(os.path.join(out, "state-%s.norm.json" % name), "w") as f:
            f.write(norm_state)
        results[name] = (norm, norm_state)
    if not ok:
        return 1

    if args.update:
        norm, norm_state = results["mimic"]
        with open(EXPECTED, "w") as f:
            f.write(norm)
        with open(EXPECTED_STATE, "w") as f:
            f.write(norm_state)
        print("wrote %s and %s" % (EXPECTED, EXPECTED_STATE))
    with open(EXPECTED) as f:
        expected = f.read()
    with open(EXPECTED_STATE) as f:
        expected_state = f.read()
    for name, (norm, norm_state) in results.items():
        for got, want, what, path in ((norm, expected, "transcript", EXPECTED), (norm_state, expected_state, "state", EXPECTED_STATE)):
            if got != want:
                ok = False
                print("the %s run's %s differs from %s:\n%s" % (name, what, os.path.basename(path), diff(want, got, "expected", name)))
    if "az" in results and results["az"] != results["mimic"]:
        ok = False
        for i, what in enumerate(("transcript", "state")):
            d = diff(results["mimic"][i], results["az"][i], "mimic", "az")
            if d:
                print("the %ss of the two runs differ:\n%s" % (what, d))
    print("%s (outputs in %s)" % ("the runs agree" if ok else "DIFFERENCES", out))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
