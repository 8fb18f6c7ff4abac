"""Open TCP connections, per client address and in all: ``ConnectionBudget``, kept by the HTTP protocol
(``webhooks.receiver.server``), because an ASGI middleware never sees a connection that sends no request.

Without it one address could open thousands of idle or slowloris connections (a head dribbled a byte
at a time, each within ``head_timeout_seconds``) and hold the server's sockets and file descriptors
for everyone. Now:

- **per address** (``max_connections_per_address``): a connection past it is answered **429** with
  Retry-After and closed at once, before a byte is read; the flood hurts only its own address. The
  address is the TCP peer (IPv6 by its /64, as the rate limits count senders); a peer that is one of
  ``trusted_proxies`` has no per-address cap (its clients are told apart by X-Forwarded-For later).
- **in all** (``max_connections``): when every slot is taken, a newcomer takes one from the address
  holding the most connections, if that address holds more than the newcomer's own address would: its
  oldest connection not inside a request (idle keep-alive, nothing sent yet, or a head still
  arriving) is closed. A request being served is never cut. With nothing to take, the newcomer is
  answered **503** with Retry-After. So many addresses flooding share the slots, and an address with
  few connections (a vendor's) always gets one.

Memory: one dict entry per address with an open connection. Called on the event loop only (no lock).
"""

from __future__ import annotations

import ipaddress
from typing import Protocol

from webhooks.receiver.limits import _networks, sender_key


class Held(Protocol):
    def is_busy(self) -> bool: ...  # inside a request: its head complete, its answer not yet sent
    def evict(self) -> None: ...


class ConnectionBudget:
    """``admit(conn, peer)``: None when ``conn`` may stay (then ``release(conn)`` when it closes), else
    ``"address"`` or ``"total"``: the cap it is over (0 turns a cap off)."""

    def __init__(self, per_address: int, total: int, trusted: tuple[str, ...] = ()) -> None:
        self.per_address, self.total, self.trusted = per_address, total, trusted
        self.count, self.refused, self.evicted = 0, 0, 0
        self._by_address: dict[str, dict[Held, None]] = {}  # address -> its connections, oldest first
        self._key: dict[Held, str] = {}

    def key(self, peer: str | None) -> str | None:
        """The address a connection counts under; None for a trusted proxy (no per-address cap)."""
        if peer and self.trusted:
            try:
                ip = ipaddress.ip_address(peer)
            except ValueError:
                ip = None
            if ip is not None and any(ip in n for n in _networks(self.trusted)):
                return None
        return sender_key(peer)

    def admit(self, conn: Held, peer: str | None) -> str | None:
        key = self.key(peer)
        mine = self._by_address.get(key or "", {}) if key is not None else {}
        if self.per_address and key is not None and len(mine) >= self.per_address:
            self.refused += 1
            return "address"
        if self.total and self.count >= self.total and not self._make_room(len(mine) + 1):
            self.refused += 1
            return "total"
        self._by_address.setdefault(key or "", {})[conn] = None
        self._key[conn] = key or ""
        self.count += 1
        return None

    def release(self, conn: Held) -> None:
        key = self._key.pop(conn, None)
        if key is None:
            return
        held = self._by_address.get(key)
        if held is not None:
            held.pop(conn, None)
            if not held:
                del self._by_address[key]
        self.count -= 1

    def held_by(self, peer: str | None) -> int:
        key = self.key(peer)
        return len(self._by_address.get(key or "", {}))

    def _make_room(self, newcomer_would_hold: int) -> bool:
        """Close the oldest connection outside a request of the heaviest address holding more than the
        newcomer's address would; True when one was closed (its slot is free now)."""
        heaviest: list[tuple[int, str]] = sorted(((len(v), k) for k, v in self._by_address.items() if k),
                                                 reverse=True)
        for size, key in heaviest:
            if size <= newcomer_would_hold:
                return False
            victim = next((c for c in self._by_address[key] if not c.is_busy()), None)
            if victim is not None:
                self.release(victim)
                self.evicted += 1
                victim.evict()
                return True
        return False

