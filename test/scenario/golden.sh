# The golden scenario, in az syntax: one user-assigned identity for a small
# estate, granted least privilege at resource scope, attached to two VMs, a
# web app and a function app, federated to an AKS service account, used by
# each of them to read a secret, then detached, deleted, and its orphaned role
# assignments found and removed.
#
# run.py runs this file twice, against two fresh mimic servers: once with
# `az` meaning mimic's own commands (SCENARIO_CLI=mimic) and once with `az`
# meaning the real Azure CLI 2.45 (SCENARIO_CLI=az). Both runs must print the
# same transcript and leave the same state, apart from generated ids
# (expected.txt and expected-state.json hold both, normalised). Lines that
# start with `mimic` run mimic in both runs: they stand for what az 2.45 cannot
# do against mimic, and each says why. `x CMD` prints "$ CMD" and CMD's
# output; `xfail CODE CMD` expects CMD to fail with exit status CODE.

RG=rg-golden
LOC=westeurope
KV=kv-golden
STORE=stgolden
SECRET=db-password

step "0. The estate: a group, a Key Vault that uses Azure RBAC, the secret"
x az group create -n $RG -l $LOC
x az keyvault create -g $RG -n $KV --enable-rbac-authorization \
	--query "{name:name, rbac:properties.enableRbacAuthorization, uri:properties.vaultUri}"
KV_ID=$(az keyvault show -n $KV --query id -o tsv)
# The operator (a service principal, Owner of the subscription) needs a data
# role to write secrets: Owner cannot read or write a vault's data.
x az role assignment create --assignee "$AZURE_CLIENT_ID" --role "Key Vault Secrets Officer" --scope "$KV_ID" \
	--query "{role:roleDefinitionName || roleDefinitionId, scope:scope, principalType:principalType}"
# Debian's az 2.45 cannot run `az keyvault secret ...` at all (it lacks the
# track-1 azure-keyvault SDK those commands import), so both runs write the
# secret with mimic's equivalent command.
mimic keyvault secret set --vault-name $KV -n $SECRET --value "s3cr3t-from-golden" --query name -o tsv
x az storage account create -g $RG -n $STORE --sku Standard_LRS --query "{name:name, kind:kind, sku:sku.name}"
STORE_ID=$(az storage account show -g $RG -n $STORE --query id -o tsv)

step "1. An identity, with least-privilege roles at resource scope"
x az identity create -g $RG -n app-identity --query "{name:name, resourceGroup:resourceGroup, type:type}"
ID=$(az identity show -g $RG -n app-identity --query id -o tsv)
CLIENT_ID=$(az identity show -g $RG -n app-identity --query clientId -o tsv)
PRINCIPAL_ID=$(az identity show -g $RG -n app-identity --query principalId -o tsv)
x az role assignment create --assignee-object-id "$PRINCIPAL_ID" --assignee-principal-type ServicePrincipal \
	--role "Key Vault Secrets User" --scope "$KV_ID" \
	--query "{principalId:principalId, principalType:principalType, roleDefinitionId:roleDefinitionId, scope:scope}"
x az role assignment create --assignee "$CLIENT_ID" --role "Storage Blob Data Reader" --scope "$STORE_ID" \
	--query "{principalId:principalId, principalType:principalType, roleDefinitionId:roleDefinitionId, scope:scope}"
x az role assignment list --assignee "$CLIENT_ID" --all --query "sort_by(@, &roleDefinitionName)[].{role:roleDefinitionName, scope:scope}"

step "2. Attach it to two VMs, a web app (AZURE_CLIENT_ID in its settings) and a function app"
# az vm create deploys an ARM template (Microsoft.Resources/deployments),
# which mimic does not emulate: both runs create the VMs with mimic.
mimic vm create -g $RG -n vm-web-1 --image Ubuntu2204 --size Standard_B1s -o none
mimic vm create -g $RG -n vm-web-2 --image Ubuntu2204 --size Standard_B1s -o none
x az vm identity assign -g $RG -n vm-web-1 --identities "$ID"
x az vm identity assign -g $RG -n vm-web-2 --identities "$ID"
x az vm identity show -g $RG -n vm-web-2 --query "{type:type, identities:keys(userAssignedIdentities)}"
x az appservice plan create -g $RG -n plan-golden --is-linux --sku B1 --query "{name:name, kind:kind, reserved:reserved, sku:sku.name}"
x az webapp create -g $RG -n web-golden -p plan-golden -i nginx --query "{name:name, kind:kind, host:defaultHostName, state:state}"
x az webapp identity assign -g $RG -n web-golden --identities "$ID" --query "{type:type, identities:keys(userAssignedIdentities)}"
x az webapp config appsettings set -g $RG -n web-golden --settings AZURE_CLIENT_ID="$CLIENT_ID" \
	--query "[?name=='AZURE_CLIENT_ID'].{name:name, value:value, slotSetting:slotSetting}"
x az functionapp create -g $RG -n fn-golden -p plan-golden -s $STORE --runtime python --runtime-version 3.11 \
	--functions-version 4 --query "{name:name, kind:kind, host:defaultHostName}"
