"""pytest fixtures for the Drive sandbox.

- ``make_gdrive_sandbox(**kwargs)``: started ``DriveSandbox``es, stopped at teardown.
- ``gdrive``: a started sandbox with a service account (key file written to a temp dir, its
  ``token_uri`` the emulator's), an evidence folder the account may write and an inbox folder of
  evidence files dropped by people (``GdriveWorld``; ``world.seed_world``, shared with ``python -m sandbox``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from sandbox.core.testing import started_sandboxes
from sandbox.gdrive.app import DriveSandbox
from sandbox.gdrive.world import SERVICE_ACCOUNT, GdriveWorld, new_key, seed_world

__all__ = ["SERVICE_ACCOUNT", "GdriveWorld", "gdrive", "make_gdrive_sandbox", "new_key"]


@pytest.fixture
def make_gdrive_sandbox() -> Iterator[Callable[..., DriveSandbox]]:
    yield from started_sandboxes(DriveSandbox)


@pytest.fixture
def gdrive(make_gdrive_sandbox, tmp_path, monkeypatch) -> GdriveWorld:
    """Over HTTPS, as Google is: the client keeps https for upload URLs whatever the API endpoint's
    scheme. httplib2 trusts the sandbox CA through HTTPLIB2_CA_CERTS (read when httplib2 is imported,
    so the already-imported module's CA_CERTS is set too)."""
    import httplib2

    sb = make_gdrive_sandbox(tls=True)
    monkeypatch.setenv("HTTPLIB2_CA_CERTS", sb.ca_bundle)
    monkeypatch.setattr(httplib2, "CA_CERTS", sb.ca_bundle)
    return seed_world(sb, tmp_path)
