"""Round 33: the CMDB Instance API as documented (ServiceNow's "CMDB Instance API" page) and as
ansible-collections/servicenow.itsm's `configuration_item_relations` module drives it with plain requests.

Found: `POST /cmdb/instance/{class}/{sys_id}/relation` and `DELETE .../relation/{rel_sys_id}` were not served
(400 "Requested URI does not represent any resource"); `inbound_relations` / `outbound_relations` in a create
were ignored; a relation's `target.link` named the target's own class instead of `cmdb_ci`; the attributes'
reference fields had no `display_value`; `source` was not recorded as `discovery_source`.
"""

from __future__ import annotations

from tests.sandbox.servicenow.helpers import client_fixtures

sb, _trust_the_sandbox, s = client_fixtures()


def _types(sb) -> dict[str, str]:
    return {t["name"]: t["sys_id"] for t in sb.records("cmdb_rel_type")}


def _cis(sb, n: int) -> list[dict]:
    return sb.records("cmdb_ci")[:n]


def test_create_with_relations_makes_them_with_the_ci_as_parent_or_child(sb, s):
    types, (a, b) = _types(sb), _cis(sb, 2)
    r = s.post(f"{sb.url}/api/now/cmdb/instance/cmdb_ci_linux_server", json={
        "attributes": {"name": "r33-lnx-create"}, "source": "ServiceNow",
        "outbound_relations": [{"type": types["Depends on::Used by"], "target": a["sys_id"]}],
        "inbound_relations": [{"type": types["Runs on::Runs"], "target": b["sys_id"]}]})
    assert r.status_code == 201, r.text
    result = r.json()["result"]
    new = result["attributes"]["sys_id"]
    rels = {(x["parent"], x["child"], x["type"]) for x in sb.records("cmdb_rel_ci")}
    assert (new, a["sys_id"], types["Depends on::Used by"]) in rels
    assert (b["sys_id"], new, types["Runs on::Runs"]) in rels
    out, inb = result["outbound_relations"], result["inbound_relations"]
    assert [(x["target"]["value"], x["type"]["display_value"]) for x in out] == [(a["sys_id"], "Depends on::Used by")]
    assert [(x["target"]["value"], x["target"]["display_value"]) for x in inb] == [(b["sys_id"], b["name"])]
    assert set(out[0]) == {"sys_id", "type", "target"} and set(out[0]["target"]) == {"display_value", "link", "value"}


def test_a_bad_relation_in_a_create_writes_nothing(sb, s):
    before = len(sb.records("cmdb_ci"))
    r = s.post(f"{sb.url}/api/now/cmdb/instance/cmdb_ci_linux_server", json={
        "attributes": {"name": "r33-lnx-bad"}, "source": "ServiceNow",
        "outbound_relations": [{"type": _types(sb)["Runs on::Runs"], "target": "0" * 32}]})
    assert r.status_code == 400 and r.json()["status"] == "failure"
    assert len(sb.records("cmdb_ci")) == before


def test_relations_are_added_and_removed_as_the_ansible_module_does(sb, s):
    """servicenow.itsm's client: POST .../relation must be 201 with the CI record, DELETE must be 204."""
    types, (a, b, c) = _types(sb), _cis(sb, 3)
    base = f"{sb.url}/api/now/cmdb/instance/{a['sys_class_name']}/{a['sys_id']}"
    r = s.post(f"{base}/relation", json={
        "source": "ServiceNow", "outbound_relations": [{"type": types["Depends on::Used by"], "target": b["sys_id"]}],
        "inbound_relations": [{"type": types["Depends on::Used by"], "target": c["sys_id"]}]})
    assert r.status_code == 201, r.text
    result = r.json()["result"]
    added = next(x for x in result["outbound_relations"] if x["target"]["value"] == b["sys_id"])
    assert any(x["target"]["value"] == c["sys_id"] for x in result["inbound_relations"])
    assert result["attributes"]["sys_id"] == a["sys_id"]
    assert sb.get("cmdb_rel_ci", added["sys_id"])["parent"] == a["sys_id"]

    gone = s.delete(f"{base}/relation/{added['sys_id']}")
    assert (gone.status_code, gone.content) == (204, b"")
    assert sb.get("cmdb_rel_ci", added["sys_id"]) is None
    after = s.get(base).json()["result"]
    assert added["sys_id"] not in [x["sys_id"] for x in after["outbound_relations"]]
    again = s.delete(f"{base}/relation/{added['sys_id']}")
    assert again.status_code == 404 and again.json()["status"] == "failure"


