# Least privilege for the jira connector's workers: read its own secrets and their metadata, and write
# back the OAuth refresh token Jira rotates on every use (check-and-set, pipelines/jira/vault_tokens.py),
# in one environment, nothing else. ${mount} and ${env} are filled in by resources/vault_setup.py.
path "${mount}/data/integrations/${env}/jira" {
  capabilities = ["read", "create", "update", "patch"]
}

path "${mount}/metadata/integrations/${env}/jira" {
  capabilities = ["read"]
}
