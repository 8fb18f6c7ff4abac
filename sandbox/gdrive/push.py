"""Delivery of Drive's push notifications (``watch.py`` opens the channels and decides what to send).

A notification is a ``POST`` with an empty body to the channel's ``address`` carrying Drive's headers:
``X-Goog-Channel-ID``, ``X-Goog-Channel-Token`` (when the channel has one), ``X-Goog-Channel-Expiration``
(RFC 1123, GMT), ``X-Goog-Resource-ID``, ``X-Goog-Resource-URI``, ``X-Goog-Resource-State`` and
``X-Goog-Message-Number`` (1 for the ``sync`` message a new channel gets, then increasing), and for
file updates ``X-Goog-Changed`` (``content``, ``properties``, ``parents``, ``children``, ``permissions``).

Deliveries never block the API: notifications are queued and sent by a background scheduler thread
through a small pool of sender threads, one message of a channel at a time (its next waits until the
previous is delivered or dropped), so a receiver sees ``sync`` first and message numbers in order.

As Google's push service documents, 102/200/201/202/204 is success; 500/502/503/504 and a failed
connection are retried with exponential backoff (``backoff_seconds`` * 2**n between attempts,
``attempts`` in all) and then dropped; any other status is a message failure, dropped at once.
``deliveries`` logs every attempt. A message of a channel stopped (``channels.stop``) or expired before
its turn is not sent.

Addresses: Drive requires ``https`` (``watch.py`` answers 400 ``push.webhookUrlNotHttps`` otherwise).
The emulator trusts the sandbox CA (``sandbox.core.tls``: receivers use ``server_context()``) and the
system's. It posts only to loopback hosts (127.0.0.0/8, ::1, localhost): any other address is logged
as not delivered, so a sandbox never reaches out to the network."""

from __future__ import annotations

import collections
import heapq
import http.client
import ipaddress
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

from sandbox.core.tls import ensure_certificates

SUCCESS = {102, 200, 201, 202, 204}
RETRY = {500, 502, 503, 504}
USER_AGENT = "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)"


@dataclass
class Channel:
    """One notification channel (``files.watch`` / ``changes.watch``)."""

    id: str
    resource_id: str
    resource_uri: str
    address: str
    token: str | None
    expiration: int  # ms since the epoch
    who: str
    file_id: str | None = None  # files.watch: the file; changes.watch: None
    log: str | None = None  # changes.watch: the shared drive whose change log it watches (None: the user's)
    shared: bool = False  # changes.watch of the user's log with includeItemsFromAllDrives (listing.py)
    messages: int = 0
    stopped: bool = False
    waiting: collections.deque[dict[str, Any]] = field(default_factory=collections.deque)  # after the one in flight
    sending: bool = False  # a message of this channel is being sent or retried
    last: dict[str, Any] = field(default_factory=dict)  # files.watch: the file as last notified (watch.py)

    def live(self) -> bool:
        return not self.stopped and time.time() * 1000 < self.expiration

    def resource(self) -> dict[str, Any]:
        out = {"kind": "api#channel", "id": self.id, "resourceId": self.resource_id,
               "resourceUri": self.resource_uri, "expiration": str(self.expiration)}
        if self.token is not None:
            out["token"] = self.token
        return out


