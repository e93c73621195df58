#!/usr/bin/python3
"""A tiny program that uses the real Azure SDK for Python as an ordinary
program would: no custom authority hosts, transports or cloud settings. The
environment decides everything (mimic run, or `eval "$(mimic env)"`).

Run it with Debian's /usr/bin/python3, which is the only python that can import
python3-azure (azure-identity 1.13.0b2, msal 1.21, azure-keyvault-secrets
4.7.0b1, azure-storage-blob 12.15.0b1, azure-mgmt-resource 22.0.0).

    probe.py token  [--credential C] [--client-id ID] [--scope SCOPE]
    probe.py groups --subscription SUB [--credential C] [--client-id ID]
    probe.py secret --vault https://NAME.vault.azure.net --name N [--credential C] [--client-id ID]
    probe.py blob   --account https://NAME.blob.core.windows.net --container C --blob B [--credential C] [--client-id ID]

C is default (DefaultAzureCredential, the default), managed
(ManagedIdentityCredential), workload (WorkloadIdentityCredential) or
environment (EnvironmentCredential). It prints one line of JSON on stdout and
exits 0, whether the SDK succeeded or not; 2 on a usage error; 3 when the
Azure SDK cannot be imported. MIMIC_PROBE_DEBUG=1 logs the SDK's HTTP traffic
on stderr.
"""

import json
import os
import sys

USAGE = """usage:
  probe.py token  [--credential default|managed|workload|environment] [--client-id ID] [--scope SCOPE]
  probe.py groups --subscription SUB [--credential C] [--client-id ID]
  probe.py secret --vault https://NAME.vault.azure.net --name N [--credential C] [--client-id ID]
  probe.py blob   --account https://NAME.blob.core.windows.net --container C --blob B [--credential C] [--client-id ID]
prints one line of JSON on stdout; exit 0 whether or not the SDK succeeded, 2 on usage errors"""

CREDENTIALS = ("default", "managed", "workload", "environment")
COMMON = ("credential", "client-id")
COMMANDS = {
    # command: (required flags, optional flags)
    "token": ((), COMMON + ("scope",)),
    "groups": (("subscription",), COMMON),
    "secret": (("vault", "name"), COMMON),
    "blob": (("account", "container", "blob"), COMMON),
}
ARM_SCOPE = "https://management.azure.com/.default"


def usage_error(message):
    if message:
        sys.stderr.write("probe.py: %s\n" % message)
    sys.stderr.write(USAGE + "\n")
    sys.exit(2)


def parse_args(argv):
    if not argv or argv[0] in ("-h", "--help", "help"):
        usage_error(None)
    command = argv[0]
    if command not in COMMANDS:
        usage_error("unknown command %r" % command)
    required, optional = COMMANDS[command]
    opts = {}
    rest = argv[1:]
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg in ("-h", "--help"):
            usage_error(None)
        if not arg.startswith("--"):
            usage_error("unexpected argument %r" % arg)
        name, sep, value = arg[2:].partition("=")
        if name not in required and name not in optional:
            usage_error("%s does not take --%s" % (command, name))
        if not sep:
            i += 1
            if i >= len(rest):
                usage_error("--%s needs a value" % name)
            value = rest[i]
        if value == "":
            usage_error("--%s needs a non-empty value" % name)
        if name in opts:
            usage_error("--%s given twice" % name)
        opts[name] = value
        i += 1
    for name in required:
        if name not in opts:
            usage_error("%s needs --%s" % (command, name))
    opts.setdefault("credential", "default")
    if opts["credential"] not in CREDENTIALS:
        usage_error("--credential must be one of %s" % ", ".join(CREDENTIALS))
    if opts["credential"] == "environment" and "client-id" in opts:
        usage_error("--client-id does not apply to --credential environment (EnvironmentCredential reads AZURE_CLIENT_ID)")
    return command, opts


def import_sdk():
    """Refuse to start, clearly, under a python that lacks the Azure SDK."""
    try:
        import azure.core  # noqa: F401
        import azure.identity  # noqa: F401
        import azure.keyvault.secrets  # noqa: F401
        import azure.storage.blob  # noqa: F401
        import azure.mgmt.resource  # noqa: F401
    except ImportError as e:
        sys.stderr.write(
            "probe.py: cannot import the Azure SDK for Python with %s (%s).\n"
            "Run this probe with /usr/bin/python3 after `apt-get install python3-azure` (Debian's packages);\n"
            "other pythons on PATH do not see them.\n" % (sys.executable, e)
        )
        sys.exit(3)


