"""Jira as a Dagster resource: settings from Vault (integrations/<env>/jira) over the spec's env vars."""

from __future__ import annotations

import os

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

    def client(self):
        """A :class:`pipelines.jira.helpers.JiraClient` for writes (reverse sync), same settings as ``source``."""
        from pipelines.jira.context import JiraAuthSettings

        store = SecretStore(self.vault_prefix)
        secret_names = {ENV_NAMES["jira"][k] for k in SECRET_KEYS if k in ENV_NAMES["jira"]}
        base = {k: v for k, v in os.environ.items() if not (store.strict and k in secret_names)}  # as source()
        kwargs = source_kwargs_from_env({**base, **{ENV_NAMES["jira"][k]: v for k, v in store.vendor("jira").items()
                                                    if v}})
        vault = os.environ.get("VAULT_ADDR", "").strip()
        tokens = VaultRefreshTokenStore(vault, store.client("jira").token, f"{self.vault_prefix}/jira",
                                        mount=os.environ.get("VAULT_KV_MOUNT") or "secret") if vault else None
        settings = JiraAuthSettings(
            base_url=kwargs["base_url"], mode=kwargs["auth_mode"], client_id=kwargs.get("client_id"),
            client_secret=kwargs.get("client_secret"), refresh_token=kwargs.get("refresh_token"), token_store=tokens,
            auth_url=kwargs.get("auth_url"), gateway_url=kwargs.get("gateway_url"), pat=kwargs.get("pat"),
            user_email=kwargs.get("user_email"), api_token=kwargs.get("api_token"))
        policy = RetryPolicy(backoff_base_seconds=self.backoff_base_seconds)
        return settings.connect(verify=kwargs["verify"], policy=policy)

    def source(self, *, run_id: str | None = None, window=None):
        """The Jira dlt source; ``window`` (start, end) re-reads one time window (a partition rerun)."""
        store = SecretStore(self.vault_prefix)
        stored = store.vendor("jira")
        secret_names = {ENV_NAMES["jira"][k] for k in SECRET_KEYS if k in ENV_NAMES["jira"]}
        base = {k: v for k, v in os.environ.items() if not (store.strict and k in secret_names)}  # stg/prod: Vault only
        environ = {**base, **{ENV_NAMES["jira"][k]: v for k, v in stored.items() if v}}
        pilot = flag("jira").pilot.get("jira_project_keys")
        if pilot and not environ.get("JIRA_PROJECT_KEYS"):  # a pilot rollout syncs only the pilot teams' projects
            environ["JIRA_PROJECT_KEYS"] = ",".join(pilot)
        kwargs = source_kwargs_from_env(environ)
        if window is not None:
            kwargs["window"] = window
        vault = os.environ.get("VAULT_ADDR", "").strip()
        if vault and "token_store" not in kwargs:  # the rotated refresh token lives beside the other Jira secrets
            token = SecretStore(self.vault_prefix).client("jira").token  # the jira AppRole's, else VAULT_TOKEN
            kwargs["token_store"] = VaultRefreshTokenStore(vault, token,
                                                           f"{self.vault_prefix}/jira",
                                                           mount=os.environ.get("VAULT_KV_MOUNT") or "secret")
        return jira_source(**kwargs, run_id=run_id,
                           policy=RetryPolicy(backoff_base_seconds=self.backoff_base_seconds))
