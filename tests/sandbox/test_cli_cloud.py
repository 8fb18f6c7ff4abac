"""``python -m sandbox --vendor gdrive`` / ``--vendor sharepoint`` from outside: start the CLI, take what it
prints (URL, CA bundle, credential files, secrets, ids, the CA env vars) and drive each emulator with the
vendor's own client, unchanged."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest
from google.oauth2 import service_account
from googleapiclient.discovery import build
from office365.runtime.auth.token_response import TokenResponse
from office365.runtime.client_request_exception import ClientRequestException
from office365.sharepoint.client_context import ClientContext

from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import upload
from tests.sandbox.sharepoint.test_client_probe import _client
from tests.sandbox.sharepoint.test_rest_api import SP_SCOPE, _cert_token
from tests.sandbox.test_cli import sandbox_cli


def _trust(printed: dict[str, str], monkeypatch) -> None:
    """Set the env vars the CLI says a client needs to trust the sandbox CA (httplib2, already imported,
    read HTTPLIB2_CA_CERTS at import: it gets the same value)."""
    import httplib2

    for pair in printed["trust_ca_env"].split():
        name, _, value = pair.partition("=")
        assert value == printed["ca_bundle"] and Path(value).is_file()
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(httplib2, "CA_CERTS", os.environ["HTTPLIB2_CA_CERTS"])


def _private(path: str) -> bool:
    return stat.S_IMODE(Path(path).stat().st_mode) == 0o600


def test_gdrive_cli_with_google_api_client(tmp_path, monkeypatch):
    state = tmp_path / "state"
    with sandbox_cli("--vendor", "gdrive", "--port", "0", "--state-dir", str(state)) as printed:
        g = printed["gdrive"]
        assert g["url"].startswith("https://") and g["api_endpoint"] == g["url"] + "/drive/v3/"
        key_file = Path(g["key_file"])
        assert key_file.parent.parent == state and _private(g["key_file"])
        key = json.loads(key_file.read_text())
        assert (key["client_email"], key["token_uri"]) == (g["client_email"], g["token_uri"])
        _trust(g, monkeypatch)
        creds = service_account.Credentials.from_service_account_file(
            g["key_file"], scopes=["https://www.googleapis.com/auth/drive"])
        drive = build("drive", "v3", credentials=creds, client_options={"api_endpoint": g["api_endpoint"]},
                      cache_discovery=False, static_discovery=True)
        inbox = drive.files().get(fileId=g["inbox_folder"], fields="id,name,mimeType").execute()
        assert inbox["name"] == "Audit evidence inbox" and inbox["mimeType"].endswith(".folder")
        listed = drive.files().list(q=f"'{g['inbox_folder']}' in parents and trashed = false").execute()
        assert listed["files"] == []
        made = upload(drive, g["evidence_folder"], "soc2.txt", b"evidence")
        assert made["parents"] == [g["evidence_folder"]]
        in_evidence = drive.files().list(q=f"'{g['evidence_folder']}' in parents", fields="files(id,name)").execute()
        assert in_evidence["files"] == [{"id": made["id"], "name": "soc2.txt"}]
        assert drive.files().get_media(fileId=made["id"]).execute() == b"evidence"
        status, error = refused(drive.files().create(body={"name": "x.txt", "parents": [g["inbox_folder"]]}))
        assert (status, error["reason"]) == (403, "insufficientFilePermissions")  # the inbox is read-only


def test_sharepoint_cli_with_office365_and_msgraph(monkeypatch):
    with sandbox_cli("--vendor", "sharepoint", "--port", "0") as printed:
        s = printed["sharepoint"]
        assert s["url"].startswith("https://") and s["sharepoint_scope"] == SP_SCOPE
        assert _private(s["cert_path"]) and Path(s["state_dir"]).parent.name.startswith("sandbox-state-")
        _trust(s, monkeypatch)
        w = SimpleNamespace(sandbox=SimpleNamespace(url=s["authority_host"], graph_url=s["graph_url"],
                                                    ca_bundle=s["ca_bundle"]),
                            tenant_id=s["tenant_id"], client_id=s["client_id"], cert_path=s["cert_path"],
                            cert_password=s["cert_password"], library_id=s["library_id"])
        token = _cert_token(w)  # azure-identity's CertificateCredential, the printed PEM and password
        ctx = ClientContext(s["site_url"]).with_access_token(
            lambda: TokenResponse(access_token=token, token_type="Bearer"))
        assert sorted(lst.title for lst in ctx.web.lists.get().execute_query()) == ["Evidence", "Policies"]
        done = ctx.web.get_folder_by_server_relative_url("/sites/GRC/Evidence").upload_file(
            "soc2.txt", b"evidence").execute_query()
        assert done.length == len(b"evidence")
        with pytest.raises(ClientRequestException) as denied:
            ctx.web.get_folder_by_server_relative_url("/sites/GRC/Policies").upload_file("x.txt", b"x").execute_query()
        assert denied.value.response.status_code == 403

        async def graph():  # msgraph-sdk with ClientSecretCredential and the printed secret
            client, _, credential = _client(w, s["client_secret"])
            with credential:
                site = await client.sites.by_site_id(s["site_id"]).get()
                drive = client.drives.by_drive_id(s["library_id"])
                root = await drive.root.get()
                children = await drive.items.by_drive_item_id(root.id).children.get()
                readonly = await client.drives.by_drive_id(s["readonly_library_id"]).get()
                return site, children, readonly

        site, children, readonly = asyncio.run(graph())
        assert site.id == s["site_id"] and site.web_url == "https://contoso.sharepoint.com/sites/GRC"  # as Graph
        assert [(i.name, i.size) for i in children.value] == [("soc2.txt", len(b"evidence"))]
        assert readonly.name == "Policies"
    assert not Path(s["state_dir"]).parent.exists()  # the default state dir goes with the emulator
