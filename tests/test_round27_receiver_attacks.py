"""Round 27: the receiver attacked over loopback (the real uvicorn server, ``ServedApp``), with cases the
earlier webhook files do not send. Each body here is signed, so only the receiver's own reading of it can
refuse it.

Found and fixed here (``webhooks/contracts/__init__.py``):

- contract patterns were matched with Python's ``re``, not as JSON Schema (ECMA-262) means them: ``\\d``
  took any Unicode digit and ``$`` matched before a final newline, so a Jira ``issue.id`` of Arabic-Indic
  digits, a ServiceNow ``sys_id`` ending in a newline or a ``sys_updated_on`` in fullwidth digits was
  accepted (200) instead of kept in quarantine (the Jira delete then failed its handler ten times into the
  dead letters); a ``date-time`` ending in a newline passed too;
- a contract error under a key holding a control character put that character, raw, in the quarantine
  reason: on PostgreSQL a NUL failed the row, so the signed body was answered 503 on every retry and never
  kept (and each try logged a false "could not commit" inbox error).

And in ``webhooks/settings.py`` / ``webhooks/inbox/db.py``: a malformed rate, body limit, trusted proxy or
``synchronous`` value was repeated whole by the start-up error (a secret pasted into the wrong variable
printed by ``python -m webhooks``); it is shown by its length when long, as the other settings are.

Also checked (held): one delivery id raced with two bodies gets one 200 and one 409 and loses neither body;
a valid signature is never echoed, logged, counted or kept, whatever the request's fate; a body sent in
one-byte chunks (no Content-Length) is read whole; a body of exactly ``max_body_bytes`` is taken and one byte
more is 413, declared or chunked.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import logging
import re
import socket
import time

import httpx
import psycopg2
import pytest
from prometheus_client import REGISTRY, generate_latest

from tests.conftest import fresh_postgres
from tests.webhook_helpers import (
    GENERIC,
    JIRA,
    SECRETS,
    SERVICENOW,
    SLACK_EVENTS,
    LiveReceiver,
    generic_body,
    generic_request,
    inbox_rows,
    jira_request,
    servicenow_request,
    settings_for,
    slack_request,
)
from webhooks.app import create_app
from webhooks.inbox import open_database
from webhooks.settings import WebhookSettings

SIGNATURE_HEADERS = ("x-servicenow-signature", "x-hub-signature", "webhook-signature", "x-slack-signature")
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("round27"), failure_burst=1000)
    with LiveReceiver(create_app(settings)) as served, httpx.Client(base_url=served.url, timeout=10) as client:
        yield settings, client, served.url


def sn_body(**changes) -> bytes:
    record = {"table": "incident", "sys_id": "d" * 32, "number": "INC0027001", "operation": "update",
              "sys_updated_on": "2026-12-02 10:00:00", "fields": {"state": "2"}}
    return json.dumps({**record, **changes}).encode()


def jira_delete(issue_id: str) -> bytes:
    return json.dumps({"timestamp": int(time.time() * 1000), "webhookEvent": "jira:issue_deleted",
                       "issue": {"id": issue_id, "key": "PX-27", "fields": {}}}).encode()


def generic_at(stamp: str, **data) -> bytes:
    return json.dumps({"type": "task.created", "timestamp": stamp, "data": data}).encode()


def quarantined(settings) -> dict[str, str]:
    """Body sha256 -> reason, for the bodies the receiver kept in quarantine."""
    return {hashlib.sha256(base64.b64decode(b64)).hexdigest(): reason
            for b64, reason in inbox_rows(settings, "select body_b64, reason from webhook_quarantine")}


def events(settings) -> dict[str, str]:
    return dict(inbox_rows(settings, "select delivery_id, body from webhook_events"))


def test_contract_patterns_mean_what_json_schema_means(live):
    """``\\d`` is an ASCII digit and ``$`` the end of the text, as in every JSON Schema validator but Python's
    ``re``: each of these was answered 200 and stored; now each is 400 and kept in quarantine, while the
    same delivery written as the vendor writes it is still accepted."""
    settings, client, _ = live
    hostile = {
        "jira id in Arabic-Indic digits": (JIRA, jira_request, jira_delete("\u0661\u0662\u0663")),
        "jira id ending in a newline": (JIRA, jira_request, jira_delete("10027\n")),
        "servicenow sys_id ending in a newline": (SERVICENOW, servicenow_request, sn_body(sys_id="d" * 32 + "\n")),
        "servicenow time in fullwidth digits": (SERVICENOW, servicenow_request,
                                                sn_body(sys_updated_on="\uff12\uff10\uff12\uff16-12-02 10:00:00")),
        "servicenow mod count in Devanagari digits": (SERVICENOW, servicenow_request, sn_body(sys_mod_count="\u0967")),
        "generic date-time ending in a newline": (GENERIC, generic_request, generic_at("2026-12-02T10:00:00Z\n")),
    }
    answers = {}
    for n, (name, (path, make, body)) in enumerate(hostile.items()):
        answers[name] = client.post(path, **make(body, f"r27-pattern-{n}")).status_code
    assert answers == dict.fromkeys(hostile, 400)
    kept, stored = quarantined(settings), events(settings)
    for name, (_, _, body) in hostile.items():
        assert "does not match" in kept[hashlib.sha256(body).hexdigest()] or "date-time" in \
            kept[hashlib.sha256(body).hexdigest()], name
    assert not [d for d in stored if d.startswith("r27-pattern-")]
    honest = [(JIRA, jira_request, jira_delete("10027")), (SERVICENOW, servicenow_request, sn_body(sys_mod_count="7")),
              (GENERIC, generic_request, generic_at("2026-12-02T10:00:00.5z"))]
    for n, (path, make, body) in enumerate(honest):
        assert client.post(path, **make(body, f"r27-honest-{n}")).text == "accepted"
    assert {f"r27-honest-{n}" for n in range(3)} <= set(events(settings))


NUL_KEY_BODY = sn_body(fields={"state\u0000\u001b[31m": 2})  # a value that is no string, under a hostile key


def test_a_control_character_in_a_keys_path_is_escaped_in_the_quarantine_reason(live):
    settings, client, _ = live
    answer = client.post(SERVICENOW, **servicenow_request(NUL_KEY_BODY, "r27-nul-key"))
    assert (answer.status_code, answer.json()) == (400, {"error": "bad request"})
    reason = quarantined(settings)[hashlib.sha256(NUL_KEY_BODY).hexdigest()]
    assert not CONTROL.search(reason)
    assert "fields/state\\u0000\\u001b[31m" in reason


@pytest.mark.postgres
def test_a_nul_in_a_keys_path_is_kept_in_quarantine_on_postgres_not_a_503_on_every_retry(tmp_path, caplog):
    """PostgreSQL text holds no NUL: the reason's raw NUL failed the quarantine row, every retry."""
    caplog.set_level(logging.ERROR)
    with fresh_postgres(tmp_path / "pg", prefix="webhooks_r27") as pg:
        settings = dataclasses.replace(settings_for(tmp_path), inbox_kind="postgres", pg=pg)
        with LiveReceiver(create_app(settings)) as served, httpx.Client(base_url=served.url, timeout=20) as client:
            answers = [client.post(SERVICENOW, **servicenow_request(NUL_KEY_BODY, "r27-pg-nul")).status_code
                       for _ in range(2)]
        with psycopg2.connect(host=pg.pg_host, port=pg.pg_port, user=pg.pg_user, dbname=pg.pg_database) as conn, \
                conn.cursor() as cur:
            cur.execute("select reason, body_b64 from webhooks.webhook_quarantine")
            rows = cur.fetchall()
        conn.close()
    assert answers == [400, 400]  # the retry finds the row there (nothing more to keep)
    assert [base64.b64decode(b) for _, b in rows] == [NUL_KEY_BODY]
    assert "could not commit" not in caplog.text


