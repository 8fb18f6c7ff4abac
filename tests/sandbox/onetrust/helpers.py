"""Shared by the OneTrust probe tests: a bearer session as a caller following developer.onetrust.com
sets one up, and Spring's error body."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import requests

from sandbox.onetrust.app import TOKEN_PATH

SPRING_ERROR = {"timestamp", "status", "error", "message", "path"}


@contextmanager
def bearer_session(sb) -> Iterator[requests.Session]:
    """A session holding a client-credentials token (form body), ``base_url`` the sandbox's."""
    with requests.Session() as session:
        token = requests.post(sb.url + TOKEN_PATH, timeout=10, data={
            "grant_type": "client_credentials", "client_id": sb.client_id, "client_secret": sb.client_secret})
        session.headers["Authorization"] = "Bearer " + token.json()["access_token"]
        session.base_url = sb.url  # type: ignore[attr-defined]
        yield session


def spring_error(resp: requests.Response, status: int) -> dict:
    """The body of a Spring error answer with ``status``: exactly its five keys."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == SPRING_ERROR and body["status"] == status
    return body
