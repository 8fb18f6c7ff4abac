"""Round 6: a user without roles, made through the Table API with a password, signs in (Basic and OAuth
password grant) and meets the ACLs: only its own task records, 404 for others, 403 "Operation Failed"
for writes it may not make; a user with itil is not restricted."""

from __future__ import annotations

import pysnc
import pytest
import requests
from pysnc.auth import ServiceNowPasswordGrantFlow


def test_a_user_without_roles_reads_only_its_own_records_and_may_not_write(env):
    sb, client, s = env
    r = s.post(f"{sb.url}/api/now/table/sys_user", json={"user_name": "ess.user", "name": "Ess User",
                                                          "user_password": "Secret-1"})
    assert r.status_code == 201 and r.json()["result"].get("user_password", "") == ""  # never echoed (round 24c)
    me = r.json()["result"]["sys_id"]
    mine = sb.insert("incident", {"short_description": "My laptop", "caller_id": me})
    ess = pysnc.ServiceNowClient(sb.url, ("ess.user", "Secret-1"), verify=sb.ca_bundle)
    gr = ess.GlideRecord("incident")
    gr.query()
    assert [x.sys_id.get_value() for x in gr] == [mine["sys_id"]]
    other = sb.records("incident")[0]["sys_id"]
    assert not ess.GlideRecord("incident").get(other)
    with requests.Session() as raw:
        raw.auth, raw.verify = ("ess.user", "Secret-1"), sb.ca_bundle
        r = raw.get(f"{sb.url}/api/now/table/incident/{other}")
        assert r.status_code == 404 and r.json()["error"]["message"] == "No Record found"
        r = raw.get(f"{sb.url}/api/now/table/incident", params={"sysparm_limit": 5})
        assert r.headers["X-Total-Count"] == "1"
        assert raw.get(f"{sb.url}/api/now/table/sys_user_has_role").json()["result"] == []
        assert raw.get(f"{sb.url}/api/now/table/sys_user", params={"sysparm_limit": 2}).json()["result"]
        r = raw.patch(f"{sb.url}/api/now/table/incident/{mine['sys_id']}", json={"short_description": "x"})
        assert r.status_code == 403
        assert r.json() == {"error": {"message": "Operation Failed",
                                      "detail": "ACL Exception Update Failed due to security constraints"},
                            "status": "failure"}
        assert raw.delete(f"{sb.url}/api/now/table/incident/{mine['sys_id']}").status_code == 403
        assert raw.post(f"{sb.url}/api/now/table/change_request", json={"short_description": "x"}).status_code == 403
        r = raw.post(f"{sb.url}/api/now/table/incident", json={"short_description": "Printer jam"})
        assert r.status_code == 201  # self-service users raise incidents
        assert raw.get(f"{sb.url}/api/now/table/incident", auth=("ess.user", "wrong")).status_code == 401
    assert sb.get("incident", mine["sys_id"])["short_description"] == "My laptop"
    # the integration user and a user holding itil are not restricted
    gr = client.GlideRecord("incident")
    gr.get(other)
    assert gr.sys_id.get_value() == other
    sb.add_user("fulfiller", "Pw-2", roles=("itil",))
    with requests.Session() as raw:
        raw.auth, raw.verify = ("fulfiller", "Pw-2"), sb.ca_bundle
        assert raw.patch(f"{sb.url}/api/now/table/incident/{other}", json={"urgency": "1"}).status_code == 200


def test_a_user_without_roles_signs_in_with_the_password_grant(env):
    sb, _, s = env
    user = sb.add_user("ess.oauth", "Pw-3")
    s.patch(f"{sb.url}/api/now/table/sys_user/{user['sys_id']}", json={"user_password": "Pw-4"})
    c = sb.credentials
    flow = ServiceNowPasswordGrantFlow("ess.oauth", "Pw-4", c.client_id, c.client_secret)
    ess = pysnc.ServiceNowClient(sb.url, flow, verify=sb.ca_bundle)
    gr = ess.GlideRecord("change_request")
    gr.query()
    assert len(gr) == 0
    gr = ess.GlideRecord("incident")
    gr.initialize()
    gr.short_description = "Raised through OAuth"
    assert gr.insert()
    assert sb.get("incident", str(gr.sys_id))["opened_by"] == user["sys_id"]
    bad = ServiceNowPasswordGrantFlow("ess.oauth", "Pw-3", c.client_id, c.client_secret)
    with pytest.raises(Exception):  # noqa: B017 - pysnc raises its own on a refused grant
        pysnc.ServiceNowClient(sb.url, bad, verify=sb.ca_bundle).GlideRecord("incident").query()


def test_the_change_api_applies_the_same_acls(env):
    sb, _, s = env
    user = sb.add_user("ess.change", "Pw-5")
    mine = sb.insert("change_request", {"short_description": "Mine", "opened_by": user["sys_id"]})
    other = sb.records("change_request")[0]["sys_id"]
    url = f"{sb.url}/api/sn_chg_rest/change"
    with requests.Session() as raw:
        raw.auth, raw.verify = ("ess.change", "Pw-5"), sb.ca_bundle
        r = raw.get(url)
        assert [x["sys_id"]["value"] for x in r.json()["result"]] == [mine["sys_id"]]
        assert r.headers["X-Total-Count"] == "1"
        assert raw.get(f"{url}/{other}").status_code == 404
        r = raw.post(f"{url}/normal", json={"short_description": "x"})
        assert r.status_code == 403 and r.json()["error"]["message"] == "Operation Failed"
        assert raw.patch(f"{url}/{mine['sys_id']}", json={"state": "-4"}).status_code == 403
        assert raw.post(f"{url}/{mine['sys_id']}/task", json={"short_description": "t"}).status_code == 403
    assert s.patch(f"{url}/{mine['sys_id']}", json={"state": "-4"}).status_code == 200  # itil may


