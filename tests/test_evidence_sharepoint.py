"""SharePoint: the Graph drive-item emulator and its Entra ID token endpoint speak well enough for
msgraph-sdk and azure-identity's CertificateCredential unchanged; the SharePoint evidence store
round-trips 0 B, 1 MiB and 50 MiB (an upload session above 4 MiB) with metadata, verified on read;
provider faults map to store errors; a wrong certificate fails naming CERT_PATH and CLIENT_ID."""

from __future__ import annotations

import os

import pytest

from resources.evidence.base import (
    ContentMismatch,
    StorePermissionError,
    StoreQuotaError,
    StoreUnavailable,
    content_address,
)
from resources.evidence.select import store_from_env
from resources.evidence.sharepoint import SharePointStore


def _store() -> SharePointStore:
    store = store_from_env()
    assert isinstance(store, SharePointStore)
    store.calls.backoff = 0.05
    return store


@pytest.mark.parametrize("size", [0, 1024 * 1024, 50 * 1024 * 1024], ids=["0B", "1MiB", "50MiB"])
def test_sharepoint_round_trip(sp_env, size):
    store = _store()
    data = os.urandom(size)
    obj = store.put(data, {"filename": "évidence.pdf", "tags": "change-management,source:sharepoint"})
    assert obj.sha256 == content_address(data) and obj.size == size
    assert obj.uri.startswith(f"sharepoint://{sp_env.library_id}/")
    head = store.head(obj.sha256)
    assert head.metadata == {"filename": "évidence.pdf", "tags": "change-management,source:sharepoint"}
    assert store.get(obj.sha256) == data
    assert store.put(data).uri == obj.uri  # stored once
    assert [o.sha256 for o in store.list()] == [obj.sha256]
    log = sp_env.sandbox.request_log
    fragments = [r for r in log if r["path"].startswith("/_api/v2.0/uploadSession/") and r["method"] == "PUT"]
    sessions = [r for r in log if r["path"].endswith("/createUploadSession")]
    if size > 4 * 1024 * 1024:
        assert len(sessions) == 1 and len(fragments) == 5 and all(r["status"] in (201, 202) for r in fragments)
    else:
        assert sessions == [] and fragments == []


def test_content_address_verified_on_read(sp_env):
    store = _store()
    obj = store.put(b"the approved change")
    item = sp_env.sandbox.store.items[obj.uri.rsplit("/", 1)[1]]
    item.content = b"evil"
    with pytest.raises(ContentMismatch):
        store.get(obj.sha256)


def test_wrong_certificate_names_cert_path_and_client_id(sp_env, tmp_path, monkeypatch):
    from sandbox.sharepoint.fixtures import new_certificate

    forged = tmp_path / "other.pem"
    forged.write_bytes(new_certificate("another-password")[0])
    monkeypatch.setenv("CERT_PATH", str(forged))
    monkeypatch.setenv("SHAREPOINT_CERT_PASSWORD", "another-password")
    with pytest.raises(StorePermissionError) as err:
        _store()
    text = str(err.value)
    assert "CERT_PATH" in text and str(forged) in text and f"CLIENT_ID={sp_env.client_id}" in text
    assert "AADSTS700027" in text and "another-password" not in text and "PRIVATE KEY" not in text
    monkeypatch.setenv("CERT_PATH", str(sp_env.cert_path))
    monkeypatch.setenv("SHAREPOINT_CERT_PASSWORD", "not-the-password")
    with pytest.raises(Exception, match="SHAREPOINT_CERT_PASSWORD") as err:
        _store()
    assert "not-the-password" not in str(err.value)
    monkeypatch.setenv("SHAREPOINT_CERT_PASSWORD", sp_env.cert_password)
    monkeypatch.setenv("TENANT_ID", "00000000-0000-0000-0000-000000000000")
    with pytest.raises(StorePermissionError, match="TENANT_ID"):
        _store()
    monkeypatch.setenv("TENANT_ID", sp_env.tenant_id)
    monkeypatch.setenv("CLIENT_ID", "11111111-1111-1111-1111-111111111111")
    with pytest.raises(StorePermissionError, match=r"AADSTS700016.*CERT_PATH"):
        _store()


def test_sharepoint_faults_map_to_store_errors(sp_env, monkeypatch):
    store = _store()
    sb = sp_env.sandbox
    sb.fail_next(503, count=2, method="PUT")
    sb.fail_next(429, count=1, method="PUT")
    obj = store.put(b"survives two 503s and a 429")
    assert store.get(obj.sha256) == b"survives two 503s and a 429"
    sb.fail_next(503, count=1, method="PUT", path="^/_api/v2.0/uploadSession/")  # a fragment is retried too
    big = os.urandom(5 * 1024 * 1024)
    assert store.get(store.put(big).sha256) == big
    assert [r["status"] for r in sb.request_log if r["path"].startswith("/_api/")] == [503, 201]
    sb.fail_next(500, count=10, method="PUT")
    before = len(sb.request_log)
    with pytest.raises(StoreUnavailable, match="after 3 retries"):
        store.put(b"four 500s in a row")
    assert [r["status"] for r in sb.request_log[before:] if r["method"] == "PUT"] == [500] * 4
    sb.scripted.clear()
    # a library the app may only read: a write is refused, naming what to grant
    sb.store.add(sp_env.readonly_library_id, sb.store.drives[sp_env.readonly_library_id].root_id,
                 "ProjectX Evidence", None)
    monkeypatch.setenv("SHAREPOINT_LIBRARY_ID", sp_env.readonly_library_id)
    with pytest.raises(StorePermissionError, match=f"grant app CLIENT_ID={sp_env.client_id}"):
        _store().put(b"not allowed here")
    sb.store.drives[sp_env.library_id].quota_bytes = sb.store.used_bytes(sp_env.library_id) + 10
    with pytest.raises(StoreQuotaError, match="paused"):
        store.put(b"more than ten bytes")
    with pytest.raises(StoreQuotaError):  # an upload session is refused at the last fragment and cancelled
        store.put(os.urandom(5 * 1024 * 1024))
    assert sb.store.uploads == {}


