"""What all resources of one Jira source run share, built lazily on first use (never at import or
when the source object is created): one authenticated client, so one OAuth refresh-token rotation
chain per run; the custom field ids discovered from GET /field; and the projects in scope."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipelines.common.http import RetryPolicy
from pipelines.common.pages import safe_text
from pipelines.jira.auth import JiraOAuth, gateway_base, pat_auth
from pipelines.jira.helpers import FieldMap, JiraClient
from pipelines.jira.settings import (
    DEFAULT_AUTH_URL,
    DEFAULT_GATEWAY_URL,
    META_PAGE_SIZE,
    OAUTH_HINT,
    PAT_HINT,
    PROJECT_SEARCH_PATH,
)
from pipelines.jira.tokens import RefreshTokenStore, default_token_store

log = logging.getLogger(__name__)
PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class JiraAuthSettings:
    """How to reach Jira. Secret fields are kept out of ``repr``."""

    base_url: str
    mode: str = "oauth"
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)  # bootstrap only; the store wins
    token_store: RefreshTokenStore | None = None
    auth_url: str | None = None
    gateway_url: str | None = None
    pat: str | None = field(default=None, repr=False)
    user_email: str | None = None
    api_token: str | None = field(default=None, repr=False)

    def connect(self, verify: bool | str = True, policy: RetryPolicy | None = None) -> JiraClient:
        if not self.base_url:
            raise ValueError("JIRA_BASE_URL is not set: point it at the site, e.g. https://acme.atlassian.net")
        mode = (self.mode or "oauth").lower()
        if mode == "pat":
            auth = pat_auth(self.pat, self.user_email, self.api_token, base_url=self.base_url)  # Cloud: no PAT
            return JiraClient(self.base_url, auth, verify=verify, policy=policy, config_hint=PAT_HINT)
        if mode != "oauth":
            raise ValueError(f"JIRA_AUTH_MODE={self.mode!r} is not supported: use 'oauth' or 'pat'")
        auth_url = self.auth_url or DEFAULT_AUTH_URL
        # One emulator (or proxy) often serves both: a custom JIRA_AUTH_URL alone means the gateway too.
        gateway = self.gateway_url or (self.auth_url or DEFAULT_GATEWAY_URL)
        oauth = JiraOAuth(self.client_id, self.client_secret, self.token_store or default_token_store(),
                          bootstrap_token=self.refresh_token, auth_url=auth_url, verify=verify, policy=policy)
        api_base = gateway_base(gateway, oauth, self.base_url, verify=verify, policy=policy)
        return JiraClient(api_base, oauth, verify=verify, policy=policy, config_hint=OAUTH_HINT)


class JiraContext:
    """Lazily connected client plus cached discoveries for one source run."""

    def __init__(self, connect: Callable[[], JiraClient], project_keys: Sequence[str] = ()):
        bad = [k for k in project_keys if not PROJECT_KEY.fullmatch(k)]
        if bad:
            raise ValueError(f"Not Jira project keys: {bad}; JIRA_PROJECT_KEYS takes keys like SEC,GRC")
        self._connect = connect
        self._configured = list(dict.fromkeys(project_keys))
        self._client: JiraClient | None = None
        self._fields: FieldMap | None = None
        self._projects: list[dict[str, Any]] | None = None
        # Visible projects left out of scope for a key that is no project key: board and sprint listings are
        # then incomplete (their boards would read as deleted).
        self.left_out: list[str] = []

    def client(self) -> JiraClient:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def fields(self) -> FieldMap:
        if self._fields is None:
            self._fields = self.client().field_map()
        return self._fields

    def projects(self) -> list[dict[str, Any]]:
        """Every project the account can browse (raw beans), listed once per run."""
        if self._projects is None:
            pages = self.client().paged_values(PROJECT_SEARCH_PATH, "values", META_PAGE_SIZE)
            self._projects = [p for page in pages for p in page]
        return self._projects

    def scope(self) -> list[str]:
        """Project keys to sync: JIRA_PROJECT_KEYS if given, else every visible project."""
        if self._configured:
            return list(self._configured)
        keys = [str(p.get("key")) for p in self.projects() if p.get("key")]
        # fullmatch: ``$`` also matches before a final newline, and a project listed as ``"ENG\n"`` went into
        # every search's ``project in (...)``, which Jira refused (400): no issue of any project loaded.
        odd = [k for k in keys if not PROJECT_KEY.fullmatch(k)]
        if odd and not self.left_out:
            log.warning("Jira: left out of this run's scope: projects listed with keys that are no Jira project "
                        "key (%s); their stored issues, boards and sprints are kept as they are",
                        ", ".join(safe_text(repr(k)) for k in odd[:5]))
        self.left_out = odd
        return [k for k in keys if PROJECT_KEY.fullmatch(k)]
