#!/usr/bin/env node
// A tiny program that uses the real Azure SDK for JavaScript as an ordinary
// program would: no custom authority hosts, transports or cloud settings. The
// environment decides everything (mimic run, or `eval "$(mimic env)"`).
// Versions are pinned by package-lock.json (`npm ci` in this directory):
// @azure/identity 4.13.1, @azure/keyvault-secrets 4.11.2, @azure/storage-blob 12.32.0.
//
//   node probe.js token  [--credential C] [--client-id ID] [--scope SCOPE]
//   node probe.js groups --subscription SUB [--credential C] [--client-id ID]
//   node probe.js secret --vault https://NAME.vault.azure.net --name N [--credential C] [--client-id ID]
//   node probe.js blob   --account https://NAME.blob.core.windows.net --container C --blob B [--credential C] [--client-id ID]
//
// C is default (DefaultAzureCredential, the default), managed
// (ManagedIdentityCredential), workload (WorkloadIdentityCredential) or
// environment (EnvironmentCredential). It prints one line of JSON on stdout and
// exits 0, whether the SDK succeeded or not; 2 on a usage error; 3 when the
// SDK is not installed. MIMIC_PROBE_DEBUG=1 (or the SDK's own
// AZURE_LOG_LEVEL=verbose) logs the SDK's traffic on stderr.
//
// `groups` sends a plain GET with the credential's token through
// @azure/core-rest-pipeline, the HTTP layer every Azure SDK client uses: Node
// 20's global fetch ignores HTTPS_PROXY, so it could never reach mimic's proxy.
"use strict";

const USAGE = `usage:
  probe.js token  [--credential default|managed|workload|environment] [--client-id ID] [--scope SCOPE]
  probe.js groups --subscription SUB [--credential C] [--client-id ID]
  probe.js secret --vault https://NAME.vault.azure.net --name N [--credential C] [--client-id ID]
  probe.js blob   --account https://NAME.blob.core.windows.net --container C --blob B [--credential C] [--client-id ID]
prints one line of JSON on stdout; exit 0 whether or not the SDK succeeded, 2 on usage errors`;

const CREDENTIALS = ["default", "managed", "workload", "environment"];
const COMMON = ["credential", "client-id"];
const COMMANDS = {
  // command: [required flags, optional flags]
  token: [[], [...COMMON, "scope"]],
  groups: [["subscription"], COMMON],
  secret: [["vault", "name"], COMMON],
  blob: [["account", "container", "blob"], COMMON],
};
const ARM_SCOPE = "https://management.azure.com/.default";
const ARM_ENDPOINT = "https://management.azure.com";

function usageError(message) {
  if (message) process.stderr.write(`probe.js: ${message}\n`);
  process.stderr.write(USAGE + "\n");
  process.exit(2);
}

function parseArgs(argv) {
  if (argv.length === 0 || ["-h", "--help", "help"].includes(argv[0])) usageError();
  const command = argv[0];
  if (!Object.prototype.hasOwnProperty.call(COMMANDS, command)) usageError(`unknown command ${JSON.stringify(command)}`);
  const [required, optional] = COMMANDS[command];
  const opts = {};
  const rest = argv.slice(1);
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === "-h" || arg === "--help") usageError();
    if (!arg.startsWith("--")) usageError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let value;
    if (!required.includes(name) && !optional.includes(name)) usageError(`${command} does not take --${name}`);
    if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      i++;
      if (i >= rest.length) usageError(`--${name} needs a value`);
      value = rest[i];
    }
    if (value === "") usageError(`--${name} needs a non-empty value`);
    if (Object.prototype.hasOwnProperty.call(opts, name)) usageError(`--${name} given twice`);
    opts[name] = value;
  }
  for (const name of required) {
    if (!Object.prototype.hasOwnProperty.call(opts, name)) usageError(`${command} needs --${name}`);
  }
  if (opts.credential === undefined) opts.credential = "default";
  if (!CREDENTIALS.includes(opts.credential)) usageError(`--credential must be one of ${CREDENTIALS.join(", ")}`);
  if (opts.credential === "environment" && opts["client-id"] !== undefined) {
    usageError("--client-id does not apply to --credential environment (EnvironmentCredential reads AZURE_CLIENT_ID)");
  }
  return [command, opts];
}

// Refuse to start, clearly, when `npm ci` has not been run here.
function loadSdk() {
  try {
    return {
      identity: require("@azure/identity"),
      pipeline: require("@azure/core-rest-pipeline"),
      secrets: require("@azure/keyvault-secrets"),
      blob: require("@azure/storage-blob"),
    };
  } catch (e) {
    process.stderr.write(
      `probe.js: cannot load the Azure SDK for JavaScript (${e.message.split("\n")[0]}).\n` +
        `Run \`npm ci\` in ${__dirname} first.\n`,
    );
    process.exit(3);
  }
}

