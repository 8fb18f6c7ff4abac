"""Round 33, the receiver's semantic layer: Standard Webhooks secrets and signatures, and Slack clicks.

- A ``GENERIC_WEBHOOK_SECRET`` with characters outside standard base64 (URL-safe ``-``/``_``, a ``whpk_``/
  ``whsk_`` asymmetric key) was taken: the ``standardwebhooks`` decoder skips such characters, so the HMAC
  key was not the one a partner's library derives (strict decoders refuse it or read it otherwise) and every
  delivery was a silent 401. It now stops the start-up naming the fix, as a secret that does not decode did.
- Held: several signatures in one header (``v1a``, junk, then the valid ``v1``); a webhook-id reused with
  another body is 409 and never replaces the stored one; a Slack click whose ``response_url`` points at
  another host is applied without that URL ever being fetched, whatever team or app id the signed payload
  names (entitlement rests on the ledger and the clicker); ServiceNow/Jira record ids that are paths, SQL or
  10k characters are quarantined; a view_submission of ~900 KB is acknowledged with an empty 200 and kept
  as ignored, one past 1 MiB is 413.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from urllib.parse import quote

import pytest

from assets.notifications.messages import APPROVE_ACTION
from resources.warehouse import WarehouseResource
from tests.notify_helpers import click
from tests.webhook_helpers import (
    GENERIC,
    SECRETS,
    SLACK_ACTIONS,
    asgi_client,
    generic_body,
    generic_request,
    inbox_rows,
    settings_for,
    slack_request,
)
from webhooks.app import create_app
from webhooks.inbox import EventQueue, open_database
from webhooks.processing import process
from webhooks.receiver.verify import secret_problem

KEY = base64.b64encode(bytes(range(32))).decode()


# --- Standard Webhooks secrets ------------------------------------------------------------------------------

@pytest.mark.parametrize("secret", ["whsec_abc-def_ghijkl", "whpk_" + KEY, "whsk_" + KEY,
                                    "whsec_" + KEY[:20] + "_" + KEY[20:40] + "-" + KEY[40:]])
def test_a_generic_secret_that_is_not_standard_base64_stops_the_start_up(tmp_path, secret):
    assert secret_problem("generic", secret) is not None  # was None: its key bytes silently lost characters
    settings = settings_for(tmp_path)
    bad = type(settings)(**{**settings.__dict__, "secrets": {**SECRETS, "generic": secret}})
    with pytest.raises(ValueError, match=r"GENERIC_WEBHOOK_SECRET .*not standard base64") as info:
        bad.resolved()
    assert secret.split("_", 1)[1] not in str(info.value)  # never the value


@pytest.mark.parametrize("secret", ["whsec_" + KEY, KEY, SECRETS["generic"]])
def test_a_standard_base64_secret_with_or_without_its_prefix_is_taken(secret):
    assert secret_problem("generic", secret) is None


# --- Standard Webhooks deliveries (held) --------------------------------------------------------------------

def test_one_valid_signature_among_others_verifies_and_a_reused_id_never_replaces_the_stored_body(tmp_path):
    settings = settings_for(tmp_path)
    first, second = generic_body("task.created", n=1), generic_body("task.created", n=2)

    async def go():
        app = create_app(settings)
        async with app.router.lifespan_context(app), asgi_client(app) as client:
            request = generic_request(first, "msg_round33")
            valid = request["headers"]["webhook-signature"]
            request["headers"]["webhook-signature"] = f"v1a,{base64.b64encode(b'x' * 64).decode()} v1,!!junk v2,AAAA " \
                                                      f"{valid}"
            answers = [await client.post(GENERIC, **request)]
            answers.append(await client.post(GENERIC, **generic_request(second, "msg_round33")))
            answers.append(await client.post(GENERIC, **generic_request(first, "msg_round33", ts=None)))
            return [(a.status_code, a.text) for a in answers]

    answers = asyncio.run(go())
    assert answers[0] == (200, "accepted") and answers[1][0] == 409 and answers[2] == (200, "duplicate")
    assert inbox_rows(settings, "select delivery_id, body from webhook_events") == [("msg_round33", first.decode())]
    [(ident, body_b64)] = inbox_rows(settings, "select delivery_id, body_b64 from webhook_quarantine")
    assert ident.startswith("msg_round33#sha256:") and base64.b64decode(body_b64) == second


# --- Slack clicks (held) ------------------------------------------------------------------------------------

class _Listener:
    """A loopback TCP port that counts the connections made to it (a response_url's host)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hooks/ssrf"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def test_a_click_naming_another_host_in_its_response_url_never_makes_the_receiver_fetch_it(
        approval, tmp_path, monkeypatch):
    slack, message, approver = approval
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
    monkeypatch.setenv("SLACK_API_URL", slack.url + "/api/")
    listener = _Listener()
    settings = settings_for(tmp_path)
    try:
        payload = click(message, APPROVE_ACTION, approver, username="amelia")
        payload.update(trigger_id="13345224609.738474920.round33", response_url=listener.url,
                       team={"id": "T0THERTEAM", "domain": "elsewhere"}, api_app_id="A0THERAPP",
                       user={"id": approver, "username": "amelia", "team_id": "T0THERTEAM"})
        body = ("payload=" + quote(json.dumps(payload))).encode()

        async def go():
            app = create_app(settings)
            async with app.router.lifespan_context(app), asgi_client(app) as client:
                answer = await client.post(SLACK_ACTIONS, **slack_request(body, "application/x-www-form-urlencoded"))
                return answer.status_code, answer.text

        assert asyncio.run(go()) == (200, "accepted")
        db = open_database(settings)
        try:
            result = process(EventQueue(db), lambda key: None)
        finally:
            db.close()
        assert (result.done, result.failed) == (1, 0), result.errors
        with WarehouseResource.from_env().connect() as conn:
            assert conn.scalar("select decision from notifications.task_decisions where task_id = 'task-1'") == \
                "approved"
        assert listener.connections == 0, "the receiver fetched the click's response_url"
    finally:
        listener.close()


