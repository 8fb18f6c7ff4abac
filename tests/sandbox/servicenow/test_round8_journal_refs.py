"""Round 8, pysnc 1.2.1 and documented raw calls: journal fields (comments, work_notes and the task's
journal list comments_and_work_notes, sys_journal_field rows) and reference fields written by display
value (resolved to the sys_id with or without sysparm_input_display_value; the emulator stored the name)."""

from __future__ import annotations

import re

import pysnc

ENTRY = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - ([^\n]+?) \((Additional comments|Work notes)\)\n(.*?)\n\n"
                   r"(?=\d{4}-\d\d-\d\d |\Z)", re.S)


SIZE = 60  # incidents in this module's sandbox (the shared env fixture)


def _entries(text: str) -> list[tuple[str, str, str]]:
    found = ENTRY.findall(text)
    assert "".join(m.group(0) for m in ENTRY.finditer(text)) == text  # nothing but entries
    return found


def test_journal_writes_add_entries_read_newest_first_and_query_sys_journal_field(env):
    sb, client, s = env
    sid = sb.records("incident")[0]["sys_id"]
    gr = client.GlideRecord("incident")
    assert gr.get(sid)
    gr.comments = "first comment"
    gr.update()
    gr.work_notes = "a work note"
    gr.comments = "second comment"
    gr.update()

    again = client.GlideRecord("incident")  # pysnc reads sysparm_display_value=all
    assert again.get(sid)
    assert again.comments.get_value() == "" and again.work_notes.get_value() == ""
    assert _entries(again.comments.get_display_value()) == [
        ("Integration User", "Additional comments", "second comment"),
        ("Integration User", "Additional comments", "first comment")]
    assert _entries(again.work_notes.get_display_value()) == [("Integration User", "Work notes", "a work note")]
    both = again.get_element("comments_and_work_notes")
    assert both.get_value() == ""
    assert [e[2] for e in _entries(both.get_display_value())] == ["a work note", "second comment", "first comment"]

    raw = s.get(f"{sb.url}/api/now/table/incident/{sid}",
                params={"sysparm_fields": "comments,work_notes,comments_and_work_notes"}).json()["result"]
    assert raw == {"comments": "", "work_notes": "", "comments_and_work_notes": ""}
    shown = s.get(f"{sb.url}/api/now/table/incident/{sid}", params={
        "sysparm_fields": "comments_and_work_notes", "sysparm_display_value": "true"}).json()["result"]
    assert shown["comments_and_work_notes"] == both.get_display_value()

    r = s.get(f"{sb.url}/api/now/table/sys_journal_field",
              params={"sysparm_query": f"element_id={sid}^ORDERBYsys_created_on", "sysparm_fields":
                      "element,element_id,name,value,sys_created_by,sys_created_on"})
    rows = r.json()["result"]
    assert sorted((x["element"], x["value"]) for x in rows) == [
        ("comments", "first comment"), ("comments", "second comment"), ("work_notes", "a work note")]
    assert {(x["name"], x["element_id"], x["sys_created_by"]) for x in rows} == {
        ("incident", sid, "integration.user")}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", x["sys_created_on"]) for x in rows)

    column = s.get(f"{sb.url}/api/now/table/sys_dictionary", params={
        "sysparm_query": "name=task^element=comments_and_work_notes", "sysparm_fields": "internal_type"})
    assert column.json()["result"] == [{"internal_type": "journal_list"}]

    # the journal list is not written itself: a write to it adds no entry
    s.patch(f"{sb.url}/api/now/table/incident/{sid}", json={"comments_and_work_notes": "ignored"})
    assert len(s.get(f"{sb.url}/api/now/table/sys_journal_field",
                     params={"sysparm_query": f"element_id={sid}"}).json()["result"]) == 3


def test_reference_fields_take_a_display_value_and_resolve_it_to_the_sys_id(env):
    sb, client, s = env
    users = sb.records("sys_user")
    names = [u["name"] for u in users]
    one, other = next(u for u in users if names.count(u["name"]) == 1), users[-2]
    group = sb.records("sys_user_group")[0]
    sid = sb.records("incident")[1]["sys_id"]

    gr = client.GlideRecord("incident")
    assert gr.get(sid)
    gr.assigned_to = one["name"]
    gr.update()
    assert sb.get("incident", sid)["assigned_to"] == one["sys_id"]
    check = client.GlideRecord("incident")
    assert check.get(sid) and check.assigned_to.get_display_value() == one["name"]

    # documented raw POST without sysparm_input_display_value: references by name, choices raw
    r = s.post(f"{sb.url}/api/now/table/incident", json={
        "short_description": "by display", "caller_id": other["name"], "assignment_group": group["name"],
        "urgency": "2"})
    assert r.status_code == 201
    made = r.json()["result"]
    assert made["caller_id"]["value"] == other["sys_id"] and made["assignment_group"]["value"] == group["sys_id"]
    # a value that names no record is kept as given (an invalid reference), a sys_id as is
    r = s.patch(f"{sb.url}/api/now/table/incident/{made['sys_id']}",
                json={"assigned_to": "Nobody Bythatname", "caller_id": one["sys_id"]})
    assert r.json()["result"]["assigned_to"]["value"] == "Nobody Bythatname"
    assert r.json()["result"]["caller_id"]["value"] == one["sys_id"]

    # sysparm_input_display_value=true: choice labels too
    r = s.patch(f"{sb.url}/api/now/table/incident/{made['sys_id']}",
                params={"sysparm_input_display_value": "true", "sysparm_display_value": "all"},
                json={"assigned_to": one["name"], "urgency": "1 - High", "state": "In Progress"})
    out = r.json()["result"]
    assert out["assigned_to"]["value"] == one["sys_id"] and out["assigned_to"]["display_value"] == one["name"]
    assert (out["urgency"]["value"], out["state"]["value"]) == ("1", "2")


def test_a_user_without_roles_reads_the_comments_of_its_own_records_only(env):
    sb, client, _ = env
    me = sb.add_user("ess.journal", "Ess-1")
    mine = sb.insert("incident", {"short_description": "My screen", "caller_id": me["sys_id"]})
    other = sb.records("incident")[0]["sys_id"]
    for sid in (mine["sys_id"], other):
        sb.update("incident", sid, {"comments": "visible to the caller", "work_notes": "internal"})
    everything = client.GlideRecord("sys_journal_field")
    everything.add_query("element_id", "IN", f"{mine['sys_id']},{other}")
    everything.query()
    assert everything.get_row_count() == 4
    ess = pysnc.ServiceNowClient(sb.url, ("ess.journal", "Ess-1"), verify=sb.ca_bundle)
    gr = ess.GlideRecord("sys_journal_field")
    gr.add_query("element_id", "IN", f"{mine['sys_id']},{other}")
    gr.query()
    assert [(x.element_id.get_value(), x.element.get_value(), x.value.get_value()) for x in gr] == [
        (mine["sys_id"], "comments", "visible to the caller")]
