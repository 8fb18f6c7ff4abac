"""Round 31: ServiceNow's own Python client, pysnc (1.2.1), unchanged against the ServiceNow sandbox over TLS.

Every GlideRecord path a connector author reaches for: query / add_query / add_encoded_query / get, insert, update,
delete, paging by ``batch_size`` (pysnc reads only X-Total-Count), chained conditions (``add_or_condition``) and
chained dot-walks (``gr.assigned_to.manager.name`` with the dot-walked fields asked for), ``display_value`` ``all`` /
True / False and the per-field ``set_display_value``, ``add_active_query``, ``order_by`` / ``order_by_desc``,
``fields``, and attachments (``add_attachment`` / ``get_attachments``). Each result is compared with the sandbox's
own rows, so a deviation in what the sandbox serves fails here. pysnc 1.2.1 has no ``chain`` method: "chain" is read
as chained conditions and dot-walks.
"""

from __future__ import annotations

import pysnc
import pytest
from pysnc.exceptions import NotFoundException

AUTH = ("integration.user", "sandbox-password")
SIZE = 40


@pytest.fixture
def env(make_servicenow_sandbox, monkeypatch):
    """(sandbox, pysnc client) on a TLS sandbox (pysnc rejects http://); requests reads REQUESTS_CA_BUNDLE before
    a session's ``verify``, so it points at the sandbox's CA."""
    sb = make_servicenow_sandbox(size=SIZE, tls=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_bundle)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return sb, pysnc.ServiceNowClient(sb.url, AUTH, verify=sb.ca_bundle)


def _ids(rows) -> list[str]:
    return [r["sys_id"] for r in rows]


def test_batched_query_with_active_query_and_order_reads_every_match_once(env):
    sb, client = env
    active = sorted((r for r in sb.records("incident") if r["active"] == "true"), key=lambda r: r["number"])
    assert 7 < len(active) < SIZE, "the seed has active and inactive incidents"
    gr = client.GlideRecord("incident", batch_size=7)
    gr.add_active_query()
    gr.order_by("number")
    gr.query()
    assert gr.get_encoded_query() == "active=true^ORDERBYnumber"
    assert len(gr) == len(active)  # X-Total-Count: the match count, not the page
    assert [r.number.get_value() for r in gr] == [r["number"] for r in active]

    desc = client.GlideRecord("incident", batch_size=5)
    desc.add_active_query()
    desc.order_by_desc("number")
    desc.query()
    assert [r.get_value("number") for r in desc] == [r["number"] for r in reversed(active)]


def test_add_query_operators_chained_or_and_encoded_query(env):
    sb, client = env
    rows = sb.records("incident")
    gr = client.GlideRecord("incident", batch_size=10)
    gr.add_query("priority", "1").add_or_condition("priority", "2")
    gr.add_query("number", ">=", "INC0010005")
    gr.add_encoded_query("short_descriptionISNOTEMPTY")
    gr.query()
    want = {r["sys_id"] for r in rows if r["priority"] in ("1", "2") and r["number"] >= "INC0010005"
            and r["short_description"]}
    assert want and {r.sys_id.get_value() for r in gr} == want

    none = client.GlideRecord("incident")
    none.add_query("number", "INC9999999")
    none.query()
    assert len(none) == 0 and not none.next()


def test_display_value_all_true_false_and_per_field_set_display_value(env):
    sb, client = env
    inc = next(r for r in sb.records("incident") if r["assigned_to"] and r["priority"] == "1")
    user = sb.get("sys_user", inc["assigned_to"])
    gr = client.GlideRecord("incident")  # pysnc's default: display_value "all", reference links excluded
    assert gr.get(inc["sys_id"])
    assert gr.priority.get_value() == "1" and gr.priority.get_display_value() == "1 - Critical"
    assert gr.assigned_to.get_value() == inc["assigned_to"]
    assert gr.assigned_to.get_display_value() == user["name"]
    assert gr.get_display_value("priority") == "1 - Critical" and gr.get_value("priority") == "1"

    raw = client.GlideRecord("incident")
    raw.display_value = False
    raw.exclude_reference_link = False
    assert raw.get(inc["sys_id"])
    assert raw.priority.get_value() == "1" and raw.assigned_to.get_value() == inc["assigned_to"]
    assert raw.assigned_to.get_link().endswith(f"/api/now/table/sys_user/{inc['assigned_to']}")

    shown = client.GlideRecord("incident")
    shown.display_value = True
    assert shown.get(inc["sys_id"])
    assert shown.priority.get_value() == "1 - Critical" and shown.assigned_to.get_value() == user["name"]

    gr.set_display_value("priority", "2 - High")  # a local display value: pysnc sends the (raw) value only
    assert gr.priority.get_display_value() == "2 - High" and gr.priority.get_value() == "1"
    assert gr.update() == inc["sys_id"]
    assert sb.get("incident", inc["sys_id"])["priority"] == "1"
    assert gr.priority.get_display_value() == "1 - Critical", "the PATCH's answer is read back as display_value all"


