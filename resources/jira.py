"""Jira as a Dagster resource: settings from Vault (integrations/<env>/jira) over the spec's env vars."""

from __future__ import annotations

import logging
import os
import threading
import time

from dagster import ConfigurableResource

from pipelines.common.http import RetryPolicy
from pipelines.jira import jira_source
from pipelines.jira.config import source_kwargs_from_env
from pipelines.jira.vault_tokens import VaultRefreshTokenStore
from resources.flags import flag
from resources.secrets import ENV_NAMES, SECRET_KEYS, SecretStore


class JiraResource(ConfigurableResource):
    """Builds Jira dlt sources. Holds no secret: only where to find them."""

    vault_prefix: str = "integrations/dev"
    backoff_base_seconds: float = 0.5

    def source(self, *, run_id: str | None = None, window=None, census: bool = False):
        """The Jira dlt source; ``window`` (start, end) re-reads one time window (a partition rerun).

        The deleted-issue census (``ENABLE_JIRA_DELTA_RECON``) runs only where ``census`` is asked
        for: the nightly reconciliation job, which declares its ``jira/issue_deletions`` asset."""
        kwargs = self._kwargs()
        kwargs["reconcile_deletes"] = bool(census and kwargs.get("reconcile_deletes"))
        if window is not None:
            kwargs["window"] = window
        return jira_source(**kwargs, run_id=run_id,
                           policy=RetryPolicy(backoff_base_seconds=self.backoff_base_seconds))

    def census_enabled(self) -> bool:
        """Whether ENABLE_JIRA_DELTA_RECON (env or Vault) turns the deleted-issue census on."""
        return bool(self._kwargs().get("reconcile_deletes"))

    def context(self):
        """A Jira client context (client, field map, projects in scope) outside a dlt source."""
        from pipelines.jira.context import JiraContext

        k = self._kwargs()
        return JiraContext(lambda: self._connect(k), k.get("project_keys") or ())

    def client(self):
        """A :class:`pipelines.jira.helpers.JiraClient` for writes (reverse sync), same settings as ``source``."""
        return self._connect(self._kwargs())

    def _connect(self, k: dict):
        from pipelines.jira.context import JiraAuthSettings

        settings = JiraAuthSettings(**{f: k.get(f) for f in (
            "base_url", "client_id", "client_secret", "refresh_token", "token_store", "auth_url",
            "gateway_url", "pat", "user_email", "api_token")}, mode=k["auth_mode"])
        return settings.connect(verify=k.get("verify", True),
                                policy=RetryPolicy(backoff_base_seconds=self.backoff_base_seconds))

    def _kwargs(self) -> dict:
        """Arguments for ``jira_source`` from Vault and the environment (no window, no run id)."""
        store = SecretStore(self.vault_prefix)
        stored = store.vendor("jira")
        secret_names = {ENV_NAMES["jira"][k] for k in SECRET_KEYS if k in ENV_NAMES["jira"]}
        base = {k: v for k, v in os.environ.items() if not (store.strict and k in secret_names)}  # stg/prod: Vault only
        environ = {**base, **{ENV_NAMES["jira"][k]: v for k, v in stored.items() if v}}
        pilot = flag("jira").pilot.get("jira_project_keys")
        if pilot and not environ.get("JIRA_PROJECT_KEYS"):  # a pilot rollout syncs only the pilot teams' projects
            environ["JIRA_PROJECT_KEYS"] = ",".join(pilot)
        kwargs = source_kwargs_from_env(environ)
        vault = os.environ.get("VAULT_ADDR", "").strip()
        if vault and "token_store" not in kwargs:  # the rotated refresh token lives beside the other Jira secrets
            # no fixed token: the store logs in with the jira AppRole (else VAULT_TOKEN), and again if revoked
            kwargs["token_store"] = VaultRefreshTokenStore(vault, None, f"{self.vault_prefix}/jira",
                                                          mount=os.environ.get("VAULT_KV_MOUNT") or "secret")
        return kwargs


log = logging.getLogger(__name__)
ACCOUNT_SECONDS, ACCOUNT_RETRY_SECONDS = 3600.0, 300.0
_ACCOUNT: dict[str, tuple[float, str | None]] = {}  # vault prefix -> (when asked, accountId or None)
_ACCOUNT_LOCK = threading.Lock()


def integration_account_id(clock=time.monotonic) -> str | None:
    """The accountId Project X writes to Jira as (``GET /rest/api/3/myself``), asked at most once an hour per
    process (every 5 minutes after a failure); None when Jira cannot be asked, and then no event is taken for
    an echo of our own write (the webhook inbox's Jira handler, ``webhooks.handlers``)."""
    from resources.environment import current_environment

    prefix = current_environment().vault_prefix
    with _ACCOUNT_LOCK:
        hit = _ACCOUNT.get(prefix)
        if hit is not None and clock() - hit[0] < (ACCOUNT_SECONDS if hit[1] else ACCOUNT_RETRY_SECONDS):
            return hit[1]
    try:  # outside the lock: a slow Jira holds up this look-up only
        client = JiraResource(vault_prefix=prefix).client()
        try:
            me = client.get("rest/api/3/myself")
        finally:
            getattr(client, "close", lambda: None)()
        account = me.get("accountId") if isinstance(me, dict) else None
        account = account if isinstance(account, str) and account.strip() else None
    except Exception as exc:  # an echo let through costs one sync; a failed look-up must cost nothing more
        log.warning("Jira: could not ask which account Project X writes as (%s); Jira webhook events are "
                    "not checked for echoes of our own writes until it answers", type(exc).__name__)
        account = None
    with _ACCOUNT_LOCK:
        _ACCOUNT[prefix] = (clock(), account)
    return account
