"""Graph's error body: ``{"error": {"code", "message", "innerError": {"date", "request-id",
"client-request-id"}}}`` and the codes clients branch on (itemNotFound, accessDenied,
quotaLimitReached, tooManyRequests, serviceNotAvailable, InvalidAuthenticationToken, invalidRequest)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sandbox.core.http import HTTPError, Request, Response, json_response
from sandbox.sharepoint.store import now_iso


def graph_error(status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    request_id = str(uuid.uuid4())
    body = {"error": {"code": code, "message": message,
                      "innerError": {"date": now_iso()[:-5], "request-id": request_id,
                                     "client-request-id": request_id}}}
    return json_response(body, status, [("request-id", request_id), *(headers or [])])


class GraphError(HTTPError):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(status, code, message)


def bad_request(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def json_body(req: Request) -> Any:
    """The request's JSON body (None when empty); Graph's 400 when it is not JSON."""
    try:
        return req.json() if req.body else None
    except ValueError:
        raise bad_request("Unable to read JSON request payload.") from None


def if_match(req: Request, current: set[str]) -> None:
    """412 resourceModified when the request's ``If-Match`` (not ``*``) names none of the ``current`` tags
    (quoted or not; a header may list several quoted tags, which hold commas)."""
    wanted = req.header("If-Match").strip()
    if not wanted or wanted == "*":
        return
    tags = {t.strip('"') for t in re.findall(r'"[^"]*"', wanted)} or {wanted.strip('"')}
    if not tags & {t.strip('"') for t in current}:
        raise GraphError(412, "resourceModified", "ETag does not match current item's value")
