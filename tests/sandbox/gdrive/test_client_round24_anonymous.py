"""Round 24: a Drive call with no credential at all (no Authorization header, no access_token) was 401 "Request
had invalid authentication credentials"; Google's front end answers an anonymous caller 403 PERMISSION_DENIED
"Method doesn't allow unregistered callers (callers without established identity)…" (reported for
``GET /drive/v3/files`` in NullLatency/FlowDriver #40). A bad or expired token stays 401 authError."""

from __future__ import annotations

import requests

from tests.sandbox.gdrive.calls import raw
from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]


def test_no_credential_is_403_unregistered_caller(drive, gdrive):
    sb = gdrive.sandbox
    for method, path in (("GET", "/drive/v3/files"), ("GET", f"/drive/v3/files/{gdrive.evidence_folder}"),
                         ("GET", "/drive/v3/about?fields=user"), ("GET", "/drive/v3/changes/startPageToken")):
        answer = requests.request(method, sb.url + path, verify=sb.ca_bundle, timeout=10)
        error = answer.json()["error"]
        assert (answer.status_code, error["code"], error["status"]) == (403, 403, "PERMISSION_DENIED")
        assert error["message"].startswith("Method doesn't allow unregistered callers")
        assert error["errors"][0]["message"] == error["message"]
    bad = raw(gdrive, "GET", "/drive/v3/files", headers={"Authorization": "Bearer nope"})
    assert (bad.status_code, bad.json()["error"]["errors"][0]["reason"]) == (401, "authError")
    basic = requests.get(sb.url + "/drive/v3/files", headers={"Authorization": "Basic eDp5"}, verify=sb.ca_bundle,
                         timeout=10)
    assert basic.status_code == 401
    assert drive.files().get(fileId=gdrive.evidence_folder, fields="id").execute() == {"id": gdrive.evidence_folder}
