"""Receiver settings, read once from the environment (secrets also from Vault for Jira).

Grain: one process. Secrets are held in memory only; ``describe()`` never shows them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipelines.common.warehouse import REPO_ROOT, WarehouseSettings

MIB = 1024 * 1024
SECRET_ENV = {
    "servicenow": "SERVICENOW_WEBHOOK_SECRET",
    "jira": "JIRA_WEBHOOK_SECRET",
    "generic": "GENERIC_WEBHOOK_SECRET",
    "slack": "SLACK_SIGNING_SECRET",
}


@dataclass(frozen=True)
class WebhookSettings:
    """Where the inbox lives, the per-endpoint secrets and the request limits."""

    inbox_kind: str = "sqlite"  # sqlite (default) or postgres (when PROJECTX_WAREHOUSE=postgres)
    sqlite_path: str = str(REPO_ROOT / "data" / "webhooks" / "inbox.sqlite3")
    synchronous: str = "FULL"  # SQLite PRAGMA synchronous: FULL fsyncs every commit before the 2xx
    pg: WarehouseSettings | None = None
    secrets: dict[str, str | None] = field(default_factory=dict, repr=False)
    max_body_bytes: int = MIB
    tolerance_seconds: int = 300
    rejections_per_minute: int = 600  # rejection records kept per minute; the counters count them all

    @classmethod
    def from_env(cls, **overrides) -> WebhookSettings:
        wh = WarehouseSettings.from_env()
        data_dir = Path(os.environ.get("PROJECTX_DATA_DIR", str(REPO_ROOT / "data")))
        secrets = {name: os.environ.get(env) or None for name, env in SECRET_ENV.items()}
        if os.environ.get("VAULT_ADDR") and not secrets["jira"]:
            from resources.environment import current_environment
            from resources.secrets import SecretStore

            secrets["jira"] = SecretStore(current_environment().vault_prefix).vendor("jira").get("webhook_secret")
        settings = cls(
            inbox_kind="postgres" if wh.kind == "postgres" else "sqlite",
            sqlite_path=os.environ.get("PROJECTX_WEBHOOK_INBOX", str(data_dir / "webhooks" / "inbox.sqlite3")),
            synchronous=os.environ.get("PROJECTX_WEBHOOK_SYNCHRONOUS", "FULL").upper(),
            pg=wh if wh.kind == "postgres" else None,
            secrets=secrets,
            max_body_bytes=int(os.environ.get("WEBHOOK_MAX_BODY_BYTES", MIB)),
        )
        return replace(settings, **overrides) if overrides else settings

    def describe(self) -> str:
        where = self.sqlite_path if self.inbox_kind == "sqlite" else f"postgres {self.pg.pg_database} (schema webhooks)"
        configured = ", ".join(f"{k} {'set' if v else 'MISSING'}" for k, v in sorted(self.secrets.items()))
        return f"inbox {self.inbox_kind} at {where}; secrets: {configured}"