x az functionapp identity assign -g $RG -n fn-golden --identities "$ID" --query "{type:type, identities:keys(userAssignedIdentities)}"
x az functionapp config appsettings set -g $RG -n fn-golden --settings AZURE_CLIENT_ID="$CLIENT_ID" \
	--query "[?name=='AZURE_CLIENT_ID' || name=='FUNCTIONS_WORKER_RUNTIME'].{name:name, value:value}"

step "3. Federate it to an AKS service account"
x az aks create -g $RG -n aks-golden --node-count 1 --enable-managed-identity --enable-oidc-issuer --no-ssh-key \
	--query "{name:name, oidcIssuer:oidcIssuerProfile.enabled, provisioningState:provisioningState}"
# az 2.45 has no --enable-workload-identity (it came with the aks-preview
# extension, later in core az): both runs turn it on with mimic.
mimic aks update -g $RG -n aks-golden --enable-workload-identity -o none
ISSUER=$(az aks show -g $RG -n aks-golden --query oidcIssuerProfile.issuerUrl -o tsv)
x az identity federated-credential create --name aks-app --identity-name app-identity -g $RG \
	--issuer "$ISSUER" --subject system:serviceaccount:default:app --audiences api://AzureADTokenExchange \
	--query "{name:name, issuer:issuer, subject:subject, audiences:audiences}"
# kubectl apply -f sa.yaml, in a cluster mimic does not run: both runs apply
# the service account with mimic.
cat >"$WORK/sa.yaml" <<EOF
apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
  namespace: default
  annotations:
    azure.workload.identity/client-id: $CLIENT_ID
  labels:
    azure.workload.identity/use: "true"
EOF
mimic aks serviceaccount apply -g $RG --cluster aks-golden -f "$WORK/sa.yaml"

step "4. Each workload reads the secret with the identity"
# In the az run each workload signs in as its platform lets it and reads the
# secret with `az rest` (Debian's `az keyvault secret show` cannot run):
#   VM, web app, function app: az login --identity --username CLIENT_ID
#     (IMDS through mimic's proxy on a VM; MSI_ENDPOINT/MSI_SECRET on App Service)
#   AKS pod: az login --service-principal -u $AZURE_CLIENT_ID --tenant $AZURE_TENANT_ID
#     --federated-token "$(cat $AZURE_FEDERATED_TOKEN_FILE)"
# mimic's commands are an operator's client with no managed identity, so in
# the mimic run each workload reads it with the Azure SDK for Python
# (test/clients/python/probe.py, DefaultAzureCredential).
read_secret() { # COMPUTE [NAMESPACE/SERVICEACCOUNT]
	local flags=(--as "$1")
	[ -n "${2:-}" ] && flags+=(--service-account "$2")
	local url="https://$KV.vault.azure.net/secrets/$SECRET?api-version=7.4"
	if [ "$SCENARIO_CLI" = az ]; then
		local login='az login --identity --username "$0" -o none'
		[ -n "${2:-}" ] && login='az login --service-principal -u "$AZURE_CLIENT_ID" --tenant "$AZURE_TENANT_ID" --federated-token "$(cat "$AZURE_FEDERATED_TOKEN_FILE")" -o none'
		AZURE_CONFIG_DIR=$(fresh_az_config) mimic run "${flags[@]}" -- \
			sh -c "$login"' && az rest --method get --url "$1" --resource https://vault.azure.net --query value -o tsv' "$CLIENT_ID" "$url"
	else
		mimic run "${flags[@]}" -- /usr/bin/python3 "$PROBE" secret --vault "https://$KV.vault.azure.net" --name $SECRET --client-id "$CLIENT_ID" |
			/usr/bin/python3 -c 'import json, sys; r = json.load(sys.stdin); print(r["value"] if r.get("ok") else r)'
	fi
}
x read_secret vm-web-1
x read_secret vm-web-2
x read_secret web-golden
x read_secret fn-golden
x read_secret aks-golden default/app

step "5. Detach it everywhere, delete it, find and remove its orphaned role assignments"
x az vm identity remove -g $RG -n vm-web-1 --identities "$ID"
x az vm identity remove -g $RG -n vm-web-2 --identities "$ID"
x az webapp identity remove -g $RG -n web-golden --identities "$ID"
x az functionapp identity remove -g $RG -n fn-golden --identities "$ID"
x az identity delete -g $RG -n app-identity
xfail 3 az identity show -g $RG -n app-identity
# Its role assignments stay: their principal is gone (no principal name).
x az role assignment list --all \
	--query "sort_by([?principalId=='$PRINCIPAL_ID'], &roleDefinitionName)[].{role:roleDefinitionName, scope:scope, principalName:principalName}"
ORPHANS=$(az role assignment list --all --query "[?principalId=='$PRINCIPAL_ID'].id" -o tsv)
x az role assignment delete --ids $ORPHANS
x az role assignment list --all --query "length([?principalId=='$PRINCIPAL_ID'])"
