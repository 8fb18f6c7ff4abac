"""Prometheus metrics, computed at scrape time from the Dagster instance, the warehouse and the
receiver's own counters (spec §3.3: ``integration_status``, ``sync_latency_seconds``,
``webhook_failures_total``; §2.2: ``jira_sync_backlog``).

- ``integration_status{connector}``: 0 green (or disabled), 1 yellow, 2 red; ``integration_enabled``.
- ``integration_check_status{connector,check}``: the same scale per health check.
- ``sync_lag_seconds`` / ``sync_interval_seconds`` ``{connector,table}``: age of the last sync, cadence.
- ``sync_latency_seconds{connector,table}``: histogram of sync durations, fed from each new
  materialization's ``duration_seconds`` (the first scrape reads the last 7 days).
- ``integration_rows_synced_total`` / ``integration_rows_quarantined_total`` ``{connector,table}``.
- ``integration_dead_letters{connector}`` (waiting now) and ``integration_rows_dead_lettered_total``.
- ``integration_backlog{connector,queue}`` (``connector`` also ``slack`` and ``partners``, the receiver's inbox
  queues of no vendor, with their ``integration_dead_letters``; ``notifications`` for the outbox),
  ``jira_sync_backlog``, ``secret_expiry_seconds{connector}`` (in seconds, Prometheus' base unit, so
  ``promtool check metrics`` passes; negative once expired).
- ``integration_set_aside_records{connector}`` and ``integration_set_aside_oldest_seconds{connector}``: records
  the vendor fails to serve that are still set aside (quarantined, read again every run; a OneTrust one holds its
  entity's cursor), and the age of the oldest (0 when none; :mod:`assets.health.set_aside`).
- ``integration_health_input_up{input}``: 1 when the input (dagster, warehouse, inbox, flags) was read at
  this scrape, 0 when it could not be (the Integration Health page says why and what to do).
  ``input="dagster_events"``: 1 when the sync counters above were brought up to date at this scrape, 0
  when that update is stuck, failed, or was not tried (the health read found the Dagster instance
  unreadable or not answering).

A scrape never waits on the Dagster instance for long. The health snapshot is read as
:mod:`webhooks.operations.bounded` says; the sync events are then fed into the counters by one update at a
time, in a background thread (:class:`~webhooks.operations.bounded.OneBoundedCall`): scrapes arriving while
it runs share it, and each waits at most ``HEALTH_READ_TIMEOUT_SECONDS`` (default 5) from the update's
start, and no longer than the bound from the scrape's own start (the snapshot and the events share it).
Past that the scrape is answered with the counters as they stand and ``dagster_events`` 0, and a
warning (once per stuck update) names the fix. Nothing is lost and nothing counted twice: each event is
fed once, by the update that reads it (the stuck one when it ends, else the next one). So a scrape waits
at most the bound in all, well inside Prometheus' default 10-s scrape timeout at the default 5 s.

Every label value comes from a fixed list (connectors, their tables, checks, inputs), never from a
request or a vendor's data, so no caller can grow the number of series.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from datetime import timedelta

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from assets.health import measure
from assets.health.inputs import latest_materializations, tracked_tables
from webhooks.operations.bounded import FIXES, OneBoundedCall, Overdue
from webhooks.operations.state import INPUTS, HealthReader, read_timeout

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, float("inf"))
REVERSE_SYNC = {("reverse_sync", "servicenow_remediation_tasks"): "servicenow"}
EVENTS_INPUT = "dagster_events"  # integration_health_input_up{input=...}: the sync counters are current
EVENTS_STUCK = ("metrics: feeding the sync events from the Dagster instance has not answered for %.0f s "
                "(HEALTH_READ_TIMEOUT_SECONDS=%g): %s; the sync counters are served as they stand, and catch "
                "up when it answers")


def _amount(md, name: str) -> float:
    """A materialization's count as a counter increment: 0 unless a finite number of 0 or more."""
    try:
        value = float(getattr(md.get(name), "value", 0) or 0)
    except (TypeError, ValueError):
        return 0.0
    return value if math.isfinite(value) and value >= 0 else 0.0


