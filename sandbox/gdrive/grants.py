"""What a user or group permission carries beside its role, for ``permissions.py``: its ``type`` (a group's
permission lists as ``type: group``, not ``user``) and an ``expirationTime``, as Drive's Permission
reference restricts it ("They can only be set on user and group permissions; the time must be in the future;
the time cannot be more than a year in the future"), and its sharing guide ("Temporary access isn't allowed
on My Drive folders with role=writer").

The reasons are the ones Drive's clients know (GAM's list for permissions create/update:
``cannotSetExpiration``, ``cannotSetExpirationOnAnyoneOrDomain``, ``expirationDatesMustBeInTheFuture``);
[unc] their statuses and words, and the answer to a time more than a year ahead (here 400 invalid).
``permissions.update`` sets a new time with ``expirationTime`` and drops it with ``removeExpiration=true``.
When its time passes (on the sandbox's ``clock``, which tests move forward) a grant is taken away, as Drive
does: ``expire`` drops it before every call, so the grantee's files.get/list/export/download answer 404
notFound and permissions.list no longer shows it; the file's change log records the loss [unc: whether
Drive logs a change for it and how soon after the time it acts]."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.core.http import Request
from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.store import FOLDER, DriveFile, DriveStore, as_rfc3339

YEAR = timedelta(days=366)  # [unc] where "a year" ends


def expiration(body: dict[str, Any], kind: str, role: str, f: DriveFile, now: datetime | None = None) -> str | None:
    """The ``expirationTime`` a create or update asks for, as Drive stores it (None: none asked); ``now``: the
    sandbox's clock."""
    raw = body.get("expirationTime")
    if raw in (None, ""):
        return None
    if kind not in ("user", "group"):
        raise DriveError(403, "cannotSetExpirationOnAnyoneOrDomain",
                         "Expiration dates cannot be set on anyone or domain permissions.")
    try:
        when = as_rfc3339(raw)
    except (TypeError, ValueError):
        raise DriveError(400, "invalid", f"Invalid value for: permission.expirationTime: {raw}",
                         location="permission.expirationTime") from None
    if f.mime_type == FOLDER and role != "reader":  # [unc] commenter on a folder: refused with writer
        raise DriveError(403, "cannotSetExpiration", "Expiration dates cannot be set on this item.")
    at = datetime.fromisoformat(when.replace("Z", "+00:00"))
    now = now or datetime.now(UTC)
    if at <= now:
        raise DriveError(400, "expirationDatesMustBeInTheFuture", "Expiration dates must be in the future.")
    if at > now + YEAR:
        raise DriveError(400, "invalid", "Expiration dates cannot be more than a year in the future.",
                         location="permission.expirationTime")
    return when


def remember(f: DriveFile, email: str, kind: str, when: str | None, req: Request, updating: bool) -> None:
    """Keep ``email``'s type and expiration on ``f`` (call under the store's lock, after the grant)."""
    (f.groups.add if kind == "group" else f.groups.discard)(email)
    if when is not None:
        f.expiry[email] = when
    elif not updating or req.query.get("removeExpiration") == "true":
        f.expiry.pop(email, None)


def forget(f: DriveFile, email: str) -> None:
    f.groups.discard(email)
    f.expiry.pop(email, None)


def _at(when: str) -> datetime:
    return datetime.fromisoformat(when.replace("Z", "+00:00"))


def expire(store: DriveStore, now: datetime) -> None:
    """Take away every user and group grant whose ``expirationTime`` is not after ``now`` (its role, any
    pending ownership offer, its type and time), recording a change of the file."""
    with store.lock:
        for f in [f for f in store.files.values() if f.expiry]:
            gone = [email for email, when in f.expiry.items() if _at(when) <= now]
            for email in gone:
                for people in (f.writers, f.commenters, f.readers):
                    people.discard(email)
                f.pending_owners.discard(email)
                forget(f, email)
            if gone:
                store.record(f.id)
