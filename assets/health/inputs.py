"""Where the health figures come from, read-only: the Dagster instance (when each table last synced),
the warehouse (dead letters, breakers, queues) and Vault (when each secret was set).

Grain of :func:`collect`: one :class:`ConnectorHealth` per connector at one instant. Every reader
tolerates what is not there yet (a table never created, a queue not configured): the figure is then
``unknown``, never an error. The webhook receiver and the notification outbox register their backlog
readers in ``BACKLOG_READERS`` (connector -> callable returning a count, or None).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from assets.health import measure
from assets.health import set_aside as set_aside_health
from pipelines.common.warehouse_backup import damaged_duckdb
from resources.environment import Environment
from resources.flags import INTEGRATIONS, Flag, flag
from resources.warehouse import Connection

log = logging.getLogger(__name__)

CONNECTORS = INTEGRATIONS  # the integrations a flag may name (resources.flags)
# Readers other parts may register: "webhook" -> {connector: {"backlog": n, "dead": n}}; "notification" -> n.
BACKLOG_READERS: dict[str, Callable[[], Any]] = {}
# The receiver's inbox sources of no vendor connector, by the owner their signing secret is graded under
# (resources.secret_rotation.OTHER_SECRET_OWNERS): Slack's events and interactions, the partners' generic
# webhooks. Their deliveries wait and dead-letter in the same inbox; a fixed list, so a source name stored in
# the inbox never becomes a metric label.
RECEIVER_QUEUES = {"slack": "slack", "partners": "generic"}


def _default_readers() -> dict[str, Callable[[], Any]]:
    return {"webhook": lambda: inbox_figures()}


class WarehouseUnreadable(RuntimeError):
    """The warehouse cannot be read now (missing, damaged, unreachable); the message names the fix and
    holds no path or secret, since the Integration Health page shows it."""


class WarehouseBusy(WarehouseUnreadable):
    """The DuckDB file is locked by a writer (a sync): read again later, or show the last figures."""


def tracked_tables(env: Environment) -> dict[str, dict[str, int]]:
    """connector -> {table: scheduled interval in minutes}: the tables each connector's jobs sync."""
    from assets.jira import DESCRIPTIONS as JIRA
    from assets.onetrust import DESCRIPTIONS as ONETRUST
    from assets.servicenow import cadences

    return {
        "servicenow": cadences(env),
        "jira": {t: env.jira_minutes for t in JIRA if t != "issue_deletions"},  # only with delta recon
        "onetrust": dict.fromkeys(ONETRUST, env.onetrust_hours * 60),
    }


def latest_materializations(instance, keys: list[tuple[str, ...]]) -> dict[tuple[str, ...], tuple[float, int]]:
    """key -> (timestamp, storage id) of its latest materialization, in one query for all keys."""
    from dagster import AssetKey

    out = {}
    for record in instance.get_asset_records([AssetKey(list(k)) for k in keys]):
        entry = record.asset_entry
        if entry.last_materialization is not None:
            out[tuple(entry.asset_key.path)] = (entry.last_materialization.timestamp,
                                                entry.last_materialization_storage_id)
    return out


def last_syncs(instance, tables: dict[str, dict[str, int]]) -> dict[str, dict[str, tuple[datetime | None, int]]]:
    """When each tracked table last synced successfully (its latest materialization)."""
    latest = latest_materializations(instance, [(c, t) for c, cadence in tables.items() for t in cadence])
    out: dict[str, dict[str, tuple[datetime | None, int]]] = {}
    for connector, cadence in tables.items():
        out[connector] = {}
        for table, minutes in cadence.items():
            hit = latest.get((connector, table))
            out[connector][table] = (None if hit is None else datetime.fromtimestamp(hit[0], UTC), minutes)
    return out


@contextmanager
def read_only(settings) -> Iterator[Connection]:
    """A read-only warehouse connection; :class:`WarehouseBusy` while a DuckDB writer holds the file."""
    if settings.kind == "duckdb":
        import duckdb

        if not os.path.exists(settings.duckdb_path):
            raise WarehouseUnreadable("there is no warehouse file yet at PROJECTX_DUCKDB_PATH: run a sync first "
                                      "(make demo, or a vendor job in Dagster), or check PROJECTX_DUCKDB_PATH")
        try:
            raw = duckdb.connect(settings.duckdb_path, read_only=True)
        except duckdb.Error as exc:
            raise _duckdb_unreadable(exc) from None
    else:
        import psycopg2

        c = settings.pg_credentials()
        try:
            raw = psycopg2.connect(host=c["host"], port=c["port"], user=c["username"], password=c["password"],
                                   dbname=c["database"], connect_timeout=5)
        except psycopg2.OperationalError as exc:
            raise WarehouseBusy(f"the PostgreSQL warehouse cannot be read now ({type(exc).__name__}): check "
                                "PGHOST/PGPORT/PGUSER/PGDATABASE") from None
        raw.set_session(readonly=True, autocommit=True)
    try:
        yield Connection(raw, settings.kind)
    finally:
        raw.close()