def make_credential(kind, client_id):
    import azure.identity as identity

    if kind == "default":
        if client_id:
            return identity.DefaultAzureCredential(managed_identity_client_id=client_id)
        return identity.DefaultAzureCredential()
    if kind == "managed":
        if client_id:
            return identity.ManagedIdentityCredential(client_id=client_id)
        return identity.ManagedIdentityCredential()
    if kind == "environment":
        return identity.EnvironmentCredential()
    # workload
    cls = getattr(identity, "WorkloadIdentityCredential", None)
    if cls is not None:
        if client_id:
            return cls(client_id=client_id)
        return cls()
    # azure-identity 1.13.0b2 (Debian bookworm) has no WorkloadIdentityCredential.
    # 1.13.0 defines it as a ClientAssertionCredential whose assertion is the
    # file AZURE_FEDERATED_TOKEN_FILE; build exactly that from the public API.
    # The authority comes from AZURE_AUTHORITY_HOST, as in every credential.
    sys.stderr.write("probe.py: azure-identity %s has no WorkloadIdentityCredential; "
                     "using ClientAssertionCredential with AZURE_FEDERATED_TOKEN_FILE, as 1.13.0 does\n"
                     % identity.__version__)
    tenant_id = os.environ.get("AZURE_TENANT_ID")
    client_id = client_id or os.environ.get("AZURE_CLIENT_ID")
    token_file = os.environ.get("AZURE_FEDERATED_TOKEN_FILE")
    missing = [n for n, v in (("AZURE_TENANT_ID", tenant_id), ("AZURE_CLIENT_ID", client_id),
                              ("AZURE_FEDERATED_TOKEN_FILE", token_file)) if not v]
    if missing:
        raise identity.CredentialUnavailableError(
            message="WorkloadIdentityCredential authentication unavailable. Missing: %s" % ", ".join(missing))

    def read_assertion():
        with open(token_file) as f:
            return f.read()

    return identity.ClientAssertionCredential(tenant_id, client_id, read_assertion)


def describe_error(e):
    """The exception's class, message, and the HTTP status and service error
    code when the SDK exposes them (HttpResponseError and its subclasses)."""
    out = {"ok": False, "errorType": type(e).__name__, "error": str(e)}
    status = getattr(e, "status_code", None)
    if isinstance(status, int):
        out["status"] = status
    code = None
    inner = None
    odata = getattr(e, "error", None)  # azure.core ODataV4Format: ARM and Key Vault JSON bodies
    if odata is not None and getattr(odata, "code", None):
        code = odata.code
        innererror = getattr(odata, "innererror", None)
        if isinstance(innererror, dict):
            inner = innererror.get("code")
    if code is None:
        code = getattr(e, "error_code", None)  # azure.storage: x-ms-error-code or the XML <Code>
    if code is None:
        response = getattr(e, "response", None)
        try:
            body = json.loads(response.text()) if response is not None else None
            err = body.get("error") if isinstance(body, dict) else None
            if isinstance(err, dict):
                code = err.get("code")
                if isinstance(err.get("innererror"), dict):
                    inner = err["innererror"].get("code")
        except Exception:  # pylint: disable=broad-except
            pass
    if code is not None:
        out["errorCode"] = str(getattr(code, "value", code))
    if inner:
        out["innerErrorCode"] = str(inner)
    return out


def run(command, opts):
    credential = make_credential(opts["credential"], opts.get("client-id"))
    if command == "token":
        token = credential.get_token(opts.get("scope", ARM_SCOPE))
        return {"ok": True, "token": token.token, "expiresOn": int(token.expires_on)}
    if command == "groups":
        from azure.mgmt.resource import ResourceManagementClient

        client = ResourceManagementClient(credential, opts["subscription"])
        return {"ok": True, "groups": [g.name for g in client.resource_groups.list()]}
    if command == "secret":
        from azure.keyvault.secrets import SecretClient

        client = SecretClient(vault_url=opts["vault"], credential=credential)
        return {"ok": True, "value": client.get_secret(opts["name"]).value}
    if command == "blob":
        from azure.storage.blob import BlobServiceClient

        service = BlobServiceClient(account_url=opts["account"], credential=credential)
        data = service.get_blob_client(opts["container"], opts["blob"]).download_blob().readall()
        return {"ok": True, "content": data.decode("utf-8", errors="replace")}
    raise AssertionError(command)


def main(argv):
    command, opts = parse_args(argv)
    import_sdk()
    if os.environ.get("MIMIC_PROBE_DEBUG"):
        import logging

        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,
                            format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        result = run(command, opts)
    except Exception as e:  # pylint: disable=broad-except
        result = describe_error(e)
    sys.stdout.write(json.dumps(result, separators=(",", ":")) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
