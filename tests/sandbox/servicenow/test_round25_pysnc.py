"""Round 25: the last cases of PySNC's own test suite (test/test_snc_*.py and test/asyncio/, run by its
authors as admin on a developer instance) that the sandbox failed: the alm_asset and bsm_chart tables
(test_or_query), business rules that abort a write (test_multi_update_with_failures), date-times displayed
in the instance's time zone for a user without one (test_disable_display_values) and the demo data's many
admins (test_join_query_2). Written in this project's style; the cases' assertions are PySNC's."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import urlencode

import pytest
import requests
from pysnc import ServiceNowClient, exceptions

from sandbox.servicenow.data import generate
from sandbox.servicenow.platform_tables import HARDWARE

ADMIN = "6816f79cc0a8016401c5a33be04be441"
ADMIN_ROLE = "2831a114c611228501d4ea6c309d626d"
SIZE = 60
RULE = {"name": "test_multi_update_with_failures", "collection": "problem", "active": True, "when": "before",
        "order": 100, "action_insert": True, "action_update": True, "abort_action": True, "add_message": True,
        "message": "rejected by test_multi_update_with_failures br",
        "filter_condition": "short_descriptionLIKEEICAR^ORdescriptionLIKEEICAR^EQ"}


@pytest.fixture
def admin(env):
    """(sandbox, pysnc client, requests session) signed in as a user holding admin, with no time zone of
    its own: what PySNC's authors run their suite as."""
    sb, _client, _session = env
    sb.add_user("r25.admin", "R25-admin-pw", roles=("admin",))
    with requests.Session() as s:
        s.auth, s.verify = ("r25.admin", "R25-admin-pw"), sb.ca_bundle
        s.headers["Accept"] = "application/json"
        yield sb, ServiceNowClient(sb.url, ("r25.admin", "R25-admin-pw"), verify=sb.ca_bundle), s


def _digest(rows) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()[:16]


def test_or_query_finds_alm_asset_and_bsm_chart(env):
    """test_snc_api_query.test_or_query."""
    _sb, client, _session = env
    gr = client.GlideRecord("sys_db_object")
    o = gr.add_query("name", "alm_asset")
    o.add_or_condition("name", "bsm_chart")
    assert gr.get_encoded_query() == "name=alm_asset^ORname=bsm_chart^ORDERBYsys_id"
    gr.query()
    assert gr.get_row_count() == 2 and {x.name.get_value() for x in gr} == {"alm_asset", "bsm_chart"}


def test_assets_follow_the_hardware_cis_and_dot_walk(env):
    sb, client, session = env
    hardware = {c["sys_id"]: c for c in sb.records("cmdb_ci") if c["sys_class_name"] in HARDWARE}
    gr = client.GlideRecord("alm_asset")
    gr.fields = "sys_id,display_name,asset_tag,install_status,ci,ci.name"
    gr.query()
    assert len(gr) == len(hardware) > 0
    for asset in gr:
        ci = hardware[asset.ci.get_value()]
        assert asset.ci.name == ci["name"] and asset.get_display_value("ci") == ci["name"]
        assert asset.display_name == f"{asset.asset_tag} - {ci['name']}"
        if asset.install_status.get_value() == "1":
            assert asset.install_status.get_display_value() == "In use"
    charts = session.get(f"{sb.url}/api/now/table/bsm_chart").json()
    assert charts == {"result": []}
    described = session.get(f"{sb.url}/api/now/table/sys_dictionary",
                            params={"sysparm_query": "name=sys_script^element=abort_action"}).json()["result"]
    assert [d["internal_type"] for d in described] == ["boolean"]


