"""SharePoint REST v1 errors: ``{"error": {"code": "<hresult>, <.NET type>", "message": {"lang", "value"}}}``
for ``odata=verbose``, the same under ``odata.error`` otherwise; a refused token is 401 with SharePoint's
``{"error_description": …}`` and ``WWW-Authenticate: Bearer realm=…``.

``rest_shape`` turns the Graph-shaped answers the shared machinery gives a ``<site>/_api/…`` request
(injected faults, ``fail_next``, Graph's own name and quota checks) into those shapes, keeping headers
such as ``Retry-After``.
"""

from __future__ import annotations

import json
import re
import uuid

from sandbox.core.http import Request, Response
from sandbox.core.numbers import json_int

NOT_FOUND = ("-2147024894, System.IO.FileNotFoundException", "File Not Found.")
DENIED = ("-2147024891, System.UnauthorizedAccessException", "Access denied.")
BAD = ("-1, Microsoft.SharePoint.Client.InvalidClientQueryException", "The expression is not valid.")
REST_PATH = re.compile(r"^/(?:sites|teams)/[^/]+/_api(?:/|$)")
CHALLENGE = ('Bearer realm="{realm}",client_id="00000003-0000-0ff1-ce00-000000000000",'
             'trusted_issuers="00000001-0000-0000-c000-000000000000@*",'
             'authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"')
# [unc] the codes SharePoint gives throttling (429/503 with Retry-After, as documented) and server errors;
# not SPQueryThrottledException, which is the list view threshold and which clients read as such
CODES = {403: DENIED[0], 404: NOT_FOUND[0]}
OTHER = "-2147467259, System.Exception"  # [unc] a generic HRESULT (E_FAIL) no client reads as a specific error


class RestError(Exception):
    def __init__(self, status: int, code_message: tuple[str, str]):
        super().__init__(code_message[1])
        self.status, self.code, self.text = status, code_message[0], code_message[1]


def edm_int(value: object, edm: str = "Edm.Int32") -> int:
    """A service operation's integer parameter (a JSON number, or its text from the body or the URL's ``op(n=5)``)
    as ``json_int`` reads it, within ``edm``'s range; anything else ('٣', '3_0', ' 3', 1.5, 1e999, NaN, true,
    5,000 digits) is 400 "Cannot convert a primitive value to the expected type", as ``getChanges`` answers a bad
    ``FetchLimit`` (``rest_changes.py``) [unc: SharePoint's wording for each parameter]."""
    bits = 63 if edm == "Edm.Int64" else 31
    number = json_int(value, cap=2**bits, signed=True)
    if number is None or not -2**bits <= number < 2**bits:
        raise RestError(400, ("-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
                              f"Cannot convert a primitive value to the expected type '{edm}'."))
    return number


def request_ids() -> list[tuple[str, str]]:
    """SharePoint's correlation id, as both ``SPRequestGuid`` and ``request-id`` (the same GUID)."""
    guid = str(uuid.uuid4())
    return [("SPRequestGuid", guid), ("request-id", guid)]


def verbose_of(req: Request) -> bool:
    return "odata=verbose" in req.header("Accept").lower()


def error_response(req: Request, status: int, code: str, text: str,
                   headers: list[tuple[str, str]] | None = None) -> Response:
    verbose = verbose_of(req)
    err = {"code": code, "message": {"lang": "en-US", "value": text}}
    body = json.dumps({"error" if verbose else "odata.error": err}, separators=(",", ":")).encode()
    kind = "verbose" if verbose else "nometadata"
    return Response(status, body, f"application/json;odata={kind};streaming=true;charset=utf-8",
                    [*request_ids(), *(headers or [])])


def unauthorized(text: str, realm: str = "") -> Response:
    return Response(401, json.dumps({"error_description": text}).encode(), "application/json",
                    [("WWW-Authenticate", CHALLENGE.format(realm=realm)),
                     ("x-ms-diagnostics", f'3000003;reason="{text}"')])


def rest_shape(req: Request, resp: Response) -> Response:
    """A Graph-shaped error answered to a REST request, in SharePoint's shape; anything else unchanged."""
    if resp.status < 400 or not REST_PATH.match(req.path):
        return resp
    try:
        message = json.loads(resp.body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return resp
    if not isinstance(message, str):  # already SharePoint's
        return resp
    keep = [(k, v) for k, v in resp.headers if k.lower() in ("retry-after",)]
    if resp.status == 401:
        out = unauthorized(message)
        out.headers += keep
        return out
    return error_response(req, resp.status, CODES.get(resp.status, OTHER),
                          message, keep)
