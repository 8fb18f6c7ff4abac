"""Round 24: the examples of PySNC's own user guide (docs/user/advanced.rst, getting_started.rst) run
against the sandbox as written."""

from __future__ import annotations

SIZE = 60


def test_documented_dot_walk_through_the_callers_department(env):
    """advanced.rst "Dot Walking": opened_by.department.dept_head, by get_value/get_display_value, and by
    attribute access, which needs each hop among the fields (as PySNC's own test_dotwalk_with_element asks
    them) and a reference that is not empty (pysnc raises AttributeError on an empty one)."""
    sb, client, session = env
    gr = client.GlideRecord("problem")
    gr.fields = "sys_id,opened_by,opened_by.email,opened_by.department.dept_head"
    gr.query()
    assert gr.next()
    head = gr.get_value("opened_by.department.dept_head")
    assert len(head) == 32 and gr.get_value("opened_by.email").endswith("@example.com")
    user = session.get(f"{sb.url}/api/now/table/sys_user/{head}", params={"sysparm_fields": "name"}).json()
    assert gr.get_display_value("opened_by.department.dept_head") == user["result"]["name"]
    gr = client.GlideRecord("problem")
    gr.fields = "sys_id,opened_by,opened_by.department,opened_by.department.dept_head"
    gr.query()
    assert gr.next()
    element = gr.opened_by.department.dept_head
    assert element.get_value() == gr.get_value("opened_by.department.dept_head") and not element.nil()


def test_users_belong_to_departments_whose_heads_are_members(env):
    sb, _client, session = env
    url = f"{sb.url}/api/now/table/sys_user"
    users = session.get(url, params={"sysparm_fields": "sys_id,user_name,title,department,department.name",
                                     "sysparm_exclude_reference_link": "true"}).json()["result"]
    by_user = {u["user_name"]: u for u in users}
    assert by_user["integration.user"]["department"] == ""  # the service account works in none
    staff = [u for u in users if u["user_name"] != "integration.user" and not u["user_name"].startswith("ess.")]
    assert staff and all(u["department"] for u in staff)
    assert {u["department.name"] for u in staff if u["title"] == "Privacy Officer"} <= {"Legal"}
    depts = session.get(f"{sb.url}/api/now/table/cmn_department", params={
        "sysparm_fields": "sys_id,name,dept_head", "sysparm_exclude_reference_link": "true"}).json()["result"]
    members = {}
    for u in staff:
        members.setdefault(u["department"], []).append(u["sys_id"])
    for dept in depts:
        if dept["name"] == "Finance":  # the demo data's, headed by Natasha Ingram (`well_known`)
            assert by_user["natasha.ingram"]["sys_id"] == dept["dept_head"] in members[dept["sys_id"]]
        elif dept["sys_id"] in members:  # its first member in sys_user order heads it
            assert dept["dept_head"] == members[dept["sys_id"]][0]
        else:
            assert dept["dept_head"] == ""
    # the encoded query walks the same references
    it = session.get(url, params={"sysparm_query": "department.name=IT", "sysparm_fields": "sys_id"})
    assert {r["sys_id"] for r in it.json()["result"]} == {u["sys_id"] for u in staff if u["department.name"] == "IT"}


def test_documented_join_serialize_and_or_examples(env):
    """advanced.rst "Join Queries" and "Serialization", getting_started.rst's OR condition."""
    sb, client, _session = env
    gr = client.GlideRecord("sys_user")
    join = gr.add_join_query("sys_user_group", join_table_field="manager")
    join.add_query("active", "true")
    gr.query()
    managers = {g["manager"] for g in sb.records("sys_user_group") if g["active"] == "true" and g["manager"]}
    assert sorted(r.sys_id.get_value() for r in gr) == sorted(managers)
    gr = client.GlideRecord("problem")
    gr.fields = "sys_id,short_description,state"
    gr.query()
    assert gr.next()
    assert set(gr.serialize()) == {"sys_id", "short_description", "state"}
    both = gr.serialize(display_value="both")["state"]
    assert both["value"] == gr.get_value("state") and both["display_value"] == gr.get_display_value("state")
    assert gr.serialize(fields="sys_id") == {"sys_id": gr.get_value("sys_id")}
    gr = client.GlideRecord("incident")
    o = gr.add_query("priority", "1")
    o.add_or_condition("priority", "2")
    gr.query()
    assert len(gr) == sum(1 for r in sb.records("incident") if r["priority"] in ("1", "2"))
