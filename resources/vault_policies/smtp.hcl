# Least privilege for the e-mail sender's workers (SMTP relay credentials, resources/email.py, Vault path
# integrations/<env>/smtp): read its own secrets and their metadata (set dates for the expiry check) in one
# environment, nothing else. ${mount} and ${env} are filled in by
# resources/vault_setup.py (e.g. secret, prod). Rotation is an operator's token, not this one.
path "${mount}/data/integrations/${env}/smtp" {
  capabilities = ["read"]
}

path "${mount}/metadata/integrations/${env}/smtp" {
  capabilities = ["read"]
}
