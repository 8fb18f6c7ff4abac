"""The Integration Health page: one row per connector with its light and the figures behind it, and
a lag-over-time chart per connector (last 7 days, from ``ops.health_checks``) drawn as inline SVG.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from assets.health import history, measure
from assets.health.inputs import ConnectorHealth
from webhooks.operations.state import Snapshot

COLOURS = {measure.GREEN: "#2e9d4a", measure.YELLOW: "#e0b000", measure.RED: "#d0312d",
           measure.DISABLED: "#9a9a9a", measure.UNKNOWN: "#c8c8c8"}
W, H = history.CHART_COLUMNS, 60
MAX_TEXT = 400  # characters of one message shown; vendor-derived text can be any length
# a check cell's title (the finding's whole message): the set-aside message quotes the vendor's reason (up to 300
# characters) after some 400 of its own, which MAX_TEXT cut off
TITLE_TEXT = 1200
# The page runs no script and loads nothing: a message that slipped past escaping still could not run.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
QUEUE_NAMES = {"webhook_backlog": "deliveries waiting", "dead_letters": "dead letters"}
INPUT_NAMES = {"dagster": "Dagster instance", "warehouse": "Warehouse", "inbox": "Webhook inbox",
               "flags": "Feature flags", "vault": "Vault"}


def clean(text: object, limit: int = MAX_TEXT) -> str:
    """Text safe to put in a page or a JSON answer: valid UTF-8 (lone surrogates, as from an environment
    variable holding invalid bytes, become U+FFFD), no control characters, at most ``limit`` characters."""
    value = str(text).encode("utf-8", "replace").decode("utf-8")
    value = "".join(ch if ch.isprintable() else " " for ch in value)
    return value if len(value) <= limit else value[: limit - 1] + "\u2026"


def _t(text: object, limit: int = MAX_TEXT) -> str:
    """Escaped for HTML text and quoted attributes."""
    return escape(clean(text, limit), quote=True)


def chart(points: list[tuple[datetime, float]], now: datetime, connector: str) -> str:
    """Lag as a multiple of the interval over 7 days; dashed lines at 1x (yellow) and 2x (red)."""
    start = now.replace(tzinfo=None) - timedelta(days=7)
    top = max([3.0, *[min(v, 10.0) for _, v in points]])

    def xy(ts: datetime, value: float) -> str:
        x = (ts.replace(tzinfo=None) - start).total_seconds() / (7 * 86400) * W
        return f"{max(0.0, min(W, x)):.1f},{H - min(value, top) / top * H:.1f}"

    lines = "".join(f'<line x1="0" x2="{W}" y1="{H - level / top * H:.1f}" y2="{H - level / top * H:.1f}" '
                    f'stroke="{COLOURS[c]}" stroke-dasharray="4 3"/>'
                    for level, c in ((1, measure.YELLOW), (2, measure.RED)))
    drawn = _worst_per_column(points, start)
    path = " ".join(xy(ts, v) for ts, v in drawn)
    body = (f'<polyline fill="none" stroke="#1f5fa8" stroke-width="1.5" points="{path}"/>' if len(drawn) > 1 else
            f'<text x="8" y="{H // 2}" font-size="11" fill="#666">{len(points)} check(s) stored</text>')
    connector = _t(connector, 60)
    return (f'<svg class="lag-chart" data-connector="{connector}" data-points="{len(points)}" width="{W}" '
            f'height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{connector} lag over 7 days">'
            f'<rect width="{W}" height="{H}" fill="#fafafa" stroke="#ddd"/>{lines}{body}</svg>')


def _worst_per_column(points: list[tuple[datetime, float]], start: datetime) -> list[tuple[datetime, float]]:
    """At most one point per pixel column of the chart, the worst lag in it: the stored history grows with
    every health run, the page must not (a runaway schedule drew one point per row, megabytes of SVG)."""
    worst: dict[int, tuple[datetime, float]] = {}
    for ts, value in points:
        column = int(max(0.0, min(W, (ts.replace(tzinfo=None) - start).total_seconds() / (7 * 86400) * W)))
        if column not in worst or value > worst[column][1]:
            worst[column] = (ts, value)
    return [worst[column] for column in sorted(worst)]


def _cell(h: ConnectorHealth, check: str) -> str:
    f = h.finding(check)
    if f is None:
        return "<td>-</td>"
    light = f.light if h.flag.enabled else measure.DISABLED
    return (f'<td class="check" data-check="{check}" data-light="{_t(light)}" title="{_t(f.message, TITLE_TEXT)}">'
            f'<span class="dot" style="background:{_colour(light)}"></span>{_t(_figure(f), 60)}</td>')


def _colour(light: str) -> str:
    return COLOURS.get(light, COLOURS[measure.UNKNOWN])


def _figure(f: measure.Finding) -> str:
    if f.value is None:
        return "n/a"
    if f.check == "sync_lag":
        ratio = f.detail.get("lag_ratio")
        return f"{f.value / 60:.0f} min ({ratio:.2f}x; red > 2x)" if ratio is not None else "never"
    if f.check == "secret_expiry":
        return f"{f.value / 86400:.0f} days"
    if f.check == "circuit_breaker":
        return str(f.detail.get("state", "closed"))
    if f.check == "set_aside":  # the records a vendor fails to serve: how many, and the oldest's age
        count = f.detail.get("count", 0)
        return f"{count}, oldest {f.value / 86400:.1f} days" if count else "none"
    return f"{f.value:.0f}"


def _row(h: ConnectorHealth, snap: Snapshot) -> str:
    lag = h.finding("sync_lag")
    tables = lag.detail.get("tables", {}) if lag else {}
    last = max((t["last_sync_at"] for t in tables.values() if t["last_sync_at"]), default=None)
    light = h.light
    label = "disabled" if light == measure.DISABLED else light
    flag_note = ("" if h.flag.enabled else
                 f'<div class="flag">{_t(h.flag.name)} = false ({_t(h.flag.source)})</div>')
    flag_note += "".join(f'<div class="flag problem">{_t(p)}</div>' for p in h.problems)
    runbook = _t(measure.RUNBOOKS.get(h.connector) or "", 20)  # spec 6.2: the connector's runbook id
    flag_note += f'<div class="runbook" data-runbook="{runbook}">runbook {runbook}</div>' if runbook else ""
    return (f'<tr class="connector" data-connector="{_t(h.connector, 60)}" data-light="{_t(light)}">'
            f'<th>{_t(h.connector, 60)}{flag_note}</th>'
            f'<td class="light"><span class="lamp" style="background:{_colour(light)}"></span>{_t(label)}</td>'
            f'<td class="last-sync">{_t(last[:19].replace("T", " ")) if last else "never"}</td>'
            + "".join(_cell(h, c) for c in measure.CHECKS)
            + f'<td>{chart(snap.lag_history.get(h.connector, []), snap.now, h.connector)}</td></tr>')


def _problems(snap: Snapshot) -> str:
    """The banner of a degraded page: which input could not be read, and what to do about it."""
    if not snap.problems:
        return ""
    items = "".join(f'<li data-input="{_t(name, 40)}"><b>{_t(INPUT_NAMES.get(name, name), 40)}</b>: {_t(text)}</li>'
                    for name, text in sorted(snap.problems.items()))
    return (f'<div class="degraded" id="degraded" role="alert"><b>Degraded:</b> some figures could not be read '
            f'now; lights that depend on them show unknown.<ul>{items}</ul></div>')


def _vault(snap: Snapshot) -> str:
    """Vault's line: read in the background, so the flags shown may be some seconds old (it says so)."""
    v = snap.vault
    if v.state == "off":
        return ""
    age = "" if v.age_seconds is None else f' data-age="{v.age_seconds:.0f}"'
    state = _t(v.state, 20)
    return f'<p class="vault" id="vault" data-vault="{state}"{age}>Vault: {state} ({_t(v.message)})</p>'


