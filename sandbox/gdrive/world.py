"""The Drive world the ``gdrive`` pytest fixture and ``python -m sandbox --vendor gdrive`` share: a
service account (its key JSON written with mode 0600, ``token_uri`` the emulator's), an evidence folder
the account may write and an inbox folder where people drop evidence, which it may only read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.gdrive.app import DriveSandbox
from sandbox.gdrive.auth import service_account_info

SERVICE_ACCOUNT = "evidence-sync@projectx-sandbox.iam.gserviceaccount.com"


@dataclass
class GdriveWorld:
    sandbox: DriveSandbox
    key_file: Path
    client_email: str
    evidence_folder: str  # the library's folder (writer)
    inbox_folder: str  # where people drop evidence (reader)
    api_endpoint: str

    def describe(self) -> dict[str, Any]:
        """What the CLI prints beside the sandbox's URL and CA bundle."""
        return {"key_file": str(self.key_file), "client_email": self.client_email,
                "api_endpoint": self.api_endpoint,
                "discovery": "static (build('drive', 'v3', static_discovery=True, "
                             "client_options={'api_endpoint': api_endpoint}))",
                "evidence_folder": self.evidence_folder, "inbox_folder": self.inbox_folder}


def new_key() -> tuple[str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def seed_world(sb: DriveSandbox, folder: Path) -> GdriveWorld:
    """Register the service account on the started sandbox ``sb``, write its key file into ``folder``
    and make the two folders."""
    private, public = new_key()
    sb.accounts.register(SERVICE_ACCOUNT, public)
    key_file = folder / "service-account.json"
    key_file.touch(mode=0o600)
    key_file.chmod(0o600)
    key_file.write_text(json.dumps(service_account_info(SERVICE_ACCOUNT, private, sb.token_url)))
    evidence = sb.store.folder("Project X Evidence Library", "grc-admin@example.com", writers={SERVICE_ACCOUNT})
    inbox = sb.store.folder("Audit evidence inbox", "grc-admin@example.com", readers={SERVICE_ACCOUNT})
    return GdriveWorld(sb, key_file, SERVICE_ACCOUNT, evidence.id, inbox.id, sb.url + "/drive/v3/")
