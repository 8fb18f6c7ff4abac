"""Round 27 follow-ups on the receiver, over loopback against the real uvicorn server (``LiveReceiver``).

Found and fixed:

- the answers the protocol layer writes straight to the socket (431, 408, 429, 503, the framing and
  folding 400s, and uvicorn's own 400 for a request its parser refuses) had none of the baseline headers
  every other answer carries (``X-Content-Type-Options: nosniff``, ``Cache-Control: no-store``)
  (``webhooks/receiver/protocol_base.py``);
- an absolute-form request target (``POST http://host/path HTTP/1.1``, RFC 9112 3.2.2: a server MUST
  accept it) was a 404 on the h11 path (uvicorn took the whole target as the path) while httptools routed
  it (``webhooks/receiver/h11_protocol.py``);
- a Slack ``view_closed`` (which carries no trigger_id) was kept in quarantine and answered 400, since the
  contract required a trigger_id of every interaction (``webhooks/contracts/slack.interaction.json``);
- a ``view_submission`` was answered "accepted", a body Slack shows the person as an error, keeping the
  modal open; it is answered with the empty 200 that closes it (``webhooks/slack/interactions.py``);
- every interaction type but ``block_actions`` (a shortcut, a message shortcut, a modal submitted or
  closed) had no handler: each was retried ten times into the dead letters. Each is now finished as
  ``ignored`` (kept in the inbox with its reason, audited under its type) and counted in
  ``webhook_slack_interactions_unhandled_total{type}`` (``webhooks/handlers.py``);
- a Slack event retried with other bytes under its event_id (a retry serialized anew) was answered 409 and
  kept in quarantine: Slack counts that against the app and retries again. It is a duplicate now (200,
  stored once) (``webhooks/receiver/endpoints.py``, ``webhooks/inbox/writer.py``).
"""

from __future__ import annotations

import contextlib
import json
import socket
import time

import httpx
import pytest
from slack_sdk import WebClient

from tests.sandbox.slack.test_view_submissions import MODAL
from tests.webhook_helpers import (
    JIRA,
    SECRETS,
    SLACK_ACTIONS,
    SLACK_EVENTS,
    LiveReceiver,
    inbox_rows,
    jira_body,
    jira_request,
    metric,
    settings_for,
    slack_request,
)
from webhooks.app import create_app
from webhooks.inbox import EventQueue, open_database
from webhooks.processing import process
from webhooks.receiver import protocol_base
from webhooks.receiver import server as bounded
from webhooks.receiver.protocol_base import MAX_HEAD_BYTES

BASELINE = (b"x-content-type-options: nosniff", b"cache-control: no-store")


@pytest.fixture(params=["h11", "httptools"])
def protocol_live(request, tmp_path, monkeypatch):
    """The receiver served on one of uvicorn's two HTTP paths (h11 when httptools is not installed)."""
    if request.param == "h11":
        monkeypatch.setattr(bounded, "HttpToolsProtocol", None)
    elif bounded.HttpToolsProtocol is None:
        pytest.skip("httptools is not installed: the receiver serves with h11 only")
    settings = settings_for(tmp_path, head_timeout_seconds=0.5, max_connections_per_address=2)
    with LiveReceiver(create_app(settings)) as served:
        host, port = served.url.removeprefix("http://").split(":")
        yield settings, (host, int(port))


def _exchange(address, data: bytes, timeout: float = 5.0) -> bytes:
    answer = b""
    with socket.create_connection(address, timeout=timeout) as conn:
        with contextlib.suppress(OSError):
            conn.sendall(data)
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := conn.recv(65536):
                answer += chunk
    return answer


def _head(answer: bytes) -> list[bytes]:
    return [line.lower() for line in answer.partition(b"\r\n\r\n")[0].split(b"\r\n")]