def test_attachments_follow_the_record_they_belong_to(env):
    sb, client, _ = env
    user = sb.add_user("ess.files", "Pw-6")
    mine = sb.insert("incident", {"short_description": "Mine", "caller_id": user["sys_id"]})
    ess = pysnc.ServiceNowClient(sb.url, ("ess.files", "Pw-6"), verify=sb.ca_bundle)
    gr = ess.GlideRecord("incident")
    assert gr.get(mine["sys_id"])
    gr.add_attachment("mine.txt", b"my file", "text/plain")
    listed = ess.Attachment("incident")
    listed.query()
    assert [a.file_name for a in listed] == ["mine.txt"]
    theirs = sb.records("sys_attachment")[0]
    assert theirs["table_sys_id"] != mine["sys_id"]
    with pytest.raises(pysnc.exceptions.NotFoundException):
        ess.attachment_api.get(theirs["sys_id"])
    assert client.attachment_api.get(theirs["sys_id"]).status_code == 200
    other = sb.records("incident")[0]["sys_id"]
    with pytest.raises(pysnc.exceptions.NotFoundException):  # another's record: as if it did not exist (404)
        ess.attachment_api.upload_file("x.txt", "incident", other, b"x", "text/plain")
    own = next(a for a in sb.records("sys_attachment") if a["file_name"] == "mine.txt")
    with pytest.raises(pysnc.exceptions.RoleException):
        ess.attachment_api.delete(own["sys_id"])


def test_a_reset_forgets_the_users_logins(env):
    sb, _, s = env
    sb.add_user("short.lived", "Pw-7")
    url = f"{sb.url}/api/now/table/sys_user"
    assert s.get(url, auth=("short.lived", "Pw-7"), params={"sysparm_limit": 1}).status_code == 200
    sb.reset()
    assert s.get(url, auth=("short.lived", "Pw-7"), params={"sysparm_limit": 1}).status_code == 401
    assert s.get(url, params={"sysparm_limit": 1}).status_code == 200


def test_aggregates_cmdb_and_imports_apply_the_acls(env):
    sb, _, s = env
    user = sb.add_user("ess.more", "Pw-8")
    for n in range(3):
        sb.insert("incident", {"short_description": f"Mine {n}", "caller_id": user["sys_id"], "priority": "1"})
    with requests.Session() as raw:
        raw.auth, raw.verify = ("ess.more", "Pw-8"), sb.ca_bundle
        r = raw.get(f"{sb.url}/api/now/stats/incident", params={"sysparm_count": "true"})
        assert r.json()["result"]["stats"]["count"] == "3"
        cmdb = f"{sb.url}/api/now/cmdb/instance/cmdb_ci_server"
        assert raw.get(cmdb).json()["result"] == []
        ci = sb.records("cmdb_ci")[0]["sys_id"]
        assert raw.get(f"{sb.url}/api/now/cmdb/instance/cmdb_ci/{ci}").status_code == 404
        r = raw.post(cmdb, json={"attributes": {"name": "x"}, "source": "ServiceNow"})
        assert r.status_code == 403 and r.json()["error"]["message"] == "Operation Failed"
        assert raw.post(f"{sb.url}/api/now/import/u_imp_incident", json={"u_short_description": "x"}).status_code == 403
    total = s.get(f"{sb.url}/api/now/stats/incident", params={"sysparm_count": "true"}).json()["result"]
    assert int(total["stats"]["count"]) == len(sb.records("incident"))


def test_the_jsonv2_processor_applies_the_acls(env):
    sb, _, _ = env
    user = sb.add_user("ess.json", "Pw-9")
    mine = sb.insert("incident", {"short_description": "Mine", "caller_id": user["sys_id"]})
    other = sb.records("incident")[0]["sys_id"]
    url = f"{sb.url}/incident.do?JSONv2"
    with requests.Session() as raw:
        raw.auth, raw.verify = ("ess.json", "Pw-9"), sb.ca_bundle
        r = raw.get(url, params={"sysparm_action": "getRecords", "sysparm_record_count": "5"})
        assert [x["sys_id"] for x in r.json()["records"]] == [mine["sys_id"]]
        assert raw.get(url, params={"sysparm_sys_id": other}).json()["records"] == []
        r = raw.post(f"{url}&sysparm_action=update&sysparm_sys_id={mine['sys_id']}", json={"urgency": "1"})
        assert r.status_code == 403
        assert raw.post(f"{url}&sysparm_action=insert", json={"short_description": "ok"}).status_code == 200


def test_pysnc_writes_of_a_user_without_roles_raise_its_exceptions(env):
    sb, _, _ = env
    user = sb.add_user("ess.pysnc", "Pw-10")
    mine = sb.insert("incident", {"short_description": "Mine", "caller_id": user["sys_id"]})
    ess = pysnc.ServiceNowClient(sb.url, ("ess.pysnc", "Pw-10"), verify=sb.ca_bundle)
    gr = ess.GlideRecord("change_request")
    gr.initialize()
    gr.short_description = "Not allowed"
    with pytest.raises(pysnc.exceptions.RoleException) as denied:  # pysnc's mapping of a 403
        gr.insert()
    assert denied.value.args[0]["error"]["detail"] == "ACL Exception Insert Failed due to security constraints"
    gr = ess.GlideRecord("incident")
    assert gr.get(mine["sys_id"])
    gr.short_description = "Changed"
    with pytest.raises(pysnc.exceptions.RoleException) as denied:
        gr.update()
    assert denied.value.args[0]["error"]["message"] == "Operation Failed"
    assert sb.get("incident", mine["sys_id"])["short_description"] == "Mine"
