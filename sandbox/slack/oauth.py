"""The app's OAuth v2 install flow, its issued tokens, token rotation and uninstall, as Slack serves them.

- `GET /oauth/v2/authorize?client_id&scope&user_scope&redirect_uri&state` (what slack_sdk's
  `AuthorizeUrlGenerator(..., authorization_url=sb.url + "/oauth/v2/authorize")` builds): the consent page.
  Sandbox-only: `&_sandbox_user=<handle, e-mail or id>` approves as that workspace member at once (302 to
  `redirect_uri?code=…&state=…`), `&_sandbox_deny=1` cancels (302 `?error=access_denied&state=…`, as Slack);
  without them a small HTML form with Allow / Cancel buttons is served (it submits the same parameters). A
  wrong client_id, a redirect_uri that does not match a registered Redirect URL (the same scheme, host and
  port, and the registered path or a subdirectory of it, as Slack documents) or an unknown scope is Slack's
  HTML error page (HTTP 400 [unc: Slack's status and wording]); nothing is redirected then.
- `oauth.v2.access` (client credentials by HTTP Basic, as slack_sdk sends them, or `client_id` /
  `client_secret` fields): exchanges a code once (a second use, or a code older than 10 minutes [unc], is
  `invalid_code`); `invalid_client_id` / `bad_client_secret`; `bad_redirect_uri` when the code was asked
  with a redirect_uri and the exchange names another. The answer is Slack's documented shape (a bot token
  xoxb-, `authed_user` with a user token xoxp- when user scopes were granted). With token rotation on
  (`sb.configure_oauth(token_rotation=True)`) tokens are `xoxe.xoxb-1-…` / `xoxe.xoxp-1-…` with
  `refresh_token` (`xoxe-1-…`) and `expires_in` 43200; `grant_type=refresh_token&refresh_token=…` gives a
  new access and refresh token (the used refresh token is then `invalid_refresh_token`; the older access
  token keeps working until it expires [unc]); an expired access token answers `token_expired`
  (`sb.advance_clock(seconds)` moves the time). `oauth.v2.exchange` turns a non-expiring token into a
  rotating pair.
- The `incoming-webhook` scope adds `incoming_webhook {channel, channel_id, configuration_url, url}` for the
  channel chosen at consent (`&_sandbox_channel=<name or id>`, the form's channel; default the sandbox's
  webhook channel); the url posts there (`sb.webhook_url_for`).
- Issued tokens work on the Web API with exactly their granted scopes (`sandbox.slack.scopes.Grants`);
  a user token acts as the person (`sandbox.slack.user_tokens`, `sandbox.slack.actor`): `auth.test` names
  them; conversations.* with their memberships, DMs and group DMs; channel administration
  (`sandbox.slack.person_channels`); chat.* (scheduled, /me and ephemeral too), files.* and url_private
  (`sandbox.slack.file_access`), reactions, pins, bookmarks as them; search.* / reminders.* / stars.* /
  users.profile.set / dnd.* / users.identity (`sandbox.slack.search`, `sandbox.slack.personal`;
  not_allowed_token_type to bot tokens), users.setPhoto / deletePhoto (`sandbox.slack.photos`). [not emulated
  for user tokens: files.sharedPublicURL,
  team.accessLogs / billableInfo (not_allowed_token_type), user-event subscriptions (a person's own DMs).]
- `auth.revoke` revokes the calling token (`test=true` does not) and sends `tokens_revoked`;
  `apps.uninstall` (client credentials) revokes every token of the app in the workspace, the preinstalled
  `sb.bot_token` too, and sends `app_uninstalled` and `tokens_revoked` to a subscribed app.
- Enterprise Grid org-wide installs (`team` null, `enterprise` set): `sandbox.slack.enterprise`.
- App-level tokens (`sb.new_app_token()`, `xapp-1-…`, scope `connections:write`) are taken by apps.connections.open
  and apps.event.authorizations.list (`sandbox.slack.event_authorizations`) only: not_allowed_token_type [unc].
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sandbox.core.http import Request, Response, Router, json_response
from sandbox.slack import event_authorizations, workspace_events
from sandbox.slack.interactivity import person
from sandbox.slack.oauth_pages import consent_page, error_page, redirect, scopes_of
from sandbox.slack.personal import takes
from sandbox.slack.scopes import GRANTED, Grants
from sandbox.slack.user_tokens import person_methods
from sandbox.slack.webapi import SlackError

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox

CODE_TTL = 600.0  # Slack: a code is good for 10 minutes
ROTATING_TTL = 43_200  # 12 hours
# Web API methods that take client credentials, not a token
CLIENT_METHODS = ("oauth.v2.access", "oauth.v2.exchange", "apps.uninstall", "openid.connect.token")
APP_TOKEN_METHODS = ("apps.connections.open", event_authorizations.METHOD)
USER_SCOPES = ("search:read", "chat:write", "channels:read", "channels:history", "groups:read", "groups:history",
               "im:read", "im:history", "mpim:read", "mpim:history", "users:read", "users:read.email",
               "users.profile:read", "users.profile:write", "reactions:read", "reactions:write", "stars:read",
               "stars:write", "reminders:read", "reminders:write", "files:read", "files:write", "pins:read",
               "pins:write", "dnd:read", "dnd:write", "identity.basic", "identity.email", "identity.avatar",
               "identity.team", "team:read", "emoji:read", "links:read", "bookmarks:read", "bookmarks:write",
               "groups:write", "im:write", "mpim:write", "channels:write", "remote_files:read", "remote_files:share",
               "canvases:read", "canvases:write")
BOT_SCOPES = ("incoming-webhook", "app_mentions:read", "im:history", "links:read", "metadata.message:read",
              "calls:read", "calls:write", "channels:write.invites", "channels:write.topic")


@dataclass
class Issued:
    """One token the app holds: a bot, user or app-level token."""

    token: str
    kind: str  # "bot" | "user" | "app"
    scopes: tuple[str, ...]
    user_id: str
    expires_at: float | None = None
    state: str = "ok"  # "ok" | "token_revoked"
    grants: Grants = field(default_factory=Grants)

    def __post_init__(self) -> None:
        self.grants.scopes = self.scopes


class OAuthApp:
    """The app's credentials and settings, its pending codes and every token it was issued."""

    def __init__(self, sb: SlackSandbox, seed: int) -> None:
        self.sb = sb
        digest = hashlib.sha256(f"slack-sandbox:{seed}:oauth".encode()).hexdigest()
        self.client_id = f"{int(digest[:8], 16) % 10**13}.{int(digest[8:16], 16) % 10**13}"
        self.client_secret = digest[16:48]
        self.redirect_urls: list[str] = []
        self.token_rotation = False
        self._lock = threading.Lock()
        self._codes: dict[str, dict[str, Any]] = {}
        self._tokens: dict[str, Issued] = {}
        self._refresh: dict[str, Issued] = {}  # refresh token -> the access token it renews
        self.offset = 0.0

    # --- settings ----------------------------------------------------------------------------------
    def configure(self, redirect_urls: list[str] | None = None, token_rotation: bool | None = None) -> dict[str, Any]:
        if redirect_urls is not None:
            self.redirect_urls = [str(u) for u in redirect_urls]
        if token_rotation is not None:
            self.token_rotation = bool(token_rotation)
        return self.settings()

    def settings(self) -> dict[str, Any]:
        return {"client_id": self.client_id, "client_secret": self.client_secret,
                "redirect_urls": list(self.redirect_urls), "token_rotation": self.token_rotation}

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def tokens(self) -> list[Issued]:
        with self._lock:
            return list(self._tokens.values())

    # --- tokens ------------------------------------------------------------------------------------
    def _new_token(self, kind: str, scopes: tuple[str, ...], user_id: str, rotating: bool) -> Issued:
        ws = self.sb.workspace
        team = int(hashlib.sha256(ws.team_id.encode()).hexdigest()[:8], 16) % 10**12
        rnd = secrets.randbelow(10**12)
        body = {"bot": f"xoxb-{team}-{rnd}-{secrets.token_hex(12)}",
                "user": f"xoxp-{team}-{rnd}-{secrets.randbelow(10**12)}-{secrets.token_hex(16)}",
                "app": f"xapp-1-{ws.app_id}-{rnd}-{secrets.token_hex(32)}"}[kind]
        if rotating:
            body = f"xoxe.{body[:5]}1-{body[5:]}"
        issued = Issued(body, kind, scopes, user_id, self.now() + ROTATING_TTL if rotating else None)
        with self._lock:
            self._tokens[body] = issued
        return issued

    def _new_refresh(self, issued: Issued) -> str:
        refresh = f"xoxe-1-{secrets.token_hex(48)}"
        with self._lock:
            self._refresh[refresh] = issued
        return refresh

    def new_app_token(self, scopes: list[str] | None = None) -> str:
        """An app-level token (App settings > Basic Information > App-Level Tokens), `connections:write`."""
        return self._new_token("app", tuple(scopes or ["connections:write"]), "", False).token

    def check(self, token: str, method: str) -> Issued:
        """The issued token behind `token` for a call of `method`; raises Slack's error otherwise."""
        with self._lock:
            issued = self._tokens.get(token)
        if issued is None:
            raise SlackError("invalid_auth")
        if issued.state != "ok":
            raise SlackError(issued.state)
        if issued.expires_at is not None and self.now() >= issued.expires_at:
            raise SlackError("token_expired")
        if (issued.kind == "app") != (method in APP_TOKEN_METHODS) or not takes(issued.kind, issued.scopes, method):
            raise SlackError("not_allowed_token_type")
        return issued

    # --- consent page --------------------------------------------------------------------------------
    def _registered(self, redirect_uri: str) -> bool:
        want = urlsplit(redirect_uri)
        for url in self.redirect_urls:
            have = urlsplit(url)
            base = have.path.rstrip("/")
            if (want.scheme, want.netloc) == (have.scheme, have.netloc) and \
                    (want.path.rstrip("/") == base or want.path.startswith(base + "/")):
                return True
        return False

    def client_refusal(self, q: Any) -> Response | None:
        """The page refusing an authorize request's ``client_id`` or ``redirect_uri``, else None (the
        install's and Sign in with Slack's authorize pages check both alike)."""
        redirect_uri = q.get("redirect_uri") or ""
        if q.get("client_id") != self.client_id:
            return error_page("Invalid client_id parameter", 400)
        if not self.redirect_urls:
            return error_page("No redirect url was configured for this app", 400)
        if redirect_uri and not self._registered(redirect_uri):
            return error_page(f"redirect_uri did not match any configured URIs. Passed URI: {redirect_uri}", 400)
        return None

    def authorize(self, req: Request) -> Response:
        q = req.form() if req.method == "POST" else req.query
        if (refused := self.client_refusal(q)) is not None:
            return refused
        redirect_uri = q.get("redirect_uri") or ""
        scopes, user_scopes = scopes_of(q.get("scope")), scopes_of(q.get("user_scope"))
        unknown = [s for s in scopes if s not in (*GRANTED, *BOT_SCOPES)] + \
                  [s for s in user_scopes if s not in USER_SCOPES]
        if unknown or not (scopes or user_scopes):
            return error_page("Invalid permissions requested" + (f": {', '.join(unknown)}" if unknown else ""), 400)
        target, state = redirect_uri or self.redirect_urls[0], q.get("state", "")
        if q.get("_sandbox_deny") or q.get("decision") == "deny":
            return redirect(target, {"error": "access_denied", "state": state})
        who_ref = q.get("_sandbox_user") or q.get("user")
        if not who_ref:
            return consent_page(q, scopes, user_scopes, self.sb)
        try:
            who = person(self.sb, who_ref, LookupError, "install the app")
        except LookupError as exc:
            return error_page(str(exc), 400)
        hook = self.sb.workspace.channel(q.get("_sandbox_channel") or q.get("channel") or self.sb.webhook_channel)
        if "incoming-webhook" in scopes and (hook is None or hook["is_archived"]):
            return error_page("Please choose a channel the app can post to", 400)
        code = f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**13)}.{secrets.token_hex(32)}"
        with self._lock:
            self._codes[code] = {"user": who["id"], "scopes": scopes, "user_scopes": user_scopes,
                                 "redirect_uri": redirect_uri, "at": self.now(), "used": False, "hook": hook}
        return redirect(target, {"code": code, "state": state})

    # --- Web API methods -----------------------------------------------------------------------------
    def methods(self, api: Any) -> dict[str, Any]:
        auth_test = api.methods["auth.test"]

        def test(args: dict[str, Any]) -> dict[str, Any]:
            caller = self.sb.caller()
            body = auth_test(args)
            if caller is not None and caller.kind == "user":
                user = self.sb.workspace.users[caller.user_id]
                body = {**{k: v for k, v in body.items() if k != "bot_id"}, "user": user["name"],
                        "user_id": caller.user_id}
            return body

        return {**person_methods(self.sb, api),
                "oauth.v2.access": self.access, "oauth.v2.exchange": self.exchange, "apps.uninstall": self.uninstall,
                "auth.revoke": self.revoke, "auth.test": test,
                "apps.connections.open": lambda args: self.sb.socket_mode.open(args),
                event_authorizations.METHOD: lambda args: event_authorizations.list_authorizations(self.sb, args)}

    def _client(self, req_args: dict[str, Any]) -> None:
        client_id, secret = req_args.get("client_id"), req_args.get("client_secret")
        if client_id != self.client_id:
            raise SlackError("invalid_client_id")
        if secret != self.client_secret:
            raise SlackError("bad_client_secret")

    def _team(self) -> dict[str, Any]:
        return self.sb.enterprise.oauth_fields()  # a standalone workspace, or org-wide (sandbox.slack.enterprise)

    def _rotation(self, issued: Issued) -> dict[str, Any]:
        if issued.expires_at is None:
            return {}
        return {"refresh_token": self._new_refresh(issued), "expires_in": round(issued.expires_at - self.now())}

    def access(self, args: dict[str, Any]) -> dict[str, Any]:
        self._client(args)
        if args.get("grant_type") == "refresh_token":
            return self._refreshed(args)
        if args.get("grant_type") not in (None, "", "authorization_code"):
            raise SlackError("invalid_grant_type")
        code = str(args.get("code") or "")
        with self._lock:
            grant = self._codes.get(code)
            if grant is None or grant["used"] or self.now() - grant["at"] > CODE_TTL:
                raise SlackError("invalid_code")
            if grant["redirect_uri"] and args.get("redirect_uri") != grant["redirect_uri"]:
                raise SlackError("bad_redirect_uri")
            grant["used"] = True
        ws, rotating = self.sb.workspace, self.token_rotation
        body: dict[str, Any] = {"app_id": ws.app_id, "authed_user": {"id": grant["user"]}}
        if grant["scopes"]:
            bot = self._new_token("bot", grant["scopes"], ws.bot_user_id, rotating)
            body.update({"scope": ",".join(bot.scopes), "token_type": "bot", "access_token": bot.token,
                         "bot_user_id": ws.bot_user_id, **self._rotation(bot)})
        if "incoming-webhook" in grant["scopes"]:
            hook = grant["hook"]
            url = self.sb.webhook_url_for(hook["id"])
            body["incoming_webhook"] = {"channel": "#" + hook["name"], "channel_id": hook["id"], "url": url,
                                        "configuration_url": f"https://{ws.domain}.slack.com/services/"
                                                             f"{url.split('/')[-2]}"}
        if grant["user_scopes"]:
            user = self._new_token("user", grant["user_scopes"], grant["user"], rotating)
            body["authed_user"].update({"scope": ",".join(user.scopes), "access_token": user.token,
                                        "token_type": "user", **self._rotation(user)})
        return {**body, **self._team()}

    def _answer(self, issued: Issued) -> dict[str, Any]:
        ws = self.sb.workspace
        who = {"bot_user_id": ws.bot_user_id} if issued.kind == "bot" else {"user_id": issued.user_id}
        return {"app_id": ws.app_id, "scope": ",".join(issued.scopes), "token_type": issued.kind,
                "access_token": issued.token, **who, **self._rotation(issued), **self._team()}

    def _refreshed(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            old = self._refresh.pop(str(args.get("refresh_token") or ""), None)
        if old is None or old.state != "ok":
            raise SlackError("invalid_refresh_token")
        return self._answer(self._new_token(old.kind, old.scopes, old.user_id, True))

    def exchange(self, args: dict[str, Any]) -> dict[str, Any]:
        """oauth.v2.exchange: a long-lived token for a rotating pair (the old one keeps working [unc])."""
        self._client(args)
        token = str(args.get("token") or "")
        with self._lock:
            old = self._tokens.get(token)
        if token == self.sb.bot_token:
            old = Issued(token, "bot", tuple(GRANTED), self.sb.workspace.bot_user_id)
        if old is None or old.kind == "app" or old.state != "ok":
            raise SlackError("invalid_auth")
        return self._answer(self._new_token(old.kind, old.scopes, old.user_id, True))

    def revoke(self, args: dict[str, Any]) -> dict[str, Any]:
        """auth.revoke: the calling token (the preinstalled bot token included); `test=true` only pretends."""
        if str(args.get("test")).lower() in ("1", "true", "yes"):
            return {"revoked": False}
        caller = self.sb.caller()
        if caller is None:
            self.sb.token.revoke_all()
            workspace_events.tokens_revoked(self.sb.events, self.sb.workspace.bot_user_id)
        else:
            caller.state = "token_revoked"
            workspace_events.tokens_revoked(self.sb.events, caller.user_id, caller.kind)
        return {"revoked": True}

    def uninstall(self, args: dict[str, Any]) -> dict[str, Any]:
        """apps.uninstall: every token of the app in the workspace is revoked; `app_uninstalled` and
        `tokens_revoked` (user ids under `oauth`, the bot's under `bot`) go to a subscribed app."""
        self._client(args)
        users: list[str] = []
        with self._lock:
            for issued in self._tokens.values():
                if issued.state == "ok" and issued.kind == "user" and issued.user_id not in users:
                    users.append(issued.user_id)
                issued.state = "token_revoked"
            self._refresh.clear()
        self.sb.token.revoke_all()
        workspace_events.app_uninstalled(self.sb.events, users)
        return {}


def client_credentials(header: str) -> dict[str, str]:
    """`client_id` / `client_secret` from HTTP Basic (slack_sdk's way; they win over form fields), the
    `token` of a Bearer header (oauth.v2.exchange's token to exchange, as slack_sdk sends it), or {}."""
    if header.lower().startswith("bearer "):
        return {"token": header[7:].strip()}
    if not header.lower().startswith("basic "):
        return {}
    try:
        client_id, _, secret = base64.b64decode(header[6:].strip()).decode().partition(":")
    except ValueError:
        return {}
    return {"client_id": client_id, "client_secret": secret}


def add_oauth_routes(sb: SlackSandbox, admin: Router) -> None:
    """`GET|PUT /_sandbox/oauth` `{"redirect_urls"?, "token_rotation"?}` (the app's OAuth settings and
    credentials), `POST /_sandbox/app_tokens` `{"scopes"?}` (a new app-level token: `{"token"}`),
    `PUT /_sandbox/socket_mode` `{"enabled"}` (`sandbox.slack.socket_mode`)."""
    def put(req: Request) -> Response:
        body = req.json() or {}
        if not isinstance(body, dict):
            return json_response({"error": "a JSON object: redirect_urls, token_rotation"}, 400)
        return json_response(sb.oauth.configure(body.get("redirect_urls"), body.get("token_rotation")))

    admin.add("GET", r"/_sandbox/oauth", lambda r: json_response(sb.oauth.settings()))
    admin.add("PUT", r"/_sandbox/socket_mode", lambda r: json_response(
        sb.socket_mode.configure(bool((r.json() or {}).get("enabled")))))
    admin.add("PUT", r"/_sandbox/oauth", put)
    admin.add("POST", r"/_sandbox/app_tokens", lambda r: json_response(
        {"token": sb.oauth.new_app_token((r.json() or {}).get("scopes") if r.body else None)}))
