"""Outbound REST messages: what a ServiceNow business rule on task tables POSTs to a webhook URL.

Registered endpoints (``register(url, secret, tables)`` or ``POST /_sandbox/servicenow/webhooks``
``{"url", "secret", "tables"?}``; ``GET`` lists them with the attempt log, ``DELETE`` clears) receive,
after every insert, update or delete of a record in their tables (default: incident and the other
task tables), the body of ``webhooks/contracts/servicenow.record_change.json``:
``{"table", "sys_id", "number", "operation", "sys_updated_on", "sys_mod_count", "fields": {...}}``.

Headers (the scheme the receiver documents): ``X-ServiceNow-Delivery: <table>:<sys_id>:<mod_count>:<op>``
(stable across retries), ``X-ServiceNow-Timestamp: <unix seconds at sending>``, ``X-ServiceNow-Signature:
v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``. Sent from one background thread; like an async
RESTMessageV2 with a retry policy, a connection error, 408, 429 or 5xx is retried ``attempts`` times in
all with exponential ``backoff_seconds`` (each retry signed afresh with the time it leaves).
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import queue
import ssl
import threading
import time
import urllib.error
import urllib.request
from typing import Any

DEFAULT_TABLES = ("incident", "change_request", "sc_request", "sc_task", "task")
FIELDS = ("state", "priority", "short_description", "assigned_to", "assignment_group", "active", "category",
          "impact", "urgency", "cmdb_ci", "approval", "risk", "opened_at", "resolved_at", "closed_at")
RETRY = {408, 429}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class OutboundMessages:
    """Endpoints, the delivery queue and the attempt log (``deliveries``) of one instance."""

    def __init__(self, attempts: int = 4, backoff_seconds: float = 0.5, timeout: float = 5.0) -> None:
        self.attempts, self.backoff_seconds, self.timeout = attempts, backoff_seconds, timeout
        self.endpoints: list[dict[str, Any]] = []
        self.deliveries: collections.deque[dict[str, Any]] = collections.deque(maxlen=20_000)
        self._queue: queue.Queue[tuple[dict[str, Any], bytes, str] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._busy = 0
        self._thread: threading.Thread | None = None

    def register(self, url: str, secret: str, tables: list[str] | tuple[str, ...] | None = None,
                 verify_tls: bool = False) -> dict[str, Any]:
        if not str(url).startswith(("http://", "https://")) or not secret:
            raise ValueError("an outbound REST message needs an http(s) url and a secret")
        endpoint = {"url": url, "secret": secret, "tables": list(tables or DEFAULT_TABLES), "verify_tls": verify_tls}
        with self._lock:
            self.endpoints.append(endpoint)
        return endpoint

    def clear(self) -> None:
        with self._lock:
            self.endpoints.clear()
            self.deliveries.clear()

    def on_change(self, table: str, operation: str, record: dict[str, str]) -> None:
        """Store listener (called under the store lock): queue one message per interested endpoint."""
        with self._lock:
            targets = [e for e in self.endpoints if table in e["tables"] or
                       ("task" in e["tables"] and record.get("sys_class_name") == table)]
        if not targets:
            return
        body = json.dumps({"table": table, "sys_id": record["sys_id"], "number": record.get("number", ""),
                           "operation": operation, "sys_updated_on": record.get("sys_updated_on", ""),
                           "sys_mod_count": record.get("sys_mod_count", "0"),
                           "fields": {f: record[f] for f in FIELDS if f in record}}, separators=(",", ":")).encode()
        ident = f"{table}:{record['sys_id']}:{record.get('sys_mod_count', '0')}:{operation}"
        for endpoint in targets:
            with self._lock:
                self._busy += 1
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="servicenow-outbound", daemon=True)
                    self._thread.start()
            self._queue.put((endpoint, body, ident))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued message (with its retries) is finished; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._busy == 0:
                    return True
            time.sleep(0.01)
        return False

    def stop(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            try:
                self._deliver(*job)
            finally:
                with self._lock:
                    self._busy -= 1

    def _deliver(self, endpoint: dict[str, Any], body: bytes, ident: str) -> None:
        context = None
        if endpoint["url"].startswith("https://") and not endpoint["verify_tls"]:
            context = ssl._create_unverified_context()  # the sandbox posts to local test receivers
        for attempt in range(max(1, self.attempts)):
            if attempt:
                time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
            timestamp = str(int(time.time()))
            headers = {"Content-Type": "application/json", "User-Agent": "ServiceNow/1.0",
                       "X-ServiceNow-Delivery": ident, "X-ServiceNow-Timestamp": timestamp,
                       "X-ServiceNow-Signature": sign(endpoint["secret"], timestamp, body)}
            status, error = None, None
            try:
                req = urllib.request.Request(endpoint["url"], data=body, headers=headers, method="POST")
                with urllib.request.urlopen(req, timeout=self.timeout, context=context) as resp:
                    status = resp.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except (OSError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            self.deliveries.append({"identifier": ident, "url": endpoint["url"], "attempt": attempt + 1,
                                    "status": status, "error": error, "body": body.decode(),
                                    "headers": dict(headers), "sent_at": time.time()})
            if status is not None and status < 500 and status not in RETRY:
                return
