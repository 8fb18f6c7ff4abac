"""Per-sender rate limits: token buckets per endpoint and client address, bounded in memory.

Grain: one bucket per (endpoint, sender) and per kind. Two kinds, so that a flood of bad signatures
never spends a vendor's budget:

- ``deliveries``: spent by each request that passed signature verification (``rate_per_second``,
  ``rate_burst``). Over it, 429 before anything is written; vendors retry 429, so nothing is lost.
- ``failures``: spent by each request refused before its signature verified (401, 408, 413, the
  pre-verification 400s) and by replays (``failure_rate_per_second``, ``failure_burst``: strict).
  Over it, a failing request is answered 429 instead of 401 and leaves no rejection row, so a flood
  costs a counter, not a write. A request from that sender is still read and verified: Atlassian
  and Slack send from address ranges other tenants share, and a stranger's bad signatures there must
  not lock the vendor out (it costs us reading at most ``max_body_bytes`` and one HMAC).

- ``in_flight``: bodies from one sender being read at once (``max_in_flight_per_sender``; 429) and
  from all (``max_in_flight``; 503), refused before the body is read: a body is held in memory while it
  arrives, up to ``body_timeout_seconds``, so slow connections were an unbounded memory cost.

Senders: the TCP peer; ``X-Forwarded-For`` only when the peer is one of ``trusted_proxies``, walked
from the right past the trusted hops (the left part is whatever the client wrote). IPv6 senders count
per /64, the block one host usually holds. Each kind tracks at most ``rate_max_senders`` senders and
forgets the least recently seen, so a flood of addresses costs bounded memory (a forgotten sender
starts again with a full bucket, no more than any new address gets).
"""

from __future__ import annotations

import functools
import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from webhooks.settings import WebhookSettings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TokenBuckets:
    """``take(key)``: 0.0 when a token was taken, else the seconds until one will be there."""

    def __init__(self, rate: float, burst: int, max_keys: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.max_keys, self.clock = rate, max(1, burst), max(1, max_keys), clock
        self._buckets: OrderedDict[Hashable, list[float]] = OrderedDict()  # key -> [tokens, when counted]
        self._lock = threading.Lock()

    def take(self, key: Hashable) -> float:
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = [float(self.burst), now]
                if len(self._buckets) > self.max_keys:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
                bucket[0] = min(float(self.burst), bucket[0] + (now - bucket[1]) * self.rate)
                bucket[1] = now
            if bucket[0] >= 1.0:
                bucket[0] -= 1.0
                return 0.0
            return (1.0 - bucket[0]) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._buckets


class InFlight:
    """Bodies being read, per sender and in all (0 turns a cap off). ``enter(key)`` is None when the
    request may go on (then ``leave(key)`` when it ends), else ``"sender"`` or ``"total"``: the cap it is
    over. Memory: one counter per sender with a request in progress."""

    def __init__(self, per_sender: int, total: int) -> None:
        self.per_sender, self.total, self.count = per_sender, total, 0
        self._by_sender: dict[Hashable, int] = {}

    def enter(self, key: Hashable) -> str | None:  # called on the event loop only: no lock
        held = self._by_sender.get(key, 0)
        if self.per_sender and held >= self.per_sender:
            return "sender"
        if self.total and self.count >= self.total:
            return "total"
        self._by_sender[key], self.count = held + 1, self.count + 1
        return None

    def leave(self, key: Hashable) -> None:
        held = self._by_sender.pop(key, 0) - 1
        if held > 0:
            self._by_sender[key] = held
        self.count -= 1


class SenderLimits:
    """The two bucket kinds of one receiver, and how it tells senders apart."""

    def __init__(self, settings: WebhookSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.deliveries = TokenBuckets(settings.rate_per_second, settings.rate_burst, settings.rate_max_senders, clock)
        self.failures = TokenBuckets(settings.failure_rate_per_second, settings.failure_burst,
                                     settings.rate_max_senders, clock)
        self.in_flight = InFlight(settings.max_in_flight_per_sender, settings.max_in_flight)

    def __len__(self) -> int:
        return len(self.deliveries) + len(self.failures)


def retry_after(wait: float) -> str:
    """The Retry-After header value: whole seconds, at least one."""
    return str(max(1, math.ceil(wait)))


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


@functools.lru_cache(maxsize=4)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(t, strict=False) for t in trusted)


def client_address(peer: str | None, forwarded: str | None, trusted: tuple[str, ...]) -> str | None:
    """The sender's address: ``peer`` unless it is a trusted proxy; then the rightmost address of
    ``forwarded`` (the X-Forwarded-For values, comma-joined) that is not itself a trusted proxy. An entry
    that is not an address ends the walk at the last trusted hop (it was not written by a proxy we trust)."""
    if not trusted or peer is None:
        return peer
    networks = _networks(trusted)
    current = _parse(peer)
    if current is None or not any(current in n for n in networks):
        return peer
    for entry in reversed((forwarded or "").split(",")[-32:]):
        hop = _parse(entry)
        if hop is None:
            break
        current = hop
        if not any(hop in n for n in networks):
            break
    return str(current)


def sender_key(address: str | None) -> str:
    """IPv4 as is, IPv6 by its /64; anything else (a test client's name) as given."""
    if not address:
        return "unknown"
    ip = _parse(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip) if ip is not None else address[:64]
