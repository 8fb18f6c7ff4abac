"""Shared fixtures of the ServiceNow probe tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def env(request, pysnc_client, sn_session):
    """(sandbox, pysnc client, a requests session that trusts the sandbox's CA) on a TLS ServiceNow sandbox
    with the module's ``SIZE`` incidents (200 unless the module sets it)."""
    sb, client = pysnc_client(getattr(request.module, "SIZE", 200))
    sn_session.verify = sb.ca_bundle
    return sb, client, sn_session
