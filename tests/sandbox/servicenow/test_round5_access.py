"""Round 5, access: the role, group membership and role grant tables an access review reads
(sys_user_role, sys_user_grmember, sys_user_has_role) and the approvals a change-control review reads
(sysapproval_approver) answered 400 Invalid table."""

from __future__ import annotations

import pytest

from sandbox.servicenow.data import generate


@pytest.fixture
def client(pysnc_client):
    return pysnc_client(200)


def test_access_tables_are_seeded_beside_the_rest():
    ds = generate(42, 200)
    assert len(ds.rows["sys_user_role"]) == 10 and len(ds.rows["sys_user_grmember"]) >= len(ds.rows["sys_user"])
    assert generate(42, 200).rows["sys_user_has_role"] == ds.rows["sys_user_has_role"]


def test_an_access_review_with_pysnc(client, sn_session):
    sb, c = client
    users = {u["sys_id"]: u for u in sb.records("sys_user")}
    groups = {g["sys_id"]: g["name"] for g in sb.records("sys_user_group")}
    members = sb.records("sys_user_grmember")
    assert all(m["user"] in users and m["group"] in groups for m in members)
    leavers = c.GlideRecord("sys_user_grmember")
    leavers.add_query("user.active", "false")
    leavers.query()
    expected = sorted(m["sys_id"] for m in members if users[m["user"]]["active"] == "false")
    assert sorted(x.sys_id.get_value() for x in leavers) == expected != []
    grp = members[0]["group"]
    gr = c.GlideRecord("sys_user_grmember")
    gr.add_query("group.name", groups[grp])
    gr.display_value = True
    gr.query()
    assert {x.user.get_display_value() for x in gr} == {
        users[m["user"]]["name"] for m in members if m["group"] == grp}
    admins = c.GlideRecord("sys_user_has_role")
    admins.add_query("role.name", "IN", "admin,security_admin")
    admins.add_query("inherited", "false")
    admins.query()
    assert len(admins) > 0 and all(x.role.get_display_value() in ("admin", "security_admin") for x in admins)
    sn_session.verify = sb.ca_bundle
    me = next(u for u in users.values() if u["user_name"] == "integration.user")
    r = sn_session.get(f"{sb.url}/api/now/table/sys_user_has_role", params={
        "sysparm_query": f"user={me['sys_id']}^inherited=false", "sysparm_fields": "role.name,state"})
    assert sorted(x["role.name"] for x in r.json()["result"]) == ["itil", "rest_api_explorer"]
    r = sn_session.get(f"{sb.url}/api/now/stats/sys_user_has_role", params={
        "sysparm_count": "true", "sysparm_group_by": "role", "sysparm_display_value": "true",
        "sysparm_query": "inherited=true"})
    # round 24d: four base groups also give their members an admin-like role (`data_platform`)
    assert [g["groupby_fields"][0]["value"] for g in r.json()["result"]] == [
        "catalog_admin", "itil", "itil_admin", "security_admin"]
    role = c.GlideRecord("sys_user_role")
    assert role.get("name", "security_admin") and role.elevated_privilege.get_value() == "true"


def test_roles_of_a_user_in_queries_as_documented(client, sn_session):
    """The platform's encoded-query example `assigned_to.roles=itil`; it matched every incident (the
    unknown field was ignored)."""
    sb, c = client
    role_names = {r["sys_id"]: r["name"] for r in sb.records("sys_user_role")}
    held: dict[str, set[str]] = {}
    for g in sb.records("sys_user_has_role"):
        held.setdefault(g["user"], set()).add(role_names[g["role"]])
    admins = {u for u, names in held.items() if "admin" in names}
    gr = c.GlideRecord("incident")
    gr.add_encoded_query("assigned_to.roles=admin")
    gr.query()
    assert sorted(x.number.get_value() for x in gr) == sorted(
        r["number"] for r in sb.records("incident") if r["assigned_to"] in admins) != []
    sn_session.verify = sb.ca_bundle
    r = sn_session.get(f"{sb.url}/api/now/table/sys_user", params={
        "sysparm_query": "rolesINadmin,security_admin^ORDERBYname", "sysparm_fields": "sys_id,roles"})
    rows = r.json()["result"]
    assert {x["sys_id"] for x in rows} == {u for u, n in held.items() if n & {"admin", "security_admin"}}
    assert all(x["roles"] == ",".join(sorted(held[x["sys_id"]])) for x in rows)
    user = next(iter(admins))
    grant = next(g for g in sb.records("sys_user_has_role") if g["user"] == user and role_names[g["role"]] == "admin")
    sn_session.delete(f"{sb.url}/api/now/table/sys_user_has_role/{grant['sys_id']}")
    r = sn_session.get(f"{sb.url}/api/now/table/sys_user", params={"sysparm_query": "roles=admin",
                                                                   "sysparm_fields": "sys_id"})
    assert {x["sys_id"] for x in r.json()["result"]} == admins - {user}


def test_change_approvals_for_a_change_control_review(client, sn_session):
    sb, c = client
    changes = {r["sys_id"]: r for r in sb.records("change_request")}
    approvals = sb.records("sysapproval_approver")
    decided = {a["sysapproval"] for a in approvals if a["source_table"] == "change_request"}
    assert decided == {s for s, r in changes.items() if r["approval"] in ("approved", "rejected", "requested")}
    for a in approvals:
        if a["source_table"] == "change_request" and changes[a["sysapproval"]]["approval"] == "approved":
            assert a["state"] == "approved"
    gr = c.GlideRecord("sysapproval_approver")
    gr.add_query("sysapproval.sys_class_name", "change_request")
    gr.add_query("state", "rejected")
    gr.display_value = "all"
    gr.query()
    rejected = [(x.sysapproval.get_display_value(), x.state.get_display_value()) for x in gr]
    assert sorted(rejected) == sorted((changes[a["sysapproval"]]["number"], "Rejected") for a in approvals
                                      if a["state"] == "rejected") != []
    sn_session.verify = sb.ca_bundle
    r = sn_session.get(f"{sb.url}/api/now/table/change_request", params={
        "sysparm_query": "state=3^RLQUERYsysapproval_approver.sysapproval,=0,state=approved^ENDRLQUERY",
        "sysparm_fields": "number"})
    closed = {s for s, x in changes.items() if x["state"] == "3"}
    approved = {a["sysapproval"] for a in approvals if a["state"] == "approved"}
    assert sorted(x["number"] for x in r.json()["result"]) == sorted(changes[s]["number"] for s in closed - approved)
