"""Jira as a Dagster resource: settings from Vault (integrations/<env>/jira) over the spec's env vars."""

from __future__ import annotations

import os

from dagster import ConfigurableResource

from pipelines.common.http import RetryPolicy
from pipelines.jira import jira_source
from pipelines.jira.config import source_kwargs_from_env
from pipelines.jira.vault_tokens import VaultRefreshTokenStore
from resources.secrets import ENV_NAMES, SecretStore


class JiraResource(ConfigurableResource):
    """Builds Jira dlt sources. Holds no secret: only where to find them."""

    vault_prefix: str = "integrations/dev"
    backoff_base_seconds: float = 0.5

    def client(self):
        """A :class:`pipelines.jira.helpers.JiraClient` for writes (reverse sync), same settings as ``source``."""
        from pipelines.jira.context import JiraAuthSettings

        stored = SecretStore(self.vault_prefix).vendor("jira")
        kwargs = source_kwargs_from_env({**os.environ, **{ENV_NAMES["jira"][k]: v for k, v in stored.items() if v}})
        vault = os.environ.get("VAULT_ADDR", "").strip()
        store = VaultRefreshTokenStore(vault, os.environ.get("VAULT_TOKEN"), f"{self.vault_prefix}/jira",
                                       mount=os.environ.get("VAULT_KV_MOUNT") or "secret") if vault else None
        settings = JiraAuthSettings(
            base_url=kwargs["base_url"], mode=kwargs["auth_mode"], client_id=kwargs.get("client_id"),
            client_secret=kwargs.get("client_secret"), refresh_token=kwargs.get("refresh_token"), token_store=store,
            auth_url=kwargs.get("auth_url"), gateway_url=kwargs.get("gateway_url"), pat=kwargs.get("pat"),
            user_email=kwargs.get("user_email"), api_token=kwargs.get("api_token"))
        policy = RetryPolicy(backoff_base_seconds=self.backoff_base_seconds)
        return settings.connect(verify=kwargs["verify"], policy=policy)

    def source(self, *, run_id: str | None = None, window=None):
        """The Jira dlt source; ``window`` (start, end) re-reads one time window (a partition rerun)."""
        stored = SecretStore(self.vault_prefix).vendor("jira")
        environ = {**os.environ, **{ENV_NAMES["jira"][k]: v for k, v in stored.items() if v}}
        kwargs = source_kwargs_from_env(environ)
        if window is not None:
            kwargs["window"] = window
        vault = os.environ.get("VAULT_ADDR", "").strip()
        if vault and "token_store" not in kwargs:  # the rotated refresh token lives beside the other Jira secrets
            kwargs["token_store"] = VaultRefreshTokenStore(vault, os.environ.get("VAULT_TOKEN"),
                                                           f"{self.vault_prefix}/jira",
                                                           mount=os.environ.get("VAULT_KV_MOUNT") or "secret")
        return jira_source(**kwargs, run_id=run_id,
                           policy=RetryPolicy(backoff_base_seconds=self.backoff_base_seconds))
