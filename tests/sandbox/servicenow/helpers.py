"""Helpers of the ServiceNow probe tests: a caller's session and the sys_ids a query answers."""

from __future__ import annotations

from typing import Any

import requests


def as_user(sb: Any, user: str, password: str) -> requests.Session:
    """A Basic-auth session for one of the sandbox's users, trusting its CA."""
    s = requests.Session()
    s.auth, s.verify, s.headers["Accept"] = (user, password), sb.ca_bundle, "application/json"
    return s


def query_ids(session: requests.Session, url: str, query: str) -> list[str]:
    """The sys_ids a Table API query answers, in the order served."""
    got = session.get(url, params={"sysparm_query": query, "sysparm_fields": "sys_id"})
    assert got.status_code == 200, got.text
    return [r["sys_id"] for r in got.json()["result"]]


def sorted_ids(session: requests.Session, url: str, query: str) -> list[str]:
    return sorted(query_ids(session, url, query))
