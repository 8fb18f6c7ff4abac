"""pytest fixtures for the Graph (SharePoint) sandbox.

- ``make_sharepoint_sandbox(**kwargs)``: started ``GraphSandbox``es (TLS), stopped at teardown.
- ``sharepoint``: a started sandbox with an app registered in a tenant with a certificate (a PEM file
  of the password-encrypted private key and the certificate, as ``CERT_PATH`` expects), a site with an
  evidence library the app may write (custom columns ``EvidenceSha256`` and ``EvidenceMetadata``) and a
  library it may only read (``SharePointWorld``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from sandbox.core.testing import started_sandboxes
from sandbox.sharepoint.app import GraphSandbox

__all__ = ["SharePointWorld", "make_sharepoint_sandbox", "new_certificate", "sharepoint"]
COLUMNS = {"EvidenceSha256", "EvidenceMetadata"}


@dataclass
class SharePointWorld:
    sandbox: GraphSandbox
    tenant_id: str
    client_id: str
    cert_path: Path
    cert_password: str
    site_id: str
    library_id: str  # the evidence library's drive id (write)
    readonly_library_id: str  # a library the app may only read


def new_certificate(password: str, common_name: str = "projectx-evidence") -> tuple[bytes, bytes]:
    """(PEM of the encrypted private key followed by the certificate, the certificate PEM alone)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC) - timedelta(minutes=5)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + timedelta(days=365)).sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(password.encode()))
    return key_pem + cert_pem, cert_pem


@pytest.fixture
def make_sharepoint_sandbox() -> Iterator[Callable[..., GraphSandbox]]:
    yield from started_sandboxes(GraphSandbox, tls=True)


@pytest.fixture
def sharepoint(make_sharepoint_sandbox, tmp_path, monkeypatch) -> SharePointWorld:
    """Over HTTPS (Entra ID and Graph clients refuse http): requests (azure-identity's token calls)
    trusts the sandbox CA through REQUESTS_CA_BUNDLE; the store hands the same bundle to httpx."""
    sb = make_sharepoint_sandbox()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_bundle)
    tenant, client, password = str(uuid.uuid4()), str(uuid.uuid4()), "sandbox-cert-pass-" + uuid.uuid4().hex[:8]
    both, cert_pem = new_certificate(password)
    cert_path = tmp_path / "projectx-evidence.pem"
    cert_path.write_bytes(both)
    cert_path.chmod(0o600)
    sb.directory.register(tenant, client, cert_pem)
    app = f"{tenant}/{client}"
    site = sb.store.site("contoso.sharepoint.com", "GRC")
    library = sb.store.drive(site, "Evidence", grants={app: "write"}, columns=COLUMNS)
    readonly = sb.store.drive(site, "Policies", grants={app: "read"}, columns=COLUMNS)
    return SharePointWorld(sb, tenant, client, cert_path, password, site, library.id, readonly.id)
