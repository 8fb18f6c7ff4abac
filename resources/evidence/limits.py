"""The Evidence Library's numeric limits, read from the environment and checked.

Each is a whole number (bytes, or times a file's size); unset or empty means the default. A value
that is not one, or is below its minimum, stops with the variable, what came, what to set and the
default, never a bare ``invalid literal for int()`` from deep in an ingest:

- ``PROJECTX_EVIDENCE_MAX_BYTES``: the size limit (default 100 MiB);
- ``PROJECTX_EVIDENCE_MAX_EXPANDED_BYTES``: what an archive may expand to, all levels (default
  max(10 x the size limit, 1 GiB)); past it the file waits, pending;
- ``PROJECTX_EVIDENCE_MAX_RATIO``: an archive expanding to more than this many times its own size is
  a zip bomb, quarantined (default 200) ...
- ``PROJECTX_EVIDENCE_RATIO_FLOOR_BYTES``: ... once past this many bytes (default 100 MiB; 0: from
  the first byte).
"""

from __future__ import annotations

import os
import re

_WHOLE = re.compile(r"\d+")


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def env_bool(name: str, default: bool) -> bool:
    """``name`` from the environment as a switch (1/true/yes/on or 0/false/no/off, any case); ``default``
    when unset or empty. Anything else is refused: a typo must not switch a safeguard off."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise ValueError(f"{name}={raw!r} is not a switch: set true or false (or unset it for the default, "
                     f"{'true' if default else 'false'})")


def env_int(name: str, default: int | None, *, unit: str, example: str, minimum: int = 1,
            default_text: str | None = None) -> int | None:
    """``name`` from the environment as a whole number of at least ``minimum``; ``default`` when unset
    or empty (``default_text`` says what it is when it is computed later, e.g. from another limit).
    Only plain digits: ``1.5``, ``2e9``, ``100MB`` or ``1_000`` are refused, not guessed at."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip()
    if not _WHOLE.fullmatch(value) or int(value) < minimum:
        shown = default_text or str(default)
        raise ValueError(f"{name}={raw!r} is not {unit} of at least {minimum}: set a whole number, e.g. "
                         f"{example}, or unset it for the default ({shown})")
    return int(value)
