"""Jira Software's token-paged issue lists under `/rest/software/1.0` (atlassian-python-api's `*_jsis`
methods, jira.js' newer agile issue calls): the Agile issue lists of `routes_agile` / `routes_agile_more`
paged by `nextPageToken` instead of `startAt`.

- GET `/board/{b}/issue`, `/board/{b}/backlog`, `/board/{b}/sprint/{s}/issue`, `/board/{b}/epic/{e}/issue`
  (and `/epic/none/issue`), `/sprint/{s}/issue`, `/epic/{e}/issue`, `/epic/none/issue`: the same Agile issue
  beans and filters (`jql`, `fields`, `expand`), answered as `{"expand","issues","isLast"[,"nextPageToken"]}`
  (the token only while more remain; maxResults default 50, at most 100). `reconcileIssues` and
  `validateQuery` are accepted and have no effect here (the Agile lists read the live store). A token this
  server did not issue is a 400 [unc: wording]. The token is an opaque offset [unc: Jira's is keyset-based].
- GET `/board/{b}/issue/approximate-count` and `/board/{b}/backlog/approximate-count` (`jql`): `{"count": n}`
  [unc: shape, as the platform's POST /search/approximate-count].
The agile route answers every error (404 board, 400 JQL) as it does under `/rest/agile/1.0`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from sandbox.core.http import Response, json_response
from sandbox.jira.call import Call
from sandbox.jira.errors import fail

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

SOFTWARE = r"(?:/ex/jira/(?P<cloud>[^/]+))?/rest/software/1\.0"
LISTS = (r"/board/\d+/(?:issue|backlog|sprint/\d+/issue|epic/[A-Za-z0-9_-]+/issue)"
         r"|/sprint/\d+/issue|/epic/[A-Za-z0-9_-]+/issue")


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        value = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["o"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise fail(400, "The nextPageToken is invalid.") from None  # [unc] wording
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise fail(400, "The nextPageToken is invalid.")
    return value


def register(sb: JiraSandbox) -> None:
    def agile_page(c: Call, rest: str, start: int, limit: int) -> Response:
        """The Agile list route's own answer for `rest`, with startAt/maxResults in place of the token."""
        path = (f"/ex/jira/{c.p['cloud']}" if c.p.get("cloud") else "") + "/rest/agile/1.0" + rest
        route, params, _ = sb.router.match("GET", path)
        if route is None:
            raise fail(404, f"Requested URI does not represent any resource: {c.req.path}")
        pairs = [(k, v) for k, v in c.req.query_pairs
                 if k not in ("nextPageToken", "startAt", "maxResults", "reconcileIssues", "validateQuery")]
        query = urlencode([*pairs, ("startAt", str(start)), ("maxResults", str(limit))])
        return route.handler(replace(c.req, path=path, raw_query=query, params=params))

    def token_list(c: Call) -> Response:
        start, limit = _offset(c.q("nextPageToken")), c.qint("maxResults", 50, 1, 100)
        answer = agile_page(c, c.p["rest"], start, limit)
        if answer.status != 200:
            return answer
        page = json.loads(answer.body)
        end = start + len(page["issues"])
        out = {"expand": page.get("expand", ""), "issues": page["issues"], "isLast": end >= page["total"]}
        if not out["isLast"]:
            out["nextPageToken"] = _token(end)
        return json_response(out)

    def approximate_count(c: Call) -> Response:
        answer = agile_page(c, c.p["rest"], 0, 1)
        if answer.status != 200:
            return answer
        return json_response({"count": json.loads(answer.body)["total"]})

    sb.route("GET", SOFTWARE + rf"(?P<rest>{LISTS})", token_list, prefix="none")
    sb.route("GET", SOFTWARE + r"(?P<rest>/board/\d+/(?:issue|backlog))/approximate-count", approximate_count,
             prefix="none")


__all__ = ["register"]
