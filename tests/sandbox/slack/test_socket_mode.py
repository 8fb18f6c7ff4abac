"""Socket Mode with slack_sdk 3.48's builtin `SocketModeClient`: an app-level token opens a WebSocket with
apps.connections.open, the emulator says hello, delivers the app's events as `events_api` envelopes and
re-sends one not acked (`retry_attempt`, `retry_reason: timeout`); with Socket Mode on nothing goes to the
Request URL. Also the RFC 6455 server side by hand (handshake, ping/pong, close, an unmasked frame).
Before round 9 the emulator had no app-level token and no Socket Mode."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import queue
import socket
import struct
import time
from urllib.parse import urlsplit

import pytest
from slack_sdk import WebClient
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.response import SocketModeResponse

from tests.sandbox.slack.test_client_probe_round3 import fails
from tests.sandbox.slack.test_events_api import _subscribe, app  # noqa: F401  (the Events app fixture)


@pytest.fixture
def sm_client(slack_sandbox):
    made = []

    def make(token=None):
        client = SocketModeClient(app_token=token or slack_sandbox.new_app_token(),
                                  web_client=WebClient(base_url=slack_sandbox.url + "/api/"))
        made.append(client)
        return client

    yield make
    # close() joins the client's reader, which waits in a blocking receive up to 3 s (slack_sdk's receive
    # timeout) unless the server ends the connection: the sandbox does, as Slack does, with no reconnect.
    for client in made:
        client.auto_reconnect_enabled = False
    slack_sandbox.socket_mode.disconnect_all("link_disabled")
    for client in made:
        client.close()


def _listen(client, ack=lambda req: True):
    got: queue.Queue = queue.Queue()

    def listener(c, req):
        got.put(req)
        if ack(req):
            c.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    client.socket_mode_request_listeners.append(listener)
    return got


def test_apps_connections_open_wants_an_app_level_token(slack_sandbox):
    token = slack_sandbox.new_app_token()
    web = WebClient(base_url=slack_sandbox.url + "/api/")
    url = web.apps_connections_open(app_token=token)["url"]
    parts = urlsplit(url)
    assert parts.scheme == "ws" and parts.hostname == "127.0.0.1" and parts.path == "/link/"
    assert "ticket=" in parts.query
    fails(web.apps_connections_open, "not_allowed_token_type", app_token=slack_sandbox.bot_token)
    fails(web.apps_connections_open, "missing_scope", app_token=slack_sandbox.new_app_token(["authorizations:read"]))
    fails(web.apps_connections_open, "invalid_auth", app_token="xapp-1-A1-2-nope")


def test_socket_mode_client_receives_an_event_and_acks_it(slack_sandbox, sm_client, app):  # noqa: F811
    sb = slack_sandbox
    _subscribe(sb, app, "message.channels")  # a verified Request URL too: Socket Mode wins
    sb.configure_socket_mode(True)
    client = sm_client()
    got = _listen(client)
    client.connect()
    assert sb.socket_mode.wait_connected(1)
    posted = sb.post_as_user("general", "hello over the socket", user="amelia.hart")
    req = got.get(timeout=5)
    assert req.type == "events_api" and req.retry_attempt == 0
    assert req.payload["type"] == "event_callback" and req.payload["event_id"] == posted["event_ids"][0]
    assert req.payload["event"]["text"] == "hello over the socket" and req.payload["event"]["ts"] == posted["ts"]
    assert sb.wait_for_events(5)
    [sent] = [d for d in sb.event_deliveries() if d["event_type"] == "message"]
    assert sent["request_url"] == "socket_mode" and sent["ok"] and sent["envelope_id"] == req.envelope_id
    assert json.loads(sent["body"]) == {"envelope_id": req.envelope_id}
    assert [r["payload"]["type"] for r in app.received] == ["url_verification"]  # nothing to the Request URL


def test_an_unacked_envelope_is_sent_again_with_retry_fields(slack_sandbox, sm_client):
    sb = slack_sandbox
    sb.configure_events(events=["message.channels"], retry_waits=[0, 0, 0], answer_within=0.5)
    sb.configure_socket_mode(True)
    client = sm_client()
    got = _listen(client, ack=lambda req: req.retry_attempt == 1)  # the app misses the first one
    client.connect()
    assert sb.socket_mode.wait_connected(1)
    sb.post_as_user("general", "ack me", user="amelia.hart")
    first, second = got.get(timeout=5), got.get(timeout=5)
    assert (first.retry_attempt, first.retry_reason) == (0, "")
    assert (second.retry_attempt, second.retry_reason) == (1, "timeout")
    assert second.envelope_id == first.envelope_id and second.payload == first.payload
    assert sb.wait_for_events(5)
    attempts = [(d["attempt"], d["ok"], d["error"]) for d in sb.event_deliveries()]
    assert attempts == [(0, False, "timeout"), (1, True, None)]


def test_without_socket_mode_events_stay_on_the_request_url(slack_sandbox, sm_client, app):  # noqa: F811
    sb = slack_sandbox
    _subscribe(sb, app, "message.channels")
    client = sm_client()
    got = _listen(client)
    client.connect()
    assert sb.socket_mode.wait_connected(1)
    sb.post_as_user("general", "over http", user="amelia.hart")
    assert sb.wait_for_events(5)
    assert got.empty() and [r["payload"]["type"] for r in app.received] == ["url_verification", "event_callback"]


def _frame(opcode: int, payload: bytes, masked: bool = True) -> bytes:
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if masked else payload
    return bytes([0x80 | opcode, (0x80 if masked else 0) | len(payload)]) + (mask if masked else b"") + body


def _read(sock) -> tuple[int, bytes]:
    head = sock.recv(2, socket.MSG_WAITALL)
    n = head[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", sock.recv(2, socket.MSG_WAITALL))[0]
    return head[0] & 0x0F, sock.recv(n, socket.MSG_WAITALL) if n else b""


def _handshake(url: str, key: str = "dGhlIHNhbXBsZSBub25jZQ=="):
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    sock.sendall(f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.hostname}\r\nUpgrade: websocket\r\n"
                 f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += sock.recv(1)
    return sock, head.decode()


def test_the_websocket_server_side_by_hand(slack_sandbox):
    web = WebClient(base_url=slack_sandbox.url + "/api/")
    url = web.apps_connections_open(app_token=slack_sandbox.new_app_token())["url"]
    sock, head = _handshake(url)
    want = base64.b64encode(hashlib.sha1(b"dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    assert head.startswith("HTTP/1.1 101 ") and f"Sec-WebSocket-Accept: {want.decode()}" in head
    opcode, hello = _read(sock)
    hello = json.loads(hello)
    assert opcode == 0x1 and hello["type"] == "hello" and hello["num_connections"] == 1
    assert hello["connection_info"]["app_id"] == slack_sandbox.workspace.app_id
    sock.sendall(_frame(0x9, b"are you there"))
    assert _read(sock) == (0xA, b"are you there")
    sock.sendall(_frame(0x8, struct.pack("!H", 1000)))
    assert _read(sock) == (0x8, struct.pack("!H", 1000))
    sock.close()
    again, head = _handshake(url)  # a ticket opens one connection
    assert head.startswith("HTTP/1.1 401 ")
    again.close()
    fresh = web.apps_connections_open(app_token=slack_sandbox.new_app_token())["url"]
    sock, head = _handshake(fresh)
    _read(sock)  # hello
    sock.sendall(_frame(0x1, b'{"envelope_id":"x"}', masked=False))  # RFC 6455: a client must mask
    assert _read(sock) == (0x8, struct.pack("!H", 1002) + b"protocol error")
    sock.close()
    huge = web.apps_connections_open(app_token=slack_sandbox.new_app_token())["url"]
    sock, head = _handshake(huge)
    _read(sock)  # hello
    sock.sendall(bytes([0x81, 0x80 | 127]) + struct.pack("!Q", 1 << 40) + b"mask")  # claims a terabyte
    assert _read(sock) == (0x8, struct.pack("!H", 1002) + b"protocol error")  # refused, nothing allocated
    sock.close()


def test_a_disconnect_message_makes_the_client_reconnect(slack_sandbox, sm_client):
    sb = slack_sandbox
    sb.configure_events(events=["message.channels"])
    sb.configure_socket_mode(True)
    client = sm_client()
    got = _listen(client)
    client.connect()
    assert sb.socket_mode.wait_connected(1)
    opened = sb.method_calls("apps.connections.open")
    assert sb.socket_mode.disconnect_all("refresh_requested") == 1
    deadline = time.time() + 5
    while sb.method_calls("apps.connections.open") == opened and time.time() < deadline:
        time.sleep(0.05)
    assert sb.socket_mode.wait_connected(1)  # slack_sdk asked for a new URL and connected again
    sb.post_as_user("general", "after the refresh", user="amelia.hart")
    assert got.get(timeout=5).payload["event"]["text"] == "after the refresh"
