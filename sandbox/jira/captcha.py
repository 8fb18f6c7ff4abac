"""CAPTCHA after repeated failed Basic logins, as Jira's Seraph login guard does (off unless a test turns it on).

Atlassian's basic-auth guide: after several consecutive failed logins CAPTCHA is "triggered", and from then on the
REST API refuses Basic credentials for that user, even correct ones, until they log in through the browser; the
response says so in `X-Seraph-LoginReason: AUTHENTICATION_DENIED`. The refusal is a 403 carrying
`X-Authentication-Denied-Reason: CAPTCHA_CHALLENGE; login-url=<site>/login.jsp`, which pycontribs `jira` reports as
the error text (`resilientsession.parse_errors`). Here:

- fault switch `captcha_after_failures` (`sb.faults.set(captcha_after_failures=3)`; 0, the default, is off so a
  suite's deliberate bad logins never lock the site account) [unc: Cloud's count; Server's default is 3];
- only the site account (its e-mail as the Basic user name, case-insensitive) is counted: an unknown name has no
  account to lock [unc]. A failed Basic request or a failed POST `/rest/auth/1/session` counts one; a success before
  the limit starts the count again;
- once tripped, every Basic request and session login with that name is the 403 above (JSON ErrorCollection body
  [unc: Jira may send an empty or HTML body]); Bearer tokens and live session cookies still work [unc];
- `clear(sb)` (the browser login that solves the CAPTCHA), `sb.faults.clear()` and switching it to 0 end it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sandbox.core.http import HTTPError, Request
from sandbox.jira.auth import basic
from sandbox.jira.identity import LOGIN_REASON

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

DENIED = "AUTHENTICATION_DENIED"
MESSAGE = ("CAPTCHA_CHALLENGE: too many failed login attempts; log in to Jira in a browser and answer the CAPTCHA "
           "before using Basic authentication again.")  # [unc: wording]


def _limit(sb: JiraSandbox) -> int:
    return int(sb.faults.jira.get("captcha_after_failures", 0))


def _failures(sb: JiraSandbox) -> dict[str, int]:
    return sb.faults.failed_logins  # type: ignore[attr-defined, no-any-return]


def _site_user(sb: JiraSandbox, name: str) -> str | None:
    name = name.strip().lower()
    return name if name == sb.credentials["email"].lower() else None


def tripped(sb: JiraSandbox, name: str) -> bool:
    user, limit = _site_user(sb, name), _limit(sb)
    return bool(user and limit > 0 and _failures(sb).get(user, 0) >= limit)


def denial(sb: JiraSandbox, req: Request) -> HTTPError:
    base = req.base_url or sb.url
    return HTTPError(403, MESSAGE, None, [("X-Seraph-LoginReason", DENIED), (
        "X-Authentication-Denied-Reason", f"CAPTCHA_CHALLENGE; login-url={base}/login.jsp")])


def note(sb: JiraSandbox, name: str, ok: bool) -> None:
    """Count a failed login of `name` (or start again after a good one)."""
    user = _site_user(sb, name)
    if user is None or _limit(sb) <= 0:
        return
    with sb.store.lock:
        if ok:
            _failures(sb).pop(user, None)
        else:
            _failures(sb)[user] = _failures(sb).get(user, 0) + 1


def guarded(sb: JiraSandbox, req: Request, check: Callable[[], str]) -> str:
    """`check()` (the credential check) behind the guard: refuse a tripped user, count Basic failures."""
    pair = basic(req)
    if pair is None or _limit(sb) <= 0:
        return check()
    if tripped(sb, pair[0]):
        raise denial(sb, req)
    try:
        user = check()
    except HTTPError as exc:
        if exc.status == 401 and LOGIN_REASON in exc.headers:
            note(sb, pair[0], ok=False)
        raise
    note(sb, pair[0], ok=True)
    return user


def clear(sb: JiraSandbox) -> None:
    """The site account solved the CAPTCHA in a browser: Basic logins work again."""
    with sb.store.lock:
        _failures(sb).clear()
