"""``q`` of ``drives.list``: Drive's shared-drive search terms (the "Search for shared drives" guide and the
shared-drive table of "Search query terms and operators"), in the files query language's grammar
(``and`` / ``or`` / ``not`` / parentheses):

- ``name`` =, !=, contains; ``hidden`` =, != ``true|false`` (the caller's own ``hidden``): for anyone;
- ``createdTime`` <, <=, =, !=, >, >= an RFC 3339 value; ``memberCount`` and ``organizerCount`` with the same
  operators and a number; ``orgUnitId`` =, != a quoted id: these need ``useDomainAdminAccess=true`` (the guide:
  "Most query terms require useDomainAdminAccess=true"; its examples set it for ``createdTime``,
  ``memberCount`` and ``organizerCount`` and leave it off for ``name`` and ``hidden``). Without it such a term
  is refused like any other term Drive cannot read: 400 ``invalid`` "Invalid Value" on ``q`` [unc: the
  answer Drive gives there is not documented].

``memberCount`` counts the drive's members (every role), ``organizerCount`` those with role organizer [unc:
whether a group member counts once or by its people]. Anything else is 400 invalid on ``q``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.query import COMPARE, _Parser

ADMIN_ONLY = ("createdTime", "memberCount", "organizerCount", "orgUnitId")
COUNTS: dict[str, Callable[[Any], int]] = {
    "memberCount": lambda d: len(d.members),
    "organizerCount": lambda d: sum(role == "organizer" for role in d.members.values()),
}
DrivePred = Callable[[Any, str], bool]  # (SharedDrive, caller) -> matches


class _DriveQuery(_Parser):
    """The files query language cut to the shared-drive terms; ``admin``: the admin-only ones too."""

    def __init__(self, q: str, admin: bool):
        super().__init__(q)
        self.admin = admin

    def term(self):
        if not self.tokens or self.tokens[0][0] != "word" or self.peek("properties") or self.peek("appProperties"):
            raise ValueError("not a shared drive search term")
        return super().term()

    def compare(self, field: str, op: str):
        if field in ADMIN_ONLY and not self.admin:
            raise ValueError(f"{field} needs useDomainAdminAccess=true")
        if field == "hidden" and op in ("=", "!="):
            flag = self.take("word").lower()
            if flag not in ("true", "false"):
                raise ValueError("hidden takes true or false")
            return lambda d, who: COMPARE[op](who in d.hidden_for, flag == "true")
        if field in COUNTS and op in COMPARE:
            number = int(self.take("num"))
            count = COUNTS[field]
            return lambda d, who: COMPARE[op](count(d), number)
        if field == "orgUnitId" and op in ("=", "!="):
            unit = self.string()
            return lambda d, who: COMPARE[op](d.org_unit, unit)
        if field in ("name", "createdTime"):
            return super().compare(field, op)
        raise ValueError(f"{field} {op} is not a shared drive search term")


def drive_query(q: str, admin: bool = False) -> DrivePred:
    """A predicate ``(drive, caller) -> bool`` for ``q``; Drive's 400 invalid on ``q`` when it cannot read it."""
    if not q.strip():
        return lambda d, who: True
    try:  # a term the lexer cannot read (``foo = 1``) is Drive's 400 invalid on q too, not a parseError
        parser = _DriveQuery(q, admin)
        pred = parser.expr()
    except (ValueError, IndexError, KeyError):
        raise DriveError(400, "invalid", "Invalid Value", location="q") from None
    if parser.tokens:
        raise DriveError(400, "invalid", "Invalid Value", location="q")
    return pred