def test_a_relation_of_another_ci_is_not_removed_through_this_one(sb, s):
    rel = sb.records("cmdb_rel_ci")[0]
    stranger = next(x for x in sb.records("cmdb_ci") if x["sys_id"] not in (rel["parent"], rel["child"]))
    r = s.delete(f"{sb.url}/api/now/cmdb/instance/cmdb_ci/{stranger['sys_id']}/relation/{rel['sys_id']}")
    assert r.status_code == 404
    assert sb.get("cmdb_rel_ci", rel["sys_id"]) is not None


def test_target_links_go_through_cmdb_ci_and_references_carry_display_values(sb, s):
    rel = sb.records("cmdb_rel_ci")[0]
    parent = sb.get("cmdb_ci", rel["parent"])
    one = s.get(f"{sb.url}/api/now/cmdb/instance/{parent['sys_class_name']}/{parent['sys_id']}").json()["result"]
    for x in one["outbound_relations"]:
        assert x["target"]["link"] == f"{sb.url}/api/now/cmdb/instance/cmdb_ci/{x['target']['value']}"
    refs = {k: v for k, v in one["attributes"].items() if isinstance(v, dict)}
    assert refs["sys_domain"] == {"display_value": "global", "value": "global",
                                  "link": f"{sb.url}/api/now/table/sys_user_group/global"}
    for name, v in refs.items():
        assert set(v) == {"display_value", "link", "value"}, name
    assert parent["managed_by"], "the seeded CI has a manager"
    assert refs["managed_by"]["display_value"] == sb.get("sys_user", parent["managed_by"])["name"]
    assert one["attributes"]["name"] == parent["name"]  # other fields stay raw strings


def test_source_is_recorded_as_the_discovery_source(sb, s):
    made = s.post(f"{sb.url}/api/now/cmdb/instance/cmdb_ci_linux_server",
                  json={"attributes": {"name": "r33-lnx-src"}, "source": "SCCM"}).json()["result"]["attributes"]
    assert made["discovery_source"] == "SCCM" and made["last_discovered"]
    r = s.put(f"{sb.url}/api/now/cmdb/instance/cmdb_ci_linux_server/{made['sys_id']}",
              json={"attributes": {"discovery_source": "Manual Entry", "ip_address": "10.3.3.3"},
                    "source": "ServiceNow"})
    assert r.status_code == 200
    assert sb.get("cmdb_ci", made["sys_id"])["discovery_source"] == "ServiceNow"


def test_a_create_that_identifies_an_existing_server_updates_it(sb, s):
    """The Hardware identification rule: serial_number, else name, across hardware classes."""
    server = next(x for x in sb.records("cmdb_ci") if x["sys_class_name"] == "cmdb_ci_linux_server")
    before = len(sb.records("cmdb_ci"))
    url = f"{sb.url}/api/now/cmdb/instance/cmdb_ci_linux_server"
    r = s.post(url, json={"attributes": {"name": server["name"].upper(), "ip_address": "10.33.0.1"}, "source": "SCCM"})
    assert r.status_code == 201
    assert r.json()["result"]["attributes"]["sys_id"] == server["sys_id"]
    assert len(sb.records("cmdb_ci")) == before
    assert sb.get("cmdb_ci", server["sys_id"])["ip_address"] == "10.33.0.1"
    assert server["serial_number"], "the seeded server has a serial number"
    r = s.post(f"{sb.url}/api/now/cmdb/instance/cmdb_ci_server",
               json={"attributes": {"serial_number": server["serial_number"], "name": "r33-renamed"},
                     "source": "ServiceNow"})
    assert r.json()["result"]["attributes"]["sys_id"] == server["sys_id"]
    assert sb.get("cmdb_ci", server["sys_id"])["name"] == "r33-renamed"
    fresh = s.post(url, json={"attributes": {"name": "r33-brand-new"}, "source": "ServiceNow"}).json()["result"]
    assert fresh["attributes"]["sys_id"] != server["sys_id"] and len(sb.records("cmdb_ci")) == before + 1


