"""OneTrust sandbox: control implementations (upsert by externalId) and attestation attachments, attacked."""

from __future__ import annotations

import hashlib

import pytest
import requests

from sandbox.onetrust.fixtures import onetrust_token

IMPL = "/api/controls/v1/control-implementations"
ATTEST = "/api/controls/v1/attestations"


@pytest.fixture
def onetrust_session(make_onetrust_sandbox):
    """A session on a sandbox of its own: these tests write."""
    sb = make_onetrust_sandbox(size=20)
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {onetrust_token(sb)}"
        session.base_url = sb.url  # type: ignore[attr-defined]
        yield session


def test_implementations_upsert_by_external_id_and_reject_bad_bodies(onetrust_session):
    s, base = onetrust_session, onetrust_session.base_url
    body = {"name": "Change approvals", "externalId": "px:SN-CHG-01", "controlIdentifier": "ISO-A.8.32",
            "status": "IMPLEMENTED"}
    first = s.post(base + IMPL, json=body)
    assert first.status_code == 201 and first.json()["controlIdentifier"] == "ISO-A.8.32"
    again = s.post(base + IMPL, json={**body, "status": "PARTIALLY_IMPLEMENTED"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"] and again.json()["version"] == 2
    listed = s.get(base + IMPL, params={"externalId": "px:SN-CHG-01"}).json()
    assert [r["id"] for r in listed["content"]] == [first.json()["id"]] and listed["totalElements"] == 1
    assert s.get(base + IMPL + "/" + first.json()["id"]).json()["status"] == "PARTIALLY_IMPLEMENTED"
    for bad in ({"externalId": "x"}, {**body, "externalId": "y", "controlIdentifier": "ISO-Z.9"},
                {**body, "externalId": "z", "status": "DONE"}):
        r = s.post(base + IMPL, json=bad)
        assert r.status_code == 400 and r.json()["message"], bad
    assert s.post(base + IMPL, data=b"{not json", headers={"Content-Type": "application/json"}).status_code == 400
    assert s.get(base + IMPL + "/no-such-id").status_code == 404
    assert requests.post(base + IMPL, json=body, timeout=10).status_code == 401


def test_attestation_on_an_implementation_with_evidence_attachments(onetrust_session):
    s, base = onetrust_session, onetrust_session.base_url
    impl = s.post(base + IMPL, json={"name": "Incident SLA", "externalId": "px:SN-INC-01"}).json()
    att = s.post(base + ATTEST, json={"controlImplementationId": impl["id"], "externalId": "att-1",
                                       "result": "EFFECTIVE"})
    assert att.status_code == 201 and att.json()["controlImplementationId"] == impl["id"]
    assert s.post(base + ATTEST, json={"controlImplementationId": "nope", "result": "EFFECTIVE"}).status_code == 400
    url = f"{base}{ATTEST}/{att.json()['id']}/attachments"
    up = s.post(url, files={"file": ("minutes.pdf", b"%PDF-1.4 x", "application/pdf")})
    assert up.status_code == 201 and up.json()["sha256"] == hashlib.sha256(b"%PDF-1.4 x").hexdigest()
    assert [a["fileName"] for a in s.get(url).json()["content"]] == ["minutes.pdf"]
    assert s.post(url, data=b"raw", headers={"Content-Type": "application/octet-stream"}).status_code == 415
    assert s.post(url, files={"other": ("a.txt", b"a")}).status_code == 400
    assert s.post(f"{base}{ATTEST}/missing/attachments", files={"file": ("a", b"a")}).status_code == 404
    big = s.post(url, files={"file": ("big.bin", b"0" * (10 * 1024 * 1024 + 1))})
    assert big.status_code == 413
