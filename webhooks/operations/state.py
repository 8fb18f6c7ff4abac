"""What the health page and /metrics read, at request time and read-only.

Sync lag comes from the Dagster instance on every request. Warehouse figures (dead letters,
breakers, the stored history, the last secret-expiry check) come from a read-only connection; a
DuckDB writer (a running sync) holds the file's lock, so while it does the last figures read are
served again, marked with their age, instead of an error. The feature flags in Vault are read in the
background (:mod:`webhooks.operations.vault_probe`): a Vault that never answers never holds a request.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from assets.health import history, measure
from assets.health.inputs import (
    ConnectorHealth,
    Unreadable,
    WarehouseUnreadable,
    collect,
    last_syncs,
    read_inbox,
    read_only,
    receiver_queues,
    tracked_tables,
    warehouse_figures,
)
from resources.environment import Environment, current_environment
from webhooks.operations.vault_probe import OFF, UNREACHABLE, VaultProbe, VaultStatus

log = logging.getLogger(__name__)
# The inputs the page and /metrics read; each is up (read now) or has a problem (Snapshot.problems).
INPUTS = ("dagster", "warehouse", "inbox", "flags", "vault")
DAGSTER_UNREADABLE = ("the Dagster instance cannot be read ({error}), so sync times are unknown: check DAGSTER_HOME "
                      "and the storage its dagster.yaml names (is that database up?)")
WAREHOUSE_TABLES_UNREADABLE = ("the warehouse's health tables cannot be read ({error}): they may be from another "
                               "version; run the integration_health job (or `make demo`) to bring them up to date")
WAREHOUSE_TIMED_OUT = ("the warehouse's health tables did not answer within {timeout:g} s (3/4 of "
                       "HEALTH_READ_TIMEOUT_SECONDS): a migration or a long transaction may hold a lock on them")
DEFAULT_READ_TIMEOUT, MAX_READ_TIMEOUT = 5.0, 60.0


def read_timeout() -> float:
    """``HEALTH_READ_TIMEOUT_SECONDS``: a number of seconds above 0, at most 60; else the default 5."""
    raw = os.environ.get("HEALTH_READ_TIMEOUT_SECONDS", "").strip()
    try:
        value = float(raw) if raw else DEFAULT_READ_TIMEOUT
    except ValueError:
        return DEFAULT_READ_TIMEOUT
    return value if math.isfinite(value) and 0 < value <= MAX_READ_TIMEOUT else DEFAULT_READ_TIMEOUT


def statement_timeout() -> float:
    """Seconds a PostgreSQL warehouse query of the health read may take: 3/4 of the page's wait."""
    return max(0.1, round(read_timeout() * 0.75, 2))


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
    # input (one of INPUTS) -> what is wrong with it and how to fix it; empty when everything was read
    problems: dict[str, str] = field(default_factory=dict)
    vault: VaultStatus = field(default_factory=lambda: VaultStatus(OFF))
    # The inbox queues of the receiver's sources of no vendor (Slack's, the partners'): owner -> findings
    receiver_queues: dict[str, list[measure.Finding]] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return "degraded" if self.problems else "ok"


