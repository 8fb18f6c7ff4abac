"""Who may fetch a file's `url_private` / `url_private_download` (`GET /files-pri/<team>-<id>/…`), as Slack
decides it: the request's `Authorization: Bearer <token>` names the one fetching.

- The preinstalled bot token, or a bot token the app was issued (`sandbox.slack.oauth`): every file.
- A user token (xoxp-, the person who installed): the files that person can see, as files.info shows them
  (`FilesApi._visible`: their own, and those shared into a public channel or a private one / DM they are
  a member of); it needs the `files:read` user scope [unc].
- No token, an unknown, revoked or expired one: Slack's sign-in page, HTTP 200 `text/html` (what
  downloaders report getting instead of their file).
- A person who cannot see the file (or a token without files:read): HTTP 302 to the workspace's sign-in page
  `https://<domain>.slack.com/?redir=<the file path>`, body `<a href="…">Found</a>.`, as Slack answers such
  requests [unc: which refusals Slack answers with the redirect and which with the page; neither is JSON].
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sandbox.core.http import Request, Response
from sandbox.slack.actor import person, sees
from sandbox.slack.webapi import SlackError

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox

SIGN_IN = b"<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in</body></html>"
HTML = "text/html; charset=utf-8"


def refusal(sb: SlackSandbox, req: Request, visible: Callable[[], bool]) -> Response | None:
    """None when the request's token may fetch the file (`visible()` is asked as the token's person), else
    Slack's answer (module docstring)."""
    header = req.header("Authorization")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if token and token == sb.bot_token:
        return None if sb.token.state == "ok" else Response(200, SIGN_IN, HTML)
    try:
        issued = sb.oauth.check(token, "files.info") if token else None
    except SlackError:
        issued = None
    if issued is None:
        return Response(200, SIGN_IN, HTML)
    if issued.kind == "user" and "files:read" not in issued.scopes:
        return login_redirect(sb, req)
    sb._local.caller = issued  # the file's visibility is the token's person's (sandbox.slack.actor)
    return None if visible() else login_redirect(sb, req)


def login_redirect(sb: SlackSandbox, req: Request) -> Response:
    """Slack's 302 to the workspace sign-in page that returns to the file afterwards."""
    target = f"https://{sb.workspace.domain}.slack.com/?redir={quote(req.path, safe='')}"
    body = f'<a href="{html.escape(target)}">Found</a>.'.encode()
    return Response(302, body, HTML, headers=[("Location", target)])


def public_file(f: dict[str, Any]) -> dict[str, Any]:
    """A stored file (hosted or remote) as the Web API shows it: private ``_`` keys left out, its shares and
    channel lists copied (the answer must not alias the store)."""
    out = {k: v for k, v in f.items() if not k.startswith("_")}
    out["shares"] = json.loads(json.dumps(f["shares"]))
    for key in ("channels", "groups", "ims"):
        out[key] = list(f[key])
    return out


def visible(sb: SlackSandbox, f: dict[str, Any]) -> bool:
    """Whether the caller sees file ``f`` (hosted or remote): the bot every file; a person theirs and those
    shared where they read."""
    uid = person(sb)
    if uid is None or f["user"] == uid:
        return True
    chans = sb.workspace.channels
    return any(c in chans and sees(sb, chans[c]) for c in f["channels"] + f["groups"] + f["ims"])