def test_one_delivery_id_raced_with_two_bodies_answers_200_and_409_and_keeps_both(live):
    """Twenty ids, each sent at once with two different bodies: the writer decides the order; whichever body
    came second is refused (409) and kept in quarantine, the other is the event. Nothing answered is lost."""
    settings, _, url = live
    pairs = {f"r27-race-{i}": (generic_body("task.created", n=i, side="a"), generic_body("task.created", n=i, side="b"))
             for i in range(20)}

    async def send():
        async with httpx.AsyncClient(base_url=url, timeout=20) as client:
            jobs = [client.post(GENERIC, **generic_request(body, ident))
                    for ident, both in pairs.items() for body in both]
            return await asyncio.gather(*jobs)

    answers = asyncio.run(send())
    stored, kept = events(settings), quarantined(settings)
    for n, (ident, both) in enumerate(pairs.items()):
        first, second = answers[2 * n], answers[2 * n + 1]
        assert sorted([first.status_code, second.status_code]) == [200, 409], ident
        won, lost = (both[0], both[1]) if first.status_code == 200 else (both[1], both[0])
        assert stored[ident] == won.decode()
        assert hashlib.sha256(lost).hexdigest() in kept, ident


def test_a_valid_signature_is_never_echoed_logged_counted_or_kept(live, caplog):
    """Signed requests with every fate: accepted, duplicate, conflict (409), contract (400), replay and
    stale (401), a compressed body, Slack's URL check. No answer, log record, metric, quarantine reason or
    rejection row holds a signature (nor the MAC inside it)."""
    settings, client, _ = live
    for name in ("webhooks", "uvicorn", "starlette"):  # the server's loggers (not the test client's)
        caplog.set_level(logging.DEBUG, logger=name)
    old = int(time.time()) - 3600
    jira = json.dumps({"timestamp": int(time.time() * 1000), "webhookEvent": "jira:issue_updated",
                       "issue": {"id": "27027", "key": "PX-2727"}}).encode()
    sends = [
        (SERVICENOW, servicenow_request(sn_body(number="INC0027100"), "r27-sig-1")),
        (SERVICENOW, servicenow_request(sn_body(number="INC0027100"), "r27-sig-1")),  # duplicate
        (SERVICENOW, servicenow_request(sn_body(number="INC0027101"), "r27-sig-1")),  # 409
        (SERVICENOW, servicenow_request(sn_body(number="INC0027102"), "r27-sig-2", ts=old)),  # stale
        (JIRA, jira_request(jira, "r27-sig-3")),
        (JIRA, jira_request(jira, "r27-sig-4")),  # the same signed body under another id: a replay
        (JIRA, jira_request(b'{"timestamp": 1}', "r27-sig-5")),  # contract
        (GENERIC, generic_request(generic_at("not a time"), "r27-sig-6")),  # contract
        (SLACK_EVENTS, slack_request(b'{"type": "url_verification", "challenge": "r27-challenge"}')),
    ]
    compressed = generic_request(generic_body(), "r27-sig-7")
    compressed["headers"]["content-encoding"] = "gzip"
    sends.append((GENERIC, compressed))
    exposed, signatures, statuses = [], [], []
    for path, kw in sends:
        answer = client.post(path, **kw)
        statuses.append(answer.status_code)
        exposed.append(answer.text + "".join(f"{k}:{v}" for k, v in answer.headers.items()))
        signatures += [v for k, v in kw["headers"].items() if k.lower() in SIGNATURE_HEADERS]
    assert statuses == [200, 200, 409, 401, 200, 401, 400, 400, 200, 400]
    exposed += [caplog.text, generate_latest(REGISTRY).decode()]
    exposed += [reason for (reason,) in inbox_rows(settings, "select reason from webhook_quarantine")]
    exposed += [base64.b64decode(p or "").decode("latin-1")
                for (p,) in inbox_rows(settings, "select body_prefix_b64 from webhook_rejections")]
    text = "\n".join(exposed)
    macs = {part for s in signatures for part in re.split(r"[=, ]", s) if len(part) >= 32}
    distinct = len(macs)  # counts only: a failure must not print a signature either
    assert distinct == len(sends) - 2  # the duplicate and the replay repeat a signature
    shown = sum(m in text or m.upper() in text for m in macs) + sum(s in text for s in SECRETS.values())
    assert shown == 0


