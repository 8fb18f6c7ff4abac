"""How Slack reads a Web API POST body before any method runs (round 29), with the request errors Slack
documents for every method ("common errors"):

- a body without a Content-Type: `missing_post_type`;
- a Content-Type other than `application/x-www-form-urlencoded`, `multipart/form-data`, `text/plain`
  (read as a form) or `application/json`: `invalid_post_type`;
- a charset other than utf-8 or iso-8859-1 ("Valid charset names are: utf-8 iso-8859-1"): `invalid_charset`;
  an iso-8859-1 body is read as such (a form's `caf%E9` is "café");
- a form body whose bytes are not text in its charset (raw invalid UTF-8): `invalid_form_data`, where it was a
  500 `internal_error` (a client's ServerErrorRetryHandler then sent the same bad body again) [unc: the code];
- a JSON body holding an unpaired UTF-16 surrogate escape (``"\\ud800"``, what ``json.dumps`` makes of a lone
  surrogate): `invalid_json`, as a JSON decoder that yields UTF-8 text (PHP's ``JSON_ERROR_UTF16``) refuses it,
  where the sandbox used to store it and echo it in history [unc: Slack's code; round 30];
- a PHP-style array argument (`foo[7]=…`, `foo[]=…`) in the query or a form: `invalid_array_arg`
  ("These are never valid with the Slack API").
"""

from __future__ import annotations

import json
import re
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl

from sandbox.core.http import Request

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
POST_TYPES = (*FORM_TYPES, "application/json")
CHARSETS = {"utf-8": "utf-8", "utf8": "utf-8", "iso-8859-1": "latin-1"}  # [unc] that Slack takes "utf8"
_ARRAY_ARG = re.compile(r"\[[^\]]*\]")


def _mime_and_charset(req: Request) -> tuple[str, str | None]:
    header = Message()
    header["content-type"] = req.header("Content-Type")
    charset = header.get_param("charset")
    return req.header("Content-Type").split(";", 1)[0].strip().lower(), \
        charset if isinstance(charset, str) else None


def body_codec(req: Request, error: Any) -> str:
    """The codec a POST body is read with; raises `error(code)` for Slack's post-type and charset errors."""
    if not req.header("Content-Type").strip():
        raise error("missing_post_type")
    mime, charset = _mime_and_charset(req)
    if mime not in POST_TYPES:
        raise error("invalid_post_type")
    if charset is None:
        return "utf-8"
    codec = CHARSETS.get(charset.strip().strip('"').lower())
    if codec is None:
        raise error("invalid_charset")
    return codec


def form_fields(req: Request, codec: str, error: Any) -> dict[str, str]:
    """A form body's fields read in `codec` (percent-escapes too; one that is not text reads as U+FFFD)."""
    try:
        text = req.body.decode(codec)
    except UnicodeDecodeError as exc:
        raise error("invalid_form_data") from exc
    return dict(parse_qsl(text, keep_blank_values=True, encoding=codec, errors="replace"))


def json_body(req: Request, codec: str, error: Any) -> Any:
    try:
        body = json.loads(req.body.decode(codec) or "null")
        json.dumps(body, ensure_ascii=False).encode("utf-8")  # an unpaired surrogate escape is no text
    except ValueError as exc:  # UnicodeDecodeError / UnicodeEncodeError are ones
        raise error("invalid_json") from exc
    return body


def refuse_array_args(names: Any, error: Any) -> None:
    if any(_ARRAY_ARG.search(str(name)) for name in names):
        raise error("invalid_array_arg")