def test_answers_written_by_the_protocol_layer_carry_the_baseline_headers(protocol_live):
    """Each answer the receiver's protocol writes itself, and uvicorn's own 400, as a client reads it."""
    _, address = protocol_live
    answers = {
        "431": _exchange(address, b"POST / HTTP/1.1\r\nhost: r\r\nx-pad: " + b"a" * (MAX_HEAD_BYTES + 10)
                         + b"\r\n\r\n"),
        "408": _exchange(address, b"POST / HTTP/1.1\r\nhost: r\r\n"),  # never finished
        "400 obs-fold": _exchange(address, b"POST / HTTP/1.1\r\nhost: r\r\nx-a: 1\r\n  2\r\n\r\n"),
        "400 framing": _exchange(address, b"POST / HTTP/1.1\r\nhost: r\r\ntransfer-encoding: chunked\r\n"
                                          b"content-length: 5\r\n\r\n0\r\n\r\n"),
        "400 uvicorn": _exchange(address, b"POST / HTTP/1.1\r\nhost: r\r\ncontent-length: x\r\n\r\n"),
    }
    with socket.create_connection(address, timeout=5) as one, socket.create_connection(address, timeout=5) as two:
        one.sendall(b"G")  # the two connections this address may hold
        two.sendall(b"G")
        answers["429"] = _exchange(address, b"")
    statuses = {name: answer.split(b" ")[1] if answer else b"" for name, answer in answers.items()}
    assert statuses == {"431": b"431", "408": b"408", "400 obs-fold": b"400", "400 framing": b"400",
                        "400 uvicorn": b"400", "429": b"429"}
    canned = ("SERVER_FULL", "BARE_LF")  # the 503 of a full server, h11's bare-LF 400: the same writer
    answers.update({name: getattr(protocol_base, name) for name in canned})
    missing = {name: [h for h in BASELINE if h not in _head(answer)] for name, answer in answers.items()}
    assert missing == {name: [] for name in answers}


def test_an_absolute_form_target_is_routed_as_its_path_on_both_parsers(protocol_live):
    settings, address = protocol_live
    answers = []
    for n, form in enumerate((b"http://receiver.example", b"HTTPS://receiver.example:443")):
        kw = jira_request(jira_body(27100 + n), f"r27-absolute-{n}")
        head = b"".join(f"{k}: {v}\r\n".encode() for k, v in kw["headers"].items())
        answers.append(_exchange(address, b"POST " + form + JIRA.encode() + b"?x=1 HTTP/1.1\r\nhost: other\r\n"
                                 + f"content-length: {len(kw['content'])}\r\nconnection: close\r\n".encode()
                                 + head + b"\r\n" + kw["content"]))
    assert [a.split(b"\r\n")[0] for a in answers] == [b"HTTP/1.1 200 OK"] * 2
    assert {r[0] for r in inbox_rows(settings, "select delivery_id from webhook_events")} == \
        {"r27-absolute-0", "r27-absolute-1"}


def test_every_slack_interaction_type_is_acknowledged_kept_and_finished_never_dead_lettered(
        make_slack_sandbox, tmp_path):
    """The Slack sandbox sends a modal's submission and its close, a global and a message shortcut, as Slack
    does, to the live receiver: each is answered as Slack wants it (ok in the sandbox), stored once, counted
    as unhandled by type, and the inbox consumer finishes each at once as ignored (no failed attempt, no dead
    letter), to be audited with that status."""
    settings = settings_for(tmp_path)
    kinds = ("view_submission", "view_closed", "shortcut", "message_action")
    before = {k: metric("webhook_slack_interactions_unhandled_total", type=k) for k in kinds}
    sb = make_slack_sandbox()
    web = WebClient(token=sb.bot_token, base_url=sb.url + "/api/")
    with LiveReceiver(create_app(settings)) as served:
        sb.configure_interactivity(served.url + SLACK_ACTIONS, SECRETS["slack"])
        submitted = web.views_open(trigger_id=sb.new_trigger_id(), view=MODAL)["view"]
        closed = web.views_open(trigger_id=sb.new_trigger_id(), view=MODAL)["view"]
        posted = web.chat_postMessage(channel="#general", text="file this")
        records = {
            "view_submission": sb.submit_view(submitted["id"], {"reason": "still needed", "level": "low"}),
            "view_closed": sb.close_view(closed["id"]),
            "shortcut": sb.run_shortcut("new_task"),
            "message_action": sb.run_shortcut("file_it", channel="general", ts=posted["ts"]),
        }
    assert "trigger_id" not in records["view_closed"]["payload"]  # as Slack sends it
    answers = {k: (r["ok"], r["status"], r["error"]) for k, r in records.items()}
    assert answers == {k: (True, 200, None) for k in kinds}
    assert records["view_submission"]["body"] == ""  # the empty answer that closes the modal
    assert sorted(inbox_rows(settings, "select event_type, status from webhook_events")) == \
        sorted((f"interaction:{k}", "pending") for k in kinds)
    assert inbox_rows(settings, "select reason from webhook_quarantine") == []
    counted = {k: metric("webhook_slack_interactions_unhandled_total", type=k) - before[k] for k in kinds}
    assert counted == dict.fromkeys(kinds, 1.0)

    db = open_database(settings)
    try:
        result = process(EventQueue(db), lambda key: None)  # what the webhook_inbox sensor runs
    finally:
        db.close()
    assert (result.ignored, result.done, result.failed, result.dead, result.runs) == (4, 0, 0, [], [])
    finished = inbox_rows(settings, "select status, attempts, last_error from webhook_events")
    assert {(status, attempts) for status, attempts, _ in finished} == {("ignored", 0)}
    assert all("no handler acts on Slack interaction:" in why for _, _, why in finished)
    db = open_database(settings)
    try:
        audited = {e["event_type"]: e["status"] for e in EventQueue(db).unaudited()}
    finally:
        db.close()
    assert audited == {f"interaction:{k}": "ignored" for k in kinds}


