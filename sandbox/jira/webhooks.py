"""Admin webhooks (`/rest/webhooks/1.0/webhook`) and their signed, retried deliveries.

A registered hook `{"name","url","events":[..],"filters":{"issue-related-events-section": JQL},
"excludeBody", "secret"}` receives a POST for each matching event. Body: `{"timestamp","webhookEvent",
"issue_event_type_name","user","issue","changelog"?,"comment"?}` (issue in REST v2 shape, rendered at event
time). Headers: `X-Atlassian-Webhook-Identifier` (stable across retries), `X-Atlassian-Webhook-Flow: Primary`,
`X-Atlassian-Webhook-Retry: <n>` on retries, and with a secret `X-Hub-Signature: sha256=<hex HMAC of raw body>`.
Deliveries run on one background thread; like Jira they retry on 408/409/425/429/5xx and connection
errors, `attempts` times in all with exponential `backoff_seconds`. `deliveries` is the attempt log.

Dynamic webhooks (`dynamic_webhooks`) are hooks with an `app`: they stop firing after `expires` (epoch ms, read
from `now`), `fieldIdsFilter` narrows `jira:issue_updated` to changes of those fields, the matching hooks of
one app and URL share one delivery that lists them in `matchedWebhookIds`, and the delivery carries
`Authorization: Bearer <bearer()>` (a JWT) instead of a signature.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from sandbox.jira.errors import PAYLOAD

RETRY_STATUSES = {408, 409, 425, 429}
DYNAMIC = ("app", "expires", "fieldIdsFilter", "issuePropertyKeysFilter", "bearer")  # `dynamic_webhooks`
# Jira Software's sprint events and the issue-related worklog and attachment ones (`on_entity`), for admin
# webhooks: `{"timestamp","webhookEvent",<"sprint"|"worklog"|"attachment">: <its REST bean>}`. A sprint's state
# change is its own event (started / closed) [unc: whether Cloud also sends sprint_updated then]; the JQL filter
# narrows the worklog and attachment events by their issue (they are "issue related events" in Jira's webhook
# form) and not the sprint ones [unc]. Dynamic (app) webhooks do not take them (`dynamic_webhooks.EVENTS`).
SPRINT_EVENTS = ("sprint_created", "sprint_updated", "sprint_started", "sprint_closed", "sprint_deleted")
ENTITY_EVENTS = (*SPRINT_EVENTS, "worklog_created", "worklog_updated", "worklog_deleted", "attachment_created",
                 "attachment_deleted")
EVENTS = {"jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "comment_created", "comment_updated",
          "comment_deleted", "issue_property_set", "issue_property_deleted", *ENTITY_EVENTS}  # the ones emitted


class WebhookHub:
    def __init__(self, render_event: Callable[[dict[str, Any]], dict[str, Any]],
                 compile_filter: Callable[[str], Callable[[Any], bool]], attempts: int = 3,
                 backoff_seconds: float = 0.5, timeout: float = 5.0) -> None:
        self.render_event, self.compile_filter = render_event, compile_filter
        self.attempts, self.backoff_seconds, self.timeout = attempts, backoff_seconds, timeout
        self.hooks: dict[int, dict[str, Any]] = {}
        self._filters: dict[int, Callable[[Any], bool] | None] = {}
        self.deliveries: collections.deque[dict[str, Any]] = collections.deque(maxlen=10_000)
        self._queue: queue.Queue[tuple[dict[str, Any], bytes, str, str, str] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._next = 0
        self._busy = 0
        self._thread: threading.Thread | None = None
        self._stopped = False
        self.now: Callable[[], int] = lambda: int(time.time() * 1000)

    # --- registry ---------------------------------------------------------------------------
    def register(self, spec: dict[str, Any], allowed: frozenset[str] | set[str] = EVENTS,
                 replace: int | None = None) -> dict[str, Any]:
        """Validate and store a hook (in place of hook `replace`, keeping its id); raises ValueError with Jira-like
        text."""
        url, events = spec.get("url"), spec.get("events") or []
        filters = spec.get("filters") or {}
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events) or not isinstance(
                filters, dict) or not isinstance(filters.get("issue-related-events-section") or "", str):
            raise ValueError(PAYLOAD)  # a wrong JSON type (was a 500)
        if not url or not str(url).startswith(("http://", "https://")):
            raise ValueError("Webhook URL must be a valid http(s) URL.")
        bad = [e for e in events if e not in allowed]
        if not events or bad:
            raise ValueError(f"Unsupported webhook event(s): {bad or 'none given'}")
        jql = filters.get("issue-related-events-section") or ""
        pred = self.compile_filter(jql) if jql.strip() else None
        with self._lock:
            if replace is None:
                self._next += 1
            hook_id = self._next if replace is None else replace
            self.hooks[hook_id] = {"id": hook_id, "name": spec.get("name") or f"webhook {hook_id}", "url": url,
                                   "events": list(events), "filters": {"issue-related-events-section": jql},
                                   "excludeBody": bool(spec.get("excludeBody", False)),
                                   "secret": spec.get("secret"), "enabled": bool(spec.get("enabled", True)),
                                   **{k: spec[k] for k in DYNAMIC if k in spec}}
            self._filters[hook_id] = pred
        return self.hooks[hook_id]

    def delete(self, hook_id: int) -> bool:
        with self._lock:
            self._filters.pop(hook_id, None)
            return self.hooks.pop(hook_id, None) is not None

    def clear(self) -> None:
        with self._lock:
            self.hooks.clear()
            self._filters.clear()
            self.deliveries.clear()

    # --- events -----------------------------------------------------------------------------
    def on_event(self, event: dict[str, Any]) -> None:
        """Store listener: enqueue one delivery per matching enabled hook."""
        matching, apps = [], {}
        now = self.now()
        with self._lock:
            for hook_id, hook in self.hooks.items():
                pred = self._filters.get(hook_id)
                if hook["enabled"] and event["webhookEvent"] in hook["events"] and (pred is None or
                                                                                   pred(event["issue"])):
                    if "app" not in hook:
                        matching.append(hook)
                    elif hook["expires"] > now and _fields_match(hook, event):
                        apps.setdefault((hook["app"], hook["url"]), []).append(hook)
        if not matching and not apps:
            return
        rendered = self.render_event(event)
        payload = json.dumps(rendered, separators=(",", ":")).encode()
        issue = event["issue"]
        for hooks in apps.values():
            body = json.dumps({**rendered, "matchedWebhookIds": [h["id"] for h in hooks]}, separators=(",", ":"))
            ident = f"{hooks[0]['id']}-{event['timestamp']}-{issue.id}-{time.monotonic_ns()}"
            self._enqueue((hooks[0], body.encode(), hooks[0]["url"], ident, event["webhookEvent"]))
        for hook in matching:
            url = (hook["url"].replace("${issue.key}", issue.key).replace("${issue.id}", str(issue.id))
                   .replace("${project.key}", issue.project))
            ident = f"{hook['id']}-{event['timestamp']}-{issue.id}-{time.monotonic_ns()}"
            self._enqueue((hook, b"" if hook["excludeBody"] else payload, url, ident, event["webhookEvent"]))

    def on_entity(self, name: str, key: str, bean: dict[str, Any], issue: Any = None) -> None:
        """An `ENTITY_EVENTS` event about `bean` (sent under `key`) to each enabled admin hook subscribed to it
        (whose JQL filter, for an issue's worklog or attachment, the `issue` matches)."""
        assert name in ENTITY_EVENTS, name
        now = self.now()
        with self._lock:
            matching = [h for h in self.hooks.values() if h["enabled"] and "app" not in h and name in h["events"]
                        and (issue is None or (pred := self._filters.get(h["id"])) is None or pred(issue))]
        if not matching:
            return
        payload = json.dumps({"timestamp": now, "webhookEvent": name, key: bean}, separators=(",", ":")).encode()
        for hook in matching:
            url = hook["url"] if issue is None else (hook["url"].replace("${issue.key}", issue.key)
                                                     .replace("${issue.id}", str(issue.id))
                                                     .replace("${project.key}", issue.project))
            ident = f"{hook['id']}-{now}-{key}-{bean.get('id')}-{time.monotonic_ns()}"
            self._enqueue((hook, b"" if hook["excludeBody"] else payload, url, ident, name))

    def on_sprint(self, name: str, sprint: dict[str, Any]) -> None:
        self.on_entity(name, "sprint", sprint)

    def _enqueue(self, job: tuple[dict[str, Any], bytes, str, str, str]) -> None:
        with self._lock:
            self._busy += 1
            if self._thread is None or not self._thread.is_alive():
                self._stopped = False
                self._thread = threading.Thread(target=self._run, name="jira-webhooks", daemon=True)
                self._thread.start()
        self._queue.put(job)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery (with retries) is finished; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._busy == 0:
                    return True
            time.sleep(0.01)
        return False

    def stop(self) -> None:
        self._stopped = True
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                if not self._stopped:
                    self._deliver(*job)
            finally:
                with self._lock:
                    self._busy -= 1

    def _deliver(self, hook: dict[str, Any], body: bytes, url: str, ident: str, event: str) -> None:
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Atlassian Webhook HTTP Client",
                   "X-Atlassian-Webhook-Identifier": ident, "X-Atlassian-Webhook-Flow": "Primary"}
        if hook.get("secret"):
            digest = hmac.new(str(hook["secret"]).encode(), body, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature"] = f"sha256={digest}"
        if hook.get("bearer"):
            headers["Authorization"] = f"Bearer {hook['bearer']()}"
        for attempt in range(max(1, self.attempts)):
            if attempt:
                headers["X-Atlassian-Webhook-Retry"] = str(attempt)
                time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
            status, error = None, None
            try:
                req = urllib.request.Request(url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    status = resp.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except (OSError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            self.deliveries.append({"identifier": ident, "webhook_id": hook["id"], "event": event, "url": url,
                                    "attempt": attempt + 1, "status": status, "error": error,
                                    "signature": headers.get("X-Hub-Signature"), "body": body.decode()})
            if status is not None and (200 <= status < 300 or (status < 500 and status not in RETRY_STATUSES)):
                return


def _fields_match(hook: dict[str, Any], event: dict[str, Any]) -> bool:
    """A dynamic hook's `fieldIdsFilter` (an issue update must change one of those fields) and
    `issuePropertyKeysFilter` (a property event must be about one of those keys)."""
    if event["webhookEvent"].startswith("issue_property_") and hook.get("issuePropertyKeysFilter"):
        return event["property"]["key"] in hook["issuePropertyKeysFilter"]
    wanted = hook.get("fieldIdsFilter")
    if not wanted or event["webhookEvent"] != "jira:issue_updated":
        return True
    changelog = event.get("changelog")
    return changelog is not None and any(item.get("fieldId") in wanted for item in changelog.items)
