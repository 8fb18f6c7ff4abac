"""Round 30: README's Webhooks claims checked from outside, over loopback against the real uvicorn server, where
earlier rounds had not: signatures in odd forms, the timestamp window at its edges, bodies in other encodings
and shapes, and the health check, the health page and ``/metrics`` while one address floods the receiver.
All held (no fix needed); the receiver's own findings of this round are in ``test_round30_receiver_framing.py``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time

import httpx
import pytest

from tests.test_webhooks_receiver import SN_BODY
from tests.webhook_helpers import (
    GENERIC,
    JIRA,
    SECRETS,
    SERVICENOW,
    SLACK_EVENTS,
    generic_body,
    inbox_rows,
    jira_request,
    served_with,
    servicenow_request,
    slack_request,
)


def slack_body(tag: str) -> bytes:
    event = {"type": "event_callback", "event_id": f"EvR30{tag}", "event": {"type": "app_mention"}}
    return json.dumps(event).encode()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with served_with("httptools", tmp_path_factory.mktemp("round30_claims"), failure_burst=1000,
                     max_connections_per_address=40) as (settings, address, _app), \
            httpx.Client(base_url=f"http://{address[0]}:{address[1]}", timeout=10) as client:
        yield settings, address, client


def stored(settings) -> set[str]:
    return {d for (d,) in inbox_rows(settings, "select delivery_id from webhook_events")}


def standard(body: bytes, msg_id: str, ts: int | None = None, signature=None) -> dict:
    """A Standard Webhooks request over the raw bytes; ``signature(valid_header)`` rewrites the header."""
    stamp = str(int(time.time()) if ts is None else ts)
    key = base64.b64decode(SECRETS["generic"].removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    valid = "v1," + base64.b64encode(mac).decode()
    return {"content": body, "headers": {"content-type": "application/json", "webhook-id": msg_id,
                                         "webhook-timestamp": stamp,
                                         "webhook-signature": valid if signature is None else signature(valid)}}


GENERIC_FORMS = {
    "upper_case_version": (lambda v: "V" + v[1:], 401),
    "empty": (lambda v: "", 401),
    "url_safe_base64": (lambda v: "v1," + base64.urlsafe_b64encode(base64.b64decode(v[3:])).decode() + "_", 401),
    "unpadded": (lambda v: v.rstrip("="), 401),
    "comma_joined_list": (lambda v: "v1,AAAA," + v, 401),
    "valid_twice": (lambda v: f"{v} {v}", 200),
    "valid_first_of_several": (lambda v: f"{v} v1,AAAA v1a,BBBB", 200),
    "valid_after_a_tab": (lambda v: f"v1,AAAA\t{v}", 200),
}


@pytest.mark.parametrize("form", list(GENERIC_FORMS))
def test_standard_webhooks_signatures_in_odd_forms(live, form):
    """Several ``v1,`` entries with one valid verify (a sender rotating keys); a prefix in another case, an
    empty header, URL-safe or unpadded base64 and a comma-joined list do not."""
    settings, _, client = live
    rewrite, status = GENERIC_FORMS[form]
    ident = f"r30_sig_{form}"
    assert client.post(GENERIC, **standard(generic_body(), ident, signature=rewrite)).status_code == status
    assert (ident in stored(settings)) is (status == 200)


def _rewritten(kw: dict, header: str, rewrite) -> dict:
    headers = {k: v for k, v in kw["headers"].items() if k.lower() != header.lower()}
    return {"content": kw["content"], "headers": {**headers, header: rewrite(kw["headers"][header])}}


VENDOR_FORMS = {
    "servicenow_upper_prefix": (SERVICENOW, lambda: servicenow_request(SN_BODY, "r30_sn_upper"),
                                "X-ServiceNow-Signature", lambda s: "V1=" + s[3:]),
    "servicenow_space_after_prefix": (SERVICENOW, lambda: servicenow_request(SN_BODY, "r30_sn_space"),
                                      "X-ServiceNow-Signature", lambda s: "v1= " + s[3:]),
    "servicenow_listed_twice": (SERVICENOW, lambda: servicenow_request(SN_BODY, "r30_sn_twice"),
                                "X-ServiceNow-Signature", lambda s: f"{s},{s}"),
    "jira_upper_prefix": (JIRA, lambda: jira_request(json.dumps({"x": 1}).encode(), "r30_jira_upper"),
                          "X-Hub-Signature", lambda s: "SHA256=" + s[7:]),
    "jira_sha1": (JIRA, lambda: jira_request(json.dumps({"x": 1}).encode(), "r30_jira_sha1"),
                  "X-Hub-Signature", lambda s: "sha1=" + s[7:]),
    "slack_upper_prefix": (SLACK_EVENTS, lambda: slack_request(slack_body("up")),
                           "X-Slack-Signature", lambda s: "V0=" + s[3:]),
    "slack_empty": (SLACK_EVENTS, lambda: slack_request(slack_body("empty")),
                    "X-Slack-Signature", lambda s: ""),
}


@pytest.mark.parametrize("form", list(VENDOR_FORMS))
def test_vendor_signature_prefixes_are_exact(live, form):
    settings, _, client = live
    path, make, header, rewrite = VENDOR_FORMS[form]
    before = stored(settings)
    assert client.post(path, **_rewritten(make(), header, rewrite)).status_code == 401
    assert stored(settings) == before


EDGES = [(-295, True), (-305, False), (295, True), (305, False)]


@pytest.mark.parametrize("offset, inside", EDGES, ids=[f"{o:+d}s" for o, _ in EDGES])
def test_the_five_minute_window_at_its_edges_on_every_timestamped_scheme(live, offset, inside):
    """Five seconds inside the window either side verifies (then stored or judged on its contract); five
    seconds outside is 401 on Standard Webhooks, ServiceNow and Slack alike, and nothing is stored."""
    settings, _, client = live
    now, tag = int(time.time()), f"{offset:+d}".replace("+", "p").replace("-", "m")
    answers = {
        "generic": client.post(GENERIC, **standard(generic_body(edge=offset), f"r30_edge_{tag}", now + offset)),
        "servicenow": client.post(SERVICENOW, **servicenow_request(SN_BODY, f"r30_edge_sn_{tag}", now + offset)),
        "slack": client.post(SLACK_EVENTS, **slack_request(slack_body(tag), ts=now + offset)),
    }
    codes = {name: answer.status_code for name, answer in answers.items()}
    if inside:
        assert codes == dict.fromkeys(codes, 200), codes
        assert {f"r30_edge_{tag}", f"r30_edge_sn_{tag}", f"EvR30{tag}"} <= stored(settings)
    else:
        assert codes == dict.fromkeys(codes, 401), codes
        assert not {f"r30_edge_{tag}", f"r30_edge_sn_{tag}", f"EvR30{tag}"} & stored(settings)


_TEXT = generic_body().decode()
BODIES = {
    "utf16_le_with_bom": _TEXT.encode("utf-16"),
    "utf16_be_without_bom": _TEXT.encode("utf-16-be"),
    "utf32": _TEXT.encode("utf-32"),
    "bom_then_utf8": b"\xef\xbb\xbf" + _TEXT.encode(),
    "escaped_duplicate_key": _TEXT.replace('"data"', '"\\u0074ype": "other.thing", "data"').encode(),
    "objects_nested_10000_deep": _TEXT.replace('"data": {}', '"data": ' + '{"a":' * 10_000 + "1" + "}" * 10_000)
    .encode(),
    "number_1e400_in_data": _TEXT.replace('"data": {}', '"data": {"n": 1e400}').encode(),
    "nul_after_the_document": _TEXT.encode() + b"\x00",
}


@pytest.mark.parametrize("kind", list(BODIES))
def test_signed_bodies_in_other_encodings_and_shapes_are_quarantined_as_malformed(live, kind):
    """RFC 8259 JSON is UTF-8 without a BOM: a signed body in UTF-16/32, behind a BOM, with a key repeated
    through an escape, nested 10,000 deep or with a number past a double is kept in quarantine as malformed
    (400, at once), never stored and never a 500."""
    settings, _, client = live
    body = BODIES[kind]
    assert '"data": {}' in _TEXT  # the templates above replace it
    ident = f"r30_body_{kind}"
    started = time.monotonic()
    answer = client.post(GENERIC, **standard(body, ident))
    assert answer.status_code == 400 and time.monotonic() - started < 2, answer.text
    assert ident not in stored(settings)
    digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
    sql = f"select reason from webhook_quarantine where delivery_id = '{digest}'"
    reasons = [r for (r,) in inbox_rows(settings, sql)]
    assert len(reasons) == 1 and reasons[0].startswith("malformed"), reasons


MARK = "R30ATTACKMARK"


def test_health_checks_the_health_page_and_metrics_answer_during_a_flood_and_show_no_secret(live):
    """127.0.0.2 holds idle connections past its cap while 127.0.0.3 sends 300 badly signed deliveries: from
    127.0.0.4 /healthz, /integration-health and /metrics still answer at once, and none of them shows a secret
    or anything the flood sent."""
    settings, address, _ = live
    idle = []
    try:
        for _ in range(50):  # the cap is 40: the rest are refused with 429 and closed
            idle.append(socket.create_connection(address, timeout=5, source_address=("127.0.0.2", 0)))
        codes: dict[int, int] = {}
        with httpx.Client(base_url=f"http://{address[0]}:{address[1]}", timeout=10,
                          transport=httpx.HTTPTransport(local_address="127.0.0.3")) as flood:
            for i in range(300):
                kw = standard(generic_body(mark=MARK), f"{MARK}_{i}", signature=lambda v: "v1,AAAA" + MARK)
                code = flood.post(GENERIC, **kw).status_code
                codes[code] = codes.get(code, 0) + 1
        assert set(codes) <= {401, 429} and codes.get(401), codes
        with httpx.Client(base_url=f"http://{address[0]}:{address[1]}", timeout=5,
                          transport=httpx.HTTPTransport(local_address="127.0.0.4")) as checker:
            for path, status in (("/healthz", 200), ("/integration-health", 200), ("/metrics", 200)):
                started = time.monotonic()
                answer = checker.get(path)
                assert answer.status_code == status and time.monotonic() - started < 2, (path, answer.text[:200])
                assert MARK not in answer.text, path
                assert not [s for s in SECRETS.values() if s in answer.text], path
                assert SECRETS["generic"].removeprefix("whsec_") not in answer.text
            assert 'webhook_failures_total{endpoint="generic",reason="bad_signature"}' in checker.get("/metrics").text
    finally:
        for conn in idle:
            conn.close()
    assert not {d for d in stored(settings) if MARK in d}


def test_a_flood_of_distinct_delivery_ids_from_one_address_spends_only_its_own_budget(tmp_path):
    """30 valid deliveries under distinct ids from 127.0.0.2 with a burst of 20: 20 stored, the rest 429 with
    Retry-After; 127.0.0.3 is accepted meanwhile (endpoint x address), and nothing accepted is lost."""
    with served_with("httptools", tmp_path, rate_burst=20, rate_per_second=0.01) as (settings, address, _app):
        url = f"http://{address[0]}:{address[1]}"
        with httpx.Client(base_url=url, timeout=10, transport=httpx.HTTPTransport(local_address="127.0.0.2")) as one:
            answers = [one.post(GENERIC, **standard(generic_body(i=i), f"r30_flood_{i}")) for i in range(30)]
        assert [a.status_code for a in answers] == [200] * 20 + [429] * 10
        assert all(int(a.headers["retry-after"]) >= 1 for a in answers[20:])
        with httpx.Client(base_url=url, timeout=10, transport=httpx.HTTPTransport(local_address="127.0.0.3")) as other:
            assert other.post(GENERIC, **standard(generic_body(), "r30_other_sender")).status_code == 200
        assert stored(settings) == {f"r30_flood_{i}" for i in range(20)} | {"r30_other_sender"}