def test_sharepoint_faults_through_the_library(sp_env, clamd, tmp_path):
    """5xx and 429 are retried; permission denied becomes a task and the file waits; quota exceeded pauses
    the provider without touching SharePoint again (scanning goes on); after the fix every file is stored
    once."""
    from tests.evidence.clamav import EICAR
    from tests.evidence.library import make_library

    sb = sp_env.sandbox
    lib = make_library(tmp_path, clamd, store=_store())
    sb.fail_next(503, count=2, method="PUT")
    sb.fail_next(429, count=1, method="PUT")
    first = lib.ingest(b"change request CHG1 approved by the CAB", "chg1.txt", "servicenow")
    assert first.status == "stored" and first.storage_uri.startswith("sharepoint://")
    assert [r["status"] for r in sb.request_log if r["method"] == "PUT"] == [503, 503, 429, 201]

    sb.fail_next(403, count=100, method="PUT")
    denied = lib.ingest(b"asset inventory of the payroll servers", "inventory.txt", "email")
    assert denied.status == "pending" and f"grant app CLIENT_ID={sp_env.client_id}" in denied.reason
    tasks = [a for a in lib.ledger.rows("alerts") if a["kind"] == "permission_task"]
    assert len(tasks) == 1 and sp_env.library_id in tasks[0]["message"]
    sb.scripted.clear()

    sb.fail_next(507, count=100, method="PUT")
    full = lib.ingest(b"vendor risk assessment of Acme", "acme.txt", "email")
    assert full.status == "pending" and lib.ledger.paused("sharepoint")
    seen = len(sb.request_log)
    later = lib.ingest(b"incident report INC7", "inc7.txt", "jira")
    assert later.status == "pending" and "paused" in later.reason and len(sb.request_log) == seen
    assert lib.ingest(EICAR, "eicar.txt", "jira").status == "quarantined"
    assert {a["kind"] for a in lib.ledger.rows("alerts")} == {"permission_task", "quota_pause", "security_alert"}

    sb.scripted.clear()
    lib.ledger.resume("sharepoint")
    done = {o.filename: o.status for o in lib.retry_pending()}
    assert done == {"inventory.txt": "stored", "acme.txt": "stored", "inc7.txt": "stored"}
    assert lib.retry_pending() == [] and len(list(lib.store.list())) == 4
    assert not lib.store.exists(content_address(EICAR))


def test_short_lived_tokens_are_renewed_mid_run(sp_env):
    """Graph tokens living 2 s: a 5 s run keeps writing, signing in again with the certificate as needed; the
    emulator really refuses an expired token (the control)."""
    import time

    import requests

    sb = sp_env.sandbox
    sb.tokens.ttl_seconds = 2
    store = _store()
    stored = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        stored.append(store.put(os.urandom(64)).sha256)
        time.sleep(0.25)
    assert all(store.exists(sha) for sha in stored)
    sign_ins = [r for r in sb.request_log if r["path"].endswith("/oauth2/v2.0/token")]
    assert len(sign_ins) >= 3 and all(r["status"] == 200 for r in sign_ins)
    assert not [r for r in sb.request_log if r["status"] == 401]
    token = sb.tokens.issue(f"{sp_env.tenant_id}/{sp_env.client_id}", sp_env.client_id)["access_token"]
    time.sleep(2.1)
    r = requests.get(f"{sb.graph_url}/drives/{sp_env.library_id}", headers={"Authorization": f"Bearer {token}"},
                     verify=sb.ca_bundle, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_setup_mistakes_name_the_fix(sp_env, monkeypatch):
    from resources.evidence.base import StoreError

    sb = sp_env.sandbox
    sb.store.drives[sp_env.library_id].columns.clear()  # the library's two columns were never created
    with pytest.raises(StoreError, match="create the library columns EvidenceSha256"):
        _store().put(b"needs the metadata columns")
    monkeypatch.setenv("SHAREPOINT_LIBRARY_ID", "b!not-a-library")
    with pytest.raises(StoreError, match="SHAREPOINT_LIBRARY_ID=b!not-a-library is not a document library"):
        _store()
    monkeypatch.setenv("SHAREPOINT_SITE_ID", "contoso.sharepoint.com,unknown,site")
    with pytest.raises(StoreError, match="check SHAREPOINT_SITE_ID"):
        _store()


def test_a_file_kept_short_is_removed_and_the_put_fails_naming_it(sp_env, monkeypatch):
    """What Graph reports it kept is checked: a file named by the content's sha256 but shorter would pass
    for the evidence, so it is deleted and the put fails; the retry stores the whole file."""
    store, data = _store(), os.urandom(2048)
    real = sp_env.sandbox.store.add
    monkeypatch.setattr(sp_env.sandbox.store, "add", lambda drive, parent, name, content: real(
        drive, parent, name, content[:-1]))
    with pytest.raises(StoreUnavailable, match=r"kept 2047 bytes for the 2048-byte evidence file"):
        store.put(data)
    assert list(store.list()) == [] and store.head(content_address(data)) is None
    monkeypatch.setattr(sp_env.sandbox.store, "add", real)
    obj = store.put(data, {"filename": "retry.pdf"})
    assert obj.size == 2048 and store.get(obj.sha256) == data
