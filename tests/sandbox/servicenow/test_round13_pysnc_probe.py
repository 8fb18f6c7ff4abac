"""Round 13, pysnc 1.2.1 used as a customer would: its less common calls against the sandbox -- get by
sys_id and by field, the display modes, exclude_reference_link, update_multiple / delete_multiple (Batch
API), a record's attachments and client.Attachment (add, get, read, delete), serialize_all, changes(),
set_new_guid_value, batching with order_by, and the query helpers (active, null, not null, join, RL)."""

from __future__ import annotations

import pysnc

SIZE = 30


def _mark(sb, tag: str, n: int, **extra) -> list[str]:
    return [sb.insert("incident", {"short_description": f"{tag} {i}", **extra})["sys_id"] for i in range(n)]


def test_get_display_modes_and_reference_links(env):
    sb, client, _ = env
    first = sb.records("incident")[0]
    gr = client.GlideRecord("incident")
    assert gr.get(first["sys_id"])
    assert gr.number == first["number"] and gr.get_value("sys_id") == first["sys_id"]
    by_number = client.GlideRecord("incident")
    assert by_number.get("number", first["number"]) and by_number.sys_id == first["sys_id"]
    assert not client.GlideRecord("incident").get("0" * 32)
    assert not client.GlideRecord("incident").get("number", "INC_NOPE")

    assigned = next(r for r in sb.records("incident") if r.get("assigned_to"))
    shown = client.GlideRecord("incident")
    shown.display_value = True
    assert shown.get(assigned["sys_id"])
    assert shown.get_value("assigned_to") != assigned["assigned_to"]  # the name, not the sys_id
    both = client.GlideRecord("incident")
    both.display_value = "all"
    both.exclude_reference_link = False  # pysnc asks without links by default
    assert both.get(assigned["sys_id"])
    assert both.get_value("assigned_to") == assigned["assigned_to"]
    assert both.get_display_value("assigned_to") == shown.get_value("assigned_to")
    assert both.assigned_to.get_link().endswith(f"/sys_user/{assigned['assigned_to']}")
    bare = client.GlideRecord("incident")
    bare.exclude_reference_link = True
    assert bare.get(assigned["sys_id"])
    assert bare.get_value("assigned_to") == assigned["assigned_to"] and bare.assigned_to.get_link() is None

    rows = both.serialize_all(display_value="both")
    assert rows[0]["assigned_to"]["value"] == assigned["assigned_to"]
    assert rows[0]["assigned_to"]["display_value"] == shown.get_value("assigned_to")
    assert bare.serialize_all(display_value=True)[0]["number"] == assigned["number"]


def test_update_multiple_delete_multiple_changes_and_new_guid(env):
    sb, client, _ = env
    ids = _mark(sb, "r13multi", 5)
    gr = client.GlideRecord("incident")
    gr.add_query("short_description", "STARTSWITH", "r13multi")
    gr.query()
    assert len(gr) == 5
    for rec in gr:
        assert not rec.changes()
        rec.urgency = "1"
        assert rec.changes() and rec.urgency.changes()
    assert gr.update_multiple()
    assert {sb.get("incident", i)["urgency"] for i in ids} == {"1"}

    gone = client.GlideRecord("incident")
    gone.add_query("short_description", "STARTSWITH", "r13multi")
    assert gone.delete_multiple()
    assert all(sb.get("incident", i) is None for i in ids)

    new = client.GlideRecord("incident")
    new.initialize()
    guid = "ab" * 16
    new.set_new_guid_value(guid)
    new.short_description = "r13 guid"
    assert new.insert() == guid
    assert sb.get("incident", guid)["short_description"] == "r13 guid"


def test_attachments_through_the_record_and_the_client(env):
    sb, client, _ = env
    target = sb.insert("incident", {"short_description": "r13 attach"})["sys_id"]
    gr = client.GlideRecord("incident")
    assert gr.get(target)
    location = gr.add_attachment("notes.txt", b"line one\nline two", "text/plain")
    assert "/api/now/attachment/" in location
    atts = gr.get_attachments()
    assert len(atts) == 1
    for a in atts:
        assert a.file_name == "notes.txt" and a.read() == b"line one\nline two"
        assert a.readlines() == ["line one", "line two"]
        att_id = a.sys_id

    api = client.Attachment("incident")
    api.add_query("table_sys_id", target)
    api.query()
    assert len(api) == 1 and api.next() and api.sys_id == att_id
    one = client.Attachment("incident")
    assert one.get(att_id) and one.file_name == "notes.txt" and one.read() == b"line one\nline two"
    one.delete()
    assert not client.Attachment("incident").get(att_id)
    again = gr.get_attachments()
    assert len(again) == 0


