"""The Integration Health page: one row per connector with its light and the figures behind it, and
a lag-over-time chart per connector (last 7 days, from ``ops.health_checks``) drawn as inline SVG.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from assets.health import measure
from assets.health.inputs import ConnectorHealth
from webhooks.operations.state import Snapshot

COLOURS = {measure.GREEN: "#2e9d4a", measure.YELLOW: "#e0b000", measure.RED: "#d0312d",
           measure.DISABLED: "#9a9a9a", measure.UNKNOWN: "#c8c8c8"}
W, H = 280, 60


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
    path = " ".join(xy(ts, v) for ts, v in points)
    body = (f'<polyline fill="none" stroke="#1f5fa8" stroke-width="1.5" points="{path}"/>' if len(points) > 1 else
            f'<text x="8" y="{H // 2}" font-size="11" fill="#666">{len(points)} check(s) stored</text>')
    return (f'<svg class="lag-chart" data-connector="{connector}" data-points="{len(points)}" width="{W}" '
            f'height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{connector} lag over 7 days">'
            f'<rect width="{W}" height="{H}" fill="#fafafa" stroke="#ddd"/>{lines}{body}</svg>')


def _cell(h: ConnectorHealth, check: str) -> str:
    f = h.finding(check)
    if f is None:
        return "<td>-</td>"
    light = f.light if h.flag.enabled else measure.DISABLED
    return (f'<td class="check" data-check="{check}" data-light="{light}" title="{escape(f.message)}">'
            f'<span class="dot" style="background:{COLOURS[light]}"></span>{escape(_figure(f))}</td>')


def _figure(f: measure.Finding) -> str:
    if f.value is None:
        return "n/a"
    if f.check == "sync_lag":
        ratio = f.detail.get("lag_ratio")
        return f"{f.value / 60:.0f} min ({ratio:.2f}x; red > 2x)" if ratio is not None else "never"
    if f.check == "secret_expiry":
        return f"{f.value / 86400:.0f} days"
    if f.check == "circuit_breaker":
        return f.detail.get("state", "closed")
    return f"{f.value:.0f}"


def _row(h: ConnectorHealth, snap: Snapshot) -> str:
    lag = h.finding("sync_lag")
    tables = lag.detail.get("tables", {}) if lag else {}
    last = max((t["last_sync_at"] for t in tables.values() if t["last_sync_at"]), default=None)
    light = h.light
    label = "disabled" if light == measure.DISABLED else light
    flag_note = ("" if h.flag.enabled else
                 f'<div class="flag">{escape(h.flag.name)} = false ({escape(h.flag.source)})</div>')
    return (f'<tr class="connector" data-connector="{h.connector}" data-light="{light}">'
            f'<th>{h.connector}{flag_note}</th>'
            f'<td class="light"><span class="lamp" style="background:{COLOURS[light]}"></span>{label}</td>'
            f'<td class="last-sync">{escape(last[:19].replace("T", " ")) if last else "never"}</td>'
            + "".join(_cell(h, c) for c in measure.CHECKS)
            + f'<td>{chart(snap.lag_history.get(h.connector, []), snap.now, h.connector)}</td></tr>')


def render(snap: Snapshot) -> str:
    rows = "".join(_row(h, snap) for h in snap.connectors.values())
    note = f'<p class="note">Warehouse busy: {escape(snap.warehouse_note)}</p>' if snap.warehouse_note else ""
    n = snap.notifications
    others = "".join(
        f'<span class="secret" data-owner="{escape(owner)}" data-light="{f.light}" title="{escape(f.message)}">'
        f'<span class="dot" style="background:{COLOURS[f.light]}"></span>{escape(owner)} {escape(_figure(f))}</span> '
        for owner, f in sorted(snap.other_secrets.items()))
    others = f"<p>Receiver signing secrets without a connector: {others}</p>" if others else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Integration Health - {snap.env.name}</title><meta http-equiv="refresh" content="60">
<style>body{{font:14px system-ui,sans-serif;margin:24px;color:#222}}table{{border-collapse:collapse}}
th,td{{border-bottom:1px solid #e4e4e4;padding:6px 10px;text-align:left;vertical-align:middle}}
.lamp{{display:inline-block;width:16px;height:16px;border-radius:50%;margin-right:6px;vertical-align:-3px}}
.dot{{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:5px}}
.flag{{font-weight:normal;font-size:12px;color:#777}}.note{{color:#a15c00}}</style></head><body>
<h1>Integration Health <small>({snap.env.name})</small></h1>
<p>Checked {snap.now:%Y-%m-%d %H:%M:%S} UTC. Lights: green; yellow past 1x the interval, a backlog over 50, a
dead letter or a secret within 30 days of expiry; red past 2x, a backlog over 100, 10 dead letters, an open
breaker or a secret within 7 days. Notification backlog: {escape(_figure(n))}
<span class="dot" style="background:{COLOURS[n.light]}"></span></p>{others}{note}
<table id="health"><thead><tr><th>connector</th><th>light</th><th>last sync (UTC)</th><th>lag vs 2x interval</th>
<th>webhook backlog</th><th>dead letters</th><th>breaker</th><th>token expiry</th><th>lag, last 7 days</th></tr>
</thead><tbody>{rows}</tbody></table></body></html>"""
