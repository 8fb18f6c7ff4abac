# Feature flags (integration.<name>.enabled) are configuration, not secrets: every connector's role may
# read them, nobody but an operator writes them. ${mount} and ${env} are filled in by resources/vault_setup.py.
path "${mount}/data/integrations/${env}/flags" {
  capabilities = ["read"]
}