function makeCredential(identity, kind, clientId) {
  switch (kind) {
    case "default":
      return clientId
        ? new identity.DefaultAzureCredential({ managedIdentityClientId: clientId })
        : new identity.DefaultAzureCredential();
    case "managed":
      return clientId ? new identity.ManagedIdentityCredential({ clientId }) : new identity.ManagedIdentityCredential();
    case "workload":
      return clientId ? new identity.WorkloadIdentityCredential({ clientId }) : new identity.WorkloadIdentityCredential();
    case "environment":
      return new identity.EnvironmentCredential();
  }
  throw new Error(`unknown credential ${kind}`);
}

function errorName(e) {
  if (e && typeof e === "object") {
    // Azure SDK errors set name to their class name (CredentialUnavailableError, RestError, …).
    if (typeof e.name === "string" && e.name && e.name !== "Error") return e.name;
    if (e.constructor && e.constructor.name) return e.constructor.name;
  }
  return typeof e;
}

function describeError(e) {
  const out = { ok: false, errorType: errorName(e), error: e && e.message !== undefined ? String(e.message) : String(e) };
  if (e && typeof e === "object") {
    if (Number.isInteger(e.statusCode)) out.status = e.statusCode;
    if (typeof e.code === "string" && e.code) out.errorCode = e.code;
    // Storage: a HEAD (downloadToBuffer starts with getProperties) has no body;
    // the code is then only in the x-ms-error-code header, which lands in details.
    if (!out.errorCode && e.details && typeof e.details.errorCode === "string") out.errorCode = e.details.errorCode;
    // Key Vault and ARM bodies: {"error":{"code","message","innererror":{"code"}}}
    const body = e.details || (e.response && e.response.parsedBody);
    const err = body && typeof body === "object" ? body.error || body : undefined;
    if (err && typeof err === "object") {
      if (!out.errorCode && typeof err.code === "string") out.errorCode = err.code;
      const inner = err.innererror || err.innerError;
      if (inner && typeof inner.code === "string") out.innerErrorCode = inner.code;
    }
  }
  if (!out.error && out.status) out.error = `HTTP ${out.status}${out.errorCode ? " " + out.errorCode : ""} (the SDK gave no message)`;
  return out;
}

// GET an ARM collection with the credential's token, following nextLink.
async function armList(sdk, credential, url) {
  const { createPipelineFromOptions, createDefaultHttpClient, createPipelineRequest, RestError } = sdk.pipeline;
  const token = await credential.getToken(ARM_SCOPE);
  const pipeline = createPipelineFromOptions({});
  const client = createDefaultHttpClient();
  const items = [];
  while (url) {
    const request = createPipelineRequest({ url, method: "GET" });
    request.headers.set("Authorization", `Bearer ${token.token}`);
    request.headers.set("Accept", "application/json");
    const response = await pipeline.sendRequest(client, request);
    let body;
    try {
      body = response.bodyAsText ? JSON.parse(response.bodyAsText) : undefined;
    } catch {
      body = undefined;
    }
    if (response.status < 200 || response.status > 299) {
      const err = body && body.error && typeof body.error === "object" ? body.error : {};
      const message = err.message || `GET ${url} answered ${response.status}: ${(response.bodyAsText || "").slice(0, 500)}`;
      throw new RestError(message, { code: err.code, statusCode: response.status, request, response });
    }
    if (!body || !Array.isArray(body.value)) {
      throw new RestError(`GET ${url} answered ${response.status} without a "value" array`, {
        statusCode: response.status,
        request,
        response,
      });
    }
    items.push(...body.value);
    url = body.nextLink;
  }
  return items;
}

async function run(sdk, command, opts) {
  const credential = makeCredential(sdk.identity, opts.credential, opts["client-id"]);
  switch (command) {
    case "token": {
      const token = await credential.getToken(opts.scope || ARM_SCOPE);
      if (!token) throw new Error("getToken returned null");
      return { ok: true, token: token.token, expiresOn: Math.floor(token.expiresOnTimestamp / 1000) };
    }
    case "groups": {
      const url = `${ARM_ENDPOINT}/subscriptions/${encodeURIComponent(opts.subscription)}/resourcegroups?api-version=2021-04-01`;
      const groups = await armList(sdk, credential, url);
      return { ok: true, groups: groups.map((g) => g.name) };
    }
    case "secret": {
      const client = new sdk.secrets.SecretClient(opts.vault, credential);
      const secret = await client.getSecret(opts.name);
      return { ok: true, value: secret.value };
    }
    case "blob": {
      const service = new sdk.blob.BlobServiceClient(opts.account, credential);
      const data = await service.getContainerClient(opts.container).getBlobClient(opts.blob).downloadToBuffer();
      return { ok: true, content: data.toString("utf8") };
    }
  }
  throw new Error(`unknown command ${command}`);
}

async function main() {
  const [command, opts] = parseArgs(process.argv.slice(2));
  if (process.env.MIMIC_PROBE_DEBUG && !process.env.AZURE_LOG_LEVEL) {
    process.env.AZURE_LOG_LEVEL = "verbose"; // read by @azure/logger when it loads
  }
  const sdk = loadSdk();
  let result;
  try {
    result = await run(sdk, command, opts);
  } catch (e) {
    result = describeError(e);
  }
  // Exit at once: the SDK may hold keep-alive sockets or timers open.
  process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0));
}

main().catch((e) => {
  process.stderr.write(`probe.js: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