def test_business_rules_are_admin_only(env):
    """sys_script's base ACLs, like sys_properties': the integration user (itil) and a self-service user read
    nothing, through the Table, Aggregate and Batch APIs and through another table's SUBQUERY / JOIN, and
    write 403; an admin reads them all."""
    sb, client, session = env
    br = client.GlideRecord("sys_script")
    br.query()
    assert len(br) == 0
    br.initialize()
    br.name = "not mine"
    with pytest.raises(exceptions.RoleException):
        br.insert()
    sb.add_user("r25.self", "R25-self-pw")
    sb.add_user("r25.boss", "R25-boss-pw", roles=("admin",))
    rules, props, users = (len(sb.records(t)) for t in ("sys_script", "sys_properties", "sys_user"))
    cross = {"sys_user": "SUBQUERYsys_domain,sys_domain,sys_script^nameISNOTEMPTY^ENDSUBQUERY",
             "incident": "JOINincident.sys_domain=sys_properties.sys_domain!nameISNOTEMPTY"}
    callers = ((("r25.self", "R25-self-pw"), False), (session.auth, False), (("r25.boss", "R25-boss-pw"), True))
    for auth, admin in callers:
        with requests.Session() as s:
            s.auth, s.verify, s.headers["Accept"] = auth, sb.ca_bundle, "application/json"
            counts = {t: s.get(f"{sb.url}/api/now/stats/{t}", params={"sysparm_count": "true"}).json()
                      for t in ("sys_script", "sys_properties")}
            assert [c["result"]["stats"]["count"] for c in counts.values()] == (
                [str(rules), str(props)] if admin else ["0", "0"]), auth
            items = [{"id": t, "method": "GET", "url": f"/api/now/table/{t}?sysparm_fields=sys_id"}
                     for t in ("sys_script", "sys_properties")]
            items += [{"id": f"x{t}", "method": "GET", "url": f"/api/now/table/{t}?sysparm_fields=sys_id&"
                       + urlencode({"sysparm_query": q})} for t, q in cross.items()]
            batch = s.post(f"{sb.url}/api/now/v1/batch", json={"batch_request_id": "b", "rest_requests": items})
            found = {i["id"]: len(json.loads(base64.b64decode(i["body"]))["result"])
                     for i in batch.json()["serviced_requests"]}
            assert found["sys_script"] == (rules if admin else 0) and found["sys_properties"] == (props if admin else 0)
            if admin:
                assert found["xsys_user"] == users and found["xincident"] > 0
            else:
                assert found["xsys_user"] == found["xincident"] == 0, auth
            stats = s.get(f"{sb.url}/api/now/stats/sys_user",
                          params={"sysparm_count": "true", "sysparm_query": cross["sys_user"]}).json()
            assert stats["result"]["stats"]["count"] == (str(users) if admin else "0"), auth


def test_an_aborting_rule_fails_the_matching_updates_of_a_batch(admin):
    """test_snc_api_write.test_multi_update_with_failures (the asyncio one is the same over the Batch API)."""
    sb, client, session = admin
    br = client.GlideRecord("sys_script")
    br.add_query("name", RULE["name"])
    br.query()
    assert not br.next()
    br.initialize()
    for k, v in RULE.items():
        setattr(br, k, v)
    assert br.insert()
    assert sb.get("sys_script", br.sys_id.get_value())["abort_action"] == "true"
    for i in range(10):
        gr = client.GlideRecord("problem")
        gr.initialize()
        gr.short_description = f"Unit Test - BUNKZZ Multi update {i}"
        assert gr.insert()
    gr = client.GlideRecord("problem")
    gr.add_query("short_description", "LIKE", "BUNKZZ")
    gr.query()
    assert len(gr) == 10
    i = 0
    while i < 5 and gr.next():
        gr.short_description = gr.short_description + " -- APPENDEDZZ"
        i += 1
    while gr.next():
        gr.short_description = gr.short_description + " -- EICAR"
    assert not gr.update_multiple()
    assert gr._client.batch_api._BatchAPI__requests == []
    for word, n in (("APPENDEDZZ", 5), ("EICAR", 0), ("BUNKZZ", 10)):
        tgr = client.GlideRecord("problem")
        tgr.add_query("short_description", "LIKE", word)
        tgr.query()
        assert len(tgr) == n, word
    refused = session.post(f"{sb.url}/api/now/table/problem", json={"description": "an EICAR sample"})
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["message"] == RULE["message"]
    assert error["detail"] == (f"Operation against file 'problem' was aborted by Business Rule "
                               f"'{RULE['name']}^{br.sys_id.get_value()}'. Business Rule Stack:{RULE['name']}")
    assert session.post(f"{sb.url}/api/now/table/problem", json={"description": "clean"}).status_code == 201


