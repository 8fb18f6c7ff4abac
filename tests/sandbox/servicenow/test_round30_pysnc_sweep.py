"""Round 30: an outside-in sweep with PySNC (ServiceNow's own client) against the sandbox, unchanged: what a
person scripting against an instance does first. Every check is against the seeded rows as the sandbox holds
them (queries compared with the same filter in Python), so a divergence in paging, operators or order fails."""

from __future__ import annotations

import io

import pysnc
from pysnc.auth import ServiceNowPasswordGrantFlow

SIZE = 60


def _count(rows, keep) -> int:
    return sum(1 for r in rows if keep(r))


def test_queries_with_operators_order_and_small_batches_read_every_row_once(env):
    sb, client, _session = env
    inc = sb.records("incident")
    gr = client.GlideRecord("incident", batch_size=7)  # 7 a page: several pages, the last one short
    gr.add_query("priority", "<=", "2")
    gr.order_by("number")
    gr.query()
    numbers = [r.number.get_value() for r in gr]
    assert numbers == sorted(r["number"] for r in inc if int(r["priority"]) <= 2) and len(gr) == len(numbers)
    gr = client.GlideRecord("incident", batch_size=9)
    gr.add_encoded_query("short_descriptionLIKEe^ORDERBYDESCsys_created_on")
    gr.query()
    got = [(r.sys_created_on.get_value(), r.sys_id.get_value()) for r in gr]
    want = sorted((r["sys_created_on"] for r in inc if "e" in r["short_description"].lower()), reverse=True)
    assert [g[0] for g in got] == want and len({g[1] for g in got}) == len(got)
    cases = [
        (lambda g: (g.add_query("state", "IN", "1,2"), g.add_null_query("resolved_at")),
         lambda r: r["state"] in ("1", "2") and not r["resolved_at"]),
        (lambda g: (g.add_active_query(), g.add_query("priority", "1").add_or_condition("priority", "2")),
         lambda r: r["active"] == "true" and r["priority"] in ("1", "2")),
        (lambda g: g.add_encoded_query("priority=1^NQpriority=5"), lambda r: r["priority"] in ("1", "5")),
        (lambda g: g.add_query("priority", "BETWEEN", "1@3"), lambda r: 1 <= int(r["priority"]) <= 3),
        (lambda g: (g.add_query("priority", ">", 2), g.add_query("priority", "<", 5)),
         lambda r: 2 < int(r["priority"]) < 5),
        (lambda g: (g.add_query("number", "ENDSWITH", "1"), g.add_query("state", "NOT IN", "7,8")),
         lambda r: r["number"].endswith("1") and r["state"] not in ("7", "8")),
    ]
    for n, (build, keep) in enumerate(cases):
        gr = client.GlideRecord("incident", batch_size=5)
        build(gr)
        gr.query()
        assert len(gr) == _count(inc, keep) == sum(1 for _ in gr), n
    gr = client.GlideRecord("incident")
    gr.order_by("caller_id")  # a reference orders by the referenced record's display value
    gr.query()
    callers = [r.caller_id.get_display_value() for r in gr]
    assert callers == sorted(callers)


def test_get_insert_update_delete_links_and_limits(env):
    sb, client, session = env
    inc = sb.records("incident")
    gr = client.GlideRecord("incident")
    assert gr.get("number", inc[1]["number"]) and gr.sys_id.get_value() == inc[1]["sys_id"]
    assert not client.GlideRecord("incident").get("0" * 32)
    link = gr.get_link(no_stack=True)
    assert link == f"{sb.url}/incident.do?sys_id={inc[1]['sys_id']}" and session.get(link).status_code == 200
    assert session.get(gr.get_link_list()).status_code == 200
    new = client.GlideRecord("incident")
    new.initialize()
    new.short_description, new.urgency, new.caller_id = "r30 sweep", 1, "Carla Schmidt"  # a reference by name
    sys_id = new.insert()
    again = client.GlideRecord("incident")
    assert again.get(sys_id) and not again.changes()
    again.short_description = "r30 sweep updated"
    assert again.changes() and again.update()
    saved = sb.get("incident", sys_id)
    assert saved["short_description"] == "r30 sweep updated" and saved["priority"] == "3"  # impact 3 x urgency 1
    assert again.caller_id.get_display_value() == "Carla Schmidt"
    assert again.delete() and not client.GlideRecord("incident").get(sys_id)
    limited = client.GlideRecord("incident")
    limited.limit = 3
    limited.query()
    assert sum(1 for _ in limited) == 3 and len(limited) == len(inc)  # X-Total-Count is every match
    dotted = client.GlideRecord("incident")
    dotted.fields = ["number", "caller_id.name"]
    dotted.add_query("sys_id", inc[3]["sys_id"])
    dotted.query()
    assert dotted.next() and set(dotted.serialize()) == {"sys_id", "number", "caller_id.name"}


def test_attachments_through_the_glide_record(env):
    _sb, client, session = env
    gr = client.GlideRecord("problem")
    gr.initialize()
    gr.short_description = "r30 attachments"
    gr.insert()
    gr.add_attachment("a.csv", io.BytesIO(b"a,b\n1,2\n"), "text/csv")
    gr.add_attachment("b.txt", b"hello", "text/plain")
    found = client.Attachment("problem")
    found.add_query("table_sys_id", gr.sys_id.get_value())
    found.add_query("file_name", "a.csv")
    found.query()
    [csv] = list(found)
    assert (csv.file_name, csv.content_type, csv.size_bytes) == ("a.csv", "text/csv", "8")
    assert csv.readlines() == ["a,b", "1,2", ""] and csv.as_temp_file().read() == b"a,b\n1,2\n"
    files = {a.file_name: a.get_link() for a in gr.get_attachments()}
    assert set(files) == {"a.csv", "b.txt"} and session.get(files["b.txt"]).content == b"hello"
    for a in gr.get_attachments():
        a.delete()
    assert len(gr.get_attachments()) == 0


def test_basic_refused_and_the_oauth_password_grant(env):
    sb, _client, _session = env
    creds = sb.credentials
    bad = pysnc.ServiceNowClient(sb.url, (creds["username"], "wrong"), verify=sb.ca_bundle).GlideRecord("incident")
    try:
        bad.query()
        raise AssertionError("a wrong password read the table")
    except pysnc.exceptions.AuthenticationException:
        pass
    flow = ServiceNowPasswordGrantFlow(creds["username"], creds["password"], creds["client_id"],
                                       creds["client_secret"])
    gr = pysnc.ServiceNowClient(sb.url, flow, verify=sb.ca_bundle).GlideRecord("incident", batch_size=25)
    gr.query()
    assert len(gr) == sum(1 for _ in gr) == len(sb.records("incident"))
