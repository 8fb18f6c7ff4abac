"""Values of the OneTrust attestation push in OneTrust's shapes: periods as UTC ``...Z`` instants, the id a write
answered with, a JSON type named for an error (never the value)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pipelines.common.cursor import parse_vendor_ts, utc_text


def _iso(value: Any) -> str | None:
    """A period as OneTrust's UTC ``...Z``: an instant with an offset (a timestamptz the warehouse answers in the
    worker's time zone) is turned to UTC first, not written as its wall-clock time with a Z; naive is UTC."""
    if getattr(value, "tzinfo", None) is not None and value.utcoffset() is not None:
        value = value.astimezone(UTC)
    if isinstance(value, date) and not isinstance(value, datetime):  # a day: its midnight
        value = datetime(value.year, value.month, value.day)
    # four-digit years always (strftime writes year 999 as "999", which OneTrust cannot read)
    return utc_text(value.replace(tzinfo=None), "T", "Z") if isinstance(value, datetime) else value


def _instant(value: Any) -> Any:
    """A period OneTrust shows, as ``_iso`` writes it when it is the same instant (the readback compares
    instants too: a tenant may add milliseconds or an offset [unc]); kept as shown when not a time."""
    try:
        when = parse_vendor_ts(value) if isinstance(value, str) else None
    except ValueError:
        return value
    if when is None:
        return value
    return _iso(when) if not when.microsecond else when.isoformat() + "Z"


def _record_id(response: Any, external_id: str | None = None) -> str:
    """The id of the record a OneTrust write answered with (KeyError when the body has none; ValueError when
    it is a record carrying another ``externalId`` than ``external_id``: not the one written)."""
    rec = response.json()
    if not rec.get("id"):
        raise KeyError("id")
    if external_id is not None and rec.get("externalId") not in (None, "", external_id):
        raise ValueError("externalId")
    return str(rec["id"])


def implementation_answered(client: Any, response: Any, ext: str, path: str) -> str:
    """A control implementation's id from its create's answer, only when that record is this control's: one
    carrying another ``externalId``, or none and read back by its id as another's (or not read back at all: a 404
    of a read lagging the write, a 5xx, a 401/403), is not taken (its id put our attestations on another control):
    ``NotTaken`` (a ValueError), so the implementation is looked up by ``ext`` (``Writes._once``) and, when that
    misses too, the reason says the answer was another control's implementation."""
    from assets.reverse_sync.answers import NotTaken
    from pipelines.common.http import VendorError

    try:
        found = _record_id(response, ext)
    except ValueError:
        raise NotTaken(f"another control's implementation (externalId other than {ext})") from None
    if response.json().get("externalId") != ext:  # an answer without it: read back (a consistent read)
        try:
            answer = client.request("GET", f"{path}/{found}")
        except VendorError as exc:
            raise NotTaken(f"an implementation id without its externalId, whose read-back failed ("
                           f"{exc.status or 'no answer'}): perhaps another control's implementation") from None
        if not isinstance(answer, dict) or answer.get("externalId") != ext:
            raise NotTaken(f"another control's implementation (its id read back is not {ext}'s)")
    return found


def _json_type(value: Any) -> str:
    """A value's JSON type for an error (never the value: it may carry personal data)."""
    kind = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return f"a JSON {kind.get(type(value), type(value).__name__)}"


def _more_pages(answer: dict[str, Any], number: int) -> bool:
    """Whether a page (number ``number``, 0-based) says more follow: ``last: false``, or a total of pages (flat
    Spring, or under ``page`` as the assessments listing has it) beyond it."""
    page = answer.get("page") if isinstance(answer.get("page"), dict) else {}
    total = answer.get("totalPages", page.get("totalPages"))
    return answer.get("last") is False or (isinstance(total, int) and not isinstance(total, bool)
                                           and total > number + 1)


def no_error_body(answer: Any, where: str, what: str) -> None:
    """Raise VendorError when a 200 answer carries an error body (a Spring ``{"status": 5xx, "error", "message"}``)
    instead of ``what``: read as an empty listing, the attachments listing made every file upload again."""
    from assets.reverse_sync.writes import error_in
    from pipelines.common.http import VendorError, vendor_text

    said = error_in(answer)
    if said is not None:
        raise VendorError(f"OneTrust answered {where} 200 with an error ({vendor_text(said, None, 200)}) instead of "
                          f"{what}; nothing is written on it until it can be read", None)


def a_record(answer: Any, where: str, what: str) -> dict[str, Any]:
    """``answer`` when it is a record (an object with its ``id``), else VendorError for this record: a 200 error body
    or ``{}`` from a gateway read as the record stopped the whole push (KeyError)."""
    from pipelines.common.http import VendorError

    no_error_body(answer, where, what)
    if not isinstance(answer, dict) or not answer.get("id"):
        raise VendorError(f"OneTrust answered {where} with {_json_type(answer)} without an id instead of {what}; check "
                          "ONETRUST_BASE_URL points at the OneTrust API", None)
    return answer
