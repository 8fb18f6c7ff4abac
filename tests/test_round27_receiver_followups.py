"""Round 27 follow-ups on the receiver, over loopback against the real uvicorn server (``LiveReceiver``).

Found and fixed:

- the answers the protocol layer writes straight to the socket (431, 408, 429, 503, the framing and
  folding 400s, and uvicorn's own 400 for a request its parser refuses) had none of the baseline headers
  every other answer carries (``X-Content-Type-Options: nosniff``, ``Cache-Control: no-store``)
  (``webhooks/receiver/protocol_base.py``);
- an absolute-form request target (``POST http://host/path HTTP/1.1``, RFC 9112 3.2.2: a server MUST
  accept it) was a 404 on the h11 path (uvicorn took the whole target as the path) while httptools routed
  it (``webhooks/receiver/h11_protocol.py``).
"""

from __future__ import annotations

import contextlib
import socket

import pytest

from tests.webhook_helpers import (
    JIRA,
    LiveReceiver,
    inbox_rows,
    jira_body,
    jira_request,
    settings_for,
)
from webhooks.app import create_app
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
