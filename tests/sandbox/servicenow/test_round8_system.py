"""Round 8, pysnc 1.2.1 and documented raw calls: sys_properties (admin only), CI relationships
(cmdb_rel_type, cmdb_rel_ci, and the CMDB Instance API's relation lists), sysparm_view, the
business-rule-only operators VALCHANGES / CHANGESFROM / CHANGESTO, and the list page
GlideRecord.get_link_list points at. All answered 400 "Invalid table", all fields, or 404 before."""

from __future__ import annotations

import pysnc
import requests

SIZE = 120  # incidents in this module's sandbox (the shared env fixture)


def test_sys_properties_are_readable_and_writable_by_admin_only(env):
    sb, client, s = env
    sb.add_user("sys.admin", "Adm-1", roles=("admin",))
    admin = pysnc.ServiceNowClient(sb.url, ("sys.admin", "Adm-1"), verify=sb.ca_bundle)
    gr = admin.GlideRecord("sys_properties")
    gr.add_query("name", "glide.servlet.uri")
    gr.query()
    assert gr.get_row_count() == 1 and gr.next()
    assert gr.value.get_value() == f"{sb.url}/" and gr.type.get_value() == "string"
    names = {r["name"] for r in sb.records("sys_properties")}
    assert {"glide.installation.name", "glide.invalid_query.returns_no_rows"} <= names

    # the integration user holds itil, not admin: no rows, 404 for one, 403 for a write
    mine = client.GlideRecord("sys_properties")
    mine.query()
    assert mine.get_row_count() == 0
    prop = sb.records("sys_properties")[0]["sys_id"]
    assert s.get(f"{sb.url}/api/now/table/sys_properties/{prop}").status_code == 404
    r = s.patch(f"{sb.url}/api/now/table/sys_properties/{prop}", json={"value": "x"})
    assert r.status_code == 403 and "ACL Exception Update Failed" in r.json()["error"]["detail"]
    assert s.post(f"{sb.url}/api/now/table/sys_properties", json={"name": "x.y", "value": "1"}).status_code == 403
    r = requests.patch(f"{sb.url}/api/now/table/sys_properties/{prop}", auth=("sys.admin", "Adm-1"),
                       json={"value": "changed"}, verify=sb.ca_bundle, timeout=10)
    assert r.status_code == 200 and sb.get("sys_properties", prop)["value"] == "changed"


def test_ci_relationships_in_cmdb_rel_ci_and_the_instance_api(env):
    sb, client, s = env
    types = {t["sys_id"]: t["name"] for t in sb.records("cmdb_rel_type")}
    assert {"Runs on::Runs", "Depends on::Used by"} <= set(types.values())
    cis = {c["sys_id"]: c for c in sb.records("cmdb_ci")}
    rels = sb.records("cmdb_rel_ci")
    assert rels and all(r["parent"] in cis and r["child"] in cis and r["type"] in types for r in rels)
    runs = [r for r in rels if types[r["type"]] == "Runs on::Runs"]
    assert {cis[r["parent"]]["sys_class_name"] for r in runs} == {"cmdb_ci_appl", "cmdb_ci_database"}

    gr = client.GlideRecord("cmdb_rel_ci")
    gr.add_query("type.name", "Runs on::Runs")
    gr.query()
    assert gr.get_row_count() == len(runs)
    assert gr.next() and gr.parent.get_display_value() == cis[gr.parent.get_value()]["name"]
    assert gr.type.get_display_value() == "Runs on::Runs"

    app = runs[0]
    one = s.get(f"{sb.url}/api/now/cmdb/instance/cmdb_ci_appl/{app['parent']}").json()["result"]
    out = one["outbound_relations"]
    assert [x["target"]["value"] for x in out] == [r["child"] for r in rels if r["parent"] == app["parent"]]
    assert out[0]["type"]["display_value"] in types.values()
    assert out[0]["target"]["display_value"] == cis[out[0]["target"]["value"]]["name"]
    server = s.get(out[0]["target"]["link"]).json()["result"]
    assert app["parent"] in [x["target"]["value"] for x in server["inbound_relations"]]


