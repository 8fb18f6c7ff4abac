"""Integers from requests (query values, path ids, headers, tokens) without Python's pitfalls.

``int()`` takes what no vendor's parser takes (Unicode digits such as '٣', spaces, underscores) and raises
on more than 4,300 digits (Python 3.11's limit), which an emulator would answer as a 500; a huge but valid
value can still overflow ``range``, slicing or ``read``. ``ascii_int`` reads ASCII digits only and saturates
the magnitude at ``cap``, so a 5,000-digit page size clamps like a 20-digit one and an id of 5,000 digits is
simply not found.
"""

from __future__ import annotations

import math
import re

_UNSIGNED = re.compile(r"()([0-9]+)")
_SIGNED = re.compile(r"([+-]?)([0-9]+)")
INT64_MAX = 2**63 - 1


def ascii_int(text: str | None, cap: int = INT64_MAX, signed: bool = False) -> int | None:
    """``text`` as an integer of ASCII digits (with an optional sign when ``signed``), its magnitude at most
    ``cap``; None when it is not one ('', '²', '٣', '1e999', 'nan', ' 7', '7_0')."""
    m = (_SIGNED if signed else _UNSIGNED).fullmatch(text or "")
    if m is None:
        return None
    digits = m.group(2).lstrip("0") or "0"
    value = cap if len(digits) > len(str(cap)) else min(int(digits), cap)
    return -value if m.group(1) == "-" else value


def json_int(value: object, cap: int = INT64_MAX, signed: bool = False, strings: bool = True) -> int | None:
    """A JSON body's number as an integer: a JSON integer (``bool`` is not one) or, when ``strings``, a string
    ``ascii_int`` reads, its magnitude at most ``cap``; None for anything else (1.5, 1e999 and NaN, which Python's
    json parses as floats, '²', null, lists), so the caller answers its vendor's 400 or its default."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if value < 0 and not signed:
            return None
        return max(-cap, min(value, cap))
    return ascii_int(value, cap, signed) if strings and isinstance(value, str) else None


# A decimal number as text in ASCII: sign, digits, a fraction, an exponent; no spaces, '_', NaN or Infinity
DECIMAL = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def finite_number(value: object) -> float | None:
    """A JSON number (not ``bool``) or ASCII ``DECIMAL`` text as a finite float; None for anything else ('٣', ' 3',
    '1_0', 'nan', 'Infinity', 1e999, None), which ``float()`` would read as 3, 3, 10, NaN or inf."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str) and not DECIMAL.fullmatch(value):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int past float's range
        return None
    return number if math.isfinite(number) else None


_CONTROL_INT = re.compile(r"-?[0-9]{1,30}")
_CONTROL_FLOAT = re.compile(r"-?[0-9]{1,30}(?:\.[0-9]{1,30})?")


def control_number(name: str, value: object, kind: type = int, lo: float | None = None,
                   hi: float | None = None) -> int | float:
    """A sandbox control value (``/_sandbox/...`` bodies and query strings, and the same Python APIs) as ``kind``:
    a JSON number (``true``/``false`` read as 1/0, as ``int()`` did), or a string of ASCII digits with an optional
    '-' (and, for ``float``, one '.' and ASCII digits), within ``lo``..``hi``. Anything else raises ValueError naming
    ``name`` (the control routes answer it as a 400): '٣', ' 3 ', '3_000', '+3', 'nan', NaN, Infinity, '1e3', a
    fraction where an integer is wanted, and over 30 digits (before: plain int()/float() read '٣' as 3, and NaN,
    1e999 or 5,000 digits raised OverflowError or slept forever)."""
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    what = "an integer" if kind is int else "a number"
    number: int | float | None = None
    if isinstance(value, bool | int):
        number = int(value)
    elif isinstance(value, float):
        if math.isfinite(value) and (kind is float or value.is_integer()):
            number = kind(value)
    elif isinstance(value, str) and (_CONTROL_INT if kind is int else _CONTROL_FLOAT).fullmatch(value):
        number = kind(value)
    if number is None:
        raise ValueError(f"{name} must be {what} (ASCII digits), not {shown}")
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        low, high = ("" if b is None else f"{int(b):,}" if float(b).is_integer() else f"{b:g}" for b in (lo, hi))
        bounds = f"between {low} and {high}" if lo is not None and hi is not None else \
            (f"at least {low}" if lo is not None else f"at most {high}")
        raise ValueError(f"{name} must be {bounds}, not {shown}")
    return kind(number)
