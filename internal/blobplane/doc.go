// Package blobplane is Azure Blob storage's data plane,
// https://{account}.blob.core.windows.net, for the storage accounts ARM
// holds. Programs reach it through mimic's intercepting proxy with the
// real SDKs; requests carry the calling run in their context.
//
// # Operations
//
// Containers: Create (PUT ?restype=container, x-ms-meta-*), Delete (202),
// Get Properties and Get Metadata (GET or HEAD ?restype=container), Set
// Metadata, List Containers (GET /?comp=list with prefix, marker,
// maxresults and include=metadata). Blobs (block blobs only): Put Blob,
// Put Block (?comp=block&blockid=…), Put Block List (<Latest>,
// <Committed>, <Uncommitted>), Get Block List (blocklisttype committed,
// uncommitted, all), Get Blob with Range or x-ms-range (206 and
// Content-Range; 416 InvalidRange with Content-Range: bytes */size beyond
// the end, which Python's SDK relies on for empty blobs;
// x-ms-range-get-content-md5), Get Blob Properties (HEAD), Get and Set
// Blob Metadata, Set Blob Properties, Delete Blob (202), List Blobs (GET
// ?restype=container&comp=list with prefix, delimiter and BlobPrefix
// entries, maxresults, marker/NextMarker and include=metadata). A path
// with one segment and no restype is a blob of the $root container, as in
// Azure. Conditional headers (If-Match, If-None-Match, If-Modified-Since,
// If-Unmodified-Since) apply to reads (304, 412 ConditionNotMet) and
// writes (412; If-None-Match: * on an existing blob is 409
// BlobAlreadyExists). Other operations (leases, snapshots, copies, tags,
// tiers, page and append blobs, service properties, ACLs) answer 501
// NotImplemented with a message naming them, which no SDK retries.
//
// x-ms-version may be 2019-02-02 through 2026-12-06 (azblob for Go sends
// 2026-12-06, azure-storage-blob for Python 12.15 2021-12-02, for Node
// 12.32 2026-04-06); another value is 400 InvalidHeaderValue. Every
// answer carries x-ms-request-id and x-ms-version, and every error the
// x-ms-error-code header (HEAD answers have no body, and Node's SDK reads
// the code from the header) and Storage's body:
//
//	<?xml version="1.0" encoding="utf-8"?><Error><Code>ContainerNotFound</Code><Message>The specified container does not exist.
//	RequestId:…
//	Time:2026-11-23T10:00:00.0000000Z</Message></Error>
//
// A host whose account ARM does not hold gets 404 ResourceNotFound. (In
// Azure the name would not resolve at all; through the proxy it does, and
// Storage's answer for a resource that does not exist is the useful one.)
//
// # Authentication
//
//   - Bearer tokens from mimic's issuer for https://storage.azure.com
//     (with or without the trailing slash, or Storage's application id)
//     or for the account's own endpoint. A token needs x-ms-version
//     2017-11-09 or later (403 AuthenticationFailed "Authentication
//     scheme Bearer is not supported in this version." otherwise). A
//     missing, expired, forged or misaddressed token is 401
//     InvalidAuthenticationInfo with the challenge Storage sends,
//     exactly: WWW-Authenticate: Bearer
//     authorization_uri=https://login.microsoftonline.com/{tenant}/oauth2/authorize
//     resource_id=https://storage.azure.com (azblob for Go takes the
//     tenant from the authorization_uri's first path segment and panics
//     without one; Python requires both parameters).
//   - SharedKey with the account's keys (listKeys), verified as Storage
//     computes the string-to-sign (see sharedkey.go), with x-ms-date or
//     Date within 15 minutes. SharedKey bypasses RBAC, as in Azure; the
//     access log records it with the reason that the account key
//     authorized it. With allowSharedKeyAccess false it is 403
//     KeyBasedAuthenticationNotPermitted. A wrong signature is 403
//     AuthenticationFailed, whose AuthenticationErrorDetail shows the
//     string the server signed.
//   - Anonymous requests: mimic has no public containers (a container
//     created with x-ms-blob-public-access is 409
//     PublicAccessNotPermitted). From x-ms-version 2019-12-12 on, an
//     anonymous request is 401 NoAuthenticationInformation with the
//     challenge above, which SDKs answer by sending a token; before, 404
//     ResourceNotFound, as Storage hides private resources from older
//     clients (azure-sdk-for-net's DataLake tests expect exactly this
//     switch at 2019-12-12). Shared access signatures are refused with
//     403 AuthenticationFailed.
//
// # Authorization
//
// A bearer caller is authorized by the RBAC engine, with Azure's actions
// for each operation from "Permissions for Blob service operations"
// (https://learn.microsoft.com/rest/api/storageservices/authorize-with-azure-active-directory#permissions-for-blob-service-operations):
//
//	List Containers                 Microsoft.Storage/storageAccounts/blobServices/containers/read, at the account
//	Create Container, Set Metadata  …/blobServices/containers/write
//	Get Container Properties        …/blobServices/containers/read
//	Delete Container                …/blobServices/containers/delete
//	List Blobs                      …/containers/blobs/read, sub-operation Blob.List
//	Get Blob, Properties, Metadata, Get Block List   …/containers/blobs/read
//	Put Blob                        …/containers/blobs/write, or …/blobs/add/action to create a blob that does not exist
//	Put Block, Put Block List, Set Blob Metadata and Properties   …/containers/blobs/write
//	Delete Blob                     …/containers/blobs/delete
//
// The container operations' actions are control-plane Actions (Storage
// Blob Data Contributor lists them among its actions, not its data
// actions), so Owner and Contributor may create, list and delete
// containers with a token, as the table says; every blob operation needs a
// DataAction, which no control-plane role has: Owner at the subscription
// still gets 403 reading a blob. A refusal is 403
// AuthorizationPermissionMismatch "This request is not authorized to
// perform this operation using this permission." without
// WWW-Authenticate.
//
// Container and blob operations are decided at the container's scope,
// {account}/blobServices/default/containers/{name}, so role assignments on
// the account, its group or subscription, or the container itself, apply;
// List Containers at the account. Every blob data action carries the
// condition attributes @Resource[…/containers:name] and (except List
// Blobs, whose Azure attributes lack it) @Resource[…/containers/blobs:path],
// so role-assignment conditions on container names and blob paths are
// evaluated as in Azure ("Actions and attributes for Azure role assignment
// conditions for Azure Blob Storage").
//
// Every request to an existing account that gets as far as authentication
// (anything but a malformed one) is in the access log: caller, run and
// compute, action, scope, decision (the granting assignment, the reason
// for a refusal, or the account key for SharedKey) and status.
//
// # Storage
//
// Properties, metadata and committed block lists live in the store
// (store.BlobTx); content lives in files under Config.Dir (see files.go),
// streamed to and from disk: uploads are written to a temporary file while
// MD5 is computed, synced and renamed into place, then committed; reads
// stream from the file with ranged reads, except blobs up to 64 KiB, which
// are kept in memory once read. Containers and blobs are keyed by a digest
// of the account's ARM id and its creation time, so deleting an account
// makes its data unreachable at once and an account created again with the
// same name starts empty; Sweep removes the orphaned rows and files.
//
// # The read path
//
// Reads are answered without a store transaction when the blob's
// properties are cached: accounts are cached until the next ARM write
// (Config.Generation), blob properties until a write to the blob (and,
// with PostgreSQL, until another replica writes: the plane compares the
// store's blob revision on each request). Tokens are verified once and
// then found in the verifier's cache. Response headers are precomputed per
// blob. BenchmarkGetBlob1KiB measures the whole path over HTTPS.
package blobplane
