"""ServiceNow's own Python client (pysnc 1.2.1), unchanged, against the TLS sandbox."""

from __future__ import annotations

import pysnc
import pytest

from sandbox.servicenow import REMEDIATION_TABLE

AUTH = ("integration.user", "sandbox-password")


@pytest.fixture
def tls_sandbox(make_servicenow_sandbox, monkeypatch):
    sb = make_servicenow_sandbox(size=120, tls=True)
    # requests prefers REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE over session.verify (pysnc merges env settings),
    # so point them at the sandbox CA, as a user of the sandbox would.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_bundle)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return sb


@pytest.fixture
def client(tls_sandbox):
    assert tls_sandbox.url.startswith("https://")
    return pysnc.ServiceNowClient(tls_sandbox.url, AUTH, verify=tls_sandbox.ca_bundle)


def test_query_with_encoded_query_and_small_batches(tls_sandbox, client):
    gr = client.GlideRecord("incident", batch_size=3)
    gr.add_encoded_query("priority<=3^active=true")
    gr.query()
    got = [(r.sys_id.get_value(), r.number.get_value()) for r in gr]
    expected = sorted((r["sys_id"], r["number"]) for r in tls_sandbox.records("incident")
                      if int(r["priority"]) <= 3 and r["active"] == "true")
    assert got == expected  # pysnc appends ORDERBYsys_id
    assert len(got) > 6 and len(gr) == len(expected)
    pages = [x for x in tls_sandbox.request_log if x["path"] == "/api/now/table/incident"]
    assert len(pages) >= len(expected) // 3


def test_get_and_display_values(tls_sandbox, client):
    rec = next(r for r in tls_sandbox.records("incident") if r["assigned_to"])
    gr = client.GlideRecord("incident")
    assert gr.get(rec["sys_id"]) is True
    assert gr.number == rec["number"]
    users = {u["sys_id"]: u["name"] for u in tls_sandbox.records("sys_user")}
    assert gr.get_display_value("assigned_to") == users[rec["assigned_to"]]
    assert gr.get_value("assigned_to") == rec["assigned_to"]
    assert client.GlideRecord("incident").get("0" * 32) is False


def test_insert_and_update(tls_sandbox, client):
    gr = client.GlideRecord(REMEDIATION_TABLE)
    gr.initialize()
    gr.short_description = "Remediate CI without owner"
    gr.correlation_id = "pjx-42"
    gr.priority = 2
    sys_id = gr.insert()
    assert sys_id and gr.number.get_value().startswith("RTASK")
    stored = tls_sandbox.get(REMEDIATION_TABLE, str(sys_id))
    assert stored["correlation_id"] == "pjx-42" and stored["priority"] == "2"

    gr2 = client.GlideRecord(REMEDIATION_TABLE)
    assert gr2.get(str(sys_id))
    gr2.state = "3"
    assert gr2.update()
    stored = tls_sandbox.get(REMEDIATION_TABLE, str(sys_id))
    assert stored["state"] == "3" and stored["active"] == "false" and stored["sys_mod_count"] == "1"


def test_attachment_upload_and_download(tls_sandbox, client):
    target = tls_sandbox.records("incident")[3]["sys_id"]
    location = client.Attachment("incident").add_attachment(target, "evidence.txt", b"hello evidence", "text/plain")
    assert location.startswith(f"{tls_sandbox.url}/api/now/attachment/")
    att = client.Attachment("incident")
    att.add_query("table_sys_id", target)
    att.query()
    files = {a.file_name: a.read() for a in att}
    assert files["evidence.txt"] == b"hello evidence"


def test_oauth_flows(tls_sandbox):
    for flow in (pysnc.ServiceNowClientCredentialsFlow("sandbox-client", "sandbox-secret"),
                 pysnc.ServiceNowPasswordGrantFlow("integration.user", "sandbox-password", "sandbox-client",
                                                   "sandbox-secret")):
        c = pysnc.ServiceNowClient(tls_sandbox.url, flow, verify=tls_sandbox.ca_bundle)
        gr = c.GlideRecord("sys_user_group")
        gr.query()
        assert len(gr) == len(tls_sandbox.records("sys_user_group"))


def test_batch_api_long_query_and_bulk_writes(tls_sandbox, client):
    numbers = [r["number"] for r in tls_sandbox.records("incident")[:60]]
    gr = client.GlideRecord("incident", batch_size=200)
    gr.add_encoded_query("numberIN" + ",".join(numbers) + "^" + "short_descriptionISNOTEMPTY^" * 600)
    gr.query()  # > 10000 chars of parameters -> pysnc sends it through /api/now/v1/batch
    assert sorted(r.number.get_value() for r in gr) == sorted(numbers)
    assert any(x["path"] == "/api/now/v1/batch" for x in tls_sandbox.request_log)

    gr = client.GlideRecord("incident")
    gr.add_query("priority", "5")
    gr.query()
    ids = set()
    for r in gr:
        ids.add(r.sys_id.get_value())
        r.urgency = "2"
    assert gr.update_multiple()
    after = {r["sys_id"]: r for r in tls_sandbox.records("incident")}
    assert ids and all(after[i]["urgency"] == "2" and after[i]["priority"] == "4" for i in ids)  # matrix rule

    gr = client.GlideRecord("incident")
    gr.add_query("short_description", "LIKE", "printer")
    doomed = len([r for r in tls_sandbox.records("incident") if "printer" in r["short_description"].lower()])
    assert gr.delete_multiple()
    assert len(tls_sandbox.deleted) >= doomed > 0