def test_rules_of_a_parent_table_inactive_rules_and_deletes(admin):
    sb, _client, session = admin
    url = f"{sb.url}/api/now/table"
    rule = session.post(f"{url}/sys_script", json={
        "name": "no deletes of P1 tasks", "collection": "task", "when": "before", "action_delete": "true",
        "abort_action": "true", "filter_condition": "priority=1"}).json()["result"]
    p1 = session.post(f"{url}/problem", json={"short_description": "r25", "priority": "1"}).json()["result"]
    p3 = session.post(f"{url}/problem", json={"short_description": "r25", "priority": "3"}).json()["result"]
    denied = session.delete(f"{url}/problem/{p1['sys_id']}")
    assert denied.status_code == 403 and denied.json()["error"]["message"] == "Operation Failed"
    assert session.delete(f"{url}/problem/{p3['sys_id']}").status_code == 204
    assert session.patch(f"{url}/sys_script/{rule['sys_id']}", json={"active": "false"}).status_code == 200
    assert session.delete(f"{url}/problem/{p1['sys_id']}").status_code == 204


def test_display_values_follow_the_instance_time_zone(admin):
    """test_snc_api_query.test_disable_display_values: a developer instance's admin has no time zone of its
    own, so display values are in the instance's (US/Pacific); values stay UTC."""
    sb, client, session = admin
    tz = next(r for r in sb.records("sys_properties") if r["name"] == "glide.sys.default.tz")
    sb.update("sys_properties", tz["sys_id"], {"value": "America/Los_Angeles"})
    gr = client.GlideRecord("sys_user")
    gr.display_value = False
    gr.limit = 1
    gr.query()
    assert gr.next()
    ele = gr.sys_updated_on
    assert not ele.nil() and ele.get_value() == ele.get_display_value()
    gr = client.GlideRecord("sys_user")
    gr.display_value = True
    gr.limit = 1
    gr.query()
    gr.next()
    assert ele.get_value() != gr.get_value("sys_updated_on")
    url = f"{sb.url}/api/now/table/sys_user/{ADMIN}"
    both = session.get(url, params={"sysparm_display_value": "all", "sysparm_fields": "sys_updated_on"}).json()
    assert both["result"]["sys_updated_on"] == {"display_value": "2019-12-31 16:00:00", "value": "2020-01-01 00:00:00"}
    mine = {"sysparm_query": "user_name=r25.admin"}
    me = session.get(f"{sb.url}/api/now/table/sys_user", params=mine).json()["result"][0]
    session.patch(f"{sb.url}/api/now/table/sys_user/{me['sys_id']}", json={"time_zone": "Europe/Berlin"})
    own = session.get(url, params={"sysparm_display_value": "true", "sysparm_fields": "sys_updated_on"}).json()
    assert own["result"]["sys_updated_on"] == "2020-01-01 01:00:00"  # a user's own zone comes first
    integration = ServiceNowClient(sb.url, ("integration.user", "sandbox-password"), verify=sb.ca_bundle)
    gmt = integration.GlideRecord("sys_user")  # the integration user's own zone is GMT
    gmt.display_value = True
    assert gmt.get(ADMIN) and gmt.get_value("sys_updated_on") == "2020-01-01 00:00:00"


def test_demo_data_has_many_admins_added_after_the_draws(env):
    """test_snc_api_query_advanced.test_join_query_2; the seeded rows before them do not move."""
    _sb, client, _session = env
    gr = client.GlideRecord("sys_user")
    join_query = gr.add_join_query("sys_user_has_role", join_table_field="user")
    join_query.add_query("role", ADMIN_ROLE)
    assert gr.get_encoded_query() == f"JOINsys_user.sys_id=sys_user_has_role.user!role={ADMIN_ROLE}"
    gr.query()
    gr.next()
    assert 10 < len(gr) < 25
    assert "beth.anglin" in {x.user_name.get_value() for x in gr}
    ds = generate(42, 200)
    users, grants = ds.rows["sys_user"], ds.rows["sys_user_has_role"]
    # sha256 (first 16 hex digits) of seed 42's rows before round 25: 53 users then the integration user
    assert _digest([*users[:53], users[-1]]) == "5121c57e619793bc" and len(users) == 64
    assert _digest(grants[:176]) == "a39125fefec1450c" and len(grants) == 186