class SyncEventReader:
    """Feeds new materializations into real histograms and counters, each event exactly once."""

    def __init__(self, registry: CollectorRegistry | None, reader: HealthReader):
        self.reader = reader
        self.latency = Histogram("sync_latency_seconds", "Duration of each table's sync, from Dagster.",
                                 ["connector", "table"], buckets=LATENCY_BUCKETS, registry=registry)
        self.synced = Counter("integration_rows_synced", "Rows loaded by syncs.", ["connector", "table"],
                              registry=registry)
        self.quarantined = Counter("integration_rows_quarantined", "Rows rejected to quarantine by syncs.",
                                   ["connector", "table"], registry=registry)
        self.dead_lettered = Counter("integration_rows_dead_lettered", "Reverse-sync writes dead-lettered.",
                                     ["connector"], registry=registry)
        self._seen: dict[tuple[str, ...], int] = {}
        self._lock = threading.Lock()
        self._call = OneBoundedCall(self._feed, "sync-events")  # one update in flight, shared by scrapes
        self._now = None  # the scrape time the next update starts from
        self._warned = 0  # the number of the last update warned about as stuck
        self._lock_warned = threading.Lock()

    @property
    def updates(self) -> int:
        """How many updates have been started."""
        return self._call.calls

    def _records(self, key, now):
        from dagster import AssetKey, AssetRecordsFilter

        after = self._seen.get(tuple(key))
        flt = AssetRecordsFilter(asset_key=AssetKey(list(key)), after_storage_id=after,
                                 after_timestamp=None if after else (now - timedelta(days=7)).timestamp())
        result = self.reader.instance.fetch_materializations(flt, limit=10_000, ascending=True)
        for record in result.records:
            self._seen[tuple(key)] = record.storage_id
            yield record.asset_materialization.metadata if record.asset_materialization else {}

    def update(self, now, deadline: float | None = None) -> bool:
        """Feed what is new, waiting for the update in flight (one is started if none is) at most
        ``read_timeout()`` from its start. True when the counters are up to date; False when the update has
        not ended in time (it goes on and feeds what it reads when it ends) or failed (a Dagster instance
        that cannot be read now is read again at the next scrape)."""
        timeout = read_timeout()
        self._now = now
        try:
            self._call.result(timeout, deadline)
            return True
        except Overdue as overdue:
            with self._lock_warned:
                first, self._warned = self._warned != overdue.call, overdue.call
            if first:
                log.warning(EVENTS_STUCK, overdue.waited, timeout, FIXES["dagster"])
            return False
        except Exception as exc:
            log.warning("metrics: sync events cannot be read from the Dagster instance: %s", type(exc).__name__)
            return False

    def _feed(self) -> None:
        self._update(self._now)

    def _update(self, now) -> None:
        with self._lock:
            keys = [(c, t) for c, tables in tracked_tables(self.reader.env).items() for t in tables]
            latest = latest_materializations(self.reader.instance, [*keys, *REVERSE_SYNC])
            fresh = {k for k, (_, storage_id) in latest.items() if self._seen.get(k) != storage_id}
            for connector, table in keys:
                if (connector, table) not in fresh:  # nothing new since the last scrape: no query
                    continue
                for md in self._records((connector, table), now):
                        labels = (connector, table)
                        if "duration_seconds" in md:
                            self.latency.labels(*labels).observe(_amount(md, "duration_seconds"))
                        self.synced.labels(*labels).inc(_amount(md, "rows_loaded"))
                        self.quarantined.labels(*labels).inc(_amount(md, "rows_quarantined"))
            for key, connector in REVERSE_SYNC.items():
                if key not in fresh:
                    continue
                for md in self._records(key, now):
                    self.dead_lettered.labels(connector).inc(_amount(md, "dead_lettered"))


