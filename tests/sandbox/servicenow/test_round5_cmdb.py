"""Round 5, CMDB Instance API (/api/now/cmdb/instance/{classname}), which answered 400 "Requested URI
does not represent any resource"."""

from __future__ import annotations

import pytest


@pytest.fixture
def client(pysnc_client):
    return pysnc_client(200)


def test_cmdb_instance_api_lists_reads_creates_and_updates(client, sn_session):
    sb, _ = client
    sn_session.verify = sb.ca_bundle
    url = f"{sb.url}/api/now/cmdb/instance"
    linux = [r for r in sb.records("cmdb_ci") if r["sys_class_name"] == "cmdb_ci_linux_server"]
    r = sn_session.get(f"{url}/cmdb_ci_linux_server")
    assert r.status_code == 200 and r.json()["result"] == [{"sys_id": x["sys_id"], "name": x["name"]} for x in linux]
    r = sn_session.get(f"{url}/cmdb_ci_server", params={"sysparm_query": f"name={linux[0]['name']}",
                                                        "sysparm_limit": 5})
    assert [x["sys_id"] for x in r.json()["result"]] == [linux[0]["sys_id"]]
    one = sn_session.get(f"{url}/cmdb_ci_linux_server/{linux[0]['sys_id']}").json()["result"]
    rels = sb.records("cmdb_rel_ci")  # round 8: the relation lists read cmdb_rel_ci
    assert [x["target"]["value"] for x in one["outbound_relations"]] == [
        x["child"] for x in rels if x["parent"] == linux[0]["sys_id"]]
    assert [x["target"]["value"] for x in one["inbound_relations"]] == [
        x["parent"] for x in rels if x["child"] == linux[0]["sys_id"]]
    assert one["attributes"]["serial_number"] == linux[0]["serial_number"]
    if linux[0]["support_group"]:
        assert one["attributes"]["support_group"]["value"] == linux[0]["support_group"]
    r = sn_session.post(f"{url}/cmdb_ci_linux_server", json={"attributes": {"name": "lnx-api-01",
                                                                           "ip_address": "10.9.9.9"}})
    assert r.status_code == 400  # no source
    r = sn_session.post(f"{url}/cmdb_ci_linux_server", json={"attributes": {"name": "lnx-api-01",
                                                                           "ip_address": "10.9.9.9"},
                                                            "source": "ServiceNow"})
    created = r.json()["result"]["attributes"]
    assert r.status_code == 201 and created["sys_class_name"] == "cmdb_ci_linux_server"
    r = sn_session.patch(f"{url}/cmdb_ci_linux_server/{created['sys_id']}",
                         json={"attributes": {"ip_address": "10.9.9.10"}, "source": "ServiceNow"})
    assert r.json()["result"]["attributes"]["ip_address"] == "10.9.9.10" == sb.get("cmdb_ci", created["sys_id"])[
        "ip_address"]
    assert sn_session.get(f"{url}/cmdb_ci_appl/{created['sys_id']}").status_code == 404
    assert sn_session.get(f"{url}/incident").status_code == 400
