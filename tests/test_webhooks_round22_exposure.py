"""Round 22: what an attacker can make the service show. Over loopback against the real server (receiver,
health page and /metrics in one app, as ``python -m webhooks`` serves them), a battery of hostile requests
puts a marker in every string it controls: paths, methods, query strings, header values, delivery ids,
content types and codings, forwarded addresses, bodies (unsigned, and signed but refused). Afterwards no
answer, no scrape, no health page and no log record holds the marker, every label value of the receiver's
metrics is one of a fixed set, and a second battery with another marker adds no series at all."""

from __future__ import annotations

import json
import logging
import re
import socket
from datetime import UTC, datetime

import httpx
import pytest
from dagster import instance_for_test

from resources.environment import ENVIRONMENTS
from tests.ops_helpers import record_sync
from tests.webhook_helpers import (
    GENERIC,
    JIRA,
    SERVICENOW,
    SLACK_ACTIONS,
    SLACK_EVENTS,
    LiveReceiver,
    generic_request,
    jira_body,
    jira_request,
    settings_for,
    slack_request,
)
from webhooks.app import create_app
from webhooks.operations.state import HealthReader
from webhooks.receiver.endpoints import ENDPOINTS

# every value a receiver metric label may take (webhooks/receiver/metrics.py); anything else came from a request
LABEL_VALUES = {
    "endpoint": {ep.name for ep in ENDPOINTS},
    "reason": {
        "oversize",
        "slow_body",
        "slow_body_cut",
        "content_type",
        "content_length",
        "transfer_encoding",
        "disconnected",
        "length_required",
        "repeated_header",
        "missing_signature",
        "bad_signature",
        "bad_timestamp",
        "stale_timestamp",
        "not_configured",
        "replayed_body",
        "conflicting_body",
        "rate_limited",
        "bytes_limited",  # round 35: the per-sender byte budget
        "missing_delivery_id",
        "malformed",
        "contract",
        "content_encoding",
        "inbox_unavailable",
    },
    "limit": {"deliveries", "bytes", "failures", "in_flight"},
    "cause": {"address", "total", "evicted", "pipelined", "stalled_reader"},
    "le": None,  # histogram buckets: fixed in code
}
RECEIVER_METRICS = (
    "webhook_failures_total",
    "webhook_deliveries_accepted_total",
    "webhook_deliveries_duplicate_total",
    "webhook_request_seconds",
    "webhook_rate_limited_total",
    "webhook_connections_refused_total",
)


def _raw(address, data: bytes) -> bytes:
    with socket.create_connection(address, timeout=5) as conn:
        try:
            conn.sendall(data)
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError, BrokenPipeError):
            pass
    return answer


def battery(url: str, mark: str) -> list[str]:
    """~40 hostile requests, each carrying ``mark``; returns every answer (status line, headers, body)."""
    host, port = url.removeprefix("http://").split(":")
    address = (host, int(port))
    answers: list[bytes] = []
    close = b"host: r\r\nconnection: close\r\n"
    m = mark.encode()
    for target in (
        b"/api/integrations/" + m + b"/webhook",
        b"/metrics/" + m,
        b"/integration-health/" + m,
        b"/healthz?" + m + b"=1",
        GENERIC.encode() + b"?" + m,
        b"/" + m + b"%2f..%2f" + m,
    ):
        answers.append(_raw(address, b"POST " + target + b" HTTP/1.1\r\n" + close + b"content-length: 0\r\n\r\n"))
    answers.append(_raw(address, m.upper() + b" / HTTP/1.1\r\n" + close + b"\r\n"))
    answers.append(_raw(address, b"GET /healthz HTTP/1.1\r\n" + close + b"x-" + m + b": " + m + b"\r\n\r\n"))
    answers.append(
        _raw(
            address,
            b"POST "
            + GENERIC.encode()
            + b" HTTP/1.1\r\n"
            + close
            + b"transfer-encoding: "
            + m
            + b", chunked\r\n\r\n0\r\n\r\n",
        )
    )
    hostile = {
        "content-type": f"application/{mark}",
        "content-encoding": mark,
        "x-forwarded-for": mark,
        "user-agent": mark,
        "webhook-id": mark,
        "webhook-timestamp": mark,
        "webhook-signature": f"v1,{mark}",
        "x-hub-signature": f"sha256={mark}",
        "x-atlassian-webhook-identifier": mark,
        "x-servicenow-delivery": mark,
        "x-servicenow-signature": f"v1={mark}",
        "x-servicenow-timestamp": mark,
        "x-slack-signature": f"v0={mark}",
        "x-slack-request-timestamp": mark,
    }
    body = json.dumps({"type": mark, "event_id": mark, "data": {mark: mark}}).encode()
    with httpx.Client(base_url=url, timeout=10) as client:
        for path in (GENERIC, JIRA, SERVICENOW, SLACK_EVENTS, SLACK_ACTIONS):
            for headers in (hostile, {"content-type": "application/json"}):
                answers.append(_httpx(client.post(path, content=body, headers=headers)))
        # signed, so refused only after verification (quarantined with the marker in its reason or body)
        kw = generic_request(json.dumps({"type": mark, "data": {}}).encode(), f"msg_{mark}")
        answers.append(_httpx(client.post(GENERIC, **kw)))  # no timestamp field: breaks the contract
        kw = generic_request(body, f"msg_{mark}" + "x" * 300)  # an id over MAX_ID
        answers.append(_httpx(client.post(GENERIC, **kw)))
        kw = jira_request(jira_body(22901), f"{mark}-coded")
        answers.append(
            _httpx(client.post(JIRA, content=kw["content"], headers={**kw["headers"], "content-encoding": mark}))
        )
        kw = slack_request(
            b"payload=" + json.dumps({"type": mark, "trigger_id": mark}).encode(), "application/x-www-form-urlencoded"
        )
        answers.append(_httpx(client.post(SLACK_ACTIONS, **kw)))
        kw = slack_request(json.dumps({"type": "url_verification", "challenge": "c", mark: mark}).encode())
        answers.append(_httpx(client.post(SLACK_EVENTS, **kw)))
    return [a.decode("latin-1") for a in answers]


