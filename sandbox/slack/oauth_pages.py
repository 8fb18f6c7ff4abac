"""The browser side of Slack's OAuth flows (the app install, `sandbox.slack.oauth`, and Sign in with Slack,
`sandbox.slack.openid`): the scope list a request names, the redirect back to the app, Slack's error page and
the consent page where a person picks who installs (and, for an incoming webhook, the channel)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from sandbox.core.http import Response
from sandbox.slack.seed import SLACKBOT_ID

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox


def scopes_of(value: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s.strip() for s in str(value or "").replace(" ", ",").split(",") if s.strip()))


def redirect(target: str, params: dict[str, str]) -> Response:
    sep = "&" if urlsplit(target).query else "?"
    return Response(status=302, content_type="text/html; charset=utf-8", headers=[
        ("Location", target + sep + urlencode(params))])


def error_page(message: str, status: int) -> Response:
    text = html.escape(message)
    body = f"<!DOCTYPE html><html><head><title>Slack</title></head><body><h1>Oops!</h1><p>{text}</p></body></html>"
    return Response(status=status, body=body.encode(), content_type="text/html; charset=utf-8")


def consent_page(q: dict[str, str], scopes: tuple[str, ...], user_scopes: tuple[str, ...],
                 sb: SlackSandbox) -> Response:
    hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                     for k, v in q.items() if k not in ("user", "decision", "channel"))
    people = "".join(f'<option value="{u["id"]}">{html.escape(u["name"])}</option>'
                     for u in sb.workspace.users.values()
                     if not u["is_bot"] and not u["deleted"] and u["id"] != SLACKBOT_ID)
    items = "".join(f"<li>{html.escape(s)}</li>" for s in (*scopes, *user_scopes))
    if "incoming-webhook" in scopes:  # Slack asks where the app's webhook posts
        people += "</select><select name=\"channel\">" + "".join(
            f'<option value="{c["id"]}">#{html.escape(c["name"])}</option>'
            for c in sb.workspace.channels.values() if not c["is_archived"] and not c.get("is_im"))
    body = (f"<!DOCTYPE html><html><head><title>Install app | {html.escape(sb.workspace.team)} Slack</title></head>"
            f"<body><h1>The app is requesting permission to access the {html.escape(sb.workspace.team)} Slack "
            f"workspace</h1><ul>{items}</ul><form method=\"post\" action=\"/oauth/v2/authorize\">{hidden}"
            f"<select name=\"user\">{people}</select><button name=\"decision\" value=\"allow\">Allow</button>"
            f"<button name=\"decision\" value=\"deny\">Cancel</button></form></body></html>")
    return Response(status=200, body=body.encode(), content_type="text/html; charset=utf-8")
