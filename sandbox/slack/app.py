"""`SlackSandbox`: Slack Web API methods and incoming webhooks on `sandbox.core`, keeping every message.

- Web API at `<url>/api/<method>` (point `slack_sdk.WebClient(base_url=sb.url + "/api/")` at it); see
  `sandbox.slack.webapi` for methods and error codes.
- Incoming webhooks at `<url>/services/T…/B…/<secret>` (`sb.webhook_url` posts to the default channel,
  `sb.webhook_url_for(channel)` makes one for any channel). JSON body (or legacy form `payload=`);
  answers plain-text `ok`, or 400 invalid_payload / no_text / invalid_blocks, 404 no_service,
  410 channel_is_archived, 403 invalid_token when tokens are revoked.
- Faults (shared `sb.faults`): rate_429 -> HTTP 429 + Retry-After (`{"ok":false,"error":"ratelimited"}`;
  webhooks `{"retry_after":N,"ok":false,"error":"rate_limited"}`), rate_5xx -> internal_error /
  rollup_error, rate_401 -> invalid_auth, rate_403 -> missing_scope; `revoke_tokens` -> token_revoked,
  `expire_tokens` -> token_expired. Slack-only: `archive(channel)`, `set_method_error(method, code)`.
- Scopes (`sandbox.slack.scopes`): every scope the methods need is granted (X-OAuth-Scopes);
  `sb.set_scopes([...])` (or `PUT /_sandbox/scopes`) narrows them: missing_scope with needed/provided
  (per conversation type too: listing private channels needs groups:read, reading them groups:history).
- OAuth (`sandbox.slack.oauth`): /oauth/v2/authorize, oauth.v2.access (rotation), auth.revoke, apps.uninstall;
  Sign in with Slack (`sandbox.slack.openid`): /openid/connect/authorize, openid.connect.token / userInfo.
- Socket Mode (`sandbox.slack.socket_mode`): an xapp- token's apps.connections.open, events over a WebSocket.
- File uploads (files_upload_v2): bytes go to `<url>/upload/v1/<ticket>`, `url_private` serves them back.
  `sb.new_trigger_id()` (or `POST /_sandbox/trigger_ids`) gives views.open / views.push a trigger;
  `sb.views()` lists the views.
- Every accepted message is kept: `sb.messages(channel=None)` (channel id or name, '#' optional); over
  HTTP (sandbox run by the CLI) `GET /_sandbox/messages[?channel=]`, `DELETE /_sandbox/messages`.
- Interactivity (`sandbox.slack.interactivity`): `sb.click(channel, ts, action_id, user=None)` presses a
  button of a kept message and POSTs Slack's signed `block_actions` payload to the app's Request URL
  (`SlackSandbox(interactivity_url=..., signing_secret=...)` or `sb.configure_interactivity()`); the
  answer and payload are returned and kept (`sb.interactions()`). The payload's `response_url`
  (`<url>/actions/T…/…/…`, `sandbox.slack.response_urls`) replaces, deletes or adds messages, 5 times
  in 30 minutes (`sb.advance_clock(seconds)` moves that time). Over HTTP: `GET|PUT
  /_sandbox/interactivity`, `POST /_sandbox/clicks`, `GET|DELETE /_sandbox/interactions`.
- Slash commands (`sandbox.slack.commands`): `sb.configure_command("/x", url)`, `sb.run_command("/x", text, channel)`.
- Modals (`sandbox.slack.submissions`): `sb.submit_view(view_id, values, user)` / `sb.close_view(...)` send
  Slack's signed view_submission / view_closed; the app's response_action (errors, update, push, clear) applies.
- Events API (`sandbox.slack.events`): `sb.configure_events(url, events=[...])` verifies the Request URL
  with Slack's challenge; `sb.post_as_user(channel, text, user)` / `sb.react_as_user(...)`, the bot's own
  posts, edits, deletions and reactions, members joining or leaving send signed `event_callback`s (only
  the subscribed types) from a background thread, retried as Slack retries
  (`sb.event_deliveries()`, `sb.wait_for_events()`; over HTTP `/_sandbox/events…`);
  `sb.open_assistant_thread(user, channel)` / `sb.change_assistant_context(...)` are AI apps' events
  (`sandbox.slack.assistant_threads`).
"""

