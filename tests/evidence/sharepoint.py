"""The SharePoint evidence store's settings pointed at the Graph emulator (the ``sharepoint`` fixture)."""

from __future__ import annotations

import pytest


@pytest.fixture
def sp_env(sharepoint, monkeypatch):
    """``PROJECTX_EVIDENCE_STORE=sharepoint`` and the app registration, site and library of ``sharepoint``."""
    for name, value in {"PROJECTX_EVIDENCE_STORE": "sharepoint", "TENANT_ID": sharepoint.tenant_id,
                        "CLIENT_ID": sharepoint.client_id, "CERT_PATH": str(sharepoint.cert_path),
                        "SHAREPOINT_CERT_PASSWORD": sharepoint.cert_password, "SHAREPOINT_SITE_ID": sharepoint.site_id,
                        "SHAREPOINT_LIBRARY_ID": sharepoint.library_id,
                        "SHAREPOINT_AUTHORITY_HOST": sharepoint.sandbox.url,
                        "SHAREPOINT_GRAPH_URL": sharepoint.sandbox.graph_url}.items():
        monkeypatch.setenv(name, value)
    return sharepoint
