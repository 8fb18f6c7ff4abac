"""pytest fixtures for the Drive sandbox.

- ``make_gdrive_sandbox(**kwargs)``: started ``DriveSandbox``es, stopped at teardown.
- ``gdrive``: a started sandbox with a service account (key file written to a temp dir, its
  ``token_uri`` the emulator's), an evidence folder the account may write and an inbox folder of
  evidence files dropped by people (``GdriveWorld``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.core.testing import started_sandboxes
from sandbox.gdrive.app import DriveSandbox
from sandbox.gdrive.auth import service_account_info

__all__ = ["GdriveWorld", "gdrive", "make_gdrive_sandbox"]
SERVICE_ACCOUNT = "evidence-sync@projectx-sandbox.iam.gserviceaccount.com"


@dataclass
class GdriveWorld:
    sandbox: DriveSandbox
    key_file: Path
    client_email: str
    evidence_folder: str  # the library's folder (writer)
    inbox_folder: str  # where people drop evidence (reader)
    api_endpoint: str


def new_key() -> tuple[str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


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
    private, public = new_key()
    sb.accounts.register(SERVICE_ACCOUNT, public)
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps(service_account_info(SERVICE_ACCOUNT, private, sb.token_url)))
    key_file.chmod(0o600)
    evidence = sb.store.folder("Project X Evidence Library", "grc-admin@example.com", writers={SERVICE_ACCOUNT})
    inbox = sb.store.folder("Audit evidence inbox", "grc-admin@example.com", readers={SERVICE_ACCOUNT})
    return GdriveWorld(sb, key_file, SERVICE_ACCOUNT, evidence.id, inbox.id, sb.url + "/drive/v3/")
