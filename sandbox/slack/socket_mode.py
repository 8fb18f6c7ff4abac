"""Socket Mode: the app's events over a WebSocket instead of its Request URL, as Slack serves them.

- `apps.connections.open` with an app-level token (`sb.new_app_token()`, xapp-, scope connections:write;
  any other token: `not_allowed_token_type`, without that scope `missing_scope`) answers
  `{"ok": true, "url": "ws://127.0.0.1:<port>/link/?ticket=…&app_id=…"}`; each ticket opens one connection
  (a used or unknown one: HTTP 401 on the handshake [unc]). The WebSocket (RFC 6455, written here on the
  standard library, loopback only) sends `{"type": "hello", "num_connections", "debug_info",
  "connection_info": {"app_id"}}` first, answers pings with pongs, a close with a close, and refuses
  unmasked client frames (close 1002) as the RFC asks.
- With Socket Mode on (`sb.configure_socket_mode(True)`, or `PUT /_sandbox/socket_mode {"enabled": true}`)
  the subscribed events (`sb.configure_events(events=[...])`; no Request URL needed) go over an open
  connection (several: in turn) as `{"envelope_id", "payload": <the event_callback>, "type": "events_api",
  "accepts_response_payload": false, "retry_attempt", "retry_reason"}`, and never to the Request URL,
  as Slack does. The app acks with `{"envelope_id": …}`; one not acked within `answer_within` (3 s, as the
  Events API's [unc]) is sent again after the Events API's `retry_waits`, up to 3 times, with
  `retry_attempt` 1..3 and `retry_reason: "timeout"` and the same envelope_id [unc]; with no connection
  open an attempt fails as `no_connection` and is retried the same way [unc]. Every attempt is in
  `sb.event_deliveries()` (`request_url` "socket_mode", `envelope_id`, `ok` when acked, `body` the ack).
- `sb.socket_mode.disconnect_all(reason)` sends Slack's `{"type": "disconnect", "reason": …}` (e.g.
  "refresh_requested", "warning", "link_disabled") and closes the connections, as Slack does before it
  rotates its servers.
- Interactivity, shortcuts and slash commands go over the socket too when it is on
  (`sandbox.slack.socket_interactions`: `interactive` / `slash_commands` envelopes, `exchange` here).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import socket
import socketserver
import struct
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any, BinaryIO

from sandbox.slack.webapi import SlackError

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox
    from sandbox.slack.events import Events

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_FRAME = 1 << 20  # bytes of one client frame; a longer one is a protocol error (close 1002)
TEXT, CLOSE, PING, PONG, CONT = 0x1, 0x8, 0x9, 0xA, 0x0


class _Connection:
    """One open WebSocket: frames out under a lock, acks and messages in."""

    def __init__(self, sock: Any, rfile: BinaryIO) -> None:
        self.sock, self.rfile = sock, rfile
        self.id = uuid.uuid4().hex
        self._send_lock = threading.Lock()
        self.open = True
        self.received: list[Any] = []

    def send(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        head = bytes([0x80 | opcode])
        head += bytes([n]) if n < 126 else (bytes([126]) + struct.pack("!H", n) if n < 65536
                                            else bytes([127]) + struct.pack("!Q", n))
        with self._send_lock:
            if self.open:
                self.sock.sendall(head + payload)

    def send_json(self, value: Any) -> None:
        self.send(TEXT, json.dumps(value, separators=(",", ":")).encode())

    def close(self, code: int = 1000, reason: str = "") -> None:
        with contextlib.suppress(OSError):
            self.send(CLOSE, struct.pack("!H", code) + reason.encode())
        self.open = False

    def read_frame(self) -> tuple[int, bool, bytes] | None:
        """(opcode, fin, payload) of the next client frame; None at EOF; raises ValueError if unmasked."""
        head = self.rfile.read(2)
        if len(head) < 2:
            return None
        fin, opcode, masked, n = head[0] & 0x80, head[0] & 0x0F, head[1] & 0x80, head[1] & 0x7F
        if n in (126, 127):
            wide = self.rfile.read(2 if n == 126 else 8)
            if len(wide) < (2 if n == 126 else 8):
                return None
            n = struct.unpack("!H" if n == 126 else "!Q", wide)[0]
        if not masked:
            raise ValueError("unmasked client frame")
        if n > MAX_FRAME:  # an app's acks are small: a huge length is never read into memory
            raise ValueError("frame too large")
        mask = self.rfile.read(4)
        data = self.rfile.read(n)
        if len(data) < n:
            return None
        return opcode, bool(fin), bytes(b ^ mask[i % 4] for i, b in enumerate(data))


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        sm = self.server.sm
        request_line = self.rfile.readline(8192).decode("latin-1").strip()
        headers: dict[str, str] = {}
        while True:
            line = self.rfile.readline(8192).decode("latin-1")
            if line in ("\r\n", "\n", ""):
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        parts = request_line.split(" ")
        target = parts[1] if len(parts) == 3 and parts[0] == "GET" else ""
        key = headers.get("sec-websocket-key", "")
        if not target.startswith("/link/") or headers.get("upgrade", "").lower() != "websocket" or not key:
            self._refuse(400, "Bad Request")
            return
        if not sm.take_ticket(target):
            self._refuse(401, "Unauthorized")
            return
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.wfile.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
        conn = _Connection(self.request, self.rfile)
        sm.serve(conn)

    def _refuse(self, status: int, reason: str) -> None:
        self.wfile.write(f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, sm: SocketMode) -> None:
        self.sm = sm
        super().__init__(("127.0.0.1", 0), _Handler)


class SocketMode:
    """The app's Socket Mode setting, its WebSocket endpoint, open connections and pending acks."""

    def __init__(self, sb: SlackSandbox) -> None:
        self.sb = sb
        self.enabled = False
        self._lock = threading.Condition()
        self._server: _Server | None = None
        self._tickets: set[str] = set()
        self._conns: list[_Connection] = []
        self._acks: dict[str, dict[str, Any]] = {}  # envelope_id -> {"at", "message"} once acked
        self._turn = 0

    # --- settings and the Web API method -------------------------------------------------------------
    def configure(self, enabled: bool) -> dict[str, Any]:
        self.enabled = bool(enabled)
        return {"enabled": self.enabled, "connections": self.connections()}

    def open(self, args: dict[str, Any]) -> dict[str, Any]:
        """apps.connections.open: a one-time WebSocket URL for an app-level token."""
        caller = self.sb.caller()
        if caller is None or caller.kind != "app":
            raise SlackError("not_allowed_token_type")
        if "connections:write" not in caller.scopes:
            raise SlackError("missing_scope", needed="connections:write", provided=",".join(caller.scopes))
        port = self._start()
        ticket = str(uuid.uuid4())
        with self._lock:
            self._tickets.add(ticket)
        app_key = hashlib.sha256(f"{self.sb.workspace.app_id}:{self.sb.seed}".encode()).hexdigest()
        return {"url": f"ws://127.0.0.1:{port}/link/?ticket={ticket}&app_id={app_key}"}

    def _start(self) -> int:
        with self._lock:
            if self._server is None:
                self._server = _Server(self)
                threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                 name="slack-socket-mode", daemon=True).start()
            return int(self._server.server_address[1])

    def take_ticket(self, target: str) -> bool:
        ticket = target.partition("ticket=")[2].split("&")[0]
        with self._lock:
            if ticket in self._tickets:
                self._tickets.discard(ticket)
                return True
        return False

    # --- connections -------------------------------------------------------------------------------
    def connections(self) -> int:
        with self._lock:
            return len(self._conns)

    def wait_connected(self, count: int = 1, timeout: float = 5.0) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: len(self._conns) >= count, timeout)

    def serve(self, conn: _Connection) -> None:
        """Say hello, then read the client's frames until it closes."""
        with self._lock:
            self._conns.append(conn)
            count = len(self._conns)
            self._lock.notify_all()
        try:
            conn.send_json({"type": "hello", "num_connections": count,
                            "debug_info": {"host": "applink-sandbox", "build_number": 1,
                                           "approximate_connection_time": 18060},
                            "connection_info": {"app_id": self.sb.workspace.app_id}})
            self._read(conn)
        except (OSError, ValueError):
            conn.close(1002, "protocol error")
        finally:
            conn.open = False
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)
                self._lock.notify_all()

    def _read(self, conn: _Connection) -> None:
        parts: list[bytes] = []
        while conn.open:
            frame = conn.read_frame()
            if frame is None:
                return
            opcode, fin, payload = frame
            if opcode == PING:
                conn.send(PONG, payload)
            elif opcode == CLOSE:
                conn.close(struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1000)
                return
            elif opcode in (TEXT, CONT):
                parts.append(payload)
                if fin:
                    self._message(conn, b"".join(parts))
                    parts = []

    def _message(self, conn: _Connection, data: bytes) -> None:
        try:
            message = json.loads(data.decode())
        except ValueError:
            return
        conn.received.append(message)
        if isinstance(message, dict) and message.get("envelope_id"):
            with self._lock:
                self._acks[str(message["envelope_id"])] = {"at": time.time(), "message": message}
                self._lock.notify_all()

    def disconnect_all(self, reason: str = "refresh_requested") -> int:
        """Slack's `disconnect` message, then the connections close; how many there were."""
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.send_json({"type": "disconnect", "reason": reason,
                                "debug_info": {"host": "applink-sandbox"}})
            conn.close(1000)
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
        return len(conns)

    # --- events --------------------------------------------------------------------------------------
    def deliver(self, envelope: dict[str, Any], events: Events) -> None:
        """Send one event_callback until it is acked (retries as the module docstring says)."""
        envelope_id = str(uuid.uuid4())
        reason: str | None = None
        for attempt in range(4):
            if attempt and events._stop.wait(events.retry_waits[attempt - 1]):
                return
            record = self._attempt(envelope_id, envelope, attempt, reason, events)
            events.keep(record)
            if record["ok"]:
                return
            reason = "timeout" if record["error"] == "timeout" else str(record["error"])

    def _attempt(self, envelope_id: str, envelope: dict[str, Any], attempt: int, reason: str | None,
                 events: Events) -> dict[str, Any]:
        record: dict[str, Any] = {
            "event_id": envelope.get("event_id"), "event_type": envelope["event"]["type"], "attempt": attempt,
            "retry_reason": reason, "at": time.time(), "request_url": "socket_mode",
            "envelope": copy.deepcopy(envelope), "envelope_id": envelope_id, "status": None, "body": "",
            "elapsed": 0.0, "ok": False, "error": None, "no_retry": False}
        sent = self.exchange("events_api", envelope, False, events.answer_within, envelope_id, (attempt, reason))
        record.update(elapsed=sent["elapsed"], ok=sent["ok"], error=sent["error"])
        if sent["ok"]:
            record["body"] = json.dumps(sent["ack"])
        return record

    def exchange(self, kind: str, payload: dict[str, Any], accepts: bool, within: float,
                 envelope_id: str | None = None, retry: tuple[int, str | None] | None = None) -> dict[str, Any]:
        """Send one envelope of `kind` over an open connection (several: in turn) and wait `within` seconds
        for its ack: `{envelope_id, ok, error, ack, elapsed}`; `error` is "no_connection",
        "connection_failed: …" or "timeout". `retry` (attempt, reason) adds the Events API's retry fields."""
        envelope_id = envelope_id or str(uuid.uuid4())
        at = time.time()
        out: dict[str, Any] = {"envelope_id": envelope_id, "ok": False, "error": None, "ack": None, "elapsed": 0.0}
        with self._lock:
            conns = [c for c in self._conns if c.open]
            if not conns:
                out["error"] = "no_connection"
                return out
            self._turn += 1
            conn = conns[self._turn % len(conns)]
        message: dict[str, Any] = {"envelope_id": envelope_id, "payload": payload, "type": kind,
                                   "accepts_response_payload": accepts}
        if retry is not None:
            message.update(retry_attempt=retry[0], retry_reason=retry[1] or "")
        try:
            conn.send_json(message)
        except OSError as exc:
            out["error"] = f"connection_failed: {exc}"
            return out
        with self._lock:
            acked = self._lock.wait_for(lambda: envelope_id in self._acks, within)
            ack = self._acks.get(envelope_id)
        out["elapsed"] = round(time.time() - at, 3)
        if acked and ack is not None:
            out.update(ok=True, ack=ack["message"])
        else:
            out["error"] = "timeout"
        return out

    def stop(self) -> None:
        self.disconnect_all("link_disabled")
        with self._lock:
            server, self._server = self._server, None
            self._tickets.clear()
        if server is not None:
            server.shutdown()
            server.server_close()

    def reset(self) -> None:
        self.stop()
        self.enabled = False
        with self._lock:
            self._acks.clear()