from __future__ import annotations

import copy
import hashlib
import threading
import uuid
from typing import Any

from sandbox.core.base import Sandbox
from sandbox.core.faults import Decision
from sandbox.core.http import Request, Response, Router, json_response
from sandbox.slack.app_side import AppSide
from sandbox.slack.arg_rules import check_arguments
from sandbox.slack.assistant_threads import AssistantThreads
from sandbox.slack.charset import is_json as _is_json
from sandbox.slack.charset import with_charset_warning as _with_charset_warning
from sandbox.slack.commands import Commands, add_command_routes
from sandbox.slack.enterprise import Enterprise, add_enterprise_routes
from sandbox.slack.event_routes import add_event_routes
from sandbox.slack.events import Events
from sandbox.slack.interactivity import Interactivity, add_admin_routes
from sandbox.slack.oauth import CLIENT_METHODS, Issued, OAuthApp, add_oauth_routes, client_credentials
from sandbox.slack.openid import OpenIdConnect
from sandbox.slack.personal import takes
from sandbox.slack.response_urls import PATH as RESPONSE_URL_PATH
from sandbox.slack.scopes import Grants, accepted
from sandbox.slack.seed import Workspace, build_workspace, slack_id
from sandbox.slack.seed import _user as _person
from sandbox.slack.shortcuts import add_shortcut_routes
from sandbox.slack.socket_mode import SocketMode
from sandbox.slack.store import MessageStore
from sandbox.slack.submissions import Submissions, add_view_routes
from sandbox.slack.webapi import SlackError, WebApi, call_args
from sandbox.slack.webhooks import WEBHOOK_CODES, handle_webhook, text_response

SLACK_JSON = "application/json; charset=utf-8"



class _BotToken:
    """Adapter so the shared `revoke_tokens` / `expire_tokens` fault actions reach the bot token."""

    def __init__(self) -> None:
        self.ttl_seconds = 0
        self.state = "ok"

    def revoke_all(self) -> None:
        self.state = "token_revoked"

    def expire_all(self) -> None:
        self.state = "token_expired"


