"""Helpers for the Jira emulator tests: sessions, OpenAPI validators, a webhook receiver."""

from __future__ import annotations

import copy
import json
import os
import re
import threading
from datetime import datetime
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

# Atlassian's official specs, from the shared reference beside the checkout (../shared/reference/openapi),
# or where PROJECTX_OPENAPI_DIR points (a clone elsewhere, e.g. CI's), else this machine's /work/shared.
SPEC_DIRS = [Path(p) for p in (os.environ.get("PROJECTX_OPENAPI_DIR"),) if p] + [
    Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "openapi",
    Path("/work/shared/reference/openapi"),
]
_JIRA_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})$")


def session_for(sb: Any, ordinary: bool = False) -> requests.Session:
    """A Basic-auth (email:api_token) session for a sandbox; trusts its CA when TLS is on. ``ordinary``: as the
    second, ordinary login (Sandbox User, ``jira-software-users`` only) instead of the admin."""
    s = requests.Session()
    creds = sb.credentials
    s.auth = (creds["user_email"], creds["user_api_token"]) if ordinary else (creds["email"], creds["api_token"])
    s.headers["Accept"] = "application/json"
    if sb.ca_bundle:
        s.verify = sb.ca_bundle
    return s


def _relax(node: Any) -> Any:
    """Real Jira sends null for many optional values the spec types as non-nullable: allow null."""
    if isinstance(node, dict):
        if isinstance(node.get("type"), str) and node["type"] in ("string", "integer", "number", "boolean",
                                                                   "object", "array"):
            node["nullable"] = True
        for value in node.values():
            _relax(value)
    elif isinstance(node, list):
        for value in node:
            _relax(value)
    return node


def _jira_datetime(value: str) -> bool:
    """Jira's wire form "2026-10-01T12:34:56.789+0000" (as in the spec's own examples) or RFC 3339."""
    if not _JIRA_TS.match(value):
        return False
    text = value.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=4)
def _spec(name: str) -> dict[str, Any]:
    for folder in SPEC_DIRS:
        if (folder / name).is_file():
            return _relax(json.loads((folder / name).read_text()))
    raise FileNotFoundError(f"Jira's official OpenAPI spec {name} is in none of {[str(d) for d in SPEC_DIRS]}: "
                            "set PROJECTX_OPENAPI_DIR to the folder holding the shared reference's openapi/")


def checked(sb: Any, resp: requests.Response, spec: str = "jira-platform-v3.json") -> requests.Response:
    """The response, after validating it against the official spec (raises when it does not fit)."""
    from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

    openapi(spec, sb.url).validate_response(RequestsOpenAPIRequest(resp.request), RequestsOpenAPIResponse(resp))
    return resp


def openapi(name: str, server: str) -> Any:
    """An openapi-core `OpenAPI` for one official spec, served at `server`, nulls allowed."""
    from openapi_core import Config, OpenAPI

    spec = copy.copy(_spec(name))
    spec["servers"] = [{"url": server}]
    config = Config(spec_validator_cls=None, extra_format_validators={"date-time": _jira_datetime})
    return OpenAPI.from_dict(spec, config=config)


class Receiver:
    """A local HTTP endpoint that records webhook POSTs and answers with scripted status codes."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer._lock:
                    outer.calls.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def jira_cloud(sb):
    """atlassian-python-api's ``JiraCloud`` (its REST v3 methods) on a sandbox, with Basic auth."""
    from atlassian.jira import JiraCloud

    return JiraCloud(url=sb.url, username=sb.credentials["email"], password=sb.credentials["api_token"])


def drop_admin(sb, s) -> None:
    """Take the session's own user out of jira-admins: it is then refused what needs Administer Jira."""
    me = s.get(f"{sb.url}/rest/api/3/myself").json()["accountId"]
    r = s.delete(f"{sb.url}/rest/api/3/group/user", params={"groupname": "jira-admins", "accountId": me})
    assert r.status_code == 200, r.text


def client_fixtures(size: int = 20, scope: str = "module"):
    """Module-scoped fixtures for a test file that drives one plain-HTTP Jira sandbox (``seed=42``, ``size``
    issues) with the vendors' clients: ``sb`` (the sandbox), ``s`` (an admin session), ``pyc`` (pycontribs
    ``jira.JIRA``, no retries) and ``atl`` (atlassian-python-api's ``Jira(cloud=True)``). Use as
    ``sb, s, pyc, atl = client_fixtures(size=40)`` at the top of the test module; ``scope="function"``: a fresh
    sandbox per test, for tests that change what others read (workflows, schemes)."""
    import pytest

    @pytest.fixture(scope=scope)
    def sb():
        from sandbox.jira import JiraSandbox

        with JiraSandbox(seed=42, size=size, tls=False) as box:
            yield box

    @pytest.fixture(scope=scope)
    def s(sb):
        with session_for(sb) as session:
            yield session

    @pytest.fixture(scope=scope)
    def pyc(sb):
        from jira import JIRA

        client = JIRA(server=sb.url, basic_auth=(sb.credentials["email"], sb.credentials["api_token"]),
                      max_retries=0)
        yield client
        client.close()

    @pytest.fixture(scope=scope)
    def atl(sb):
        from atlassian import Jira

        return Jira(url=sb.url, username=sb.credentials["email"], password=sb.credentials["api_token"], cloud=True)

    return sb, s, pyc, atl
