"""Round 32: the CMDB Meta API (GET /api/now/cmdb/meta/{className}), documented beside the CMDB Instance API, was
not served (400 "Requested URI does not represent any resource"). It now answers a class's metadata in the
documented shape, consistent with what the Table API and sys_dictionary say of the same class."""

from __future__ import annotations

import requests

AUTH = ("integration.user", "sandbox-password")
KEYS = {"icon_url", "is_extendable", "parent", "children", "name", "icon", "attributes", "relationship_rules",
        "label", "identification_rules"}
ATTRIBUTE_KEYS = {"is_inherited", "is_mandatory", "is_read_only", "default_value", "label", "type", "element",
                  "max_length", "is_display"}


def _get(sb, path: str, auth=AUTH, **headers) -> requests.Response:
    return requests.get(sb.url + path, auth=auth, headers={"Accept": "application/json", **headers})


def test_a_class_answers_its_place_in_the_hierarchy_and_its_fields(servicenow_sandbox):
    sb = servicenow_sandbox
    got = _get(sb, "/api/now/cmdb/meta/cmdb_ci_computer")
    assert got.status_code == 200, got.text
    meta = got.json()["result"]
    assert set(meta) == KEYS and meta["name"] == "cmdb_ci_computer" and meta["label"] == "Computer"
    assert meta["parent"] == "cmdb_ci_hardware" and meta["children"] == ["cmdb_ci_server"]
    assert meta["is_extendable"] is True and meta["relationship_rules"] == []
    assert all(set(a) == ATTRIBUTE_KEYS for a in meta["attributes"])
    assert all(isinstance(a[k], str) for a in meta["attributes"] for k in ATTRIBUTE_KEYS - {"default_value"})
    # the attributes are the fields a CI record has, and all of them are cmdb_ci's
    ci = next(r for r in sb.records("cmdb_ci") if r["sys_class_name"] == "cmdb_ci_server")
    record = _get(sb, f"/api/now/table/cmdb_ci/{ci['sys_id']}").json()["result"]
    assert {a["element"] for a in meta["attributes"]} == set(record)
    assert {a["is_inherited"] for a in meta["attributes"]} == {"true"}
    by_name = {a["element"]: a for a in meta["attributes"]}
    assert by_name["name"]["is_display"] == "true" and by_name["sys_id"]["type"] == "GUID"
    updated = by_name["sys_updated_on"]
    assert updated["type"] == "glide_date_time" and updated["is_read_only"] == "true"
    dictionary = requests.get(
        sb.url + "/api/now/table/sys_dictionary", auth=AUTH, headers={"Accept": "application/json"},
        params={"sysparm_query": "name=cmdb_ci^element=location", "sysparm_fields": "column_label,internal_type"})
    entry = dictionary.json()["result"][0]
    location = by_name["location"]
    assert (location["label"], location["type"]) == (entry["column_label"], entry["internal_type"])
    assert meta["identification_rules"]["name"] == "Hardware Rule"
    assert [i["attributes"] for i in meta["identification_rules"]["identifiers"]] == ["serial_number", "name"]


def test_the_root_a_leaf_versions_xml_and_refusals(servicenow_sandbox):
    sb = servicenow_sandbox
    root = _get(sb, "/api/now/v1/cmdb/meta/cmdb_ci").json()["result"]
    assert root["parent"] == "" and root["children"] == ["cmdb_ci_appl", "cmdb_ci_database", "cmdb_ci_hardware"]
    assert {a["is_inherited"] for a in root["attributes"]} == {"false"} and root["identification_rules"] == {}
    leaf = _get(sb, "/api/now/cmdb/meta/cmdb_ci_linux_server").json()["result"]
    assert leaf["parent"] == "cmdb_ci_server" and leaf["children"] == [] and leaf["label"] == "Linux Server"
    xml = _get(sb, "/api/now/cmdb/meta/cmdb_ci_server", Accept="application/xml")
    assert xml.status_code == 200 and "<name>cmdb_ci_server</name>" in xml.text
    for cls in ("incident", "cmdb_ci_nope"):
        missing = _get(sb, f"/api/now/cmdb/meta/{cls}")
        assert missing.status_code == 404 and missing.json()["status"] == "failure"
    assert _get(sb, "/api/now/cmdb/meta/cmdb_ci", auth=None).status_code == 401