def test_batches_with_order_and_the_query_helpers(env):
    sb, client, _ = env
    want = sorted((r["number"] for r in sb.records("incident")), reverse=True)
    gr = client.GlideRecord("incident", batch_size=7)
    gr.order_by_desc("number")
    gr.fields = "number"
    gr.query()
    assert [r.number for r in gr] == want and len(gr) == len(want)
    asc = client.GlideRecord("incident", batch_size=4)
    asc.order_by("number")
    asc.limit = 10
    asc.query()
    assert [r.get_value("number") for r in asc] == sorted(want)[:10]

    active = client.GlideRecord("incident")
    active.add_active_query()
    active.query()
    assert len(active) == sum(r["active"] in ("true", "1") for r in sb.records("incident"))
    null = client.GlideRecord("incident")
    null.add_null_query("assigned_to")
    null.query()
    not_null = client.GlideRecord("incident")
    not_null.add_not_null_query("assigned_to")
    not_null.query()
    assert len(null) + len(not_null) == len(want) and len(not_null) > 0

    # users who are the caller of some incident (JOIN) and users with no assigned incident (RLQUERY)
    callers = {r["caller_id"] for r in sb.records("incident") if r.get("caller_id")}
    users = client.GlideRecord("sys_user")
    users.add_join_query("incident", join_table_field="caller_id")
    users.query()
    assert {u.sys_id for u in users} == callers
    idle = client.GlideRecord("sys_user")
    idle.add_rl_query("incident", "assigned_to", "=0")
    idle.query()
    busy = {r["assigned_to"] for r in sb.records("incident") if r.get("assigned_to")}
    every = {r["sys_id"] for r in sb.records("sys_user")}
    assert {u.sys_id for u in idle} == every - busy


def test_more_paths_a_customer_takes(env, tmp_path):
    sb, client, s = env
    ids = _mark(sb, "r13many", 120)
    gr = client.GlideRecord("incident", batch_size=50)
    gr.add_query("short_description", "STARTSWITH", "r13many")
    gr.fields = ["sys_id", "urgency", "work_notes"]
    gr.query()
    for rec in gr:
        rec.urgency = "3"
        rec.work_notes = "bulk note"
    assert gr.update_multiple()
    assert {sb.get("incident", i)["urgency"] for i in ids} == {"3"}
    noted = client.GlideRecord("incident")
    noted.add_query("sys_id", ids[0])
    noted.add_query("work_notes", "CONTAINS", "bulk note")
    noted.query()
    assert len(noted) == 1

    # links to the UI pages a record and its list
    one = client.GlideRecord("incident")
    one.display_value = True
    assert one.get("number", sb.get("incident", ids[1])["number"])
    page = s.get(one.get_link(no_stack=True), auth=("integration.user", "sandbox-password"))
    assert page.status_code == 200 and sb.get("incident", ids[1])["number"] in page.text
    lst = client.GlideRecord("incident")
    lst.add_query("short_description", "r13many 7")
    listing = s.get(lst.get_link_list(), auth=("integration.user", "sandbox-password"))
    assert listing.status_code == 200 and sb.get("incident", ids[7])["number"] in listing.text
    one.short_description = "r13 renamed"
    assert one.update() == ids[1]
    assert sb.get("incident", ids[1])["short_description"] == "r13 renamed"

    # attachments: streams, write_to a folder, a query on the file name, the table's attachments
    target = client.GlideRecord("incident")
    assert target.get(ids[2])
    target.add_attachment("a.csv", b"x,y\n1,2\n", "text/csv")
    target.add_attachment("b.bin", bytes(range(256)) * 300)
    by_name = client.Attachment("incident")
    by_name.add_query("file_name", "b.bin")
    by_name.query()
    assert len(by_name) == 1 and by_name.next()
    assert by_name.as_temp_file().read() == bytes(range(256)) * 300
    assert by_name.write_to(tmp_path).read_bytes() == bytes(range(256)) * 300
    assert by_name.size_bytes == str(256 * 300) and by_name.content_type == "application/octet-stream"
    table_wide = client.Attachment("incident")
    table_wide.query()
    assert {a.file_name for a in table_wide} >= {"a.csv", "b.bin"}
    none = client.Attachment("problem")
    none.query()
    assert len(none) == 0 and not none.next()

    # IN and OR conditions, dot-walked fields
    either = client.GlideRecord("incident")
    cond = either.add_query("priority", "1")
    cond.add_or_condition("priority", "2")
    either.fields = ["number", "priority", "assigned_to.name"]
    either.query()
    got = [(r.number, r.priority) for r in either]
    assert got and {p for _, p in got} <= {"1", "2"}
    want = sum(r["priority"] in ("1", "2") for r in sb.records("incident"))
    assert len(got) == want
    ins = client.GlideRecord("incident")
    ins.add_query("priority", "IN", "1,2")
    ins.query()
    assert ins.get_row_count() == want


def test_join_conditions_reference_updates_and_dates(env):
    sb, client, _ = env
    urgent_callers = {r["caller_id"] for r in sb.records("incident") if r["priority"] == "1" and r.get("caller_id")}
    users = client.GlideRecord("sys_user")
    join = users.add_join_query("incident", join_table_field="caller_id")
    join.add_query("priority", "1")
    users.query()
    assert {u.sys_id for u in users} == urgent_callers
    admins = client.GlideRecord("sys_user")
    rl = admins.add_rl_query("sys_user_has_role", "user", ">0", True)
    rl.add_query("role.name", "admin")
    admins.query()
    assert len(admins) > 0

    gr = client.GlideRecord("incident")
    gr.limit = 1
    gr.query()
    assert gr.next()
    user = sb.records("sys_user")[3]
    gr.assigned_to = user["sys_id"]
    assert gr.update()
    assert gr.get_display_value("assigned_to") == user["name"]  # the answer's display value, spliced in
    assert gr.opened_at.date_value().strftime("%Y-%m-%d %H:%M:%S") == gr.get_value("opened_at")
    gone = gr.sys_id
    assert gr.delete() and not client.GlideRecord("incident").get(gone)


def test_pysnc_version():
    assert pysnc.__version__ == "1.2.1"
