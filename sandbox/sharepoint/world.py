"""The SharePoint world the ``sharepoint`` pytest fixture and ``python -m sandbox --vendor sharepoint``
share: an Entra app registered in a tenant with a certificate (a PEM file, mode 0600, of the
password-encrypted private key and the certificate, as ``CERT_PATH`` expects) and a client secret, and a
site with an evidence library the app may write (custom columns ``EvidenceSha256`` and
``EvidenceMetadata``) and a library it may only read."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from sandbox.sharepoint.app import GraphSandbox

COLUMNS = {"EvidenceSha256", "EvidenceMetadata"}
HOSTNAME, SITE = "contoso.sharepoint.com", "GRC"


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
    client_secret: str = ""  # a client secret of the app (ClientSecretCredential, client_secret in the form)

    @property
    def site_url(self) -> str:
        """The site's SharePoint URL on the emulator (``ClientContext``'s; REST under ``/_api``)."""
        return f"{self.sandbox.url}/sites/{SITE}"

    def describe(self) -> dict[str, Any]:
        """What the CLI prints beside the sandbox's URL, CA bundle, authority host and Graph URL."""
        return {"tenant_id": self.tenant_id, "client_id": self.client_id, "client_secret": self.client_secret,
                "cert_path": str(self.cert_path), "cert_password": self.cert_password,
                "graph_scope": "https://graph.microsoft.com/.default",
                "sharepoint_scope": f"https://{HOSTNAME}/.default",
                "site_id": self.site_id, "site_url": self.site_url,
                "library_id": self.library_id, "readonly_library_id": self.readonly_library_id}


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


def seed_world(sb: GraphSandbox, folder: Path) -> SharePointWorld:
    """Register the app (certificate PEM written into ``folder``, and a client secret) on the started
    sandbox ``sb`` and make the site with its two libraries."""
    tenant, client, password = str(uuid.uuid4()), str(uuid.uuid4()), "sandbox-cert-pass-" + uuid.uuid4().hex[:8]
    both, cert_pem = new_certificate(password)
    cert_path = folder / "projectx-evidence.pem"
    cert_path.touch(mode=0o600)
    cert_path.chmod(0o600)
    cert_path.write_bytes(both)
    sb.directory.register(tenant, client, cert_pem)
    secret = "sandbox~" + secrets.token_urlsafe(24)
    sb.directory.add_secret(tenant, client, secret)
    app = f"{tenant}/{client}"
    site = sb.store.site(HOSTNAME, SITE)
    library = sb.store.drive(site, "Evidence", grants={app: "write"}, columns=COLUMNS)
    readonly = sb.store.drive(site, "Policies", grants={app: "read"}, columns=COLUMNS)
    return SharePointWorld(sb, tenant, client, cert_path, password, site, library.id, readonly.id, secret)
