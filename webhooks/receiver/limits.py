"""Per-sender rate limits: token buckets per endpoint and client address, bounded in memory.

Grain: one bucket per (endpoint, sender) and per kind. Separate kinds, so that a flood of bad signatures
never spends a vendor's budget:

- ``deliveries``: spent by each request that passed signature verification (``rate_per_second``,
  ``rate_burst``). Over it, 429 before anything is written; vendors retry 429, so nothing is lost.
- ``bytes``: the body bytes of those same verified deliveries (``bytes_per_second``, ``bytes_burst``; a
  bucket in bytes; a rate of 0 turns it off): the delivery budget alone let one sender write 100 x
  ``max_body_bytes`` a second into the inbox. Charged with the delivery, after verification (a stranger
  on a vendor's shared address cannot spend it; unverified bytes are bounded by ``failures``), and only
  when both budgets have room (a refused delivery spends neither). Over it, 429 with Retry-After from
  the deficit, before anything is written: the vendor's retry is the one copy stored.
- ``failures``: spent by each request refused before its signature verified (401, 408, 413, the
  pre-verification 400s) and by replays (``failure_rate_per_second``, ``failure_burst``: strict).
  Over it, a failing request is answered 429 instead of 401 and leaves no rejection row, so a flood
  costs a counter, not a write. A request from that sender is still read and verified: Atlassian
  and Slack send from address ranges other tenants share, and a stranger's bad signatures there must
  not lock the vendor out (it costs us reading at most ``max_body_bytes`` and one HMAC).

- ``in_flight``: bodies from one sender being read at once (``max_in_flight_per_sender``; 429) and
  from all (``max_in_flight``; 503), refused before the body is read: a body is held in memory while it
  arrives, up to ``body_timeout_seconds``, so slow connections were an unbounded memory cost. When all
  are taken, a sender holding fewer takes the slot of the heaviest sender's oldest body still arriving
  after ``CUT_AFTER_SECONDS`` (or half the body timeout), which is answered 408 (see ``InFlight``).

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
CUT_AFTER_SECONDS = 5.0  # a body still arriving this long may be cut to make room for another sender's


class TokenBuckets:
    """``take(key, cost)``: 0.0 when ``cost`` tokens (default one) were taken, else the seconds until they will
    be there (nothing taken). A cost over the burst is charged as the burst (a full bucket lets it through),
    so no request waits for ever."""

    def __init__(self, rate: float, burst: int, max_keys: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.max_keys, self.clock = rate, max(1, burst), max(1, max_keys), clock
        self._buckets: OrderedDict[Hashable, list[float]] = OrderedDict()  # key -> [tokens, when counted]
        self._lock = threading.Lock()

    def take(self, key: Hashable, cost: float = 1.0) -> float:
        if self.rate <= 0:
            return 0.0
        cost = min(float(cost), float(self.burst))
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
            if bucket[0] >= cost:
                bucket[0] -= cost
                return 0.0
            return (cost - bucket[0]) / self.rate

    def give_back(self, key: Hashable, cost: float = 1.0) -> None:
        """Undo a ``take`` of ``cost`` whose request was refused by another budget."""
        if self.rate <= 0:
            return
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is not None:
                bucket[0] = min(float(self.burst), bucket[0] + min(float(cost), float(self.burst)))

    def __len__(self) -> int:
        return len(self._buckets)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._buckets


class InFlight:
    """Bodies being read, per sender and in all (0 turns a cap off). ``enter(key, cut)`` is None when the
    request may go on (then ``leave(key, cut)`` when it ends), else ``"sender"`` or ``"total"``: the cap it is
    over. Memory: one entry per body in progress.

    When every slot is taken, a newcomer takes one from the sender holding the most, if that sender holds more
    than the newcomer's does: its oldest body that has been arriving for ``cut_after`` seconds is cut (``cut()``,
    given by its request, ends its read as too slow). Without it, a few addresses trickling bodies (eight
    IPv6 /64s, one /56, fill 512 slots at 64 each) answered every vendor 503 for as long as they kept it up;
    now they hold only what nobody else asks for. A body younger than ``cut_after`` is never cut (a vendor's
    burst is read in milliseconds), and a request without ``cut`` is never cut."""

    def __init__(self, per_sender: int, total: int, cut_after: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_sender, self.total, self.count, self.cut_after, self.clock = per_sender, total, 0, cut_after, clock
        self.cut = 0  # bodies cut to make room
        # sender -> {entry: (started, cut)}, oldest first; an entry is the request's ``cut`` or a token
        self._by_sender: dict[Hashable, dict[object, tuple[float, Callable[[], None] | None]]] = {}

    def enter(self, key: Hashable, cut: Callable[[], None] | None = None) -> str | None:  # event loop only
        held = self._by_sender.get(key, {})
        if self.per_sender and len(held) >= self.per_sender:
            return "sender"
        if self.total and self.count >= self.total and not self._make_room(len(held)):
            return "total"
        self._by_sender.setdefault(key, {})[cut if cut is not None else object()] = (self.clock(), cut)
        self.count += 1
        return None

    def leave(self, key: Hashable, cut: Callable[[], None] | None = None) -> None:
        held = self._by_sender.get(key)
        if not held:
            return
        if cut is None:  # one of this sender's entries that cannot be cut (they are all alike)
            cut = next((entry for entry, (_, c) in reversed(held.items()) if c is None), None)
        if held.pop(cut, None) is None:
            return  # cut to make room: no longer counted
        if not held:
            del self._by_sender[key]
        self.count -= 1

    def _make_room(self, newcomer_holds: int) -> bool:
        now, victim = self.clock(), None
        heaviest = max((len(v) for v in self._by_sender.values()), default=0)
        if heaviest <= newcomer_holds:
            return False
        for key, held in self._by_sender.items():
            if len(held) != heaviest:
                continue
            for entry, (started, cut) in held.items():
                if cut is not None and now - started >= self.cut_after and (victim is None or started < victim[0]):
                    victim = (started, key, entry, cut)
                    break  # the oldest of this sender that can be cut
        if victim is None:
            return False
        _, key, entry, cut = victim
        self.leave(key, entry)
        self.cut += 1
        cut()
        return True


# the 429 reason of a verified delivery (webhook_failures_total) -> its webhook_rate_limited_total limit label
LIMIT_OF = {"rate_limited": "deliveries", "bytes_limited": "bytes"}


class SenderLimits:
    """The bucket kinds of one receiver, and how it tells senders apart."""

    def __init__(self, settings: WebhookSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.deliveries = TokenBuckets(settings.rate_per_second, settings.rate_burst, settings.rate_max_senders, clock)
        self.bytes = TokenBuckets(settings.bytes_per_second, settings.bytes_burst, settings.rate_max_senders, clock)
        self.failures = TokenBuckets(settings.failure_rate_per_second, settings.failure_burst,
                                     settings.rate_max_senders, clock)
        self.in_flight = InFlight(settings.max_in_flight_per_sender, settings.max_in_flight,
                                  min(CUT_AFTER_SECONDS, settings.body_timeout_seconds / 2), clock)

    def take_delivery(self, sender: Hashable, size: int) -> tuple[str, float] | None:
        """A verified delivery of ``size`` body bytes: None when the sender's delivery and byte budgets both
        had room (both spent), else ``(reason, wait)``: the budget that must wait longest (a key of
        ``LIMIT_OF``) and the seconds until both have room. A refused delivery spends neither budget."""
        count, size_wait = self.deliveries.take(sender), self.bytes.take(sender, size)
        if not count and not size_wait:
            return None
        if not count:
            self.deliveries.give_back(sender)
        if not size_wait:
            self.bytes.give_back(sender, size)
        return ("bytes_limited" if size_wait > count else "rate_limited"), max(count, size_wait)

    def __len__(self) -> int:
        return len(self.deliveries) + len(self.bytes) + len(self.failures)


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
