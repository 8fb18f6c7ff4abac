"""What the health page and /metrics read, at request time and read-only.

Sync lag comes from the Dagster instance on every request. Warehouse figures (dead letters,
breakers, the stored history, the last secret-expiry check) come from a read-only connection; a
DuckDB writer (a running sync) holds the file's lock, so while it does the last figures read are
served again, marked with their age, instead of an error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from assets.health import history, measure
from assets.health.inputs import ConnectorHealth, WarehouseBusy, collect, read_only, warehouse_figures
from resources.environment import Environment, current_environment


@dataclass
class Snapshot:
    """The health of every connector at ``now``, as the page and the metrics show it."""

    now: datetime
    env: Environment
    connectors: dict[str, ConnectorHealth]
    notifications: measure.Finding
    lag_history: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)
    warehouse_read_at: datetime | None = None
    warehouse_note: str = ""
    # The receiver's secrets owned by no connector (Slack's, the partners'), as the last health run graded
    # them (this service reads no secret metadata itself); owner -> finding.
    other_secrets: dict[str, measure.Finding] = field(default_factory=dict)


class HealthReader:
    """Reads health for the long-running service; every input is injectable for tests."""

    def __init__(self, *, instance=None, warehouse_settings=None, env: Environment | None = None,
                 clock: Callable[[], datetime] | None = None):
        self._instance = instance
        self._settings = warehouse_settings
        self.env = env or current_environment()
        self.clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._cached: dict[str, Any] | None = None

    @property
    def instance(self):
        if self._instance is None:
            from dagster import DagsterInstance

            self._instance = DagsterInstance.get()
        return self._instance

    @property
    def settings(self):
        if self._settings is None:
            from pipelines.common.warehouse import WarehouseSettings

            self._settings = WarehouseSettings.from_env()
        return self._settings

    def _read_warehouse(self, now: datetime) -> dict[str, Any]:
        with read_only(self.settings) as conn:
            return {"figures": warehouse_figures(conn),
                    "history": history.lag_history(conn, self.env.name, now),
                    "secrets": history.latest(conn, self.env.name, "secret_expiry"),
                    "read_at": now}

    def snapshot(self) -> Snapshot:
        now = self.clock()
        note = ""
        with self._lock:
            try:
                self._cached = self._read_warehouse(now)
            except (WarehouseBusy, FileNotFoundError) as exc:
                note = f"{exc}; showing figures read at " + (
                    self._cached["read_at"].isoformat(timespec="seconds") if self._cached else "no time yet")
            cached = self._cached or {"figures": None, "history": {}, "secrets": {}, "read_at": None}
        connectors = collect(self.env, self.instance, cached["figures"], now)
        for connector, row in cached["secrets"].items():
            if connector in connectors and row["light"] not in (measure.DISABLED,):
                h = connectors[connector]
                stored = measure.Finding(connector, "secret_expiry", row["light"], row["value"], row["threshold"],
                                         f"{row['message']} (checked {row['checked_at']:%Y-%m-%d %H:%M})")
                h.findings = [stored if f.check == "secret_expiry" else f for f in h.findings]
        from assets.health.inputs import notification_backlog
        from resources.secret_rotation import OTHER_SECRET_OWNERS

        others = {owner: measure.Finding(owner, "secret_expiry", row["light"], row["value"], row["threshold"],
                                         f"{row['message']} (checked {row['checked_at']:%Y-%m-%d %H:%M})")
                  for owner, row in cached["secrets"].items() if owner in OTHER_SECRET_OWNERS}
        return Snapshot(now, self.env, connectors, notification_backlog(cached["figures"]), cached["history"],
                        cached["read_at"], note, others)
