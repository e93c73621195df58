package store

// SecretTx holds Key Vault secrets. (Defined by the Key Vault data plane.)
type SecretTx interface{}
