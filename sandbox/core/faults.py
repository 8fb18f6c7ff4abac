"""Switchable, seeded faults for one vendor emulator.

Meaning of each setting (all off by default):

- `rate_429` / `retry_after`: fraction of requests answered 429 with `Retry-After: <retry_after>` seconds.
- `rate_5xx` / `status_5xx`: fraction of requests answered with a server error (default 503).
- `delay_seconds` / `rate_slow`: that fraction of requests (default all) sleeps before answering (timeouts).
- `rate_lost_reply`: fraction of requests the vendor carries out (the write is committed) and then
  answers with `status_5xx` instead of its result: a write that succeeded but reads as failed.
- `rate_html`: fraction of requests the vendor carries out and then answers `200` with an HTML page
  (a proxy's or login page's body) instead of its JSON result.
- `rate_401` / `rate_403`: fraction of authenticated requests refused as unauthenticated / forbidden.
- `rate_malformed`: fraction of records served with schema-invalid values (chosen per record, stable).
- `touch_per_page`: on each list-page request, N random records get `sys_updated_on = now` first
  (records changing while a client pages).
- `delete_per_page`: on each list-page request, N random records are deleted first.
- `hostile_text`: 1 = every response body has each hostile-text marker a record holds
  (``@@HOSTILE:<kind>@@``, put there through a normal write) replaced by that kind of text real APIs
  emit and strict parsers refuse (:data:`HOSTILE_TEXT`): the record stays hostile while the switch is
  on and reads as its plain marker text once it is off (a transient corruption).
- `methods` / `paths`: limit the request-level faults above (429, 5xx, slow, lost reply, html, 401, 403) to these
  HTTP methods and to paths matching any of these regexes (empty = every request). Token
  endpoints (routes without auth faults) are left out of a method-only scope: `methods=["POST"]`
  breaks record writes, not `POST /oauth_token.do`.
- Actions (not remembered): `revoke_tokens=True` revokes every issued token, `expire_tokens=True`
  expires them; `token_ttl_seconds=N` changes the lifetime of tokens issued from now on.

Decisions come from a `random.Random(seed)`, so a given sequence of requests meets the same faults.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol

from sandbox.core.numbers import control_number


class TokenControl(Protocol):
    ttl_seconds: int

    def revoke_all(self) -> None: ...

    def expire_all(self) -> None: ...


@dataclass
class FaultSettings:
    """The persistent fault switches (see module docstring)."""

    rate_429: float = 0.0
    retry_after: int = 1
    rate_5xx: float = 0.0
    status_5xx: int = 503
    delay_seconds: float = 0.0
    rate_slow: float = 1.0
    rate_lost_reply: float = 0.0
    rate_html: float = 0.0
    rate_401: float = 0.0
    rate_403: float = 0.0
    rate_malformed: float = 0.0
    touch_per_page: int = 0
    delete_per_page: int = 0
    hostile_text: int = 0
    methods: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()


_LISTS = frozenset({"methods", "paths"})


# Ranges of the numeric switches (a value outside is a ValueError, a 400 over HTTP): fractions are 0..1, a delay
# stays below what time.sleep takes (1e999 was an OverflowError in every faulted request), a status is HTTP's.
_RANGES: dict[str, tuple[float, float]] = {"retry_after": (0, 2**31 - 1), "status_5xx": (100, 599),
                                           "delay_seconds": (0, 10**6), "touch_per_page": (0, 2**31 - 1),
                                           "delete_per_page": (0, 2**31 - 1), "hostile_text": (0, 2**31 - 1)}


def _cast(name: str, kind: object, value: Any) -> Any:
    if name in _LISTS:
        items = [value] if isinstance(value, str) else list(value or [])
        return tuple(str(v).upper() if name == "methods" else str(v) for v in items)
    # not int()/float(): they read '٣' as 3 and ' 3' or '3_0' too, and took NaN and Infinity [round 27]
    number = float if kind in (float, "float") else int
    lo, hi = _RANGES.get(name, (0, 1) if name.startswith("rate_") else (None, None))
    return control_number(name, value, number, lo, hi)


@dataclass(frozen=True)
class Decision:
    """What the fault layer decided for one request."""

    delay: float = 0.0
    status: int | None = None  # 429, 5xx, 401 or 403 when the request must fail
    retry_after: int = 0
    after: str | None = None  # "lost_reply" | "html": served first, then the answer is replaced
    method: str = ""  # the request's method (a vendor words a refused write per operation)


# Marker kind -> the bytes served in its place inside a JSON string (see `hostile_text`).
HOSTILE_TEXT: dict[str, bytes] = {
    "surrogate": b"\\ud83d",  # a lone high surrogate, escaped: a truncated emoji
    "low_surrogate": b"\\udc00",  # a lone low surrogate, escaped
    "byte": b"\xff",  # a byte that never occurs in UTF-8
    "overlong": b"\xc0\xaf",  # an overlong encoding of '/'
    "truncated": b"\xf0\x9f\x98",  # the first three bytes of a four-byte emoji
    "nul": b"\\u0000",  # NUL: PostgreSQL cannot store it in text
}
HOSTILE_MARKER = b"@@HOSTILE:"


def hostile_marker(kind: str) -> str:
    """The marker text to write into a record field so `hostile_text` corrupts it (kinds: HOSTILE_TEXT)."""
    if kind not in HOSTILE_TEXT:
        raise ValueError(f"unknown hostile text kind {kind!r}; known: {sorted(HOSTILE_TEXT)}")
    return f"@@HOSTILE:{kind}@@"


def corrupt(body: bytes) -> bytes:
    """Replace every hostile-text marker in a response body by its bytes."""
    for kind, value in HOSTILE_TEXT.items():
        body = body.replace(HOSTILE_MARKER + kind.encode() + b"@@", value)
    return body


_ACTIONS = ("revoke_tokens", "expire_tokens", "token_ttl_seconds", "seed")
_MALFORMED_SCALE = float(2**64)


class Faults:
    """Per-vendor fault switchboard with a Python API (`set`, `clear`) also served over HTTP."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self._rng = random.Random(seed)
        self.settings = FaultSettings()
        self.tokens: TokenControl | None = None

    # --- configuration -------------------------------------------------------------------
    def set(self, **changes: Any) -> dict[str, Any]:
        """Change some switches or run token actions; unknown names raise ValueError."""
        known = {f.name: f.type for f in fields(FaultSettings)}
        unknown = sorted(set(changes) - set(known) - set(_ACTIONS))
        if unknown:
            raise ValueError(f"unknown fault setting(s) {unknown}; known: {sorted(known) + list(_ACTIONS)}")
        # every value is checked before any is applied: a refused PATCH changes nothing
        cast = {name: _cast(name, known[name], value) for name, value in changes.items() if name in known}
        seed = None if "seed" not in changes else int(control_number("seed", changes["seed"], int, -(2**63),
                                                                        2**63 - 1))
        if "token_ttl_seconds" in changes:
            changes = {**changes, "token_ttl_seconds": int(control_number(
                "token_ttl_seconds", changes["token_ttl_seconds"], int, 0, 2**31 - 1))}
        for pattern in cast.get("paths", ()):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"fault path pattern {pattern!r} is not a regex: {exc}") from exc
        with self._lock:
            for name, value in cast.items():
                setattr(self.settings, name, value)
            if seed is not None:
                self._seed = seed
                self._rng = random.Random(self._seed)
        self._token_actions(changes)
        return self.as_dict()

    def replace(self, **changes: Any) -> dict[str, Any]:
        """Clear every switch, then apply `changes` (HTTP PUT semantics)."""
        self.clear()
        return self.set(**changes)

    def clear(self) -> None:
        """Switch every fault off and rewind the random stream."""
        with self._lock:
            self.settings = FaultSettings()
            self._rng = random.Random(self._seed)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self.settings)
        out["seed"] = self._seed
        if self.tokens is not None:
            out["token_ttl_seconds"] = self.tokens.ttl_seconds
        return out

    def _token_actions(self, changes: dict[str, Any]) -> None:
        if self.tokens is None:
            if any(k in changes for k in ("revoke_tokens", "expire_tokens", "token_ttl_seconds")):
                raise ValueError("this vendor issues no tokens")
            return
        if "token_ttl_seconds" in changes:
            self.tokens.ttl_seconds = changes["token_ttl_seconds"]
        if changes.get("revoke_tokens"):
            self.tokens.revoke_all()
        if changes.get("expire_tokens"):
            self.tokens.expire_all()

    # --- decisions ------------------------------------------------------------------------
    def decide(self, auth_faults: bool = True, method: str = "", path: str = "") -> Decision:
        """Draw the faults for one request (delay first, then 429, 5xx, 401, 403)."""
        s = self.settings
        if s.methods and method.upper() not in s.methods:
            return Decision()
        if s.paths and not any(re.search(p, path) for p in s.paths):
            return Decision()
        if s.methods and not s.paths and not auth_faults:
            return Decision()  # a method-scoped fault means data calls; token endpoints only if `paths` names them
        with self._lock:
            rnd = self._rng.random
            delay = s.delay_seconds if s.delay_seconds > 0 and rnd() < s.rate_slow else 0.0
            if s.rate_429 > 0 and rnd() < s.rate_429:
                return Decision(delay, 429, s.retry_after)
            if s.rate_5xx > 0 and rnd() < s.rate_5xx:
                return Decision(delay, s.status_5xx)
            if auth_faults and s.rate_401 > 0 and rnd() < s.rate_401:
                return Decision(delay, 401)
            if auth_faults and s.rate_403 > 0 and rnd() < s.rate_403:
                return Decision(delay, 403, method=method.upper())
            if s.rate_lost_reply > 0 and rnd() < s.rate_lost_reply:
                return Decision(delay, after="lost_reply")
            if s.rate_html > 0 and rnd() < s.rate_html:
                return Decision(delay, after="html")
        return Decision(delay)

    def malformed_variant(self, key: str, variants: int) -> int | None:
        """Stable per record: None if `key` is served intact, else which corruption (0..variants-1)."""
        rate = self.settings.rate_malformed
        if rate <= 0 or variants <= 0:
            return None
        digest = hashlib.blake2b(f"{self._seed}:{key}".encode(), digest_size=8).digest()
        value = int.from_bytes(digest, "big")
        if value / _MALFORMED_SCALE >= rate:
            return None
        return value % variants

    def pick(self, population: int, k: int) -> list[int]:
        """k distinct seeded-random indexes below `population` (for touch/delete per page)."""
        with self._lock:
            return self._rng.sample(range(population), min(k, population))
