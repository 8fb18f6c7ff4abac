"""pytest fixtures for the OneTrust sandbox (import with `from sandbox.onetrust.fixtures import *`).

- `make_onetrust_sandbox(**kwargs)`: start a `OneTrustSandbox` with any constructor options; all are
  stopped at teardown.
- `onetrust_sandbox`: a started default sandbox (seed 42, 200 records per kind, region us).
- `onetrust_session`: a `requests.Session` against `onetrust_sandbox` holding a bearer token from the
  client-credentials flow (`session.base_url` is the sandbox URL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests

from sandbox.core.testing import started_sandboxes
from sandbox.onetrust.app import TOKEN_PATH, OneTrustSandbox

__all__ = ["make_onetrust_sandbox", "onetrust_sandbox", "onetrust_session", "onetrust_token"]


def onetrust_token(sb: OneTrustSandbox, client_id: str | None = None, client_secret: str | None = None) -> str:
    """Run the client-credentials flow against `sb` and return the access token."""
    resp = requests.post(sb.url + TOKEN_PATH, verify=sb.ca_bundle or True, timeout=10, data={
        "grant_type": "client_credentials", "client_id": client_id or sb.client_id,
        "client_secret": client_secret or sb.client_secret})
    resp.raise_for_status()
    return resp.json()["access_token"]


@pytest.fixture
def make_onetrust_sandbox() -> Iterator[Callable[..., OneTrustSandbox]]:
    yield from started_sandboxes(OneTrustSandbox)


@pytest.fixture
def onetrust_sandbox(make_onetrust_sandbox: Callable[..., OneTrustSandbox]) -> OneTrustSandbox:
    return make_onetrust_sandbox()


@pytest.fixture
def onetrust_session(onetrust_sandbox: OneTrustSandbox) -> Iterator[requests.Session]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {onetrust_token(onetrust_sandbox)}"
    session.verify = onetrust_sandbox.ca_bundle or True
    session.base_url = onetrust_sandbox.url  # type: ignore[attr-defined]
    yield session
    session.close()
