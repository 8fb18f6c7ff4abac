"""`JiraSandbox`: a stateful Jira Cloud emulator (REST v2/v3, Agile 1.0, OAuth 3LO, admin webhooks).

    sb = JiraSandbox(seed=42, size=200).start()
    sb.url, sb.ca_bundle, sb.credentials      # email/api_token (Basic), pat (Bearer), client_id/secret, cloud_id
    sb.issues(); sb.touch(5); sb.delete(["SEC-1"]); sb.create_issue({...}); sb.faults.set(search_lag_seconds=5)

Site API under `/rest/...`; OAuth tokens use `/ex/jira/{cloudId}/rest/...`; OAuth endpoints at
`/authorize`, `/oauth/token`, `/oauth/token/accessible-resources`. Admin extras under `/_sandbox/jira/`.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.core.base import Sandbox
from sandbox.core.clock import SandboxClock, parse_anchor
from sandbox.core.faults import Decision
from sandbox.core.http import HTTPError, Request, Response, Router
from sandbox.jira import (
    admin,
    audit,
    captcha,
    dynamic_webhooks,
    field_config,
    ops,
    routes_agile,
    routes_agile_board_more,
    routes_agile_epic,
    routes_agile_more,
    routes_archive,
    routes_boards,
    routes_bulk_edit,
    routes_bulk_move,
    routes_bulk_reads,
    routes_catalog_search,
    routes_component_search,
    routes_config,
    routes_config_reads,
    routes_entity_props,
    routes_export,
    routes_field_admin,
    routes_field_contexts,
    routes_filter_shares,
    routes_gadgets,
    routes_groups,
    routes_icons,
    routes_issue_props_bulk,
    routes_issues,
    routes_issuetypes,
    routes_jql_match,
    routes_jql_tools,
    routes_lookup,
    routes_media,
    routes_meta,
    routes_more,
    routes_pickers,
    routes_platform,
    routes_project_admin,
    routes_roles,
    routes_scheme_lookups,
    routes_scheme_reads,
    routes_schemes,
    routes_screen_tabs,
    routes_search,
    routes_session,
    routes_site,
    routes_site_config,
    routes_social,
    routes_software,
    routes_user_admin,
    routes_version_swap,
    routes_versions,
    routes_work,
)
from sandbox.jira.auth import OAuthServer, RotatingTokenStore, authenticate
from sandbox.jira.call import AGILE, API, Call
from sandbox.jira.errors import body as error_body
from sandbox.jira.errors import html as html_body
from sandbox.jira.faults import JiraFaults
from sandbox.jira.identity import LOGIN_REASON, xsrf_refusal
from sandbox.jira.jql import parse
from sandbox.jira.jql_context import JqlContext
from sandbox.jira.jql_eval import compile_query
from sandbox.jira.model import User
from sandbox.jira.render import ALL_FIELDS, Renderer
from sandbox.jira.store import JiraStore
from sandbox.jira.webhooks import WebhookHub


def default_credentials(seed: int) -> dict[str, str]:
    cloud = uuid.UUID(bytes=hashlib.blake2b(f"jira-cloud:{seed}".encode(), digest_size=16).digest(), version=4)
    return {"email": "sandbox.admin@example.com", "api_token": "ATATT3xFfGF0SandboxJiraApiToken0000000000",
            "pat": "sandbox-jira-pat-0000000000000000", "client_id": "sandbox-jira-client",
            "client_secret": "sandbox-jira-client-secret", "cloud_id": str(cloud),
            # a second login: an ordinary user (no administration groups) who can vote, watch and comment
            "user_email": "sandbox.user@example.com", "user_api_token": "ATATT3xFfGF0SandboxJiraUserToken000000000"}


class JiraSandbox(Sandbox):
    vendor = "jira"
    server_header = "AtlassianEdge"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: int = 42, size: int = 200,
                 tls: bool = False, latency_ms: float = 0, user_time_zone: str = "America/New_York",
                 token_ttl_seconds: int = 3600, anchor: str | datetime | None = None, webhook_attempts: int = 3,
                 webhook_backoff_seconds: float = 0.5, burst_limit: int | None = None,
                 max_concurrent_per_client: int | None = None, credentials: dict[str, str] | None = None,
                 strict_screens: bool = False) -> None:
        self.size, self.user_time_zone, self.burst_limit = size, user_time_zone, burst_limit
        self.strict_screens = strict_screens  # transitions hold `fields`/`update` to their screen (see `screens`)
        self.credentials = {**default_credentials(seed), **(credentials or {})}
        self.clock = SandboxClock(parse_anchor(anchor))
        self.tokens = RotatingTokenStore(token_ttl_seconds)
        self._burst: dict[str, deque[float]] = defaultdict(deque)
        self._burst_lock = threading.Lock()
        self.webhooks = WebhookHub(self._render_event, self._webhook_filter, webhook_attempts,
                                   webhook_backoff_seconds)
        self.store = self._new_store(seed)
        self.webhooks.now = lambda: self.store.now_ms()
        self.oauth = OAuthServer(self.tokens, self.credentials, self.store.me.account_id, lambda: self.url)
        super().__init__(host, port, seed=seed, tls=tls, latency_ms=latency_ms,
                         max_concurrent_per_client=max_concurrent_per_client)
        self.faults = JiraFaults(seed)
        self.faults.tokens = self.tokens
        admin.register(self, self.admin)

    def _new_store(self, seed: int) -> JiraStore:
        store = JiraStore(seed, self.size, self.clock, self.user_time_zone,
                          lag=lambda: self.faults.search_lag if isinstance(self.faults, JiraFaults) else 0.0)
        store.listeners.append(self.webhooks.on_event)
        # the second login (`user_email`/`user_api_token`): added after every seeded draw and kept out of
        # `store.people` (the authors derived comments and changelogs draw from), so no seeded row changes
        ident = hashlib.blake2b(f"acct:{seed}:login-user".encode(), digest_size=12).hexdigest()
        store.users[ident] = User(ident, "Sandbox User", self.credentials["user_email"], self.user_time_zone)
        store.login_user = ident
        return store

    # --- routing ---------------------------------------------------------------------------------
    def build_routes(self, router: Router) -> None:
        early_modules = (routes_archive, routes_bulk_edit, routes_bulk_move, routes_jql_match, routes_media,
                         routes_config_reads, routes_icons)
        for early in early_modules:  # before `/issue/{key}` etc.
            early.register(self)
        routes_site_config.register(self)
        routes_screen_tabs.register(self)
        routes_project_admin.register(self)
        routes_catalog_search.register(self)
        dynamic_webhooks.register(self)
        routes_bulk_reads.register(self)
        routes_jql_tools.register(self)
        routes_field_contexts.register(self)
        routes_field_admin.register(self)
        field_config.register(self)
        routes_issuetypes.register(self)
        routes_export.register(self)
        audit.register(self)
        routes_entity_props.register(self)
        routes_agile_board_more.register(self)
        routes_version_swap.register(self)
        routes_component_search.register(self)
        routes_pickers.register(self)
        routes_gadgets.register(self)
        routes_scheme_lookups.register(self)
        routes_scheme_reads.register(self)
        routes_platform.register(self)
        routes_lookup.register(self)
        routes_site.register(self)
        routes_search.register(self)
        routes_work.register(self)
        routes_versions.register(self)
        routes_meta.register(self)
        routes_issue_props_bulk.register(self)
        routes_social.register(self)
        routes_filter_shares.register(self)
        routes_groups.register(self)
        routes_user_admin.register(self)
        routes_more.register(self)
        routes_issues.register(self)
        routes_agile_more.register(self)
        routes_boards.register(self)
        routes_agile.register(self)
        routes_agile_epic.register(self)  # POST /epic/{id}, PUT /epic/{id}/rank, POST /board/{id}/issue
        routes_software.register(self)
        routes_config.register(self)
        routes_roles.register(self)
        routes_schemes.register(self)
        admin.register_public(self)
        routes_session.register(self)
        router.add("GET", r"/authorize", self.oauth.authorize, auth_faults=False)
        router.add("POST", r"/oauth/token", self.oauth.token, auth_faults=False)
        router.add("GET", r"/oauth/token/accessible-resources", self.oauth.accessible_resources)

    def route(self, method: str, path: str, handler: Callable[[Call], Response], need: str = "read",
              prefix: str = "api", anonymous: bool = False) -> None:
        """Register `handler(call)` under the site and gateway prefixes, behind auth + burst limit."""
        # Jira's REST resources are JAX-RS (Jersey): a path with one trailing "/" reaches the same resource method
        pattern = {"api": API, "agile": AGILE, "none": ""}[prefix] + path + ("" if path.endswith("/") else "/?")
        # a numeric id in a path: ASCII digits of a Java long's size (``\d`` takes any script's digits, and int()
        # refuses over 4300 digits: HTTP 500); a longer one matches no resource, as Jersey's Long conversion fails
        pattern = pattern.replace(r"\d+", "[0-9]{1,18}")

        default_ver = "2" if prefix == "agile" else "3"  # Agile beans carry v2-style (string) rich text

        def wrapped(req: Request) -> Response:
            try:
                call = self.context(req, need, anonymous, default_ver)
            except HTTPError as exc:  # failed Basic login on a route anonymous callers may use: go on as anonymous
                if not (anonymous and exc.status == 401 and LOGIN_REASON in exc.headers):
                    raise
                del req.headers["Authorization"]
                out = handler(self.context(req, need, anonymous, default_ver))
                out.headers.append(LOGIN_REASON)
                return out
            return xsrf_refusal(req) or handler(call)

        self.router.add(method, pattern, wrapped)

    def context(self, req: Request, need: str, anonymous: bool = False, default_ver: str = "3") -> Call:
        cloud = req.params.get("cloud")
        if anonymous and not req.header("Authorization"):
            user = self.store.me.account_id
        else:  # a session cookie (`routes_session`) stands in for credentials
            user = routes_session.session_user(self, req) or captcha.guarded(self, req, lambda: authenticate(
                req, self.credentials, self.tokens, self.store.me.account_id, need, self.store.login_user))
        self._check_burst(user)
        ver = req.params.get("ver", default_ver)
        ver = "2" if ver == "latest" else ver
        base = f"{req.base_url}/ex/jira/{cloud}" if cloud else req.base_url
        req.principal = user
        return Call(req, user, ver, base, self.renderer(base, ver, viewer=user))

    def renderer(self, base: str | None = None, version: str = "3", viewer: str | None = None) -> Renderer:
        def malformed(issue_id: int) -> int | None:
            return self.faults.malformed_variant(str(issue_id), 4)

        return Renderer(self.store, base or self.url, version, malformed, viewer)

    def jql(self, text: str, user: str | None = None) -> Any:
        """Parse + compile JQL for the calling user (raises JQLError)."""
        ctx = JqlContext(self.store, self.user_time_zone, user or self.store.me.account_id,
                         None if user is None else lambda f: routes_filter_shares.sees_filter(self, user, f))
        return compile_query(parse(text), ctx)

    def _check_burst(self, user: str) -> None:
        if not self.burst_limit:
            return
        now = time.monotonic()
        with self._burst_lock:
            window = self._burst[user]
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= self.burst_limit:
                raise HTTPError(429, "Rate limit exceeded.", None, _rate_headers(1, self.burst_limit))
            window.append(now)

    # --- vendor hooks ----------------------------------------------------------------------------
    def error(self, status: int, message: str, detail: Any = None,
              headers: list[tuple[str, str]] | None = None) -> Response:
        return error_body(status, message, detail, headers)

    def fault_response(self, decision: Decision) -> Response:
        status = int(decision.status or 500)
        headers: list[tuple[str, str]] = []
        if status == 429:
            headers, message = _rate_headers(decision.retry_after, 100), "Rate limit exceeded."
        elif status == 401:
            message = "Client must be authenticated to access this resource."
        elif status == 403:
            message = "You do not have permission to perform this operation. (sandbox fault)"
        else:
            message = "Internal server error (sandbox fault)"
            if status == 503:
                headers = [("Retry-After", "1")]
        if self.faults.jira["html_errors"] >= 0.5:
            return html_body(status, message, headers)
        return error_body(status, message, None, headers)

    def reset(self) -> None:
        super().reset()
        self.webhooks.flush(5)
        self.webhooks.clear()
        self.clock = SandboxClock(self.clock.anchor)
        self.store = self._new_store(self.seed)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "credentials": dict(self.credentials), "size": self.size,
                "user_time_zone": self.user_time_zone, "strict_screens": self.strict_screens}

    def stop(self) -> None:
        super().stop()
        self.webhooks.stop()

    # --- webhooks glue ---------------------------------------------------------------------------
    def _webhook_filter(self, jql: str) -> Callable[[Any], bool]:
        return self.jql(jql).pred

    def _render_event(self, event: dict[str, Any]) -> dict[str, Any]:
        r = self.renderer(self.url, "2")
        out: dict[str, Any] = {"timestamp": event["timestamp"], "webhookEvent": event["webhookEvent"],
                               "issue_event_type_name": event["issue_event_type_name"],
                               "user": r.user(event["user"]), "issue": r.issue(event["issue"], ALL_FIELDS)}
        if event.get("changelog") is not None:
            h = event["changelog"]
            out["changelog"] = {"id": str(h.id), "items": h.items}
            if h.metadata:  # the write's `historyMetadata`, as GET /changelog shows it (`issue_body_extras`) [unc]
                out["changelog"]["historyMetadata"] = h.metadata
        if event.get("comment") is not None:
            out["comment"] = r.comment(event["comment"])
        if event.get("property") is not None:
            out["property"] = event["property"]
        return out

    # --- Python API ------------------------------------------------------------------------------
    def issues(self, version: str = "3", fields: list[str] | None = None) -> list[dict[str, Any]]:
        """Current live issues in API shape (deleted ones excluded), ordered by id."""
        r = self.renderer(self.url, version)
        return [r.issue(i, fields or ALL_FIELDS) for _, i in sorted(list(self.store.issues.items()))]

    def touch(self, n: int = 10) -> list[str]:
        """Update n random issues now (status step + label, changelog entry); returns their keys."""
        return ops.touch(self.store, n)

    def delete(self, keys: list[str] | str) -> list[str]:
        """Delete issues by key; returns the keys that existed."""
        done = []
        for key in [keys] if isinstance(keys, str) else keys:
            issue = self.store.resolve(key)
            if issue is not None and self.store.delete(issue.id, self.store.me.account_id):
                done.append(issue.key)
        return done

    def create_issue(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Create from API-style fields (v2 strings or v3 ADF); returns the issue in v3 shape."""
        return routes_issues.create_from_python(self, fields.get("fields", fields))

    def edit_as(self, key: str, fields: dict[str, Any], actor: str | None = None) -> None:
        """Edit an issue as a person would in the UI (default actor: `person()`); v2-style values,
        `status` by name (moved as a transition would). See `ops.edit_as`."""
        ops.edit_as(self.store, key, fields, actor or self.person())

    def comment_as(self, key: str, text: str, actor: str | None = None) -> None:
        """Add a plain-text comment as a person (default: `person()`)."""
        issue = self.store.resolve(key)
        if issue is None:
            raise KeyError(key)
        self.store.add_comment(issue.id, text, actor or self.person())

    def add_user(self, email: str, name: str | None = None, *, active: bool = True,
                 account_type: str = "atlassian", email_visible: bool = True) -> str:
        """Add a Jira user with this e-mail (or return the existing one's accountId, unchanged).
        `email_visible=False` is profile visibility "Only you and admins": every user bean (search,
        assignee, reporter, /user, /myself of others) leaves `emailAddress` out, while `/user/search`
        `query` still matches the address by prefix."""
        with self.store.lock:
            for u in self.store.users.values():
                if u.email.lower() == email.lower():
                    return u.account_id
            ident = hashlib.blake2b(f"acct:{self.seed}:extra:{email.lower()}".encode(), digest_size=12).hexdigest()
            self.store.users[ident] = User(ident, name or email.split("@", 1)[0], email, "UTC", active=active,
                                           account_type=account_type, email_visible=email_visible)
            return ident

    def set_email_visible(self, account_id: str, visible: bool) -> None:
        """Change a user's profile visibility of the e-mail address (see `add_user`)."""
        with self.store.lock:
            self.store.users[account_id].email_visible = visible

    def person(self) -> str:
        """The account id of a seeded user other than the API account (a human editing in the UI)."""
        return next(u for u in self.store.people if u != self.store.me.account_id)

    def sync_index(self) -> None:
        """Make every pending write searchable now (ends the eventual-consistency lag early)."""
        self.store.index.sync(force=True)

    def advance_clock(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @property
    def webhook_deliveries(self) -> list[dict[str, Any]]:
        return list(self.webhooks.deliveries)

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        return self.webhooks.flush(timeout)

    def revoke_tokens(self) -> None:
        self.tokens.revoke_all()


def _rate_headers(retry_after: int, limit: int) -> list[tuple[str, str]]:
    reset = (datetime.now(UTC) + timedelta(seconds=retry_after)).strftime("%Y-%m-%dT%H:%MZ")
    return [("Retry-After", str(retry_after)), ("X-RateLimit-Limit", str(limit)), ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", reset), ("RateLimit-Reason", "jira-burst-based")]
