"""What a vendor's answer to a write says besides its status: an error body in a 2xx (a gateway's or a plugin's
refusal passed on as 200), a web page where JSON was due, and the vendor's own reasons for refusing a record, which
the dead letter quotes (masked, one line). Split out of :mod:`assets.reverse_sync.writes`, which re-exports them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

from pipelines.common.http import VendorError, vendor_text


def _body_kind(response: requests.Response) -> str:
    """What came back instead of the record, for the error (no body text: it may echo what we sent)."""
    kind = (response.headers.get("Content-Type") or "no content type").split(";")[0].strip()
    size = len(response.content or b"")
    if not size:
        return "an empty body"
    return f"a {size}-byte {kind} body" + ("" if kind.endswith("json") else ", not JSON")


def error_body(response: requests.Response) -> str | None:
    """The error a 2xx answer's JSON body carries in place of a result, else None: Jira's ``errorMessages`` /
    ``errors`` (non-empty), a Spring-style ``{"status": 4xx|5xx, "error": ...}`` (OneTrust). A success of either
    vendor never holds them at the top level (a write answers 204, the record, or ``{"id", "key", "self"}``), so
    such an answer is a gateway's or a plugin's refusal passed on as 200 [unc]. ServiceNow's ``{"error", "status":
    "failure"}`` is left to its writer, which reads every answer back (``ServiceNowTaskWriter.verify``)."""
    try:
        body = response.json()
    except ValueError:
        return None
    return error_in(body)


def error_in(body: Any) -> str | None:
    """The error a parsed answer carries in place of a result (see :func:`error_body`), else None."""
    if not isinstance(body, dict):
        return None
    messages, errors = body.get("errorMessages"), body.get("errors")
    said = [str(m) for m in messages if m] if isinstance(messages, list) else []
    said += [f"{k}: {v}" for k, v in errors.items() if v] if isinstance(errors, dict) else []  # {"x": null}: none
    if said:
        return "; ".join(said)
    status, error = body.get("status"), body.get("error")
    if isinstance(status, str) and status.strip().isdigit():  # a Spring status given as "500" [unc]
        status = int(status.strip())
    if error and isinstance(status, int) and not isinstance(status, bool) and status >= 400:
        return str(body.get("message") or error)
    return None


def _is_page(response: requests.Response) -> bool:
    """A 2xx whose body is a web page: no REST API of ours answers a write with HTML."""
    kind = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    return bool(response.content) and kind in ("text/html", "application/xhtml+xml")


class NotTaken(ValueError):
    """Raised by a write's ``parse``: the answer is not the record written, and why (``str``: "another control's
    implementation ..."), said in the dead-letter reason when the look-up misses it too (``Writes._once``)."""


class RecordRefused(VendorError):
    """A write the vendor refused with 403 and its own reason although the credentials work (the client renewed
    its token and was refused again): an ACL on the record or a field, a business rule aborting the write, a
    project's permission. About this record: dead-lettered with the reason, the breaker counts nothing."""


def with_vendor_reason(exc: VendorError, response: requests.Response | None) -> VendorError:
    """``exc`` with the vendor's own reason for refusing a record added when its message lacks it (a
    Spring-style body ``{"error": "Bad Request", "message": "result must be one of ..."}`` reads as just
    "Bad Request" otherwise), so the dead letter says what to fix. A 403 that gives a reason (ServiceNow's
    "Operation Failed" with an ACL or a business rule named, Jira's permission message) is a
    :class:`RecordRefused` naming it, not "the credentials are refused": one record refused for itself must
    not read as a connector failure, nor open the breaker for every other record [unc: a write role taken
    from the integration account reads the same way, record by record]. 401s, 429s and 5xx are left as
    they are, but a 503 that says why (ServiceNow's read-only maintenance or upgrade window) keeps its reason."""
    if response is None or exc.status is None or exc.status in (401, 429):
        return exc
    if exc.status == 503:
        said = [f for f in dict.fromkeys(_reasons(response, with_message=True)) if f and f not in str(exc)]
        return type(exc)(f"{exc} ({'; '.join(said)})"[:1000], exc.status) if said else exc
    if not 400 <= exc.status < 500:
        return exc
    if exc.status == 403:
        found = _reasons(response, with_message=True)  # ServiceNow's "Operation Failed" and its detail
        if not found or getattr(response, "status_code", None) != 403:
            return exc
        request = getattr(response, "request", None)
        where = f"{request.method} {urlsplit(str(request.url)).path}" if request is not None else "a write"
        return RecordRefused(
            f"{where} answered 403 although the credentials work (a renewed token was refused too): the vendor "
            f"refused this record's write ({'; '.join(found)})"[:1000] + ". Fix the access rule or business rule "
            "named there (or the record's values it objects to); the next push writes it again", 403)
    found = _reasons(response)
    text = str(exc)
    extra = [f for f in dict.fromkeys(found) if f and f not in text]
    if not extra:
        return exc
    return type(exc)(f"{text} ({'; '.join(extra)})"[:1000], exc.status)


def _reasons(response: requests.Response, with_message: bool = False) -> list[str]:
    """The vendor's own reasons in an error body, each one line with no echoed credential."""
    try:
        body = response.json()
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    found: list[str] = []
    for key in ("message", "detail", "errorMessages", "errors", "validationErrors"):
        value = body.get(key)
        if isinstance(value, dict):
            found += [f"{k}: {v}" for k, v in value.items()]
        elif isinstance(value, list):
            found += [str(v.get("message") or v) if isinstance(v, dict) else str(v) for v in value]
        elif value not in (None, ""):
            found.append(str(value))
    if isinstance(body.get("error"), dict):
        found += [str(body["error"][k]) for k in ("message", "detail")[0 if with_message else 1:]
                  if body["error"].get(k)]
    return [vendor_text(f, response, 300) for f in found]  # no echoed credential, no control character
