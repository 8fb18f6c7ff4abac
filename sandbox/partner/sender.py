"""``PartnerSender``: signs and POSTs webhooks the way a partner (Standard Webhooks) or Slack does.

- ``scheme="standard"``: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature`` signed by the
  ``standardwebhooks`` package with a ``whsec_`` secret (what GENERIC_WEBHOOK_SECRET holds).
- ``scheme="slack"``: ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature: v0=<hex>`` over
  ``v0:<ts>:<body>``; ``interaction(payload)`` form-encodes ``payload=<json>`` like Slack's interactivity.

``send`` retries a connection error, 408, 429 or 5xx (``attempts`` in all, exponential backoff), with the
same delivery id each time, as partners do; every attempt is in ``log``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from standardwebhooks.webhooks import Webhook


def standard_headers(secret: str, msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(ts, UTC), body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


def slack_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


class PartnerSender:
    def __init__(self, url: str, secret: str, scheme: str = "standard", attempts: int = 3,
                 backoff_seconds: float = 0.2, timeout: float = 10.0) -> None:
        if scheme not in ("standard", "slack"):
            raise ValueError("scheme is 'standard' (Standard Webhooks) or 'slack'")
        self.url, self.secret, self.scheme = url, secret, scheme
        self.attempts, self.backoff_seconds, self.timeout = attempts, backoff_seconds, timeout
        self.log: list[dict[str, Any]] = []

    def event(self, event_type: str, data: dict[str, Any], msg_id: str | None = None) -> tuple[int | None, str]:
        """A Standard Webhooks event ``{"type", "timestamp", "data"}``; returns (last status, id)."""
        body = json.dumps({"type": event_type, "timestamp": datetime.now(UTC).isoformat(), "data": data}).encode()
        msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
        return self.send(body, msg_id), msg_id

    def slack_event(self, event: dict[str, Any], event_id: str | None = None) -> int | None:
        body = json.dumps({"token": "unused", "team_id": "T0001", "api_app_id": "A0001", "type": "event_callback",
                           "event": event, "event_id": event_id or f"Ev{uuid.uuid4().hex[:12].upper()}",
                           "event_time": int(time.time())}).encode()
        return self.send(body)

    def interaction(self, payload: dict[str, Any]) -> int | None:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.send(body, content_type="application/x-www-form-urlencoded")

    def headers(self, body: bytes, msg_id: str | None) -> dict[str, str]:
        if self.scheme == "standard":
            return standard_headers(self.secret, msg_id or f"msg_{uuid.uuid4().hex}", body)
        return slack_headers(self.secret, body)

    def send(self, body: bytes, msg_id: str | None = None, content_type: str = "application/json") -> int | None:
        status = None
        for attempt in range(max(1, self.attempts)):
            if attempt:
                time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
            headers = {"Content-Type": content_type, **self.headers(body, msg_id)}
            if self.scheme == "slack" and attempt:
                headers["X-Slack-Retry-Num"] = str(attempt)
            error = None
            try:
                req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    status = resp.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
            self.log.append({"attempt": attempt + 1, "status": status, "error": error, "id": msg_id})
            if status is not None and status < 500 and status not in (408, 429):
                return status
        return status
