"""Vendor answers made safe to show: the error detail and the non-JSON body summary a
:class:`~pipelines.common.http.VendorSession` error carries, :func:`vendor_text` (a vendor's text with
credentials and secret values masked, control characters removed, cut to a length) and
:func:`request_secrets` (the credentials a request carried, which a vendor may echo back).
"""

from __future__ import annotations

import json
import re

import requests

from pipelines.common import pages


def _body_summary(response: requests.Response) -> str:
    """What came back instead of JSON: type, size and the first characters (safe to log)."""
    from pipelines.common.entrypoint import redact, secret_values

    # masked over a wider window than shown, so a secret that starts inside the 80 characters is whole when masked
    head = redact(response.content[:4096].decode("utf-8", "replace"),
                  [*request_secrets(getattr(response, "request", None)), *secret_values()])[:80]
    kind = response.headers.get("Content-Type") or "no Content-Type"
    return f"{kind}, {len(response.content)} bytes, starting {pages.safe_text(head)!r}"


def _error_detail(response: requests.Response) -> str:
    """The vendor's own error message, trimmed; never the request that carried credentials."""
    try:
        body = response.json()
    except ValueError:
        return vendor_text(response.text, response, 200)
    if isinstance(body, dict):
        err = body.get("error") or body.get("errorMessages") or body.get("message") or body
        if isinstance(err, dict):
            return vendor_text(str(err.get("message") or err), response, 300) + (
                f" ({vendor_text(str(err['detail']), response, 300)})" if err.get("detail") else ""
            )
        return vendor_text(str(err), response, 300)
    return vendor_text(str(body), response, 300)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def vendor_text(text: str, response: requests.Response | None, limit: int) -> str:
    """Text a vendor wrote (an error body), fit for an error message, a dead letter or a log line: the
    credentials the request carried (its Authorization value and the token in it) and the values of the
    environment's secret variables masked, control characters and line breaks made spaces, at most
    ``limit`` characters. A vendor or a gateway may echo what it was sent. A lone surrogate (an error body's
    ``"\\ud800"``) is shown as its escape: stored as it came (an attachment row's ``content_error``), it failed
    the whole sync's extract on every run ("surrogates not allowed")."""
    from pipelines.common.entrypoint import redact, secret_values

    text = redact(text, [*request_secrets(getattr(response, "request", None)), *secret_values()])
    # masked before the cut: no half secret left at the end
    return pages.safe_text(" ".join(_CONTROL.sub(" ", text).split())[:limit])


_SECRET_FIELD = re.compile(r"secret|password|token|assertion|api_?key|^code$", re.IGNORECASE)


def request_secrets(request) -> list[str]:
    """The credentials a request carried: its Authorization value (and the token in it), and the values of
    its form or JSON body's secret fields (an OAuth ``client_secret``, ``refresh_token``, ``password``),
    which a token endpoint may echo back in its error."""
    if request is None:
        return []
    auth = str(request.headers.get("Authorization") or "")
    found = [auth, auth.split(" ", 1)[-1]] if auth else []
    body = getattr(request, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body or len(body) > 100_000:
        return found
    fields: list[tuple[str, object]] = []
    try:
        parsed = json.loads(body)
        if isinstance(parsed, dict):
            fields = list(parsed.items())
    except ValueError:
        from urllib.parse import parse_qsl

        fields = list(parse_qsl(body, keep_blank_values=False))
    return found + [v for k, v in fields if isinstance(v, str) and v and _SECRET_FIELD.search(str(k))]
