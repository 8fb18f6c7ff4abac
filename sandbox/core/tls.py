"""Local TLS for the emulators: a private CA and a server certificate for 127.0.0.1/localhost.

Files are generated once with `cryptography` and cached under the state directory
(`SANDBOX_STATE_DIR`, default `<repo>/.sandbox/`, gitignored):

    <state>/tls/ca.pem          CA certificate: give it to clients (`verify=path` / REQUESTS_CA_BUNDLE)
    <state>/tls/server.pem      server certificate followed by the CA certificate (chain)
    <state>/tls/server-key.pem  server private key

Regenerated when missing or within 30 days of expiry. Generation and loading hold an exclusive
`flock` on `<state>/tls/.lock`, so parallel test processes never see a half-written set.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import ssl
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REPO_ROOT = Path(__file__).resolve().parents[2]
_lock = threading.Lock()


def state_dir() -> Path:
    """Where emulators keep generated files (env SANDBOX_STATE_DIR, default <repo>/.sandbox)."""
    return Path(os.environ.get("SANDBOX_STATE_DIR") or REPO_ROOT / ".sandbox")


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Project X sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _valid(cert_path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return False
    return cert.not_valid_after_utc - datetime.now(UTC) > timedelta(days=30)


def _generate(folder: Path) -> None:
    now = datetime.now(UTC) - timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Project X sandbox local CA")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(san, critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_pem = ca_cert.public_bytes(pem)
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _write(folder / "server-key.pem", key_pem)
    _write(folder / "server.pem", cert.public_bytes(pem) + ca_pem)
    _write(folder / "ca.pem", ca_pem)


def ensure_certificates(folder: Path | None = None) -> Path:
    """Create (or reuse) the CA and server certificate; returns the CA bundle path."""
    return _locked(folder or state_dir() / "tls", None)


def server_context(folder: Path | None = None) -> tuple[ssl.SSLContext, Path]:
    """A server-side SSLContext loaded with the sandbox certificate, plus the CA bundle path."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca = _locked(folder or state_dir() / "tls", ctx)
    return ctx, ca


def _locked(folder: Path, ctx: ssl.SSLContext | None) -> Path:
    with _lock:
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "w") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            ca = folder / "ca.pem"
            if not (ca.exists() and _valid(folder / "server.pem") and (folder / "server-key.pem").exists()):
                _generate(folder)
            if ctx is not None:
                ctx.load_cert_chain(folder / "server.pem", folder / "server-key.pem")
    return ca