# --- hostile record ids (held) ------------------------------------------------------------------------------

HOSTILE_IDS = ["../../../etc/passwd", "1' or '1'='1", "a" * 10_000, "%2e%2e%2f", "\u202e" + "f" * 31]


def test_hostile_record_ids_are_quarantined_never_events(tmp_path):
    """A signed ServiceNow or Jira delivery whose record id is a path, SQL or 10k characters breaks its
    contract: kept in quarantine (400), never an event a handler would read, and never echoed back."""
    from tests.webhook_helpers import JIRA, SERVICENOW, jira_request, servicenow_request

    settings = settings_for(tmp_path)
    now_ms = int(time.time() * 1000)

    async def go():
        app = create_app(settings)
        answers = []
        async with app.router.lifespan_context(app), asgi_client(app) as client:
            for n, bad in enumerate(HOSTILE_IDS):
                sn = json.dumps({"table": "incident", "sys_id": bad, "operation": "update",
                                 "sys_updated_on": "2026-12-07 10:00:00"}).encode()
                answers.append(await client.post(SERVICENOW, **servicenow_request(sn, f"sn-{n}")))
                jira = json.dumps({"timestamp": now_ms, "webhookEvent": "jira:issue_deleted",
                                   "issue": {"id": bad, "key": "PX-1"}}).encode()
                answers.append(await client.post(JIRA, **jira_request(jira, f"jira-{n}")))
                table = json.dumps({"table": bad, "sys_id": "a" * 32, "operation": "update",
                                    "sys_updated_on": "2026-12-07 10:00:00"}).encode()
                answers.append(await client.post(SERVICENOW, **servicenow_request(table, f"sn-table-{n}")))
        return answers

    answers = asyncio.run(go())
    assert [a.status_code for a in answers] == [400] * len(answers)
    assert all(len(a.content) < 100 for a in answers)
    assert inbox_rows(settings, "select count(*) from webhook_events") == [(0,)]
    assert inbox_rows(settings, "select count(*) from webhook_quarantine") == [(len(answers),)]


def test_a_view_submission_with_huge_state_is_acknowledged_kept_and_ignored(tmp_path):
    settings = settings_for(tmp_path)
    values = {f"b{n}": {"a": {"type": "plain_text_input", "value": "x" * 8000}} for n in range(110)}
    payload = {"type": "view_submission", "trigger_id": "1.2.huge", "user": {"id": "U0HUGE"},
               "view": {"id": "V1", "state": {"values": values}}}
    body = ("payload=" + quote(json.dumps(payload))).encode()
    assert 850_000 < len(body) < 1024 * 1024
    over = ("payload=" + quote(json.dumps({**payload, "pad": "y" * 200_000}))).encode()

    async def go():
        app = create_app(settings)
        async with app.router.lifespan_context(app), asgi_client(app) as client:
            answers = []
            for content in (body, over):
                answer = await client.post(SLACK_ACTIONS, **slack_request(content, "application/x-www-form-urlencoded"))
                answers.append((answer.status_code, answer.text))
            return answers

    answers = asyncio.run(go())
    assert answers[0] == (200, "") and answers[1][0] == 413  # an empty 200 closes the modal
    db = open_database(settings)
    try:
        result = process(EventQueue(db), lambda key: None)
    finally:
        db.close()
    assert (result.ignored, result.failed, result.done) == (1, 0, 0)