def _httpx(resp: httpx.Response) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in resp.headers.items())
    return f"HTTP/1.1 {resp.status_code}\r\n{head}\r\n".encode() + resp.content


def receiver_series(metrics: str) -> set[str]:
    return {line.rsplit(" ", 1)[0] for line in metrics.splitlines() if line.startswith(RECEIVER_METRICS)}


def foreign_labels(series: set[str]) -> list[str]:
    out = []
    for line in series:
        for name, value in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', line):
            allowed = LABEL_VALUES.get(name, set())
            if allowed is not None and value not in allowed:
                out.append(line)
    return out


@pytest.fixture
def served(tmp_path, duckdb_warehouse, monkeypatch):
    monkeypatch.setenv("PROJECTX_ENV", "local")
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    env = ENVIRONMENTS["local"]
    with instance_for_test() as instance:
        record_sync(instance, env, "servicenow", datetime.now(UTC), duration=30.0, rows=10, quarantined=0)
        reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=env)
        settings = settings_for(tmp_path, failure_burst=1000, rate_burst=1000)
        with LiveReceiver(create_app(settings, operations=reader)) as live:
            yield live.url


def _shown(url: str) -> str:
    with httpx.Client(base_url=url, timeout=30) as client:
        pages = [
            client.get(path) for path in ("/metrics", "/healthz", "/integration-health", "/integration-health.json")
        ]
    assert [p.status_code for p in pages] == [200, 200, 200, 200]
    return "\n".join(p.text for p in pages)


def test_nothing_an_attacker_sends_is_shown_and_metric_labels_stay_a_fixed_set(served, caplog):
    caplog.set_level(logging.DEBUG, logger="webhooks")
    first_mark, second_mark = "zqmarkone", "zqmarktwo"
    answers = battery(served, first_mark)
    assert all(a.startswith("HTTP/1.1 4") or a.startswith("HTTP/1.1 200") for a in answers), [
        a[:80] for a in answers if not a.startswith("HTTP/1.1 4")
    ]
    shown = _shown(served)
    assert first_mark not in shown.lower() and first_mark not in "\n".join(answers).lower()
    assert first_mark not in caplog.text.lower()
    series = receiver_series(shown)
    assert not foreign_labels(series), foreign_labels(series)
    assert {"content_type", "missing_signature", "contract", "content_encoding"} <= {  # the battery was counted
        r for s in series for r in re.findall(r'reason="(\w+)"', s)
    }
    answers = battery(served, second_mark)
    shown_again = _shown(served)
    assert second_mark not in shown_again.lower() and second_mark not in "\n".join(answers).lower()
    assert second_mark not in caplog.text.lower()
    assert receiver_series(shown_again) == series  # the same attacks with other strings: not one new series
