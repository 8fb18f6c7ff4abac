"""Numbers in Slack Web API arguments (query, form or JSON body), read without Python's pitfalls [round 27].

``int()`` and ``float()`` read '٣' as 3, take '3_000', ' 3 ', 'nan' and 'inf', and raise OverflowError on a JSON
1e999 (Python's json makes it inf), which the sandbox answered with a 500. Here an integer argument is a JSON
integer, a finite JSON number without a fraction, or ASCII digits with an optional sign; a timestamp is a finite
JSON number or ASCII decimal text. Anything else is None, which the caller answers with the method's own error
(invalid_arguments, invalid_ts_oldest, ...) [unc: Slack's PHP may take some of them leniently].
"""

from __future__ import annotations

import math
from typing import Any

from sandbox.core.numbers import DECIMAL, INT64_MAX, ascii_int


def whole(raw: Any, strip: bool = False) -> int | None:
    """``raw`` as an integer (magnitude saturated at 2^63-1), or None if it is not one."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return max(-INT64_MAX, min(raw, INT64_MAX))
    if isinstance(raw, float):
        return int(raw) if math.isfinite(raw) and raw.is_integer() and abs(raw) < 2**63 else None
    if isinstance(raw, str):
        return ascii_int(raw.strip() if strip else raw, signed=True)
    return None


def stamp(raw: Any) -> float | None:
    """``raw`` as a finite number of seconds (a ts such as "1700000000.000100"), or None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        try:
            value = float(raw)
        except OverflowError:
            return None
        return value if math.isfinite(value) else None
    if isinstance(raw, str) and DECIMAL.fullmatch(raw):
        value = float(raw)
        return value if math.isfinite(value) else None
    return None
