"""OneTrust as a Dagster resource: credentials resolved at run time from Vault or env vars."""

from __future__ import annotations

import math
import os

from dagster import ConfigurableResource

from pipelines.common.concurrency import sync_concurrency
from pipelines.common.envvars import shown
from pipelines.common.http import RetryPolicy
from pipelines.onetrust import onetrust_source
from pipelines.onetrust.settings import (
    DEFAULT_DETAIL_WORKERS,
    DEFAULT_REGION,
    DEFAULT_TIMEOUT_SECONDS,
    WRITE_SCOPES_HINT,
)
from resources.secrets import SecretStore


class OneTrustResource(ConfigurableResource):
    """Builds OneTrust dlt sources. Holds no secret: only where to find them."""

    vault_prefix: str = "integrations/dev"
    ca_bundle: str = ""
    backoff_base_seconds: float = 0.5

    def client(self):
        """A :class:`pipelines.onetrust.helpers.OneTrustClient` for writes (reverse sync), same settings."""
        from pipelines.onetrust.helpers import OneTrustClient, resolve_base_url

        s = SecretStore(self.vault_prefix).vendor("onetrust")
        if not s["api_token"] and not (s["client_id"] and s["client_secret"]):
            raise ValueError(
                "OneTrust credentials are not set: ONETRUST_API_TOKEN, or ONETRUST_CLIENT_ID and "
                f"ONETRUST_CLIENT_SECRET (env, or Vault at {self.vault_prefix}/onetrust)"
            )
        return OneTrustClient(
            resolve_base_url(s["region"] or DEFAULT_REGION, s["base_url"]), api_token=s["api_token"],
            client_id=s["client_id"], client_secret=s["client_secret"],
            timeout_seconds=_timeout(s["timeout_seconds"]),
            verify=self.ca_bundle or os.environ.get("REQUESTS_CA_BUNDLE") or True,
            policy=RetryPolicy(backoff_base_seconds=self.backoff_base_seconds), scopes_hint=WRITE_SCOPES_HINT)

    def source(self, *, run_id: str | None = None, window=None):
        """The OneTrust dlt source; ``window`` (start, end) re-reads one time window (a partition rerun)."""
        s = SecretStore(self.vault_prefix).vendor("onetrust")
        if not s["api_token"] and not (s["client_id"] and s["client_secret"]):
            raise ValueError(
                "OneTrust credentials are not set: ONETRUST_API_TOKEN, or ONETRUST_CLIENT_ID and "
                f"ONETRUST_CLIENT_SECRET (env, or Vault at {self.vault_prefix}/onetrust)"
            )
        timeout = _timeout(s["timeout_seconds"])
        return onetrust_source(
            base_url=s["base_url"], region=s["region"] or DEFAULT_REGION, api_token=s["api_token"],
            client_id=s["client_id"], client_secret=s["client_secret"], timeout_seconds=timeout,
            verify=self.ca_bundle or os.environ.get("REQUESTS_CA_BUNDLE") or True, run_id=run_id,
            policy=RetryPolicy(backoff_base_seconds=self.backoff_base_seconds), window=window,
            detail_workers=sync_concurrency("onetrust", DEFAULT_DETAIL_WORKERS),
        )


def _timeout(raw: str | None) -> float:
    """``ONETRUST_TIMEOUT_SECONDS`` as seconds (default 30), or a ValueError naming the variable and the fix
    (for the reverse-sync client too, which read it with a bare ``float()``: "could not convert string ...")."""
    try:
        timeout = float(raw or DEFAULT_TIMEOUT_SECONDS)
    except ValueError:
        timeout = math.nan
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"ONETRUST_TIMEOUT_SECONDS={shown(raw or '')} is not a positive number of seconds: "
                         "set e.g. 30")
    return timeout