def render(snap: Snapshot) -> str:
    rows = "".join(_row(h, snap) for h in snap.connectors.values())
    note = f'<p class="note">{_t(snap.warehouse_note)}</p>' if snap.warehouse_note else ""
    n = snap.notifications
    others = "".join(
        f'<span class="secret" data-owner="{_t(owner, 60)}" data-light="{_t(f.light)}" title="{_t(f.message)}">'
        f'<span class="dot" style="background:{_colour(f.light)}"></span>{_t(owner, 60)} {_t(_figure(f), 60)}</span> '
        for owner, f in sorted(snap.other_secrets.items()))
    others = f"<p>Receiver signing secrets without a connector: {others}</p>" if others else ""
    queues = "".join(
        f'<span class="queue" data-owner="{_t(owner, 60)}" data-check="{_t(f.check, 40)}" data-light="{_t(f.light)}" '
        f'title="{_t(f.message)}"><span class="dot" style="background:{_colour(f.light)}"></span>{_t(owner, 60)} '
        f'{_t(QUEUE_NAMES.get(f.check, f.check), 40)} {_t(_figure(f), 60)}</span> '
        for owner, findings in sorted(snap.receiver_queues.items()) for f in findings)
    others += f"<p>Receiver queues without a connector: {queues}</p>" if queues else ""
    note = _problems(snap) or note
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Integration Health - {_t(snap.env.name)}</title><meta http-equiv="refresh" content="60">
<style>body{{font:14px system-ui,sans-serif;margin:24px;color:#222}}table{{border-collapse:collapse}}
th,td{{border-bottom:1px solid #e4e4e4;padding:6px 10px;text-align:left;vertical-align:middle}}
.lamp{{display:inline-block;width:16px;height:16px;border-radius:50%;margin-right:6px;vertical-align:-3px}}
.dot{{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:5px}}
.flag,.runbook{{font-weight:normal;font-size:12px;color:#777}}.note{{color:#a15c00}}.problem{{color:#a15c00}}
.degraded{{border:1px solid #e0b000;background:#fff8e0;padding:6px 12px;margin:12px 0;overflow-wrap:anywhere}}
td,th{{overflow-wrap:anywhere;max-width:360px}}</style></head><body>
<h1>Integration Health <small>({_t(snap.env.name)})</small> <span class="status" id="status"
data-status="{snap.status}">{snap.status}</span></h1>
<p>Checked {snap.now:%Y-%m-%d %H:%M:%S} UTC. Lights: green; yellow past 1x the interval, a backlog over 50, a
dead letter, a secret within 30 days of expiry or a record set aside past PROJECTX_SET_ASIDE_WARN_HOURS; red
past 2x, a backlog over 100, 10 dead letters, an open breaker or a secret within 7 days. Notification backlog:
{_t(_figure(n), 60)}
<span class="dot" style="background:{_colour(n.light)}"></span></p>{_vault(snap)}{others}{note}
<table id="health"><thead><tr><th>connector</th><th>light</th><th>last sync (UTC)</th><th>lag vs 2x interval</th>
<th>webhook backlog</th><th>dead letters</th><th>breaker</th><th>token expiry</th><th>set aside</th>
<th>lag, last 7 days</th></tr>
</thead><tbody>{rows}</tbody></table></body></html>"""
