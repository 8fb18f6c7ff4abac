"""The spec's Jira environment variables -> :func:`pipelines.jira.jira_source` arguments.

| variable | meaning |
|---|---|
| ``JIRA_BASE_URL`` | site URL, e.g. ``https://acme.atlassian.net`` (required; picks the OAuth site) |
| ``JIRA_AUTH_MODE`` | ``oauth`` (default) or ``pat`` |
| ``JIRA_OAUTH_CLIENT_ID`` / ``JIRA_OAUTH_CLIENT_SECRET`` | OAuth 2.0 (3LO) app |
| ``JIRA_OAUTH_REFRESH_TOKEN`` | bootstrap refresh token; after first use the rotated token lives in Vault
  (key ``refresh_token`` of ``integrations/<env>/jira`` when ``VAULT_ADDR`` is set, see
  :mod:`pipelines.jira.vault_tokens`) or else in ``$PROJECTX_DATA_DIR/secrets/jira-$PROJECTX_ENV.refresh_token``,
  and wins |
| ``JIRA_AUTH_URL`` | token host if not ``https://auth.atlassian.com`` (an emulator or proxy) |
| ``JIRA_GATEWAY_URL`` | API gateway if not ``https://api.atlassian.com``; defaults to ``JIRA_AUTH_URL`` when only
  that is set |
| ``JIRA_PAT`` | PAT mode: Bearer token (Data Center PAT); on a Jira Cloud site Basic with ``JIRA_USER_EMAIL`` |
| ``JIRA_USER_EMAIL`` + ``JIRA_API_TOKEN`` | PAT mode: Basic auth with a Jira Cloud API token |
| ``JIRA_PROJECT_KEYS`` | comma-separated project keys to sync (default: every visible project) |
| ``ENABLE_JIRA_DELTA_RECON`` | ``true``: run the deleted-issue id census |
| ``JIRA_ATTACHMENT_MAX_BYTES`` | largest attachment downloaded (default 5 MiB; 0 = metadata only) |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pipelines.common.concurrency import sync_concurrency
from pipelines.jira.settings import DEFAULT_CONCURRENCY, DEFAULT_MAX_ATTACHMENT_BYTES


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def source_kwargs_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Arguments for ``jira_source`` from the environment; ValueError names what is missing."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = (env.get(name) or "").strip()
        return value or None

    base_url = get("JIRA_BASE_URL")
    if not base_url:
        raise ValueError("JIRA_BASE_URL is not set: export the site URL, e.g. https://acme.atlassian.net")
    mode = (get("JIRA_AUTH_MODE") or "oauth").lower()
    kwargs: dict[str, Any] = {
        "base_url": base_url, "auth_mode": mode,
        "project_keys": [k.strip().upper() for k in (get("JIRA_PROJECT_KEYS") or "").split(",") if k.strip()],
        "reconcile_deletes": _flag(get("ENABLE_JIRA_DELTA_RECON")),
        "max_attachment_bytes": int(get("JIRA_ATTACHMENT_MAX_BYTES") or DEFAULT_MAX_ATTACHMENT_BYTES),
        "verify": get("REQUESTS_CA_BUNDLE") or True,
        "concurrency": sync_concurrency("jira", DEFAULT_CONCURRENCY, env),
    }
    if mode == "oauth":
        missing = [n for n in ("JIRA_OAUTH_CLIENT_ID", "JIRA_OAUTH_CLIENT_SECRET") if not get(n)]
        if missing:
            raise ValueError(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: export "
                             "the OAuth app's credentials, or set JIRA_AUTH_MODE=pat")
        kwargs.update(client_id=get("JIRA_OAUTH_CLIENT_ID"), client_secret=get("JIRA_OAUTH_CLIENT_SECRET"),
                      refresh_token=get("JIRA_OAUTH_REFRESH_TOKEN"), auth_url=get("JIRA_AUTH_URL"),
                      gateway_url=get("JIRA_GATEWAY_URL"))
    elif mode == "pat":
        if not get("JIRA_PAT") and not (get("JIRA_USER_EMAIL") and get("JIRA_API_TOKEN")):
            raise ValueError("JIRA_AUTH_MODE=pat needs JIRA_PAT (Bearer) or JIRA_USER_EMAIL + JIRA_API_TOKEN (Basic)")
        kwargs.update(pat=get("JIRA_PAT"), user_email=get("JIRA_USER_EMAIL"), api_token=get("JIRA_API_TOKEN"))
    else:
        raise ValueError(f"JIRA_AUTH_MODE={mode!r} is not supported: use 'oauth' or 'pat'")
    return kwargs
