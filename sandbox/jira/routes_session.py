"""Cookie-based sessions: `/rest/auth/1/session` (also `/rest/auth/latest/session`), as Jira serves it.

Jira Cloud deprecated cookie-based auth for REST clients in favour of API tokens, but the resource still answers;
pycontribs `JIRA(auth=(user, password))` uses it (`JiraCookieAuth`: a request without credentials gets a 401, the
client POSTs the pair here, keeps the cookie from `Set-Cookie` and sends the request again), and so do its
`session()` (GET) and `kill_session()` (DELETE `/rest/auth/latest/session`).

- POST `{"username", "password"}`: the site account's e-mail and its API token (Cloud has no password the
  emulator could know) [unc]. 200 `{"session": {"name": "JSESSIONID", "value"}, "loginInfo": {...}}` with
  `Set-Cookie: JSESSIONID=...; Path=/; HttpOnly` [unc: Cloud's cookie name]. Wrong or missing credentials: 401
  `{"errorMessages": ["Login failed"], "errors": {}}` with `X-Seraph-LoginReason: AUTHENTICATED_FAILED` and the
  failure counted in `loginInfo.failedLoginCount` [unc: the wording]; a body that is not a JSON object is a 400.
  Repeated failures can trip the CAPTCHA guard (`captcha`, off by default): then 403 `AUTHENTICATION_DENIED`.
- `loginInfo`: `loginCount` and `failedLoginCount` (this sandbox's logins), `previousLoginTime` and
  `lastFailedLoginTime` (Jira timestamps) when there was one.
- GET: the caller's session, `{"self": ".../rest/api/latest/user?accountId=...", "name", "loginInfo"}`; `name` is
  the accountId (Cloud has no user names) [unc]. Any credentials the REST API takes will do; 401 without.
- DELETE: ends the session of the cookie sent (204, the cookie expired in `Set-Cookie`); with Basic or Bearer
  credentials there is no session to end and it is still 204 [unc]; 401 without credentials.
- Every `/rest/api` and `/rest/agile` route takes a live session cookie in place of credentials (`session_user`,
  called by `JiraSandbox.context`); the `/ex/jira/{cloudId}` gateway does not [unc]. `sb.reset()` ends sessions.
"""

from __future__ import annotations

import secrets
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Request, Response, json_response
from sandbox.jira import captcha
from sandbox.jira.errors import fail
from sandbox.jira.identity import LOGIN_REASON
from sandbox.jira.timefmt import jira_ts

if TYPE_CHECKING:
    from sandbox.jira.call import Call
    from sandbox.jira.sandbox import JiraSandbox

COOKIE = "JSESSIONID"
PATHS = (r"/rest/auth/1/session", r"/rest/auth/latest/session")


def _sessions(sb: JiraSandbox) -> dict[str, str]:
    return sb.store.work.setdefault("auth_sessions", {})


def _logins(sb: JiraSandbox, account: str) -> dict[str, Any]:
    return sb.store.work.setdefault("auth_logins", {}).setdefault(
        account, {"loginCount": 0, "failedLoginCount": 0, "previous": None, "failed": None})


def _cookie(req: Request) -> str | None:
    raw = req.header("Cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel else None


def session_user(sb: JiraSandbox, req: Request) -> str | None:
    """The account of a live session cookie on a request that has no `Authorization` header, else None."""
    if req.header("Authorization") or req.params.get("cloud"):
        return None
    token = _cookie(req)
    return _sessions(sb).get(token) if token else None


def _login_info(info: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"failedLoginCount": info["failedLoginCount"], "loginCount": info["loginCount"]}
    if info["failed"] is not None:
        out["lastFailedLoginTime"] = jira_ts(info["failed"])
    if info["previous"] is not None:
        out["previousLoginTime"] = jira_ts(info["previous"])
    return out


def register(sb: JiraSandbox) -> None:
    def login(req: Request) -> Response:
        try:
            body = req.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise fail(400, "Unexpected character in request body: the request body is not valid JSON.")
        creds, me = sb.credentials, sb.store.me.account_id
        username, password = str(body.get("username") or ""), str(body.get("password") or "")
        known = username.lower() == creds["email"].lower()
        if captcha.tripped(sb, username):
            raise captcha.denial(sb, req)
        good = known and secrets.compare_digest(password, creds["api_token"])
        captcha.note(sb, username, good)
        with sb.store.lock:
            if not good:
                if known:
                    _logins(sb, me)["failedLoginCount"] += 1
                    _logins(sb, me)["failed"] = sb.store.now_ms()
                out = json_response({"errorMessages": ["Login failed"], "errors": {}}, 401)
                out.headers.append(LOGIN_REASON)
                return out
            info = _logins(sb, me)
            shown = _login_info(info)  # as it was before this login, like Jira's `previousLoginTime`
            info["loginCount"] += 1
            info["previous"] = sb.store.now_ms()
            shown["loginCount"] = info["loginCount"]
            token = secrets.token_hex(16).upper()
            _sessions(sb)[token] = me
        out = json_response({"session": {"name": COOKIE, "value": token}, "loginInfo": shown})
        out.headers.append(("Set-Cookie", f"{COOKIE}={token}; Path=/; HttpOnly"))
        return out

    def current(c: Call) -> Response:
        info = _logins(sb, c.user)
        return json_response({"self": f"{c.base}/rest/api/latest/user?accountId={c.user}", "name": c.user,
                              "loginInfo": _login_info(info)})

    def logout(c: Call) -> Response:
        token = _cookie(c.req) if not c.req.header("Authorization") else None
        out = Response(status=204)
        if token is not None:
            with sb.store.lock:
                _sessions(sb).pop(token, None)
            out.headers.append(("Set-Cookie", f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly"))
        return out

    for path in PATHS:
        sb.router.add("POST", path, login, auth_faults=False)
        sb.route("GET", path, current, prefix="none")
        sb.route("DELETE", path, logout, prefix="none")
