"""AssumeRole's parameter checks, which moto's STS leaves out (it issued credentials for any duration and name):

- ``DurationSeconds`` over 43200: 400 ValidationError (the API's own bound; botocore refuses under 900 itself);
- ``DurationSeconds`` over the role's MaxSessionDuration (3600 unless the role says otherwise): 400
  ValidationError "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.";
- a ``RoleSessionName`` outside ``[\\w+=,.@-]{2,64}``: 400 ValidationError.

Answered in STS's ErrorResponse envelope (Type Sender), as AWS does.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from sandbox.core.numbers import ascii_int

MAX_DURATION = 43200
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)


def _error(message: str) -> tuple[int, bytes, list]:
    body = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
        f"<Code>ValidationError</Code><Message>{message}</Message></Error>"
        "<RequestId>projectx-sandbox</RequestId></ErrorResponse>"
    )
    return 400, body.encode(), []


def _role_limit(arn: str) -> int | None:
    from moto.iam.models import iam_backends

    account = arn.split(":")[4] if arn.count(":") >= 5 else ""
    try:
        role = iam_backends[account]["aws"].get_role_by_arn(arn)
    except Exception:
        return None  # moto lets an unknown role be assumed; so does the sandbox
    return int(role.max_session_duration or 3600)


def check(params: dict[str, list[str]]):
    """None when AssumeRole's parameters pass, else (status, body, headers)."""
    if params.get("Action", [""])[0] != "AssumeRole":
        return None
    name = params.get("RoleSessionName", [""])[0]
    if not _SESSION_NAME.fullmatch(name):
        return _error(
            f"1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        )
    raw = params.get("DurationSeconds", [""])[0]
    if not raw:
        return None
    # ASCII digits, at most 20 characters, not isdecimal() + int(): '٣' read as 3, and 'x' or 5,000 digits reached
    # int() in moto, a 500 [round 27] [unc: STS's wording for a value that is not an integer]
    duration = ascii_int(raw)
    if duration is None or len(raw) > 20:
        return _error(
            f"1 validation error detected: Value '{escape(raw[:64])}' at 'durationSeconds' failed to satisfy "
            "constraint: Member must be an integer"
        )
    if duration > MAX_DURATION:
        return _error(
            f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy "
            f"constraint: Member must have value less than or equal to {MAX_DURATION}"
        )
    limit = _role_limit(params.get("RoleArn", [""])[0])
    if limit is not None and duration > limit:
        return _error("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    return None