def _duckdb_unreadable(exc: Exception) -> WarehouseUnreadable:
    """What a failed read-only DuckDB open means, without the file's path (the page shows this)."""
    text = str(exc).lower()
    # damage first: "block at location" in DuckDB's checksum error contains "lock"
    if damaged_duckdb(exc):
        return WarehouseUnreadable("the warehouse file at PROJECTX_DUCKDB_PATH is not a valid DuckDB database: "
                                   "restore it from a backup or point PROJECTX_DUCKDB_PATH at the right file")
    if "lock" in text or "different configuration" in text or "conflicting" in text:
        return WarehouseBusy("the warehouse cannot be read now: a sync holds its write lock; the figures "
                             "refresh when it finishes")
    return WarehouseUnreadable(f"the warehouse at PROJECTX_DUCKDB_PATH cannot be read now ({type(exc).__name__}): "
                               "check the file's permissions and PROJECTX_DUCKDB_PATH")


def warehouse_figures(conn: Connection) -> dict[str, dict[str, Any]]:
    """Per connector: dead letters (count, oldest), breaker state, rows quarantined in 24 h, records set aside
    (:mod:`assets.health.set_aside`)."""
    out: dict[str, dict[str, Any]] = {c: {} for c in CONNECTORS}
    if conn.table_exists("reverse_sync", "dead_letters"):
        for r in conn.query("select vendor, count(*) as n, min(first_failed_at) as oldest "
                            "from reverse_sync.dead_letters group by vendor"):
            out.setdefault(r["vendor"], {}).update(dead_letters=int(r["n"]), oldest_dead_letter=r["oldest"])
        for c in out.values():
            c.setdefault("dead_letters", 0)
    if conn.table_exists("reverse_sync", "circuit_breakers"):
        for r in conn.query("select vendor, state from reverse_sync.circuit_breakers"):
            out.setdefault(r["vendor"], {})["breaker"] = r["state"]
    for connector in CONNECTORS:
        if conn.table_exists(connector, "quarantine"):
            out[connector]["quarantined_total"] = int(conn.scalar(f"select count(*) from {connector}.quarantine"))
    # records the vendor fails to serve, still set aside (assets.health.set_aside): count and oldest
    for connector, figure in set_aside_health.read_all(conn, CONNECTORS).items():
        out[connector]["set_aside"] = figure
    # queued: outbox rows (dbt's, and the ops alerts' of assets/notifications/alerts.py) not yet delivered
    for schema, outbox in (("marts", "notification_outbox"), ("notifications", "ops_alert_outbox")):
        if conn.table_exists(schema, outbox) and conn.table_exists("notifications", "delivery_ledger"):
            queued = out.setdefault("_notifications", {"backlog": 0})
            queued["backlog"] += int(conn.scalar(
                f"select count(*) from {schema}.{outbox} as o left join notifications.delivery_ledger as l "
                "on o.notification_key = l.notification_key where l.status is null "
                "or l.status not in ('sent', 'deduplicated', 'fallback', 'failed')"))
    return out


def inbox_figures() -> dict[str, dict[str, int]] | None:
    """Per vendor from the webhook receiver's inbox: deliveries waiting and dead letters (None without one)."""
    try:
        from webhooks.inbox import EventQueue, open_database
        from webhooks.settings import WebhookSettings
    except ImportError:
        return None
    db = open_database(WebhookSettings.from_env())
    try:
        health = EventQueue(db).health()
    finally:
        db.close()
    return {source: {"backlog": sum(v for k, v in states.items() if k in ("pending", "retry", "launched")),
                     "dead": int(states.get("dead", 0))} for source, states in health.items()}


DEFAULT_READERS = _default_readers()


@dataclass
class ConnectorHealth:
    """One connector at one instant: its flag, its findings and the light they add up to."""

    connector: str
    flag: Flag
    findings: list[measure.Finding]
    figures: dict[str, Any] = field(default_factory=dict)
    # What could not be read for this connector (a flag set to neither true nor false), as sentences
    problems: list[str] = field(default_factory=list)

    @property
    def light(self) -> str:
        return measure.connector_light(self.findings, self.flag.enabled)

    def finding(self, check: str) -> measure.Finding | None:
        return next((f for f in self.findings if f.check == check), None)


INBOX_UNREADABLE = ("the webhook inbox cannot be read ({error}): check PROJECTX_WEBHOOK_INBOX (the SQLite file) or, "
                    "for PostgreSQL, PGHOST/PGDATABASE; `python -m cli webhooks status` shows the error")


def _reader(name: str) -> Any:
    return _read(name)[0]


def _read(name: str) -> tuple[Any, str | None]:
    """(value, None), or (None, the exception's type name) when the reader failed."""
    fn = BACKLOG_READERS.get(name, DEFAULT_READERS.get(name))
    try:
        return (fn() if fn else None), None
    except Exception as exc:  # a queue we cannot read is unknown, not a crash of the health run
        log.warning("health: the %s backlog cannot be read: %s", name, type(exc).__name__)
        return None, type(exc).__name__


