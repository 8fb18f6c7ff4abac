"""The receiver beside the sandbox, in this process: for ``make demo``, the benchmark and tests.

``ServedApp`` runs an ASGI app on a real uvicorn server (127.0.0.1, a free port) in a thread.
``beside_sandbox`` gives the demo a receiver whose secrets are fresh for the run (unless set in the
environment), and points the ServiceNow sandbox's outbound REST messages and a Jira admin webhook at it.
"""

from __future__ import annotations

import base64
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from webhooks.receiver.server import server_options
from webhooks.settings import SECRET_ENV, WebhookSettings


class ServedApp:
    """``with ServedApp(app) as served: served.url``: uvicorn in a daemon thread, stopped on exit."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0) -> None:
        if not port:
            with socket.socket() as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
        self.url = f"http://{host}:{port}"
        # the app's own settings bound its connections (create_app keeps them on app.state)
        settings = getattr(getattr(app, "state", None), "settings", None)
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                    access_log=False, **server_options(settings)))

    def __enter__(self) -> ServedApp:
        self.thread = threading.Thread(target=self.server.run, name="webhook-receiver", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("The webhook receiver did not start: see the log above (is the inbox writable? "
                                   "PROJECTX_WEBHOOK_INBOX)")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(20)


def local_secrets() -> None:
    """Fresh secrets for a local run, where none are configured (never printed)."""
    for name, env in SECRET_ENV.items():
        if not os.environ.get(env):
            # Standard Webhooks keys are standard base64: token_urlsafe's "-" and "_" were dropped by the
            # decoder, and one run in fourteen made a key that does not decode at all (every delivery 401)
            os.environ[env] = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode() if name == "generic" \
                else secrets.token_hex(24)


@contextmanager
def beside_sandbox(servicenow, jira=None) -> Iterator[ServedApp]:
    """Serve the receiver and subscribe the sandboxes to it (ServiceNow task tables, Jira issue events)."""
    from webhooks.app import create_app

    local_secrets()
    settings = WebhookSettings.from_env().resolved()
    with ServedApp(create_app(settings)) as served:
        servicenow.outbound.register(served.url + "/api/integrations/servicenow/webhook",
                                     settings.secrets["servicenow"])
        if jira is not None:
            jira.webhooks.register({"name": "projectx", "url": served.url + "/api/integrations/jira/webhook",
                                    "secret": settings.secrets["jira"], "events": [
                                        "jira:issue_created", "jira:issue_updated", "jira:issue_deleted",
                                        "comment_created"]})
        yield served


def inbox_summary(servicenow=None, timeout: float = 10.0) -> str:
    """One line for a person: what the receiver holds (after the sandbox's pending deliveries)."""
    from webhooks.inbox import EventQueue, open_database

    if servicenow is not None:
        servicenow.outbound.flush(timeout)
    settings = WebhookSettings.from_env()
    db = open_database(settings)
    try:
        health = EventQueue(db).health()
    finally:
        db.close()
    parts = [f"{source} {sum(v for k, v in counts.items() if k not in ('quarantined', 'rejected_24h'))}"
             for source, counts in sorted(health.items())]
    where = settings.sqlite_path if settings.inbox_kind == "sqlite" else "PostgreSQL schema webhooks"
    return (f"webhook deliveries in the inbox: {', '.join(parts) or 'none yet'} ({where}; "
            "`python -m cli webhooks status`; the webhook_inbox sensor turns them into syncs)")
