"""Request media types on OneTrust's JSON endpoints.

OneTrust's write and search endpoints take `application/json` bodies (the OAS `requestBody` of every
one lists only `application/json`). A non-empty body sent with another explicit `Content-Type`
(`text/plain`, a form, XML) is refused 415 with Spring's message, as a Spring `@RequestBody` endpoint
refuses it, instead of being parsed or stored regardless [unc: OneTrust documents no 415; Spring's
default]. A body without a `Content-Type` is still read as JSON (curl-style callers), and an empty
body is left to the endpoint.
"""

from __future__ import annotations

from sandbox.core.http import HTTPError, Request


def is_json_type(ctype: str) -> bool:
    base = ctype.split(";", 1)[0].strip().lower()
    return base == "application/json" or (base.startswith("application/") and base.endswith("+json"))


def require_json(req: Request) -> None:
    """415 when a non-empty body is declared as something other than JSON."""
    ctype = req.header("Content-Type").strip()
    if req.body.strip() and ctype and not is_json_type(ctype):
        raise HTTPError(415, "Unsupported Media Type", f"Content type '{ctype}' not supported")