def test_the_ci_list_pages_without_a_total_as_a_generic_api(sb, s):
    """servicenow.itsm pages generic APIs until an empty page; X-Total-Count is the Table API's header."""
    url = f"{sb.url}/api/now/cmdb/instance/cmdb_ci_server"
    first = s.get(url, params={"sysparm_limit": 3, "sysparm_offset": 0})
    assert first.status_code == 200 and "X-Total-Count" not in first.headers
    seen, offset = [], 0
    for _ in range(100):  # bounded: the sandbox holds far fewer servers
        page = s.get(url, params={"sysparm_limit": 3, "sysparm_offset": offset}).json()["result"]
        if not page:
            break
        seen += [x["sys_id"] for x in page]
        offset += 3
    servers = {"cmdb_ci_server", "cmdb_ci_linux_server", "cmdb_ci_win_server"}
    assert sorted(seen) == sorted(x["sys_id"] for x in sb.records("cmdb_ci") if x["sys_class_name"] in servers)


def test_a_ci_identified_under_another_class_takes_the_requested_class(sb, s):
    """Review: the identified CI kept its class, so the 201 named another class and a GET or PATCH through the
    class the client used answered 404. The base system reclassifies during identification."""
    net = next(x for x in sb.records("cmdb_ci") if x["sys_class_name"] == "cmdb_ci_netgear")
    url = f"{sb.url}/api/now/cmdb/instance/cmdb_ci_linux_server"
    r = s.post(url, json={"attributes": {"name": f" {net['name'].lower()} "}, "source": "ServiceNow"})
    assert r.status_code == 201, r.text
    made = r.json()["result"]["attributes"]
    assert made["sys_id"] == net["sys_id"] and made["sys_class_name"] == "cmdb_ci_linux_server"
    assert s.get(f"{url}/{net['sys_id']}").status_code == 200
    assert s.get(f"{sb.url}/api/now/cmdb/instance/cmdb_ci_netgear/{net['sys_id']}").status_code == 404


def test_relations_named_by_upper_case_ids_are_stored_by_the_records_own_ids(sb, s):
    types, (a, b) = _types(sb), _cis(sb, 2)
    kind = types["Depends on::Used by"]
    url = f"{sb.url}/api/now/cmdb/instance/{a['sys_class_name']}/{a['sys_id']}/relation"
    for target in (b["sys_id"].upper(), b["sys_id"]):  # the second is the same relation, not another
        r = s.post(url, json={"outbound_relations": [{"type": kind.upper(), "target": target}], "source": "ServiceNow"})
        assert r.status_code == 201, r.text
    mine = [x for x in sb.records("cmdb_rel_ci") if x["parent"] == a["sys_id"] and x["type"] == kind]
    assert [x["child"] for x in mine] == [b["sys_id"]]  # before: the upper-case id stored, and a second relation
    inbound = s.get(f"{sb.url}/api/now/cmdb/instance/{b['sys_class_name']}/{b['sys_id']}").json()["result"]
    assert mine[0]["sys_id"] in {x["sys_id"] for x in inbound["inbound_relations"]}
    gone = s.delete(f"{sb.url}/api/now/cmdb/instance/{b['sys_class_name']}/{b['sys_id']}/relation/{mine[0]['sys_id']}")
    assert gone.status_code == 204


def test_a_relation_post_without_relations_or_with_a_non_text_source_is_refused_and_writes_nothing(sb, s):
    ci = _cis(sb, 3)[2]
    before = sb.get("cmdb_ci", ci["sys_id"])
    url = f"{sb.url}/api/now/cmdb/instance/{ci['sys_class_name']}/{ci['sys_id']}/relation"
    assert s.post(url, json={"source": "ServiceNow"}).status_code == 400
    assert s.post(url, json={"outbound_relations": [], "source": "ServiceNow"}).status_code == 400
    create = f"{sb.url}/api/now/cmdb/instance/cmdb_ci_linux_server"
    for source in ({"x": 1}, 7, "  "):
        assert s.post(create, json={"attributes": {"name": "r33-src"}, "source": source}).status_code == 400
    after = sb.get("cmdb_ci", ci["sys_id"])
    assert (after["sys_mod_count"], after["sys_updated_on"]) == (before["sys_mod_count"], before["sys_updated_on"])
    assert not [x for x in sb.records("cmdb_ci") if x["name"] == "r33-src"]