def loopback(address: str) -> bool:
    host = urlsplit(address).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class PushHub:
    """The channels and the notification queue."""

    def __init__(self, attempts: int = 5, backoff_seconds: float = 0.5, timeout: float = 5.0) -> None:
        self.attempts, self.backoff_seconds, self.timeout = attempts, backoff_seconds, timeout
        self.channels: dict[str, Channel] = {}
        self.deliveries: collections.deque[dict[str, Any]] = collections.deque(maxlen=10_000)
        self._heap: list[tuple[float, int, dict[str, Any]]] = []
        self._cond = threading.Condition()
        self._seq = 0
        self._busy = 0  # queued or being sent
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False
        self._tls: ssl.SSLContext | None = None

    # -- sending ---------------------------------------------------------------------------------
    def notify(self, channel: Channel, state: str, changed: list[str] | None = None) -> None:
        """Queue the channel's next message (``sync`` first); nothing once it is stopped or expired."""
        with self._cond:
            if not channel.live() or self._closed:
                return
            channel.messages += 1
            headers = {"X-Goog-Channel-ID": channel.id,
                       "X-Goog-Channel-Expiration": formatdate(channel.expiration / 1000, usegmt=True),
                       "X-Goog-Resource-ID": channel.resource_id, "X-Goog-Resource-URI": channel.resource_uri,
                       "X-Goog-Resource-State": state, "X-Goog-Message-Number": str(channel.messages)}
            if channel.token is not None:
                headers["X-Goog-Channel-Token"] = channel.token
            if changed:
                headers["X-Goog-Changed"] = ",".join(changed)
            job = {"channel": channel, "headers": headers, "attempt": 1}
            if channel.sending:  # one message of a channel at a time: sync first, numbers in order
                channel.waiting.append(job)
            else:
                channel.sending = True
                self._schedule(time.monotonic(), job)
            self._busy += 1
            if self._thread is None:
                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="gdrive-push")
                self._thread = threading.Thread(target=self._run, name="gdrive-push", daemon=True)
                self._thread.start()

    def _schedule(self, due: float, job: dict[str, Any]) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, job))
        self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._cond.wait(None if not self._heap else max(0.0, self._heap[0][0] - time.monotonic()))
                if self._closed:
                    return
                job = heapq.heappop(self._heap)[2]
            assert self._pool is not None
            self._pool.submit(self._send, job)

    def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            ctx = ssl.create_default_context()
            ctx.load_verify_locations(str(ensure_certificates()))  # the sandbox CA, besides the system's
            self._tls = ctx
        return self._tls

    def _send(self, job: dict[str, Any]) -> None:
        channel, headers = job["channel"], job["headers"]
        status, error, retry = None, None, False
        if not channel.live():
            error = "channel stopped" if channel.stopped else "channel expired"
        elif not loopback(channel.address):
            error = "not delivered: the sandbox posts only to loopback addresses"
        else:
            try:
                status = self._post(channel.address, headers)
            except Exception as exc:  # refused, reset, TLS, a bad answer …: a failed connection, retried
                error = f"{type(exc).__name__}: {exc}"
            retry = (status in RETRY or (status is None and error is not None)) and job["attempt"] < self.attempts
        self.deliveries.append({"channel": channel.id, "address": channel.address, "attempt": job["attempt"],
                                "state": headers["X-Goog-Resource-State"], "status": status, "error": error,
                                "number": int(headers["X-Goog-Message-Number"]), "retrying": retry,
                                "dropped": status not in SUCCESS and not retry})
        with self._cond:
            if retry and not self._closed:
                delay = self.backoff_seconds * 2 ** (job["attempt"] - 1)
                self._schedule(time.monotonic() + delay, {**job, "attempt": job["attempt"] + 1})
            else:
                self._busy -= 1
                if channel.waiting:
                    self._schedule(time.monotonic(), channel.waiting.popleft())
                else:
                    channel.sending = False
                self._cond.notify_all()

    def _post(self, address: str, headers: dict[str, str]) -> int:
        """POST with the header names as Google spells them (urllib would recase them)."""
        url = urlsplit(address)
        conn = (http.client.HTTPSConnection(url.hostname, url.port, timeout=self.timeout, context=self._context())
                if url.scheme == "https" else http.client.HTTPConnection(url.hostname, url.port, timeout=self.timeout))
        try:
            conn.request("POST", (url.path or "/") + (f"?{url.query}" if url.query else ""), body=b"", headers={
                **headers, "Content-Type": "application/json; charset=UTF-8", "User-Agent": USER_AGENT})
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued message is delivered or dropped (retries included); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def close(self) -> None:
        """Stop sending (the sandbox stops): pending messages are dropped."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
