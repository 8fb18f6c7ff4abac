"""Shared helpers for the webhook tests: settings with test secrets, signed requests, an in-process client."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from sandbox.partner import slack_headers, standard_headers
from webhooks.local import ServedApp as LiveReceiver
from webhooks.receiver.verify import jira_signature, servicenow_signature
from webhooks.settings import WebhookSettings

SECRETS = {"servicenow": "sn-test-secret", "jira": "jira-test-secret",
           "generic": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "slack": "slack-test-secret"}
SECRET_ENV = {"SERVICENOW_WEBHOOK_SECRET": SECRETS["servicenow"], "JIRA_WEBHOOK_SECRET": SECRETS["jira"],
              "GENERIC_WEBHOOK_SECRET": SECRETS["generic"], "SLACK_SIGNING_SECRET": SECRETS["slack"]}
GENERIC = "/api/integrations/generic/webhook"
JIRA = "/api/integrations/jira/webhook"
SERVICENOW = "/api/integrations/servicenow/webhook"
SLACK_EVENTS = "/api/integrations/slack/events"
SLACK_ACTIONS = "/api/integrations/slack/interactions"


def settings_for(tmp_path: Path, **overrides) -> WebhookSettings:
    return WebhookSettings(sqlite_path=str(tmp_path / "inbox.sqlite3"), secrets=dict(SECRETS), **overrides)


def generic_body(msg_type: str = "task.created", **data) -> bytes:
    return json.dumps({"type": msg_type, "timestamp": "2026-12-02T10:00:00+00:00", "data": data}).encode()


def generic_request(body: bytes, msg_id: str, ts: int | None = None) -> dict:
    return {"content": body, "headers": {"content-type": "application/json",
                                         **standard_headers(SECRETS["generic"], msg_id, body, ts)}}


def jira_body(issue_id: int = 10001, event: str = "jira:issue_updated") -> bytes:
    return json.dumps({"timestamp": int(time.time() * 1000), "webhookEvent": event,
                       "issue": {"id": str(issue_id), "key": f"PX-{issue_id}", "fields": {}}}).encode()


def jira_request(body: bytes, ident: str) -> dict:
    return {"content": body, "headers": {"content-type": "application/json", "X-Atlassian-Webhook-Identifier": ident,
                                         "X-Hub-Signature": jira_signature(SECRETS["jira"], body)}}


def servicenow_request(body: bytes, ident: str, ts: int | None = None) -> dict:
    stamp = str(int(time.time()) if ts is None else ts)
    return {"content": body, "headers": {"content-type": "application/json", "X-ServiceNow-Delivery": ident,
                                         "X-ServiceNow-Timestamp": stamp,
                                         "X-ServiceNow-Signature": servicenow_signature(SECRETS["servicenow"], stamp,
                                                                                        body)}}


def slack_request(body: bytes, content_type: str = "application/json", ts: int | None = None) -> dict:
    return {"content": body, "headers": {"content-type": content_type, **slack_headers(SECRETS["slack"], body, ts)}}


def asgi_client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 40000)),
                             base_url="http://receiver")


def metric(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def inbox_rows(settings: WebhookSettings, sql: str) -> list[tuple]:
    with sqlite3.connect(settings.sqlite_path) as conn:
        return conn.execute(sql).fetchall()


@contextmanager
def served_with(parser: str, folder: Path, **overrides) -> Iterator[tuple]:
    """The receiver served by uvicorn on loopback, its requests parsed by ``parser`` (``"httptools"`` or
    ``"h11"``; skips when httptools is not installed): yields ``(settings, (host, port), app)``."""
    from webhooks.app import create_app
    from webhooks.receiver import server as bounded

    with pytest.MonkeyPatch.context() as patch:
        if parser == "h11":
            patch.setattr(bounded, "HttpToolsProtocol", None)
        elif bounded.HttpToolsProtocol is None:
            pytest.skip("httptools is not installed: the receiver serves with h11 only")
        settings = settings_for(folder, **overrides)
        app = create_app(settings)
        with LiveReceiver(app) as served:
            host, port = served.url.removeprefix("http://").split(":")
            yield settings, (host, int(port)), app
