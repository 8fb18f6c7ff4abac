"""Health as findings: one figure per (connector, check), graded green, yellow or red.

Pure functions, no I/O: the Dagster checks (:mod:`assets.health.checks`), the Integration Health page
and ``/metrics`` (``webhooks/operations``) grade the same figures the same way. Thresholds (spec §6.1
and §3.1, issue 15):

- ``sync_lag``: every synced table's last successful sync is younger than 2x its scheduled interval
  (spec §6.1: "< 2x"). Yellow from 1x (the freshness policy's warn window), red from 2x (its fail window:
  Dagster fails a policy at age >= the window, and so does this) or never synced. A last sync recorded more
  than ``CLOCK_SKEW_SECONDS`` after now (the clock moved back, or the recording host's clock is ahead) is
  red too: its age cannot be measured, so it must not look fresh.
- ``webhook_backlog`` / ``notification_backlog``: no queue holds more than 100 messages. Yellow past 50.
- ``dead_letters``: the dead-letter tables are empty. Yellow from 1, red from 10.
- ``circuit_breaker``: closed. Half-open is yellow, open is red.
- ``secret_expiry``: every tracked secret expires more than 30 days from now (yellow within 30 days,
  red within 7 or expired). A secret whose whole life is 30 days or less (the ServiceNow client
  secret, rotated every 30 days) warns in its last quarter and is red in its last tenth instead.
- ``set_aside``: no record the vendor fails to serve has stayed set aside (quarantined, re-read every run) longer
  than ``PROJECTX_SET_ASIDE_WARN_HOURS`` (default 48). Yellow past it (:mod:`assets.health.set_aside`).

A disabled integration (feature flag off) is ``disabled``: shown as such, never red.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

GREEN, YELLOW, RED, DISABLED, UNKNOWN = "green", "yellow", "red", "disabled", "unknown"
ORDER = {DISABLED: -1, UNKNOWN: 0, GREEN: 0, YELLOW: 1, RED: 2}
# integration_status{connector}: 0 green (or disabled), 1 yellow, 2 red.
STATUS_VALUE = {GREEN: 0, UNKNOWN: 0, DISABLED: 0, YELLOW: 1, RED: 2}
CHECKS = ("sync_lag", "webhook_backlog", "dead_letters", "circuit_breaker", "secret_expiry", "set_aside")
BACKLOG_YELLOW, BACKLOG_RED = 50, 100
DEAD_LETTERS_YELLOW, DEAD_LETTERS_RED = 1, 10
# A last sync recorded up to this far in the future is ordinary skew between hosts (age 0); beyond it the
# clock moved back and the table's age is unknown.
CLOCK_SKEW_SECONDS = 60
# a connector's runbook (spec 3.3), as the Prometheus alert rules label it (webhooks/operations/alert_rules.yml)
RUNBOOKS = {"servicenow": "RB-002", "jira": "RB-003", "onetrust": "RB-004", "slack": "RB-005",
            "notifications": "RB-005"}


@dataclass(frozen=True)
class Finding:
    """One check of one connector at one time: its light, its main figure and what it means."""

    connector: str
    check: str
    light: str
    value: float | None
    threshold: float | None
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


def worst(lights: list[str]) -> str:
    return max(lights, key=ORDER.__getitem__) if lights else UNKNOWN


def lag(connector: str, tables: dict[str, tuple[datetime | None, int]], now: datetime) -> Finding:
    """``tables``: table -> (last successful sync, interval in minutes). The worst table decides."""
    if not tables:
        return Finding(connector, "sync_lag", UNKNOWN, None, None, "no synced table is tracked")
    rows, lights = {}, []
    for table, (last, minutes) in sorted(tables.items()):
        ahead = None if last is None else (last - now).total_seconds()
        skewed = ahead is not None and ahead > CLOCK_SKEW_SECONDS
        age = None if last is None or skewed else max(0.0, -ahead)
        interval = minutes * 60
        ratio = None if age is None else age / interval
        light = RED if age is None or age >= 2 * interval else YELLOW if age >= interval else GREEN
        lights.append(light)
        rows[table] = {"last_sync_at": None if last is None else last.isoformat(), "lag_seconds": age,
                       "interval_minutes": minutes, "lag_ratio": None if ratio is None else round(ratio, 3),
                       "light": light}
        if skewed:
            rows[table]["recorded_ahead_seconds"] = round(ahead, 1)
    worst_table = max(rows, key=lambda t: float("inf") if rows[t]["lag_ratio"] is None else rows[t]["lag_ratio"])
    w = rows[worst_table]
    if "recorded_ahead_seconds" in w:
        msg = (f"{connector}/{worst_table} last synced at {w['last_sync_at']}, "
               f"{w['recorded_ahead_seconds'] / 60:.0f} min after this clock's now: the clock moved back (or the "
               "host that ran the sync is ahead), so its lag cannot be measured; check NTP on both hosts")
    elif w["lag_seconds"] is None:
        msg = f"{connector}/{worst_table} has never synced"
    else:
        msg = (f"{connector}/{worst_table} last synced {w['lag_seconds'] / 60:.0f} min ago; "
               f"the limit is {2 * w['interval_minutes']} min (2x its {w['interval_minutes']}-min interval)")
    return Finding(connector, "sync_lag", worst(lights), w["lag_seconds"], 2 * w["interval_minutes"] * 60,
                   msg, {"tables": rows, "worst_table": worst_table, "lag_ratio": w["lag_ratio"]})


def unknown(connector: str, check: str, why: str) -> Finding:
    """A check whose input could not be read now: unknown, with the reason and its fix as the message."""
    return Finding(connector, check, UNKNOWN, None, None, why)


def backlog(connector: str, check: str, count: int | None, what: str) -> Finding:
    if count is None:
        return Finding(connector, check, UNKNOWN, None, BACKLOG_RED, f"no {what} is configured here")
    light = RED if count > BACKLOG_RED else YELLOW if count > BACKLOG_YELLOW else GREEN
    return Finding(connector, check, light, float(count), BACKLOG_RED,
                   f"{count} {what} waiting (red above {BACKLOG_RED})")


def dead_letters(connector: str, count: int | None, oldest: datetime | None = None) -> Finding:
    if count is None:
        return Finding(connector, "dead_letters", UNKNOWN, None, 0, "no dead-letter table yet")
    light = RED if count >= DEAD_LETTERS_RED else YELLOW if count >= DEAD_LETTERS_YELLOW else GREEN
    detail = {"oldest_failed_at": oldest.isoformat()} if oldest else {}
    return Finding(connector, "dead_letters", light, float(count), 0,
                   f"{count} writes or deliveries in the dead-letter table" if count else "dead letters empty",
                   detail)


def breaker(connector: str, state: str | None, enabled_in_env: bool) -> Finding:
    state = (state or "closed").lower()
    light = RED if state == "open" else YELLOW if state in ("half_open", "half-open") else GREEN
    note = "" if enabled_in_env else " (breakers only report in this environment)"
    return Finding(connector, "circuit_breaker", light, float(ORDER[light]), 0,
                   f"circuit breaker {state}{note}", {"state": state, "enforced": enabled_in_env})


def secret_thresholds(lifetime_days: int) -> tuple[float, float]:
    """(yellow, red) in days left: 30 and 7, or a quarter and a tenth of a life of 30 days or less."""
    if lifetime_days > 30:
        return 30.0, 7.0
    return lifetime_days / 4, lifetime_days / 10


def secret_expiry(connector: str, secrets: dict[str, tuple[datetime, int]], now: datetime) -> Finding:
    """``secrets``: key -> (date it was set, lifetime in days). Only dates and keys, never values."""
    if not secrets:
        return Finding(connector, "secret_expiry", UNKNOWN, None, 30 * 86400,
                       "no secret set-date is tracked (environment variables locally)")
    rows, lights = {}, []
    for key, (set_at, life) in sorted(secrets.items()):
        expires = set_at + timedelta(days=life)
        left = (expires - now).total_seconds() / 86400
        yellow_at, red_at = secret_thresholds(life)
        light = RED if left <= red_at else YELLOW if left <= yellow_at else GREEN
        lights.append(light)
        rows[key] = {"set_at": set_at.isoformat(), "expires_at": expires.isoformat(),
                     "days_left": round(left, 1), "lifetime_days": life, "light": light}
    key = min(rows, key=lambda k: rows[k]["days_left"])
    days = rows[key]["days_left"]
    msg = (f"{connector} secret '{key}' expired {-days:.0f} days ago: rotate it" if days < 0 else
           f"{connector} secret '{key}' expires in {days:.0f} days")
    return Finding(connector, "secret_expiry", worst(lights), days * 86400, 30 * 86400, msg,
                   {"secrets": rows, "soonest": key})


def connector_light(findings: list[Finding], enabled: bool = True) -> str:
    """The status light of one connector: the worst of its checks, or ``disabled``. Checks without an
    input here (no Vault locally, no inbox configured) do not dim it, but a sync lag that could not be
    measured (the Dagster instance unreadable) leaves it ``unknown``: never green without knowing freshness."""
    if not enabled:
        return DISABLED
    light = worst([f.light for f in findings])
    if ORDER[light] <= ORDER[GREEN] and any(f.check == "sync_lag" and f.light == UNKNOWN for f in findings):
        return UNKNOWN
    return GREEN if light == UNKNOWN and findings else light
