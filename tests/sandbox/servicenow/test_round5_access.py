"""Round 5, access: the role, group membership and role grant tables an access review reads
(sys_user_role, sys_user_grmember, sys_user_has_role) answered 400 Invalid table."""

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
    assert [g["groupby_fields"][0]["value"] for g in r.json()["result"]] == ["itil"]
    role = c.GlideRecord("sys_user_role")
    assert role.get("name", "security_admin") and role.elevated_privilege.get_value() == "true"
