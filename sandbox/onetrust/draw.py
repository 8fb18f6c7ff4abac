"""Fast deterministic building blocks for seed data: stable UUIDs, ISO timestamps, per-record draws.

Records are generated lazily, one at a time, from (seed, kind, index); so every helper here is a pure
function of its inputs and cheap (about a microsecond), avoiding `datetime` and `uuid.UUID` in hot paths.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from bisect import bisect
from datetime import UTC, datetime, timedelta
from typing import Any

DAY = 86_400.0
_DAYS: dict[int, str] = {}


def stable_uuid(seed: int, kind: str, key: object) -> str:
    """A v4-shaped UUID that depends only on (seed, kind, key)."""
    h = hashlib.blake2b(f"{seed}:{kind}:{key}".encode(), digest_size=16).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def iso(ts: float) -> str:
    """Epoch seconds -> OneTrust timestamp "2026-10-31T12:34:56.789Z" (date prefix cached per day). The year
    always has four digits (``strftime`` wrote year 999 as ``999``: no ISO text, and it sorted after 2026), and
    an instant before 1970 is cut to its millisecond downwards, as after 1970 (``int`` rounded it up)."""
    ms = math.floor(ts * 1000)
    day, rem = divmod(ms, 86_400_000)
    prefix = _DAYS.get(day)
    if prefix is None:
        d = datetime.fromtimestamp(day * 86_400, UTC)
        prefix = _DAYS[day] = f"{d.year:04d}-{d.month:02d}-{d.day:02d}T"
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
    try:
        if isinstance(value, int) and not isinstance(value, bool):
            when = EPOCH + timedelta(milliseconds=value)  # exact: ``value / 1000`` is a float
        else:
            when = parse_instant(value) if isinstance(value, str) else None
            when = when.astimezone(UTC) if when is not None else None
    except (OverflowError, ValueError):  # beyond years 1-9999 in UTC
        when = None
    if when is None:
        raise ValueError(f"Cannot deserialize value {value!r} as a date-time (ISO-8601 expected)")
    return (f"{when.year:04d}-{when.month:02d}-{when.day:02d}T{when.hour:02d}:{when.minute:02d}:"
            f"{when.second:02d}.{when.microsecond // 1000:03d}Z")


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_instant(value: Any) -> datetime | None:
    """An ISO-8601 date-time (``Z`` or an offset, 0 to 9 fractional digits, naive = UTC) as an aware datetime;
    None if it is none."""
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def instant_key(value: Any) -> tuple:
    """A sort key ordering date-times by the instant they name, whatever their offset, fraction or year (text
    order put ``...00Z`` after ``...00.5Z``, ``+05:30`` anywhere and year 999 after 2026); values that are no
    date-time come after them, by their text. The key is the instant's UTC text to the microsecond; the
    served form "2026-10-31T12:34:56.789Z" needs no parsing (sorting a large table stays cheap)."""
    if isinstance(value, str) and len(value) == 24 and value[23] == "Z" and value[19] == "." and value[10] == "T":
        return (0, value[:23] + "000")
    dt = parse_instant(value)
    if dt is None:
        return (1, str(value))
    try:
        u = dt.astimezone(UTC)
    except (OverflowError, ValueError):  # its UTC time is in year 0 or 10000
        return (0, "0000" if (dt.utcoffset() or timedelta(0)) > timedelta(0) else "~")
    return (0, f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}")


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
