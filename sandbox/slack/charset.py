"""Slack's charset warnings on Web API answers (`missing_charset`, `superfluous_charset`)."""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request


def is_json(req: Request) -> bool:
    return bool(req.body) and req.header("Content-Type").lower().startswith("application/json")


def with_charset_warning(req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Slack's charset warnings (the call still succeeds): `missing_charset` on a JSON body sent without
    `charset=utf-8` (with its `[WARN]` message, as observed), `superfluous_charset` on a form body
    (`application/x-www-form-urlencoded` / `multipart/form-data`) that names one (slack_sdk issue #692)."""
    kind = req.header("Content-Type").lower()
    named = "charset" in kind
    if is_json(req) and not named:
        code, message = "missing_charset", "[WARN] A Content-Type HTTP header was presented but did not declare " \
                                           "a charset, such as a 'utf-8'"
    elif req.body and named and kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        code, message = "superfluous_charset", None
    else:
        return body
    warnings = [w for w in str(body.get("warning") or "").split(",") if w]
    meta = dict(body.get("response_metadata") or {})
    meta["warnings"] = [code, *meta.get("warnings", [])]
    if message:
        meta["messages"] = [message, *meta.get("messages", [])]
    return {**body, "warning": ",".join([code, *warnings]), "response_metadata": meta}
