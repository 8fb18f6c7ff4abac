"""Page size and page token of Drive's list methods (revisions, comments, replies, shared drives): a page
token is the offset of the next item; a page size below 1 is 400 ``invalid`` on ``pageSize``, one above
the method's maximum is cut to it ("values above 100 will be coerced to 100", as the discovery document
says); a token the emulator never issued is 400 ``invalid`` on ``pageToken``."""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request
from sandbox.core.numbers import ascii_int
from sandbox.gdrive.errors import DriveError


def page(req: Request, items: list[Any], default: int, maximum: int) -> tuple[list[Any], str | None]:
    """The requested page of ``items`` and the next page token (None on the last page)."""
    raw = req.query.get("pageSize") or str(default)
    size = ascii_int(raw, signed=True)  # not isdecimal() + int(): '٣' read as 3, 5,000 digits a 500 [round 27]
    if size is None or size < 1:
        raise DriveError(400, "invalid", f"Invalid value '{raw}'. Values must be within the range: [1, {maximum}]",
                         location="pageSize")
    size = min(size, maximum)
    offset = ascii_int(req.query.get("pageToken") or "0")
    if offset is None:
        raise DriveError(400, "invalid", "Invalid Value", location="pageToken")
    following = offset + size
    return items[offset:following], str(following) if following < len(items) else None
