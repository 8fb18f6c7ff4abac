"""Graph's error answers and the sandbox's scripted faults, mixed into ``GraphSandbox`` (first of its bases, so
these win as when they were its own): ``fail_next`` (exact failures for the next matching requests),
``error`` and ``fault_response`` in Graph's error shape with Graph's codes (``CODES``), and the caller's
``client-request-id`` echoed in a header and an error's ``innerError``."""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

from sandbox.core.faults import Decision
from sandbox.core.http import Request, Response
from sandbox.sharepoint.errors import graph_error
from sandbox.sharepoint.rest_errors import rest_shape

CODES = {400: "invalidRequest", 401: "InvalidAuthenticationToken", 403: "accessDenied", 404: "itemNotFound",
         405: "invalidRequest", 409: "nameAlreadyExists", 429: "tooManyRequests", 500: "generalException",
         503: "serviceNotAvailable", 507: "quotaLimitReached"}


class GraphFaults:
    """Uses the sandbox's ``scripted`` rules and ``_scripted_lock`` (set in its ``__init__``)."""

    def fail_next(self, status: int, count: int = 1, method: str | None = None, path: str | None = None,
                  retry_after: int = 1) -> None:
        """Answer the next ``count`` matching API requests with ``status`` (exact, unlike the rates)."""
        with self._scripted_lock:
            self.scripted.append({"status": status, "count": count, "method": method, "path": path,
                                  "retry_after": retry_after})

    def _slow_call(self, req: Request) -> Response:
        with self._scripted_lock:
            for rule in self.scripted:
                if rule["count"] > 0 and (rule["method"] is None or rule["method"] == req.method) and (
                        rule["path"] is None or re.search(rule["path"], req.path)) and "/oauth2/" not in req.path:
                    rule["count"] -= 1
                    return rest_shape(req, self._echo(req, self.fault_response(
                        Decision(status=rule["status"], retry_after=rule["retry_after"]))))
        return rest_shape(req, self._echo(req, super()._slow_call(req)))

    @staticmethod
    def _echo(req: Request, resp: Response) -> Response:
        """Graph answers the caller's ``client-request-id`` in a header and in an error's ``innerError``."""
        cid = req.header("client-request-id")
        if not cid:
            return resp
        resp.headers = [h for h in resp.headers if h[0].lower() != "client-request-id"] + [("client-request-id", cid)]
        if resp.status >= 400 and resp.body.startswith(b'{"error"'):
            try:
                body = json.loads(resp.body)
                body["error"]["innerError"]["client-request-id"] = cid
                resp.body = json.dumps(body, separators=(",", ":")).encode()
            except (ValueError, KeyError, TypeError):
                pass
        return resp

    def error(self, status: int, message: str, detail: str | None = None,
              headers: list[tuple[str, str]] | None = None) -> Response:
        if message.startswith("Requested URI does not represent"):  # no route: Graph names the segment
            segment = (detail or "").rstrip("/").rsplit("/", 1)[-1]
            return graph_error(400, "BadRequest", f"Resource not found for the segment '{unquote(segment)}'.",
                               headers)
        code = message if re.fullmatch(r"[A-Za-z]+", message or "") else CODES.get(status, "invalidRequest")
        return graph_error(status, code, detail or message, headers)

    def fault_response(self, decision: Decision) -> Response:
        status = int(decision.status or 503)
        messages = {429: "Too many requests", 401: "Access token has expired or is not yet valid.",
                    403: "Access denied", 507: "Insufficient Space Available", 500: "General exception while "
                    "processing", 503: "Service unavailable"}
        headers = [("Retry-After", str(decision.retry_after))] if status in (429, 503) else []
        return graph_error(status, CODES.get(status, "serviceNotAvailable"), messages.get(status, "Service "
                           "unavailable"), headers)
