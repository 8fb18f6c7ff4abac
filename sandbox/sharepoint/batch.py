"""JSON batching (``POST /v1.0/$batch``) for ``GraphSandbox``, as msgraph-sdk's ``client.batch.post`` and
scripts send it: ``{"requests": [{"id", "method", "url", "headers"?, "body"?, "dependsOn"?}]}``, each ``url``
relative to the version (``/drives/…``; an absolute URL, as msgraph-core writes it, is cut to its path);
the answer is ``{"responses": [{"id", "status", "headers", "body"}]}``.

Each request runs as if sent alone with the batch's own token (its errors, throttling, 302s). As Graph:
more than 20 requests, a repeated or missing id, a request without method or url, or a ``dependsOn`` naming an
id that is not an earlier request of the batch (unknown, itself or a later one) is 400 BadRequest for the whole
batch (Graph: "Invalid dependency for request Id …"; the rest of the text is [unc]); a request whose
``dependsOn`` names one that failed gets 424 failedDependency. Graph's advice that a batch be "either fully
sequential or fully parallel" is not enforced [unc]. JSON bodies go as JSON objects, others base64, both ways.
A write (POST, PUT, PATCH) without a ``body`` or without a ``Content-Type`` in its ``headers`` is 400 for the
whole batch too, none of it run: "Write request id : … does not contain Content-Type header or body." (Graph's
text, as msgraph-sdk-dotnet#2628 quotes it).
"""

from __future__ import annotations

import base64
import binascii
import json
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

from sandbox.core.http import Request, Response, json_response
from sandbox.sharepoint.errors import bad_request, graph_error, json_body

MAX_REQUESTS = 20
WRITES = {"POST", "PUT", "PATCH"}


class Batch:
    """Mixed into ``GraphSandbox`` (uses ``dispatch``)."""

    def batch(self, req: Request) -> Response:
        body = json_body(req)
        steps = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(steps, list) or not steps:
            raise bad_request("The batch request must have a 'requests' array.")
        if len(steps) > MAX_REQUESTS:
            raise bad_request(f"Number of batch request steps exceeds the maximum of {MAX_REQUESTS}.")
        ids = [str(s.get("id") or "") if isinstance(s, dict) else "" for s in steps]
        if "" in ids or len(set(ids)) != len(ids):
            raise bad_request("Every batch request needs a unique 'id'.")
        if any(not s.get("method") or not s.get("url") for s in steps):
            raise bad_request("Every batch request needs a 'method' and a 'url'.")
        for sid, step in zip(ids, steps, strict=True):
            heads = step.get("headers") if isinstance(step.get("headers"), dict) else {}
            if str(step["method"]).upper() in WRITES and (step.get("body") is None or not any(
                    str(k).lower() == "content-type" for k in heads)):
                raise bad_request(f"Write request id : {sid} does not contain Content-Type header or body.")
        for n, step in enumerate(steps):
            needs = step.get("dependsOn") or []
            if not isinstance(needs, list) or any(str(d) not in ids[:n] for d in needs):
                raise bad_request(f"Invalid dependency for request Id {ids[n]}: dependsOn must name earlier "
                                  "requests of the batch.")
        status: dict[str, int] = {}
        out = []
        for step in steps:
            sid = str(step["id"])
            needs = step.get("dependsOn") or []
            if any(status[str(n)] >= 400 for n in needs):
                resp = graph_error(424, "failedDependency", "The request depends on a request that failed.")
            else:
                resp = self.dispatch(self._step(req, step))
            status[sid] = resp.status
            out.append({"id": sid, "status": resp.status, "headers": self._step_headers(resp),
                        **self._step_body(resp)})
        return json_response({"responses": out})

    @staticmethod
    def _step(outer: Request, step: dict[str, Any]) -> Request:
        url = urlsplit(str(step["url"]))
        path = url.path if url.path.startswith("/") else "/" + url.path
        path = path[len("/v1.0"):] if path.startswith("/v1.0/") else path
        headers = Message()
        for name in ("Authorization", "client-request-id"):
            if outer.header(name):
                headers[name] = outer.header(name)
        for name, value in (step.get("headers") or {}).items():
            headers[str(name)] = str(value)
        body = step.get("body")
        if isinstance(body, str):
            try:
                raw = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                raw = body.encode()
        else:
            raw = b"" if body is None else json.dumps(body).encode()
            if body is not None and not headers.get("Content-Type"):
                headers["Content-Type"] = "application/json"
        return Request(method=str(step["method"]).upper(), path="/v1.0" + path, raw_query=url.query,
                       headers=headers, body=raw, client=outer.client, base_url=outer.base_url, internal=True)

    @staticmethod
    def _step_headers(resp: Response) -> dict[str, str]:
        heads = {k: v for k, v in resp.headers if k.lower() not in ("content-length", "server", "date")}
        if resp.body:
            heads["Content-Type"] = resp.content_type
        return heads

    @staticmethod
    def _step_body(resp: Response) -> dict[str, Any]:
        if not resp.body:
            return {}
        if "json" in resp.content_type.lower():
            try:
                return {"body": json.loads(resp.body)}
            except ValueError:
                pass
        return {"body": base64.b64encode(resp.body).decode("ascii")}