class SlackSandbox(MessageStore, AppSide, Sandbox):
    """A Slack workspace: bot token, channels, users, Web API, incoming webhooks and a message log."""

    vendor = "slack"
    server_header = "Apache"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: int = 42, tls: bool = False,
                 latency_ms: float = 0, team: str = "Project X", bot_token: str | None = None,
                 webhook_channel: str = "alerts-servicenow", interactivity_url: str | None = None,
                 signing_secret: str | None = None, **kwargs: Any) -> None:
        self.team = team
        self.workspace: Workspace = build_workspace(seed, team)
        digest = hashlib.sha256(f"slack-sandbox:{seed}".encode()).hexdigest()
        self.bot_token = bot_token or f"xoxb-{int(digest[:8], 16) % 10**12}-{int(digest[8:16], 16) % 10**12}-" \
                                      f"{digest[16:40]}"
        self.token = _BotToken()
        self.webhook_channel = webhook_channel
        self.oauth = OAuthApp(self, seed)
        self._new_api()
        self.grants = Grants()
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []
        self._seq = 0
        self._hooks: dict[str, str] = {}  # "/services/T/B/secret" -> channel id
        self._method_errors: dict[str, str] = {}
        self._local = threading.local()
        self._interactivity_args = interactivity_url, signing_secret or \
            hashlib.sha256(f"slack-sandbox:{seed}:signing".encode()).hexdigest()[:32]
        self.interactivity = Interactivity(self, *self._interactivity_args)
        self.events = Events(self)
        self.assistant_threads = AssistantThreads(self)
        self.submissions = Submissions(self)
        self.commands = Commands(self)
        self.socket_mode = SocketMode(self)
        self.enterprise = Enterprise(self)
        super().__init__(host, port, seed=seed, tls=tls, latency_ms=latency_ms, **kwargs)
        self.faults.tokens = self.token
        self._default_hook = self._hook_path(webhook_channel)
        self.admin.add("GET", r"/_sandbox/messages", lambda r: json_response(
            {"messages": self.messages(r.query.get("channel") or None)}))
        self.admin.add("DELETE", r"/_sandbox/messages", lambda r: (self.clear_messages(), Response(status=204))[1])
        self.admin.add("PUT", r"/_sandbox/scopes", self._put_scopes)
        self.admin.add("POST", r"/_sandbox/trigger_ids", lambda r: json_response({"trigger_id": self.new_trigger_id()}))
        add_admin_routes(self, self.admin)
        add_event_routes(self, self.admin)
        add_view_routes(self, self.admin)
        add_command_routes(self, self.admin)
        add_shortcut_routes(self, self.admin)
        add_enterprise_routes(self, self.admin)
        add_oauth_routes(self, self.admin)

    # --- Python API ------------------------------------------------------------------------------
    @property
    def webhook_url(self) -> str:
        """Incoming-webhook URL for the default channel (`webhook_channel`)."""
        return self.url + self._default_hook

    def webhook_url_for(self, channel: str) -> str:
        """Incoming-webhook URL bound to `channel` (id or name)."""
        return self.url + self._hook_path(channel)

    @property
    def credentials(self) -> dict[str, Any]:
        return {"bot_token": self.bot_token, "webhook_url": self.webhook_url, "api_url": self.url + "/api/",
                "team_id": self.workspace.team_id, "signing_secret": self.interactivity.signing_secret}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "credentials": self.credentials,
                "channels": sorted(c["name"] for c in self.workspace.channels.values())}

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages accepted so far, oldest first: channel, channel_name, ts, text, blocks, attachments,
        thread_ts, via ("chat.postMessage", "webhook", "chat.scheduleMessage", "files.completeUploadExternal",
        "response_url", "chat.postEphemeral", "assistant_thread" for an AI-app thread's root), args (what
        the client sent), message; `ephemeral` / `ephemeral_user` on an ephemeral message (chat.postEphemeral,
        or a response_url's). Scheduled messages whose time has come are posted first."""
        self.api.scheduled.deliver_due()
        with self._lock:
            rows = list(self._messages)
        if channel is not None:
            found = self.workspace.channel(channel)
            want = found["id"] if found else channel
            rows = [m for m in rows if m["channel"] == want]
        return copy.deepcopy(rows)

    def add_user(self, email: str, name: str | None = None) -> str:
        """Add a person with this e-mail to the workspace (or return the existing one's id)."""
        for uid, user in self.workspace.users.items():
            if user["profile"].get("email", "").lower() == email.lower():
                return uid
        handle = email.split("@", 1)[0]
        uid = slack_id("U", self.seed, "extra:" + email.lower())
        user = _person(self.workspace, uid, name or handle, handle, "UTC")
        user["profile"]["email"] = email
        self.workspace.users[uid] = user
        return uid

    def new_trigger_id(self) -> str:
        """A fresh trigger_id for views.open / views.push, good for 3 seconds and one use (as Slack's)."""
        return self.api.views.new_trigger_id()

    def views(self) -> list[dict[str, Any]]:
        """Every view opened, pushed, updated or published (latest state), oldest first."""
        return copy.deepcopy(list(self.api.views.views.values()))

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox's time forward for response_url expiry (30 minutes)."""
        self.interactivity.response_urls.advance(seconds)
        self.oauth.advance(seconds)  # rotating tokens and OAuth codes expire on it too

    def method_calls(self, method: str) -> int:
        """How many requests reached a Web API method (faulted ones included), from the request log."""
        return sum(1 for r in self.request_log if r["path"] == f"/api/{method}")

    def clear_messages(self) -> None:
        with self._lock:
            self._messages.clear()

    def archive(self, channel: str, archived: bool = True) -> None:
        found = self.workspace.channel(channel)
        if found is None:
            raise KeyError(channel)
        found["is_archived"] = archived

    def set_scopes(self, scopes: list[str] | None) -> list[str]:
        """Narrow the bot token's granted scopes (None: all the sandbox serves), `sandbox.slack.scopes`."""
        return self.grants.set(scopes)

    def set_method_error(self, method: str, error: str | None) -> None:
        """Make every call of a Web API method fail with `error` (None switches it off); "ratelimited"
        answers HTTP 429 with `Retry-After: 1`, as Slack's rate limit does (other codes HTTP 200)."""
        with self._lock:
            if error is None:
                self._method_errors.pop(method, None)
            else:
                self._method_errors[method] = error

    def stop(self) -> None:
        self.events.stop()  # retries still waiting give up
        self.socket_mode.stop()
        super().stop()

    def reset(self) -> None:
        super().reset()
        self.workspace = build_workspace(self.seed, self.team)
        self.oauth = OAuthApp(self, self.seed)
        self._new_api()
        self.token.state = "ok"
        self.grants = Grants()
        self.interactivity = Interactivity(self, *self._interactivity_args)
        self.events.stop()
        self.socket_mode.reset()
        self.enterprise = Enterprise(self)
        self.events = Events(self)
        self.assistant_threads = AssistantThreads(self)
        with self._lock:
            self._messages.clear()
            self._method_errors.clear()

    def _new_api(self) -> None:
        self.api = WebApi(self)
        self.api.methods.update(self.oauth.methods(self.api))
        self.openid = OpenIdConnect(self)  # Sign in with Slack (sandbox.slack.openid)
        self.api.methods.update(self.openid.methods)

    @property
    def grants(self) -> Grants:
        """The scopes of the token calling now: an OAuth-issued token's own, else the preinstalled bot's."""
        caller = self.caller()
        return caller.grants if caller is not None else self._grants

    @grants.setter
    def grants(self, value: Grants) -> None:
        self._grants = value

    def caller(self) -> Issued | None:
        """The OAuth-issued token of the Web API call being served (None: the preinstalled `bot_token`)."""
        return getattr(self._local, "caller", None)

    def _put_scopes(self, req: Request) -> Response:
        try:
            return json_response({"scopes": self.set_scopes((req.json() or {}).get("scopes"))})
        except (ValueError, AttributeError) as exc:
            return json_response({"error": str(exc)}, 400)

    # --- HTTP -----------------------------------------------------------------------------------
    def build_routes(self, router: Router) -> None:
        for method in ("GET", "POST"):
            router.add(method, r"/api/(?P<method>[A-Za-z0-9_.]+)", self._web_api)
        router.add("POST", r"/services/(?P<hook>T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+)", self._webhook)
        router.add("POST", r"/upload/v1/(?P<ticket>[A-Za-z0-9_-]+)", lambda r: self.api.files.receive(r))
        router.add("GET", r"/files-pri/(?P<key>[A-Z0-9-]+)/(?:download/)?(?P<name>[^/]+)",
                   lambda r: self.api.files.download(r))
        for verb in ("GET", "POST"):
            router.add(verb, r"/oauth/v2/authorize", lambda r: self.oauth.authorize(r))
            router.add(verb, r"/openid/connect/authorize", lambda r: self.openid.authorize(r))
        router.add("GET", r"/openid/connect/keys", lambda r: self.openid.keys(r))
        router.add("POST", RESPONSE_URL_PATH, lambda r: self.interactivity.response_urls.serve(r))

    def _hook_path(self, channel: str) -> str:
        found = self.workspace.channel(channel)
        if found is None:
            raise KeyError(f"unknown channel {channel!r}")
        secret = hashlib.sha256(f"{self.seed}:hook:{found['id']}".encode()).hexdigest()[:24]
        path = f"/services/{self.workspace.team_id}/{slack_id('B', self.seed, 'hook:' + found['id'])}/{secret}"
        with self._lock:
            self._hooks[path] = found["id"]
        return path

    def _slack_json(self, body: dict[str, Any], status: int = 200, headers: list[tuple[str, str]] | None = None
                    ) -> Response:
        resp = json_response(body, status, headers)
        resp.content_type = SLACK_JSON
        resp.headers += [("X-Slack-Req-Id", uuid.uuid4().hex), ("X-OAuth-Scopes", self.grants.header()),
                         ("X-Accepted-OAuth-Scopes", accepted(self._method()))]
        return resp

    def _method(self) -> str:
        """The Web API method of the request being served ("" off /api/)."""
        path = str(getattr(self._local, "path", ""))
        return path[5:] if path.startswith("/api/") else ""

    def _web_api(self, req: Request) -> Response:
        method = req.params["method"]
        fn = self.api.methods.get(method)
        try:
            if fn is None:
                if method.startswith("admin."):  # not emulated, but a bot token is refused first, as Slack
                    self._check_token(req, call_args(req, method), method)
                raise SlackError("unknown_method", 404, req_method=method)
            args = call_args(req, method)
            if method in CLIENT_METHODS:
                args.update(client_credentials(req.header("Authorization")))
            elif method != "api.test":
                self._check_token(req, args, method)
            if method != "api.test" and self.grants.lacks(method):
                raise SlackError("missing_scope", **self.grants.missing(method))
            check_arguments(self, method, args)  # as_user, an org-wide install's team_id, ... (arg_rules)
            self.api.scheduled.deliver_due()
            with self._lock:
                forced = self._method_errors.get(method)
            if forced:
                extra = self.grants.missing(method) if forced == "missing_scope" else {}
                raise SlackError(forced, 429 if forced == "ratelimited" else 200, **extra)
            return self._slack_json(_with_charset_warning(req, {"ok": True, **fn(args)}))
        except SlackError as exc:
            retry = [("Retry-After", "1")] if exc.status == 429 else None  # Slack's 429 always says when
            return self._slack_json({"ok": False, "error": exc.error, **exc.extra}, exc.status, retry)

    def _check_token(self, req: Request, args: dict[str, Any], method: str) -> None:
        header = req.header("Authorization")
        # a JSON body's `token` is not read (Slack: send it as a bearer token with JSON); query / form ones are
        field = req.query.get("token") if _is_json(req) else args.get("token")
        token = header[7:].strip() if header.lower().startswith("bearer ") else str(field or "")
        if not token:
            raise SlackError("not_authed")
        if token != self.bot_token:
            self._local.caller = self.oauth.check(token, method)  # OAuth-issued tokens (sandbox.slack.oauth)
            return
        if self.token.state != "ok":
            raise SlackError(self.token.state)
        if not takes("bot", self.grants.scopes, method):  # search.*, reminders.*, ...: user tokens only
            raise SlackError("not_allowed_token_type")

    def _webhook(self, req: Request) -> Response:
        return handle_webhook(self, req)

    def hook_channel_id(self, path: str) -> str | None:
        """The channel id an incoming-webhook path posts to (None for unknown webhooks)."""
        with self._lock:
            return self._hooks.get(path)

    # --- errors and faults ---------------------------------------------------------------------
    def dispatch(self, req: Request) -> Response:
        self._local.path, self._local.caller = req.path, None
        return super().dispatch(req)

    def _is_webhook(self) -> bool:
        return str(getattr(self._local, "path", "")).startswith("/services/")

    def error(self, status: int, message: str, detail: str | None = None,
              headers: list[tuple[str, str]] | None = None) -> Response:
        code = message if " " not in message else None
        if self._is_webhook():
            return text_response(status, code or WEBHOOK_CODES.get(status, "rollup_error"), headers)
        fallback = {404: "unknown_method", 429: "ratelimited"}.get(status, "internal_error")
        if str(getattr(self._local, "path", "")).startswith("/_sandbox/") and detail:
            # a sandbox control route (no Slack API): say what was wrong, e.g. which fault setting [round 27]
            return self._slack_json({"ok": False, "error": code or "invalid_arguments", "detail": detail}, status,
                                    headers)
        return self._slack_json({"ok": False, "error": code or fallback}, status, headers)

    def fault_response(self, decision: Decision) -> Response:
        retry = [("Retry-After", str(decision.retry_after))]
        webhook = self._is_webhook()
        if decision.status == 429:
            if webhook:
                body = {"retry_after": decision.retry_after, "ok": False, "error": "rate_limited"}
                return json_response(body, 429, retry)
            return self._slack_json({"ok": False, "error": "ratelimited"}, 429, retry)
        if decision.status in (401, 403):
            if webhook:
                return text_response(403, "invalid_token" if decision.status == 401 else "action_prohibited")
            if decision.status == 401:
                return self._slack_json({"ok": False, "error": "invalid_auth"})
            return self._slack_json({"ok": False, "error": "missing_scope", **self.grants.missing(self._method())})
        status = int(decision.status or 500)
        return text_response(status, "rollup_error") if webhook else \
            self._slack_json({"ok": False, "error": "internal_error"}, status)

