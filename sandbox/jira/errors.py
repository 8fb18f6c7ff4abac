"""Jira error bodies: `{"errorMessages": [...], "errors": {...}}`, gateway `{"code","message"}`, HTML "Oops"."""

from __future__ import annotations

from typing import Any

from sandbox.core.http import HTTPError, Response, json_response

OOPS = ("<html><head><title>Oops, you&#39;ve found a dead link. - JIRA</title></head><body><h1>Oops - an error "
        "has occurred</h1><p>{}</p></body></html>")


def body(status: int, message: str | None, detail: Any = None,
         headers: list[tuple[str, str]] | None = None) -> Response:
    """The Jira error response; `detail` may be a dict of field errors or {"gateway": True}."""
    if isinstance(detail, dict) and detail.get("gateway"):
        return json_response({"code": status, "message": message}, status, headers)
    errors = detail if isinstance(detail, dict) else {}
    messages = [message] if message else []
    if isinstance(detail, str) and detail:
        messages = [f"{message}: {detail}" if message else detail]
    return json_response({"errorMessages": messages, "errors": errors}, status, headers)


def html(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status=status, body=OOPS.format(message).encode(), content_type="text/html;charset=UTF-8",
                    headers=list(headers or []))


def fail(status: int, message: str | None = None, errors: dict[str, str] | None = None) -> HTTPError:
    """An HTTPError the sandbox renders as Jira's ErrorCollection."""
    return HTTPError(status, message or "", errors or None)  # type: ignore[arg-type]


def not_found_issue() -> HTTPError:
    return fail(404, "Issue does not exist or you do not have permission to see it.")


PAYLOAD = "Invalid request payload. Refer to the REST API documentation and try again."  # [unc] Cloud's wording
_KINDS: dict[str, tuple[type, ...]] = {"object": (dict,), "array": (list,), "string": (str, int, float, bool)}


def shaped(value: Any, kind: str) -> Any:
    """`value` when JSON null or bindable to a bean member of `kind` ("object", "array", "string": Jackson turns
    numbers and booleans into strings, never an array or object), else the 400 Jira answers before its resource
    runs (a wrong JSON type in a request body was a 500 here)."""
    if value is not None and not isinstance(value, _KINDS[kind]):
        raise fail(400, PAYLOAD)
    return value
