"""ServiceNow as a Dagster resource: credentials resolved at run time from Vault or env vars."""

from __future__ import annotations

from dagster import ConfigurableResource

from pipelines.common.concurrency import sync_concurrency
from pipelines.common.http import RetryPolicy
from pipelines.servicenow import servicenow_source
from pipelines.servicenow.helpers import ServiceNowClient
from pipelines.servicenow.settings import DEFAULT_CONCURRENCY
from resources.secrets import SecretStore


class ServiceNowResource(ConfigurableResource):
    """Builds ServiceNow clients and dlt sources. Holds no secret: only where to find them."""

    vault_prefix: str = "integrations/dev"
    ca_bundle: str = ""  # a CA bundle path for TLS verification; empty = REQUESTS_CA_BUNDLE or system
    page_size: int = 1000
    backoff_base_seconds: float = 0.5  # first retry delay after a 5xx; doubles per attempt

    def _policy(self) -> RetryPolicy:
        return RetryPolicy(backoff_base_seconds=self.backoff_base_seconds)

    def _settings(self) -> dict:
        values = SecretStore(self.vault_prefix).vendor("servicenow")
        if not values["base_url"]:
            raise ValueError(
                "SERVICENOW_BASE_URL is not set (nor base_url in Vault at "
                f"{self.vault_prefix}/servicenow): point it at the instance or the sandbox"
            )
        return values

    def _verify(self) -> bool | str:
        import os

        return self.ca_bundle or os.environ.get("REQUESTS_CA_BUNDLE") or True

    def client(self) -> ServiceNowClient:
        s = self._settings()
        return ServiceNowClient(s["base_url"], s["client_id"] or "", s["client_secret"] or "",
                                s["username"], s["password"], verify=self._verify(), policy=self._policy())

    def source(self, *, run_id: str | None = None, tables=None, window=None):
        """The ServiceNow dlt source; ``window`` (start, end) re-reads one time window (a partition rerun)."""
        s = self._settings()
        kwargs = {"tables": tables} if tables else {}
        if window is not None:
            kwargs["window"] = window
        return servicenow_source(
            base_url=s["base_url"], client_id=s["client_id"] or "", client_secret=s["client_secret"] or "",
            username=s["username"], password=s["password"], verify=self._verify(),
            page_size=self.page_size, concurrency=sync_concurrency("servicenow", DEFAULT_CONCURRENCY),
            run_id=run_id, policy=self._policy(), **kwargs,
        )
