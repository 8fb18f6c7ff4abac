"""The three reverse-sync targets by name, for the CLI and tests: outbound mart, key, writer.

``sync_vendor("jira", conn, config)`` runs one vendor's reverse sync outside Dagster, with the same
engine, resources (Vault, then the spec's environment variables) and tables as the asset.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from resources.warehouse import Connection

from .assetkit import outbound_rows
from .engine import MassChangeBlocked, ReverseSync, SyncConfig, SyncReport

TARGETS = {
    "servicenow": ("servicenow_remediation_tasks", "remediation_task_id"),
    "jira": ("jira_remediation_issues", "remediation_task_id"),
    "onetrust": ("onetrust_control_attestations", "attestation_id"),
}


@contextmanager
def writer_for(vendor: str, vault_prefix: str = "integrations/dev", backoff_base_seconds: float = 0.5
               ) -> Iterator[Any]:
    if vendor == "servicenow":
        from resources.servicenow import ServiceNowResource

        from .servicenow import ServiceNowTaskWriter, remediation_table

        client = ServiceNowResource(vault_prefix=vault_prefix, backoff_base_seconds=backoff_base_seconds).client()
        writer: Any = ServiceNowTaskWriter(client, remediation_table())
    elif vendor == "jira":
        from resources.jira import JiraResource

        from .jira import JiraIssueWriter

        client = JiraResource(vault_prefix=vault_prefix, backoff_base_seconds=backoff_base_seconds).client()
        writer = JiraIssueWriter(client)
    elif vendor == "onetrust":
        from resources.onetrust import OneTrustResource

        from .onetrust import OneTrustAttestationWriter

        client = OneTrustResource(vault_prefix=vault_prefix, backoff_base_seconds=backoff_base_seconds).client()
        writer = OneTrustAttestationWriter(client)
    else:
        raise ValueError(f"unknown vendor {vendor!r}: use one of {', '.join(TARGETS)}")
    try:
        yield writer
    finally:
        client.close()


def sync_vendor(vendor: str, conn: Connection, config: SyncConfig | None = None, *, run_id: str = "cli",
                vault_prefix: str = "integrations/dev", backoff_base_seconds: float = 0.5) -> SyncReport:
    table, key = TARGETS[vendor]
    with writer_for(vendor, vault_prefix, backoff_base_seconds) as writer:
        rows = outbound_rows(conn, table, key)
        return ReverseSync(conn, writer, key=key, run_id=run_id, config=config).run(rows)


def sync_vendor_env(vendor: str, config: SyncConfig | None = None, **kwargs: Any) -> SyncReport:
    """``sync_vendor`` on the warehouse the environment names (PROJECTX_WAREHOUSE ...).

    A blocked run (the mass-change guard) is raised after the connection closed, so the guard's
    message is what the caller sees."""
    from resources.warehouse import WarehouseResource

    blocked: MassChangeBlocked | None = None
    with WarehouseResource.from_env().connect() as conn:
        try:
            return sync_vendor(vendor, conn, config, **kwargs)
        except MassChangeBlocked as exc:
            blocked = exc
    raise blocked
