"""The health history in the warehouse: ``ops.health_checks`` and the alerts red checks raise.

``ops.health_checks`` — grain: one row per (connector, check) per health run, append-only. It keeps
the figures the light was graded from, so the Integration Health page draws lag over time and an
analyst can ask when a connector went red. ``ops.health_alerts`` — grain: one row per check that
turned red (a red streak alerts once), addressed to the environment's channel with the connector's
runbook id; the notification outbox delivers it where that exists, otherwise it waits here.
``ops.health_check_state`` — grain: one row per (environment, connector, check): the light its latest
health run gave it, whatever that run's clock said. A streak is judged against it, not against the stored
row with the latest ``checked_at``: after the clock moved back, that row is a run from "the future" (a
red streak would alert again, or a new one never).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from assets.health import measure
from resources.warehouse import Connection

SCHEMA = "ops"
DDL = (
    f"create schema if not exists {SCHEMA}",
    f"""create table if not exists {SCHEMA}.health_checks (
        checked_at timestamp not null, environment varchar not null, connector varchar not null,
        check_name varchar not null, light varchar not null, value double precision, threshold double precision,
        message varchar not null, detail varchar, trigger varchar)""",
    f"""create table if not exists {SCHEMA}.health_alerts (
        alert_key varchar not null primary key, raised_at timestamp not null, environment varchar not null,
        connector varchar not null, check_name varchar not null, channel varchar not null,
        runbook varchar, message varchar not null, status varchar not null)""",
    f"""create table if not exists {SCHEMA}.health_check_state (
        environment varchar not null, connector varchar not null, check_name varchar not null,
        light varchar not null, checked_at timestamp not null, primary key (environment, connector, check_name))""",
)


def ensure_tables(conn: Connection) -> None:
    for statement in DDL:
        conn.execute(statement)


def _naive(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(tzinfo=None)


def record(conn: Connection, env_name: str, findings: list[measure.Finding], now: datetime,
           trigger: str = "") -> None:
    ensure_tables(conn)
    for f in findings:
        conn.execute(
            f"insert into {SCHEMA}.health_checks values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (_naive(now), env_name, f.connector, f.check, f.light, f.value, f.threshold, f.message,
             json.dumps(f.detail, sort_keys=True, default=str), trigger))


def raise_alerts(conn: Connection, env_name: str, channel: str, findings: list[measure.Finding],
                 now: datetime) -> list[str]:
    """One alert per red streak: a red check whose previous run was not red. Returns the new keys.

    "Previous" is the check's last graded light (``health_check_state``), so a clock that moved back
    neither repeats a streak's alert nor swallows a new streak's; a check graded before that table
    existed falls back to its stored row with the latest time before ``now``."""
    ensure_tables(conn)
    state = {(r["connector"], r["check_name"]): r["light"] for r in conn.query(
        f"select connector, check_name, light from {SCHEMA}.health_check_state where environment = %s",
        (env_name,))}
    raised = []
    for f in findings:
        if (f.connector, f.check) in state:
            previous = state[(f.connector, f.check)]
        else:
            previous = conn.scalar(
                f"select light from {SCHEMA}.health_checks where environment = %s and connector = %s and "
                "check_name = %s and checked_at < %s order by checked_at desc limit 1",
                (env_name, f.connector, f.check, _naive(now)))
        conn.execute(
            f"insert into {SCHEMA}.health_check_state values (%s, %s, %s, %s, %s) "
            "on conflict (environment, connector, check_name) do update set light = excluded.light, "
            "checked_at = excluded.checked_at",
            (env_name, f.connector, f.check, f.light, _naive(now)))
        if f.light != measure.RED or previous == measure.RED:
            continue
        key = f"health:{env_name}:{f.connector}:{f.check}:{_naive(now).isoformat()}"
        runbook = measure.RUNBOOKS.get(f.connector)
        conn.execute(
            f"insert into {SCHEMA}.health_alerts values (%s, %s, %s, %s, %s, %s, %s, %s, 'pending')",
            (key, _naive(now), env_name, f.connector, f.check, channel, runbook,
             f"[{env_name}] {f.connector} {f.check} is red: {f.message}."
             + (f" Runbook {runbook}." if runbook else "")))
        raised.append(key)
    return raised


CHART_COLUMNS = 280  # pixel columns of the page's 7-day lag chart (webhooks/operations/page.py)


def lag_history(conn: Connection, env_name: str, now: datetime, days: int = 7,
                columns: int | None = None) -> dict[str, list[tuple[datetime, float]]]:
    """connector -> [(checked_at, worst lag as a multiple of the interval)] over the last ``days``.

    With ``columns``, at most one row per connector and column of the chart (``days`` cut into ``columns``
    equal spans) leaves the database: the one whose lag is worst (its ``value`` against its ``threshold`` of 2x
    the interval). A health run after every sync stores tens of thousands of rows a week, and each row's JSON
    was read and parsed on every health read; the chart draws one point per column anyway."""
    if not conn.table_exists(SCHEMA, "health_checks"):
        return {}
    since = _naive(now - timedelta(days=days))
    if columns:
        span = days * 86400 / columns
        start = (since - datetime(1970, 1, 1)).total_seconds()
        rows = conn.query(
            "select connector, checked_at, detail from (select connector, checked_at, detail, row_number() over "
            "(partition by connector, least(greatest(floor((date_part('epoch', checked_at) - %s) / %s), 0), %s) "
            "order by case when threshold > 0 and value is not null then 1 else 0 end desc, "
            "case when threshold > 0 then value / threshold end desc, checked_at desc) as pick "
            f"from {SCHEMA}.health_checks where environment = %s and check_name = 'sync_lag' and checked_at >= %s) "
            "as per_column where pick = 1 "
            "order by checked_at", (start, span, columns, env_name, since))
    else:
        rows = conn.query(
            f"select connector, checked_at, detail from {SCHEMA}.health_checks where environment = %s and "
            "check_name = 'sync_lag' and checked_at >= %s order by checked_at", (env_name, since))
    out: dict[str, list[tuple[datetime, float]]] = {}
    for r in rows:
        try:  # a row written by hand or by another version is left out of the chart, not fatal to the page
            ratio = float(json.loads(r["detail"] or "{}").get("lag_ratio"))
        except (ValueError, TypeError, AttributeError):
            continue
        if math.isfinite(ratio) and isinstance(r["checked_at"], datetime):
            out.setdefault(r["connector"], []).append((r["checked_at"], ratio))
    return out


COLUMNS = ("checked_at", "environment", "connector", "check_name", "light", "value", "threshold", "message", "detail",
           "trigger")


def latest(conn: Connection, env_name: str, check: str, now: datetime | None = None) -> dict[str, dict[str, Any]]:
    """connector -> the newest stored row of one check (e.g. secret_expiry for the page).

    One row per connector leaves the database: the page reads this on every health read, and the table grows
    by a row per connector at every health run (a year of runs after every sync is hundreds of thousands; every
    one of them was fetched and turned into a dict, past the page's time bound). With ``now``, a row stamped
    more than ``CLOCK_SKEW_SECONDS`` after it (a run while the clock was ahead) counts as older than every row
    stamped before it: after the clock was set back, the page showed that run's grading until the clock caught
    up, ignoring every run since."""
    if not conn.table_exists(SCHEMA, "health_checks"):
        return {}
    ahead = _naive((now or datetime.now(UTC)) + timedelta(seconds=measure.CLOCK_SKEW_SECONDS))
    columns = ", ".join(COLUMNS)
    rows = conn.query(
        f"select {columns} from (select {columns}, row_number() over (partition by connector order by "
        f"case when checked_at > %s then 1 else 0 end, checked_at desc) as newest from {SCHEMA}.health_checks "
        "where environment = %s and check_name = %s) as ranked where newest = 1", (ahead, env_name, check))
    return {r["connector"]: r for r in rows}