class HealthCollector:
    """Gauges read from one health snapshot per scrape."""

    def __init__(self, reader: HealthReader, events: SyncEventReader, snapshot=None):
        self.reader, self.events = reader, events
        self.snapshot = snapshot or reader.snapshot  # the routes pass BoundedSnapshots.get: a bounded wait

    def collect(self):
        up = GaugeMetricFamily("integration_health_input_up", "1 when the health input was read at this scrape, "
                               "0 when it could not be (the Integration Health page names the fix).", labels=["input"])
        deadline = time.monotonic() + read_timeout()  # the scrape's whole wait: the snapshot, then the events
        try:
            snap = self.snapshot()
        except Exception as exc:  # never a 500 for a scrape: the receiver's counters still go out
            log.warning("metrics: the health snapshot failed: %r", exc)
            up.add_metric(["snapshot"], 0)
            yield up
            return
        # Dagster unreadable, or a read of it has not answered: do not wait on it; else a bounded wait
        events_up = "dagster" not in snap.problems and self.events.update(snap.now, deadline)
        for name in (*INPUTS, *sorted(set(snap.problems) - set(INPUTS))):  # "snapshot": the read itself failed
            up.add_metric([name], 0 if name in snap.problems else 1)
        up.add_metric([EVENTS_INPUT], 1 if events_up else 0)
        yield up
        status = GaugeMetricFamily("integration_status", "Connector light: 0 green or disabled, 1 yellow, 2 red.",
                                   labels=["connector"])
        enabled = GaugeMetricFamily("integration_enabled", "Feature flag integration.<name>.enabled.",
                                    labels=["connector"])
        checks = GaugeMetricFamily("integration_check_status", "Each health check: 0 green, 1 yellow, 2 red.",
                                   labels=["connector", "check"])
        lag = GaugeMetricFamily("sync_lag_seconds", "Seconds since the table last synced.",
                                labels=["connector", "table"])
        interval = GaugeMetricFamily("sync_interval_seconds", "Scheduled interval of the table's sync.",
                                     labels=["connector", "table"])
        dead = GaugeMetricFamily("integration_dead_letters", "Writes and deliveries in dead-letter tables now.",
                                 labels=["connector"])
        backlog = GaugeMetricFamily("integration_backlog", "Messages waiting per queue.", labels=["connector", "queue"])
        expiry = GaugeMetricFamily("secret_expiry_seconds", "Seconds until the connector's soonest secret expires.",
                                   labels=["connector"])
        aside = GaugeMetricFamily("integration_set_aside_records", "Records the vendor fails to serve, still set "
                                  "aside (quarantined, read again every run).", labels=["connector"])
        aside_age = GaugeMetricFamily("integration_set_aside_oldest_seconds", "Age of the oldest record still set "
                                      "aside (0 when none).", labels=["connector"])
        jira_backlog = 0.0
        for c, h in snap.connectors.items():
            status.add_metric([c], measure.STATUS_VALUE[h.light])
            enabled.add_metric([c], 1 if h.flag.enabled else 0)
            for f in h.findings:
                checks.add_metric([c, f.check], measure.STATUS_VALUE[f.light if h.flag.enabled else measure.DISABLED])
            for table, row in h.finding("sync_lag").detail.get("tables", {}).items():
                interval.add_metric([c, table], row["interval_minutes"] * 60)
                if row["lag_seconds"] is not None:
                    lag.add_metric([c, table], row["lag_seconds"])
            for f in h.findings:
                if f.check == "dead_letters" and f.value is not None:
                    dead.add_metric([c], f.value)
                    jira_backlog += f.value if c == "jira" else 0
                if f.check == "webhook_backlog" and f.value is not None:
                    backlog.add_metric([c, "webhooks"], f.value)
                    jira_backlog += f.value if c == "jira" else 0
                if f.check == "secret_expiry" and f.value is not None:
                    expiry.add_metric([c], f.value)
                if f.check == "set_aside" and f.value is not None:
                    aside.add_metric([c], float(f.detail.get("count", 0)))
                    aside_age.add_metric([c], f.value if f.detail.get("count") else 0.0)
        for owner, f in snap.other_secrets.items():  # Slack's and the partners' signing secrets
            if f.value is not None:
                expiry.add_metric([owner], f.value)
        for owner, findings in snap.receiver_queues.items():  # Slack's and the partners' inbox queues
            for f in findings:
                if f.value is None:
                    continue
                if f.check == "webhook_backlog":
                    backlog.add_metric([owner, "webhooks"], f.value)
                elif f.check == "dead_letters":
                    dead.add_metric([owner], f.value)
        if snap.notifications.value is not None:
            backlog.add_metric(["notifications", "notifications"], snap.notifications.value)
        jira = GaugeMetricFamily("jira_sync_backlog", "Jira work waiting: webhook deliveries in the inbox plus "
                                 "writes in the dead-letter table.")
        jira.add_metric([], jira_backlog)
        yield from (status, enabled, checks, lag, interval, dead, backlog, expiry, aside, aside_age, jira)


class Metrics:
    """The /metrics body: the receiver's counters (default registry) plus the operations registry."""

    def __init__(self, reader: HealthReader, snapshot=None):
        self.registry = CollectorRegistry()
        self.events = SyncEventReader(None, reader)
        # The gauges first: collecting them feeds the new sync events into the counters collected after
        # them, so a scrape (the first one too) carries what was synced up to that scrape.
        self.registry.register(HealthCollector(reader, self.events, snapshot))
        for metric in (self.events.latency, self.events.synced, self.events.quarantined, self.events.dead_lettered):
            self.registry.register(metric)

    def render(self) -> bytes:
        import webhooks.receiver.metrics  # noqa: F401  (defines webhook_failures_total on REGISTRY)

        return generate_latest(REGISTRY) + generate_latest(self.registry)