def test_a_body_sent_in_one_byte_chunks_without_a_length_is_read_whole(live):
    """Chunked framing with no Content-Length, each byte its own chunk (a streaming sender): accepted, and
    the stored body is the signed one."""
    settings, _, url = live
    kw = generic_request(generic_body("task.created", note="one byte a chunk"), "r27-chunks")
    body = kw["content"]
    head = "".join(f"{k}: {v}\r\n" for k, v in kw["headers"].items())
    chunks = b"".join(b"1\r\n" + body[i:i + 1] + b"\r\n" for i in range(len(body))) + b"0\r\n\r\n"
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(f"POST {GENERIC} HTTP/1.1\r\nhost: r\r\ntransfer-encoding: chunked\r\nconnection: close\r\n"
                     f"{head}\r\n".encode() + chunks)
        answer = b""
        while piece := conn.recv(65536):
            answer += piece
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"accepted")
    assert events(settings)["r27-chunks"] == body.decode()


def test_a_signed_body_of_exactly_the_limit_is_accepted_and_one_byte_more_is_413_in_either_framing(live):
    """``max_body_bytes`` is the largest body taken, whether declared (Content-Length) or counted as it
    arrives (chunked, no length): one byte more is 413 and nothing of it is stored."""
    settings, client, _ = live
    limit = settings.max_body_bytes
    base = generic_body("task.created", pad="")

    def padded(size: int) -> bytes:
        return base.replace(b'"pad": ""', b'"pad": "' + b"x" * (size - len(base)) + b'"')

    answers = {}
    for size in (limit, limit + 1):
        body = padded(size)
        assert len(body) == size
        kw = generic_request(body, f"r27-size-{size}")
        answers[("length", size)] = client.post(GENERIC, **kw).status_code
        kw = generic_request(body, f"r27-size-chunked-{size}")
        pieces = (body[i:i + 65536] for i in range(0, size, 65536))  # a generator: httpx sends it chunked
        answers[("chunked", size)] = client.post(GENERIC, content=pieces, headers=kw["headers"]).status_code
    assert answers == {("length", limit): 200, ("chunked", limit): 200,
                       ("length", limit + 1): 413, ("chunked", limit + 1): 413}
    stored = events(settings)
    assert {f"r27-size-{limit}", f"r27-size-chunked-{limit}"} <= set(stored)
    assert not {f"r27-size-{limit + 1}", f"r27-size-chunked-{limit + 1}"} & set(stored)


@pytest.mark.parametrize("name", ["PROJECTX_WEBHOOK_RATE_PER_SECOND", "WEBHOOK_MAX_BODY_BYTES",
                                  "PROJECTX_WEBHOOK_TRUSTED_PROXIES", "PROJECTX_WEBHOOK_SYNCHRONOUS"])
def test_a_secret_pasted_into_a_receiver_setting_is_not_repeated_by_its_start_up_error(name, monkeypatch, tmp_path):
    """``python -m webhooks`` prints the start-up error: a value pasted into the wrong variable (a signing secret,
    say) was shown whole by these settings, while the connection settings show a long value by its length."""
    pasted = SECRETS["jira"] + "-0123456789abcdef"
    monkeypatch.setenv(name, pasted)
    monkeypatch.setenv("PROJECTX_WEBHOOK_INBOX", str(tmp_path / "inbox.sqlite3"))
    with pytest.raises(ValueError) as refused:
        open_database(WebhookSettings.from_env())
    message = str(refused.value)  # compared, never printed: a failure must not show the value either
    named, by_length, repeated = name in message, f"a value of {len(pasted)} characters" in message, \
        SECRETS["jira"] in message.lower()
    assert (named, by_length, repeated) == (True, True, False)
