# Least privilege for the email connector's workers: read its own secrets and their metadata (set dates for
# the expiry check) in one environment, nothing else. ${mount} and ${env} are filled in by
# resources/vault_setup.py (e.g. secret, prod). Rotation is an operator's token, not this one.
path "${mount}/data/integrations/${env}/email" {
  capabilities = ["read"]
}

path "${mount}/metadata/integrations/${env}/email" {
  capabilities = ["read"]
}
