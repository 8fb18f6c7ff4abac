"""Request bodies as the instance reads them: JSON, and also the single-quoted form its own reference uses.

The Table API reference's cURL examples send `{'short_description':'Unable to connect to office wifi',
'urgency':'2'}`, and the Batch API reference's example item body decodes to `{'urgency':'1', ...}` and
answers 201: the instance's JSON reader takes single-quoted strings [doc: the examples and their
responses]. `loads` parses strict JSON first; only when that fails does it read single-quoted strings as
strings (`\\'` inside them is a quote, a double quote inside them is a plain character) and parse again,
raising the strict parser's error when that fails too. Anything else non-JSON (unquoted keys, trailing
commas) stays an error [unc: the instance's reader may take more].
"""

from __future__ import annotations

import json
from typing import Any


def loads(body: bytes | str) -> Any:
    """The body parsed as (lenient) JSON; an empty body is None. Raises ValueError like json.loads."""
    text = (body.decode("utf-8") if isinstance(body, bytes) else body) or "null"
    try:
        return json.loads(text)
    except ValueError as strict:
        if "'" not in text:
            raise
        try:
            return json.loads(_double_quoted(text))
        except ValueError:
            raise strict from None


def _double_quoted(text: str) -> str:
    """`text` with every single-quoted string outside double-quoted ones rewritten as a JSON string."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':  # copy a double-quoted string through, escapes and all
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif ch == "'":
            j, part = i + 1, ['"']
            while j < n and text[j] != "'":
                if text[j] == "\\" and j + 1 < n:
                    part.append("'" if text[j + 1] == "'" else text[j:j + 2])
                    j += 2
                    continue
                part.append('\\"' if text[j] == '"' else text[j])
                j += 1
            part.append('"')
            out.append("".join(part))
            i = j + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)
