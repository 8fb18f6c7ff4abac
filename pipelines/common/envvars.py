"""Settings read from the environment and checked: a switch (:func:`env_bool`) or a whole number
(:func:`env_int`). Unset or empty means the default; anything else that is not one stops with the
variable, what came, what to set and the default, never a bare ``invalid literal for int()`` from deep
in a run. Shared by every layer (pipelines, resources, assets, webhooks); no Dagster here."""

from __future__ import annotations

import os
from collections.abc import Mapping

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def shown(raw: str) -> str:
    """A malformed setting as an error shows it: quoted when short, else only by its length (a token pasted
    into the wrong variable must reach no log, not even its first characters)."""
    return repr(raw) if len(raw) <= 12 else f"(a value of {len(raw)} characters)"


def env_bool(name: str, default: bool) -> bool:
    """``name`` from the environment as a switch (1/true/yes/on or 0/false/no/off, any case); ``default``
    when unset or empty. Anything else is refused: a typo must not switch a safeguard off."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise ValueError(f"{name}={shown(raw)} is not a switch: set true or false (or unset it for the default, "
                     f"{'true' if default else 'false'})")


def env_int(name: str, default: int | None, *, unit: str, example: str, minimum: int = 1,
            maximum: int | None = None, default_text: str | None = None,
            environ: Mapping[str, str] | None = None) -> int | None:
    """``name`` from the environment as a whole number of at least ``minimum`` (and at most ``maximum``);
    ``default`` when unset or empty (``default_text`` says what it is when it is computed later, e.g. from
    another limit); ``environ``: where to read it (default ``os.environ``). Only plain ASCII digits:
    ``1.5``, ``2e9``, ``100MB``, ``1_000`` or a full-width digit are refused, not guessed at."""
    raw = (os.environ if environ is None else environ).get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip()
    number = int(value) if value.isascii() and value.isdigit() and len(value) <= 30 else None
    if number is None or number < minimum or (maximum is not None and number > maximum):
        bounds = f"of at least {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise ValueError(f"{name}={shown(raw)} is not {unit} {bounds}: set a whole number, e.g. {example}, "
                         f"or unset it for the default ({default_text or default})")
    return number