class Unreadable:
    """Why an input of :func:`collect` could not be read (``syncs=Unreadable(...)``: the Dagster instance)."""

    def __init__(self, message: str):
        self.message = message


def _flag(connector: str, env_name: str, vault: dict[str, Any] | None = None) -> tuple[Flag, str | None]:
    """The connector's flag; a value that is neither true nor false counts as enabled (the default) and
    is reported, so the page still shows the connector instead of failing."""
    try:
        return flag(connector, env_name, vault), None
    except ValueError as exc:
        return Flag(connector, True, "invalid setting"), f"{' '.join(str(exc).split())[:300]} (treated as enabled)"


def collect(env: Environment, instance, wh: dict[str, dict[str, Any]] | None, now: datetime | None = None,
            secrets: Callable[[str], dict[str, tuple[datetime, int]]] | None = None,
            syncs: dict | Unreadable | None = None,
            vault_flags: dict[str, Any] | None = None,
            inbox: tuple[Any, str | None] | None = None) -> dict[str, ConnectorHealth]:
    """Grade every connector now. ``wh``: :func:`warehouse_figures` (None: unknown, the warehouse is
    busy); ``secrets``: connector -> {key: (set date, lifetime days)}, None where Vault is not at hand;
    ``syncs``: :func:`last_syncs` read by the caller, or :class:`Unreadable` (default: read ``instance``);
    ``vault_flags``: the feature flags as last read from Vault (default: read them now); ``inbox``: the
    webhook inbox as ``read_inbox()`` returned it (default: read it now)."""
    now = now or datetime.now(UTC)
    if syncs is None:
        syncs = last_syncs(instance, tracked_tables(env))
    wh = wh or {}
    inbox, inbox_error = inbox if inbox is not None else read_inbox()
    webhook = {c: v["backlog"] for c, v in inbox.items()} if inbox is not None else {}
    out = {}
    for connector in CONNECTORS:
        connector_flag, flag_problem = _flag(connector, env.name, vault_flags)
        figures = wh.get(connector, {})
        secret_dates = {}
        if secrets is not None:
            try:
                secret_dates = secrets(connector)
            except Exception:  # unreadable metadata leaves expiry unknown; the check says so
                secret_dates = {}
        findings = [
            measure.unknown(connector, "sync_lag", syncs.message) if isinstance(syncs, Unreadable)
            else measure.lag(connector, syncs[connector], now),
            measure.unknown(connector, "webhook_backlog", INBOX_UNREADABLE.format(error=inbox_error)) if inbox_error
            else measure.backlog(connector, "webhook_backlog", webhook.get(connector, 0 if inbox is not None else None),
                                 "webhook deliveries"),
            measure.dead_letters(connector, _dead(figures.get("dead_letters"), inbox, connector),
                                 figures.get("oldest_dead_letter")),
            measure.breaker(connector, figures.get("breaker"), env.circuit_breakers),
            measure.secret_expiry(connector, secret_dates, now),
            set_aside_health.finding(connector, figures.get("set_aside"), now),
        ]
        out[connector] = ConnectorHealth(connector, connector_flag, findings, figures,
                                         [flag_problem] if flag_problem else [])
    return out


def read_inbox() -> tuple[Any, str | None]:
    """The webhook inbox's figures per source (:func:`inbox_figures`), or (None, why) when unreadable."""
    return _read("webhook")


def receiver_queues(inbox: tuple[Any, str | None]) -> dict[str, list[measure.Finding]]:
    """The backlog and dead letters of the inbox sources of no vendor (:data:`RECEIVER_QUEUES`), graded as
    a vendor's are: owner -> [webhook_backlog, dead_letters]."""
    figures, error = inbox
    out = {}
    for owner, source in RECEIVER_QUEUES.items():
        if error:
            why = INBOX_UNREADABLE.format(error=error)
            out[owner] = [measure.unknown(owner, "webhook_backlog", why), measure.unknown(owner, "dead_letters", why)]
            continue
        row = None if figures is None else figures.get(source, {})
        out[owner] = [measure.backlog(owner, "webhook_backlog", None if row is None else row.get("backlog", 0),
                                      "webhook deliveries"),
                      measure.dead_letters(owner, None if row is None else int(row.get("dead", 0)))]
    return out


def _dead(reverse: int | None, inbox: dict | None, connector: str) -> int | None:
    """Dead letters of both kinds: reverse-sync writes and webhook deliveries (after 10 attempts)."""
    hooks = (inbox or {}).get(connector, {}).get("dead")
    return None if reverse is None and hooks is None else (reverse or 0) + (hooks or 0)


def notification_backlog(wh: dict[str, dict[str, Any]] | None = None) -> measure.Finding:
    count = _reader("notification")
    if count is None:
        count = ((wh or {}).get("_notifications") or {}).get("backlog")
    return measure.backlog("notifications", "notification_backlog", count, "notifications queued")
