"""Batch API: POST /api/now/v1/batch, as PySNC uses it for long queries and bulk writes.

Request: {"batch_request_id": id, "rest_requests": [{"id", "method", "url" (relative, with query),
"headers": [{"name","value"}], "body": base64}]}. Each sub-request runs through the normal routes
with the caller's identity (sub-requests need no Authorization of their own) and without
injected faults; they open no session of their own (no Set-Cookie) and do not count as requests served
at once. Response: {"batch_request_id": "<id as string>", "serviced_requests": [{"id",
"status_code", "status_text", "headers", "body": base64, "execution_time"}], "unserviced_requests": []};
an item's headers are [] when it asked `"exclude_response_headers": true` (the Batch API reference).
"""

from __future__ import annotations

import base64
import binascii
import time
from email.message import Message
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.servicenow import lenient_json

if TYPE_CHECKING:
    from sandbox.servicenow.sandbox import ServiceNowSandbox


class BatchAPI:
    """Runs sub-requests of a batch call against the same sandbox."""

    def __init__(self, sandbox: ServiceNowSandbox) -> None:
        self.sb = sandbox

    def register(self, router: Router) -> None:
        router.add("POST", r"/api/now(?:/v1)?/batch", self.batch)

    def batch(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        if req.internal:
            raise HTTPError(400, "Nested batch requests are not supported", None)
        try:
            body = lenient_json.loads(req.body)
            requests = body["rest_requests"]
            assert isinstance(requests, list)
        except (ValueError, KeyError, TypeError, AssertionError) as exc:
            raise HTTPError(400, "Exception while reading request", f"Invalid batch payload: {exc}") from exc
        serviced = [self._run(req, user, item) for item in requests]
        return json_response({"batch_request_id": str(body.get("batch_request_id", "")),
                              "serviced_requests": serviced, "unserviced_requests": []})

    def _run(self, outer: Request, user: str, item: dict[str, Any]) -> dict[str, Any]:
        started = time.monotonic()
        parts = urlsplit(str(item.get("url", "")))
        headers = Message()
        for h in item.get("headers") or []:
            headers[str(h.get("name"))] = str(h.get("value"))
        try:
            payload = base64.b64decode(item.get("body") or "")
        except (binascii.Error, ValueError):
            payload = None
        sub = Request(method=str(item.get("method", "GET")).upper(), path=parts.path, raw_query=parts.query,
                      headers=headers, body=payload or b"", client=outer.client, base_url=outer.base_url,
                      principal=user, internal=True)
        if payload is None:
            resp = self.sb.error(400, "Exception while reading request", "body is not valid base64")
        elif sub.path.startswith("/_sandbox/"):
            resp = self.sb.error(400, "Invalid batch request", "sandbox admin routes are not batchable")
        else:
            resp = self.sb.dispatch(sub)
        out_headers = [] if _flag(item.get("exclude_response_headers")) else [
            {"name": "Content-Type", "value": resp.content_type},
            {"name": "Content-Length", "value": str(len(resp.body))},
            *({"name": k, "value": v} for k, v in resp.headers)]
        try:
            status_text = HTTPStatus(resp.status).phrase
        except ValueError:
            status_text = ""
        return {
            "id": item.get("id"),
            "status_code": resp.status,
            "status_text": status_text,
            "headers": out_headers,
            "body": base64.b64encode(resp.body).decode("ascii"),
            "execution_time": round((time.monotonic() - started) * 1000),
        }


def _flag(value: Any) -> bool:
    """`exclude_response_headers` is a JSON boolean; a string "true" is taken too [unc]."""
    return value is True or str(value).lower() == "true"
