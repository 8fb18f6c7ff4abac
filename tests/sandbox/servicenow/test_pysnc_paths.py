"""pysnc 1.2.1 paths the other probes do not take: get by field, delete(), null queries, the three
display modes, pop_record/rewind, attachments through a record, the asyncio client, and the
exceptions pysnc raises from the instance's error bodies."""

from __future__ import annotations

import asyncio

import pysnc
import pytest
from pysnc.exceptions import AuthenticationException, NotFoundException, RequestException, RoleException

from sandbox.servicenow import REMEDIATION_TABLE

AUTH = ("integration.user", "sandbox-password")


@pytest.fixture
def client(make_servicenow_sandbox, monkeypatch):
    sb = make_servicenow_sandbox(size=40, tls=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_bundle)
    monkeypatch.setenv("SSL_CERT_FILE", sb.ca_bundle)
    return sb, pysnc.ServiceNowClient(sb.url, AUTH, verify=sb.ca_bundle)


def test_get_by_field_delete_and_null_queries(client):
    sb, c = client
    rec = sb.records("incident")[5]
    gr = c.GlideRecord("incident")
    assert gr.get("number", rec["number"]) and gr.sys_id == rec["sys_id"]
    assert gr.delete() is True and sb.get("incident", rec["sys_id"]) is None
    assert c.GlideRecord("incident").get("number", rec["number"]) is False
    gr = c.GlideRecord("incident")
    gr.add_null_query("assigned_to")
    gr.query()
    assert len(gr) == sum(1 for r in sb.records("incident") if not r["assigned_to"])
    gr = c.GlideRecord("incident", batch_size=4)
    gr.add_not_null_query("assigned_to")
    gr.order_by_desc("number")
    gr.limit = 5
    gr.query()
    numbers = sorted((r["number"] for r in sb.records("incident") if r["assigned_to"]), reverse=True)
    assert [r.number.get_value() for r in gr] == numbers[:5]


def test_display_modes_pop_and_rewind(client):
    sb, c = client
    first = sb.records("incident")[0]
    label = {"1": "1 - Critical", "2": "2 - High", "3": "3 - Moderate", "4": "4 - Low", "5": "5 - Planning"}
    for mode, want in ((True, label[first["priority"]]), (False, first["priority"]),
                       ("all", first["priority"])):
        gr = c.GlideRecord("incident")
        gr.display_value = mode
        gr.add_query("sys_id", first["sys_id"])
        gr.query()
        assert gr.next() and gr.get_value("priority") == want, mode
    gr = c.GlideRecord("incident", batch_size=2)
    gr.order_by("number")
    gr.limit = 3
    gr.query()
    assert gr.next() and gr.next()
    popped = gr.pop_record()
    gr.rewind()
    assert gr.next() and gr.number != popped.number and popped.number.get_value() == sorted(
        r["number"] for r in sb.records("incident"))[1]


def test_record_attachments_and_async_client(client):
    sb, c = client
    gr = c.GlideRecord(REMEDIATION_TABLE)
    gr.initialize()
    gr.short_description = "with a file"
    sys_id = gr.insert()
    gr.add_attachment("notes.txt", b"line one\nline two")
    [att] = list(gr.get_attachments())
    assert (att.file_name, att.readlines()) == ("notes.txt", ["line one", "line two"])

    async def run():
        from pysnc.asyncio import AsyncServiceNowClient
        ac = AsyncServiceNowClient(sb.url, AUTH, verify=sb.ca_bundle)
        try:
            agr = await ac.GlideRecord("incident", batch_size=7)
            agr.add_active_query()
            await agr.query()
            seen = [r.sys_id.get_value() async for r in agr]
            one = await ac.GlideRecord(REMEDIATION_TABLE)
            return seen, await one.get(str(sys_id)), one.short_description.get_value()
        finally:
            await ac.close()

    seen, found, text = asyncio.run(run())
    assert sorted(seen) == sorted(r["sys_id"] for r in sb.records("incident") if r["active"] == "true")
    assert (found, text) == (True, "with a file")


def test_errors_reach_pysnc_as_its_exceptions(client):
    sb, c = client
    with pytest.raises(RequestException) as bad:
        c.GlideRecord("no_such_table").query()
    assert bad.value.args[0] == {"error": {"message": "Invalid table no_such_table", "detail": None},
                                 "status": "failure"}
    with pytest.raises(AuthenticationException):
        wrong = pysnc.ServiceNowClient(sb.url, ("integration.user", "nope"), verify=sb.ca_bundle)
        wrong.GlideRecord("incident").query()
    gr = c.GlideRecord("incident")
    assert gr.get(sb.records("incident")[1]["sys_id"])
    gr.sys_id = "0" * 32
    gr.short_description = "gone"
    with pytest.raises(NotFoundException):
        gr.update()
    dup = c.GlideRecord("incident")
    dup.initialize()
    dup.sys_id = sb.records("incident")[0]["sys_id"]  # a duplicate sys_id: 403 Operation Failed
    with pytest.raises(RoleException):
        dup.insert()
