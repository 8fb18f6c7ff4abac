"""Round 6, encoded queries through pysnc and raw REST: ORDERBY on a reference field sorts by the referenced
record's display value, and the "One of My Groups" dynamic filter / getMyGroups() take the caller's groups."""

from __future__ import annotations


def test_order_by_a_reference_sorts_by_its_display_value(env):
    sb, client, s = env
    names = {u["sys_id"]: u["name"] for u in sb.records("sys_user")}
    incidents = sb.records("incident")
    gr = client.GlideRecord("incident")
    gr.add_not_null_query("assigned_to")
    gr.order_by("assigned_to")
    gr.fields = "number,assigned_to"
    gr.query()
    got = [names[x.assigned_to.get_value()] for x in gr]
    assert got == sorted(names[i["assigned_to"]] for i in incidents if i["assigned_to"])
    assert got != [names[i["assigned_to"]] for i in sorted(
        (i for i in incidents if i["assigned_to"]), key=lambda i: i["assigned_to"])]  # not by sys_id
    r = s.get(f"{sb.url}/api/now/table/incident", params={
        "sysparm_query": "assigned_toISNOTEMPTY^ORDERBYDESCassigned_to", "sysparm_fields": "assigned_to",
        "sysparm_display_value": "true", "sysparm_limit": 1000})
    shown = [x["assigned_to"]["display_value"] for x in r.json()["result"]]
    assert shown == sorted(shown, reverse=True)
    # the order follows a renamed user
    first = gr.assigned_to.get_value() if gr.next() else None
    gr2 = client.GlideRecord("incident")
    gr2.add_not_null_query("assigned_to")
    gr2.order_by("assigned_to")
    gr2.query()
    last_id = list(gr2)[-1].assigned_to.get_value()
    sb.update("sys_user", last_id, {"name": "AAAA First"})
    gr3 = client.GlideRecord("incident")
    gr3.add_not_null_query("assigned_to")
    gr3.order_by("assigned_to")
    gr3.query()
    assert gr3.next() and gr3.assigned_to.get_value() == last_id != first


def test_one_of_my_groups(env):
    sb, client, s = env
    me = next(u["sys_id"] for u in sb.records("sys_user") if u["user_name"] == "integration.user")
    mine = {m["group"] for m in sb.records("sys_user_grmember") if m["user"] == me}
    assert mine
    expected = [i["number"] for i in sb.records("incident") if i["assignment_group"] in mine]
    assert 0 < len(expected) < len(sb.records("incident"))
    gr = client.GlideRecord("incident")
    gr.add_encoded_query("assignment_groupDYNAMICd6435e965f510100a9ad2572f2b47744")
    gr.query()
    assert sorted(x.number.get_value() for x in gr) == expected  # pysnc orders by sys_id
    for query in ("assignment_group=javascript:getMyGroups()", "assignment_groupINjavascript:gs.getMyGroups()"):
        r = s.get(f"{sb.url}/api/now/table/incident", params={"sysparm_query": query, "sysparm_fields": "number",
                                                               "sysparm_limit": 1000})
        assert [x["number"] for x in r.json()["result"]] == expected
    ess = sb.add_user("loner", "pw", roles=("itil",))
    r = s.get(f"{sb.url}/api/now/table/incident", auth=("loner", "pw"), params={
        "sysparm_query": "assignment_groupDYNAMICd6435e965f510100a9ad2572f2b47744"})
    assert r.status_code == 200 and r.json()["result"] == [] and ess["sys_id"]


def test_boolean_fields_take_1_and_0(env):
    sb, client, s = env
    active = sum(r["active"] == "true" for r in sb.records("incident"))
    assert 0 < active < len(sb.records("incident"))
    for query, expected in (("active=1", active), ("active=0", len(sb.records("incident")) - active),
                            ("active!=1", len(sb.records("incident")) - active), ("activeIN1,0", 200)):
        r = s.get(f"{sb.url}/api/now/table/incident", params={"sysparm_query": query, "sysparm_limit": 1})
        assert int(r.headers["X-Total-Count"]) == expected, query
    gr = client.GlideRecord("incident")
    gr.add_query("active", 1)
    gr.query()
    assert len(gr) == active