def test_fields_and_chained_dot_walks(env):
    sb, client = env
    inc = next(r for r in sb.records("incident") if r["assigned_to"]
               and (sb.get("sys_user", r["assigned_to"]) or {}).get("manager"))
    manager = sb.get("sys_user", sb.get("sys_user", inc["assigned_to"])["manager"])
    gr = client.GlideRecord("incident")
    gr.fields = ["number", "assigned_to", "assigned_to.manager", "assigned_to.manager.name"]
    gr.add_query("sys_id", inc["sys_id"])
    gr.query()
    assert gr.next()
    assert gr.fields == ["sys_id", "number", "assigned_to", "assigned_to.manager", "assigned_to.manager.name"]
    assert gr.assigned_to.manager.get_value() == manager["sys_id"]
    assert gr.assigned_to.manager.name.get_value() == manager["name"]
    assert gr.number.get_value() == inc["number"]
    assert "short_description" not in gr.serialize()  # not asked for: not served


def test_insert_update_delete_round_trip(env):
    sb, client = env
    gr = client.GlideRecord("incident")
    gr.initialize()
    gr.short_description = "round 31 pysnc"
    gr.priority = "2"
    sys_id = gr.insert()
    stored = sb.get("incident", str(sys_id))
    assert stored["short_description"] == "round 31 pysnc" and stored["number"].startswith("INC")
    assert gr.priority.get_display_value() == "2 - High", "the insert's answer is read back as display_value all"

    again = client.GlideRecord("incident")
    assert again.get("number", stored["number"]) and again.sys_id.get_value() == str(sys_id)
    again.short_description = "round 31 pysnc, updated"
    assert again.update() == str(sys_id)
    assert sb.get("incident", str(sys_id))["short_description"] == "round 31 pysnc, updated"
    assert again.delete()
    assert sb.get("incident", str(sys_id)) is None
    assert not client.GlideRecord("incident").get(str(sys_id))


def test_attachments_add_list_read_and_delete(env):
    sb, client = env
    gr = client.GlideRecord("incident")
    assert gr.get(sb.records("incident")[0]["sys_id"])
    before = len(gr.get_attachments())
    location = gr.add_attachment("notes.txt", b"line one\nline two", "text/plain")
    assert "/api/now/attachment/" in location
    gr.add_attachment("blob.bin", bytes(range(256)))
    assert len(gr.get_attachments()) == before + 2
    seen = set()
    for att in gr.get_attachments():  # pysnc's iterator yields itself, moved to each attachment in turn
        name = str(att.file_name)
        seen.add(name)
        if name == "notes.txt":
            assert att.readlines() == ["line one", "line two"] and str(att.content_type) == "text/plain"
            assert str(att.size_bytes) == "17"
            att.delete()
        elif name == "blob.bin":
            assert att.read() == bytes(range(256))
    assert {"notes.txt", "blob.bin"} <= seen
    assert [str(a.file_name) for a in gr.get_attachments()].count("notes.txt") == 0
    assert len(gr.get_attachments()) == before + 1

    gone = client.GlideRecord("incident")
    assert gone.get(sb.records("incident")[1]["sys_id"])
    sb.delete("incident", gone.sys_id.get_value())
    with pytest.raises(NotFoundException):
        gone.add_attachment("late.txt", b"late", "text/plain")


def test_update_multiple_and_delete_multiple_through_the_batch_api(env):
    sb, client = env
    for i in range(5):
        gr = client.GlideRecord("problem")
        gr.initialize()
        gr.short_description = f"r31 bulk {i}"
        gr.insert()
    bulk = client.GlideRecord("problem", batch_size=2)
    bulk.add_query("short_description", "STARTSWITH", "r31 bulk")
    bulk.query()
    assert len(bulk) == 5
    for rec in bulk:
        rec.description = "bulk edited"
    assert bulk.update_multiple()
    mine = [r for r in sb.records("problem") if r["short_description"].startswith("r31 bulk")]
    assert len(mine) == 5 and {r["description"] for r in mine} == {"bulk edited"}

    gone = client.GlideRecord("problem", batch_size=2)
    gone.add_query("short_description", "STARTSWITH", "r31 bulk")
    gone.add_null_query("close_notes")
    gone.query()
    assert gone.delete_multiple()
    assert not [r for r in sb.records("problem") if r["short_description"].startswith("r31 bulk")]


def test_a_forward_only_query_pages_without_keeping_rows(env):
    sb, client = env
    want = sorted(r["sys_id"] for r in sb.records("incident"))
    once = client.GlideRecord("incident", batch_size=6, rewindable=False)
    once.fields = "sys_id"
    once.query()
    got = []
    while once.next():  # next(), not a for loop: pysnc 1.2.1's forward-only iterator drops a page's last row
        got.append(once.get_value("sys_id"))  # client-side (it clears results[-1] on a page's first row)
    assert got == want, "pysnc's default ORDERBYsys_id, every row once across pages"