def _interaction(kind: str, **fields) -> bytes:
    payload = {"type": kind, "user": {"id": "U27"}, "team": {"id": "T27"}, **fields}
    return b"payload=" + json.dumps(payload).replace("%", "%25").replace("&", "%26").replace("+", "%2B").encode()


def test_interaction_contract_requires_a_trigger_id_only_where_slack_always_sends_one(tmp_path):
    """block_actions and shortcuts without a trigger_id are still kept in quarantine (400); a view_closed
    without one is taken, named by its body's digest, and a second copy of it is a duplicate."""
    settings = settings_for(tmp_path)
    form = "application/x-www-form-urlencoded"
    view = {"id": "V27", "hash": "1.a", "type": "modal"}
    bodies = {
        "click without trigger": _interaction("block_actions", actions=[{"action_id": "approve"}]),
        "shortcut without trigger": _interaction("shortcut", callback_id="new_task"),
        "closed without its view": _interaction("view_closed", is_cleared=False),
        "closed": _interaction("view_closed", view=view, is_cleared=False),
    }
    with LiveReceiver(create_app(settings)) as served, httpx.Client(base_url=served.url, timeout=10) as client:
        answers = {k: client.post(SLACK_ACTIONS, **slack_request(b, form)).status_code for k, b in bodies.items()}
        again = client.post(SLACK_ACTIONS, **slack_request(bodies["closed"], form))
    assert answers == {"click without trigger": 400, "shortcut without trigger": 400, "closed without its view": 400,
                       "closed": 200}
    assert (again.status_code, again.text) == (200, "duplicate")
    [(delivery_id, event_type)] = inbox_rows(settings, "select delivery_id, event_type from webhook_events")
    assert event_type == "interaction:view_closed" and delivery_id.startswith("sha256:")
    assert len(inbox_rows(settings, "select reason from webhook_quarantine")) == 3


def test_a_slack_event_retried_with_other_bytes_is_a_duplicate_never_a_409(tmp_path):
    """Slack retries an event it got no timely 2xx for (X-Slack-Retry-Num), re-signed with a new timestamp.
    The same bytes were a duplicate already; the same event serialized anew (other key order and spacing
    [unc whether Slack ever does]) was a 409 and a quarantine row. Both are duplicates now: 200, one row."""
    settings = settings_for(tmp_path)
    event = {"type": "event_callback", "event_id": "Ev27RETRY", "team_id": "T27", "event_time": int(time.time()),
             "event": {"type": "message", "text": "hello", "channel": "C27"}}
    first = json.dumps(event).encode()
    reserialized = json.dumps(dict(reversed(list(event.items()))), separators=(",", ":")).encode()
    assert first != reserialized and json.loads(first) == json.loads(reserialized)
    other = json.dumps({**event, "event_id": "Ev27OTHER"}).encode()
    with LiveReceiver(create_app(settings)) as served, httpx.Client(base_url=served.url, timeout=10) as client:
        sends = [(first, 0, None), (first, 1, "http_timeout"), (reserialized, 2, "http_timeout"), (other, 0, None)]
        answers = []
        for n, (body, retry, reason) in enumerate(sends):
            kw = slack_request(body, ts=int(time.time()) - 10 + n)
            if retry:
                kw["headers"].update({"x-slack-retry-num": str(retry), "x-slack-retry-reason": reason})
            answer = client.post(SLACK_EVENTS, **kw)
            answers.append((answer.status_code, answer.text))
    assert answers == [(200, "accepted"), (200, "duplicate"), (200, "duplicate"), (200, "accepted")]
    assert sorted(inbox_rows(settings, "select delivery_id, body from webhook_events")) == \
        [("Ev27OTHER", other.decode()), ("Ev27RETRY", first.decode())]
    assert inbox_rows(settings, "select reason from webhook_quarantine") == []