def test_sysparm_view_limits_fields_unless_sysparm_fields_is_given(env):
    sb, _, s = env
    url = f"{sb.url}/api/now/table/incident"
    every = s.get(url, params={"sysparm_limit": "1"}).json()["result"][0]
    mobile = s.get(url, params={"sysparm_limit": "1", "sysparm_view": "mobile"}).json()["result"][0]
    desktop = s.get(url, params={"sysparm_limit": "1", "sysparm_view": "desktop"}).json()["result"][0]
    both = s.get(url, params={"sysparm_limit": "1", "sysparm_view": "both"}).json()["result"][0]
    assert "sys_id" in mobile and "number" in mobile and len(mobile) < len(desktop) < len(every)
    assert set(both) == set(mobile) | set(desktop)
    assert all(every[k] == v for k, v in desktop.items())
    fields = s.get(url, params={"sysparm_limit": "1", "sysparm_view": "mobile",
                                "sysparm_fields": "number,description"}).json()["result"][0]
    assert set(fields) == {"number", "description"}  # sysparm_fields takes precedence
    one = s.get(f"{url}/{every['sys_id']}", params={"sysparm_view": "mobile"}).json()["result"]
    assert set(one) == set(mobile)
    other = s.get(f"{sb.url}/api/now/table/cmdb_ci", params={"sysparm_limit": "1", "sysparm_view": "mobile"})
    assert len(other.json()["result"][0]) == len(s.get(f"{sb.url}/api/now/table/cmdb_ci",
                                                       params={"sysparm_limit": "1"}).json()["result"][0])


def test_change_operators_are_ignored_like_other_conditions_a_query_cannot_evaluate(env):
    """Unless glide.invalid_query.returns_no_rows is true, as documented for invalid queries."""
    sb, client, _ = env
    total = len(sb.records("incident"))
    active = sum(r["active"] == "true" for r in sb.records("incident"))
    for condition in ("stateVALCHANGES", "stateCHANGESFROM1", "stateCHANGESTO2"):
        gr = client.GlideRecord("incident")
        gr.add_encoded_query(condition)
        gr.query()
        assert gr.get_row_count() == total
        gr = client.GlideRecord("incident")
        gr.add_encoded_query(f"active=true^{condition}")
        gr.query()
        assert gr.get_row_count() == active

    # glide.invalid_query.returns_no_rows=true (an admin's change): such a query matches nothing
    prop = next(r for r in sb.records("sys_properties") if r["name"] == "glide.invalid_query.returns_no_rows")
    sb.add_user("sys.admin", "Adm-1", roles=("admin",))
    r = requests.patch(f"{sb.url}/api/now/table/sys_properties/{prop['sys_id']}", auth=("sys.admin", "Adm-1"),
                       json={"value": "true"}, verify=sb.ca_bundle, timeout=10)
    assert r.status_code == 200
    for query, expected in (("active=true^stateVALCHANGES", 0), ("active=true^no_such_field=1", 0),
                            ("active=true", active), ("caller_id.name!=x^ORDERBYnumber", None)):
        gr = client.GlideRecord("incident")
        gr.add_encoded_query(query)
        gr.query()
        if expected is not None:
            assert gr.get_row_count() == expected, query
        else:
            assert gr.get_row_count() > 0, query


def test_get_link_and_get_link_list_open_pages(env):
    sb, client, _ = env
    gr = client.GlideRecord("incident")
    gr.add_query("active", "true")
    gr.query()
    auth = (sb.credentials.username, sb.credentials.password)  # a UI page wants a signed-in user (round 9)
    listed = requests.get(gr.get_link_list(), verify=sb.ca_bundle, timeout=10, auth=auth)
    active = [r["number"] for r in sb.records("incident") if r["active"] == "true"]
    assert listed.status_code == 200 and f"incident ({len(active)})" in listed.text
    assert all(n in listed.text for n in active)
    assert gr.next()
    form = requests.get(gr.get_link(), verify=sb.ca_bundle, timeout=10, auth=auth)
    assert form.status_code == 200 and gr.number.get_value() in form.text
    assert requests.get(f"{sb.url}/no_such_table_list.do", verify=sb.ca_bundle, timeout=10,
                        auth=auth).status_code == 404
