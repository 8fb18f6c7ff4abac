# Least privilege for the webhook receiver (webhooks/): read its endpoint secrets (servicenow_webhook_secret,
# jira_webhook_secret, generic_webhook_secret, slack_signing_secret) and their metadata (set dates for the
# expiry check) in one environment, nothing else: no vendor credential sits at this path. ${mount} and
# ${env} are filled in by resources/vault_setup.py (e.g. secret, prod). Rotation is an operator's token.
path "${mount}/data/integrations/${env}/webhooks" {
  capabilities = ["read"]
}

path "${mount}/metadata/integrations/${env}/webhooks" {
  capabilities = ["read"]
}