class HealthReader:
    """Reads health for the long-running service; every input is injectable for tests."""

    def __init__(self, *, instance=None, warehouse_settings=None, env: Environment | None = None,
                 clock: Callable[[], datetime] | None = None, vault: VaultProbe | None = None):
        self._instance = instance
        self._settings = warehouse_settings
        self.env = env or current_environment()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.vault = vault or VaultProbe(self.env.name)
        self._lock = threading.Lock()
        self._cached: dict[str, Any] | None = None
        self.stage = "warehouse"  # the input the read in progress is at (named when it does not answer)

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
            if conn.kind == "postgres":  # a lock held on the health tables must not hold this read for ever;
                # cut off within the page's wait, so the request that started the read names the lock
                conn.execute(f"set statement_timeout = {int(statement_timeout() * 1000)}")
            return {"figures": warehouse_figures(conn),
                    "history": history.lag_history(conn, self.env.name, now, columns=history.CHART_COLUMNS),
                    "secrets": history.latest(conn, self.env.name, "secret_expiry", now),
                    "read_at": now}

    def _syncs(self) -> dict | Unreadable:
        try:
            return last_syncs(self.instance, tracked_tables(self.env))
        except Exception as exc:  # unset DAGSTER_HOME, storage down or damaged: the page still answers
            log.warning("health: the Dagster instance cannot be read: %s", type(exc).__name__)
            return Unreadable(DAGSTER_UNREADABLE.format(error=type(exc).__name__))

    def snapshot(self) -> Snapshot:
        now = self.clock()
        note = ""
        self.stage = "warehouse"
        with self._lock:
            try:
                self._cached = self._read_warehouse(now)
            except (WarehouseUnreadable, FileNotFoundError) as exc:
                note = (str(exc) if isinstance(exc, WarehouseUnreadable)
                        else "the warehouse file is missing: check PROJECTX_DUCKDB_PATH")
            except Exception as exc:  # a table of another shape, a stored row the reader cannot parse
                log.warning("health: the warehouse's health tables cannot be read: %r", exc)
                note = (WAREHOUSE_TIMED_OUT.format(timeout=statement_timeout()) if type(exc).__name__ == "QueryCanceled"
                        else WAREHOUSE_TABLES_UNREADABLE.format(error=type(exc).__name__))
            if note:
                note += "; showing figures read at " + (
                    self._cached["read_at"].isoformat(timespec="seconds") if self._cached else "no time yet")
            cached = self._cached or {"figures": None, "history": {}, "secrets": {}, "read_at": None}
        self.stage = "dagster"
        syncs = self._syncs()
        self.stage = "inbox"  # collect() reads the webhook inbox
        vault = self.vault.status()  # never waits for Vault: the flags last read, and their age
        inbox_read = read_inbox()  # once, for the vendors' rows and the receiver's other queues
        connectors = collect(self.env, None, cached["figures"], now, syncs=syncs, vault_flags=vault.flags or {},
                             inbox=inbox_read)
        problems = {"dagster": syncs.message} if isinstance(syncs, Unreadable) else {}
        if vault.state == UNREACHABLE:
            problems["vault"] = vault.message
        if note:
            problems["warehouse"] = note
        inbox = next((f.message for h in connectors.values() for f in h.findings
                      if f.check == "webhook_backlog" and f.value is None and "cannot be read" in f.message), None)
        if inbox:
            problems["inbox"] = inbox
        flags = "; ".join(p for h in connectors.values() for p in h.problems)
        if flags:
            problems["flags"] = flags
        for connector, row in cached["secrets"].items():
            if connector in connectors and row["light"] not in (measure.DISABLED,):
                h = connectors[connector]
                stored = _stored_finding(connector, row)
                h.findings = [stored if f.check == "secret_expiry" else f for f in h.findings]
        from assets.health.inputs import notification_backlog

        self.stage = "notifications"  # the outbox's backlog
        from resources.secret_rotation import OTHER_SECRET_OWNERS

        others = {owner: _stored_finding(owner, row)
                  for owner, row in cached["secrets"].items() if owner in OTHER_SECRET_OWNERS}
        snap = Snapshot(now, self.env, connectors, notification_backlog(cached["figures"]), cached["history"],
                        cached["read_at"], note, others, problems, vault, receiver_queues(inbox_read))
        self.stage = "warehouse"
        return snap


def _stored_finding(owner: str, row: dict[str, Any]) -> measure.Finding:
    """A stored secret_expiry row as a finding; a row this version cannot grade is shown as unknown."""
    light = row.get("light") if row.get("light") in measure.ORDER else measure.UNKNOWN
    value = row.get("value")
    value = float(value) if isinstance(value, int | float) and math.isfinite(value) else None
    checked = row.get("checked_at")
    when = f" (checked {checked:%Y-%m-%d %H:%M})" if isinstance(checked, datetime) else ""
    return measure.Finding(owner, "secret_expiry", light, value, row.get("threshold"),
                           f"{row.get('message') or ''}{when}")
