"""pytest fixtures for the Graph (SharePoint) sandbox.

- ``make_sharepoint_sandbox(**kwargs)``: started ``GraphSandbox``es (TLS), stopped at teardown.
- ``sharepoint``: a started sandbox with an app registered in a tenant with a certificate (a PEM file
  of the password-encrypted private key and the certificate, as ``CERT_PATH`` expects), a site with an
  evidence library the app may write (custom columns ``EvidenceSha256`` and ``EvidenceMetadata``) and a
  library it may only read (``SharePointWorld``; ``world.seed_world``, shared with ``python -m sandbox``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from sandbox.core.testing import started_sandboxes
from sandbox.sharepoint.app import GraphSandbox
from sandbox.sharepoint.world import COLUMNS, SharePointWorld, new_certificate, seed_world

__all__ = ["COLUMNS", "SharePointWorld", "make_sharepoint_sandbox", "new_certificate", "sharepoint"]


@pytest.fixture
def make_sharepoint_sandbox() -> Iterator[Callable[..., GraphSandbox]]:
    yield from started_sandboxes(GraphSandbox, tls=True)


@pytest.fixture
def sharepoint(make_sharepoint_sandbox, tmp_path, monkeypatch) -> SharePointWorld:
    """Over HTTPS (Entra ID and Graph clients refuse http): requests (azure-identity's token calls)
    trusts the sandbox CA through REQUESTS_CA_BUNDLE; the store hands the same bundle to httpx."""
    sb = make_sharepoint_sandbox()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_bundle)
    return seed_world(sb, tmp_path)
