"""Fast deterministic building blocks for seed data: stable UUIDs, ISO timestamps, per-record draws.

Records are generated lazily, one at a time, from (seed, kind, index); so every helper here is a pure
function of its inputs and cheap (about a microsecond), avoiding `datetime` and `uuid.UUID` in hot paths.
"""

from __future__ import annotations

import hashlib
import random
import re
from bisect import bisect
from datetime import UTC, datetime
from typing import Any

DAY = 86_400.0
_DAYS: dict[int, str] = {}


def stable_uuid(seed: int, kind: str, key: object) -> str:
    """A v4-shaped UUID that depends only on (seed, kind, key)."""
    h = hashlib.blake2b(f"{seed}:{kind}:{key}".encode(), digest_size=16).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def iso(ts: float) -> str:
    """Epoch seconds -> OneTrust timestamp "2026-10-31T12:34:56.789Z" (date prefix cached per day)."""
    ms = int(ts * 1000)
    day, rem = divmod(ms, 86_400_000)
    prefix = _DAYS.get(day)
    if prefix is None:
        prefix = _DAYS[day] = datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%dT")
    h, rem = divmod(rem, 3_600_000)
    m, rem = divmod(rem, 60_000)
    return f"{prefix}{h:02d}:{m:02d}:{rem // 1000:02d}.{rem % 1000:03d}Z"


def parse_iso(value: str) -> float | None:
    """OneTrust/ISO timestamp (Z, offset or naive=UTC) -> epoch seconds; None if unparseable."""
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def normalize_iso(value: Any) -> str:
    """A date-time a client wrote into a body, as OneTrust serves it back: UTC with millis and "Z", the format
    of every timestamp the API serves (Jackson re-serialising the parsed instant [unc: OneTrust does not say]).
    Accepts ISO strings with or without millis, a "Z" or an offset, or a bare date (midnight UTC), and integers
    as epoch millis (Jackson's reading of a number for a date [unc]); anything else is ValueError."""
    if isinstance(value, int) and not isinstance(value, bool):
        return iso(value / 1000)
    ts = parse_iso(value) if isinstance(value, str) else None
    if ts is None:
        raise ValueError(f"Cannot deserialize value {value!r} as a date-time (ISO-8601 expected)")
    return iso(ts)


def spread(i: int, size: int) -> float:
    """Deterministic position of record i in [0, 1): increasing with i, jittered inside its slot."""
    return (i + ((i * 2654435761) % 1000) / 1000.0) / max(size, 1)


class Draw:
    """Seeded draws for one record: `Draw(seed, kind_no, i)` always yields the same sequence."""

    def __init__(self, seed: int, kind_no: int, i: int) -> None:
        rng = random.Random((seed << 40) ^ (kind_no << 34) ^ i)
        self.random = rng.random
        self.sample = rng.sample

    def pick(self, seq: Any) -> Any:
        return seq[int(self.random() * len(seq))]

    def weighted(self, seq: tuple, cum: list[float]) -> Any:
        return seq[bisect(cum, self.random() * cum[-1])]

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.random()

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))


def cumulative(weights: tuple) -> list[float]:
    """Running totals of `weights`, for `Draw.weighted`."""
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


def fold_uuid(value: Any) -> Any:
    """A UUID string lower-cased (OneTrust parses ids as UUIDs, so their case never matters); any other
    value unchanged."""
    return value.lower() if isinstance(value, str) and _UUID_RE.match(value) else value
