"""sysparm_display_value false/true/all, reference links, sysparm_fields."""

from __future__ import annotations


def _first_assigned(sb):
    return next(r for r in sb.records("incident") if r["assigned_to"] and r["cmdb_ci"] == "" and r["state"] == "7")


def _get(session, sb, sys_id, **params):
    r = session.get(f"{sb.url}/api/now/table/incident/{sys_id}", params=params)
    assert r.status_code == 200, r.text
    return r.json()["result"]


def _user_name(sb, sys_id):
    return next(u["name"] for u in sb.records("sys_user") if u["sys_id"] == sys_id)


def test_raw_values_with_reference_links(servicenow_sandbox, sn_session):
    sb = servicenow_sandbox
    rec = _first_assigned(sb)
    got = _get(sn_session, sb, rec["sys_id"])
    assert got["assigned_to"] == {"link": f"{sb.url}/api/now/table/sys_user/{rec['assigned_to']}",
                                  "value": rec["assigned_to"]}
    assert got["cmdb_ci"] == ""  # an empty reference is an empty string, not an object
    assert got["state"] == "7" and got["priority"] == rec["priority"]
    assert all(isinstance(v, (str, dict)) for v in got.values())


def test_exclude_reference_link(servicenow_sandbox, sn_session):
    rec = _first_assigned(servicenow_sandbox)
    got = _get(sn_session, servicenow_sandbox, rec["sys_id"], sysparm_exclude_reference_link="true")
    assert got == rec


def test_display_true(servicenow_sandbox, sn_session):
    sb = servicenow_sandbox
    rec = _first_assigned(sb)
    got = _get(sn_session, sb, rec["sys_id"], sysparm_display_value="true")
    assert got["state"] == "Closed"
    assert got["priority"].startswith(rec["priority"] + " - ")
    assert got["assigned_to"] == {"display_value": _user_name(sb, rec["assigned_to"]),
                                  "link": f"{sb.url}/api/now/table/sys_user/{rec['assigned_to']}"}
    excl = _get(sn_session, sb, rec["sys_id"], sysparm_display_value="true", sysparm_exclude_reference_link="true")
    assert excl["assigned_to"] == _user_name(sb, rec["assigned_to"])


def test_display_all(servicenow_sandbox, sn_session):
    sb = servicenow_sandbox
    rec = _first_assigned(sb)
    got = _get(sn_session, sb, rec["sys_id"], sysparm_display_value="all", sysparm_exclude_reference_link="true")
    assert got["state"] == {"display_value": "Closed", "value": "7"}
    assert got["number"] == {"display_value": rec["number"], "value": rec["number"]}
    assert got["assigned_to"] == {"display_value": _user_name(sb, rec["assigned_to"]), "value": rec["assigned_to"]}
    with_links = _get(sn_session, sb, rec["sys_id"], sysparm_display_value="all")
    assert with_links["assigned_to"]["link"].endswith(rec["assigned_to"])


def test_fields_selection_and_dot_walk(servicenow_sandbox, sn_session):
    sb = servicenow_sandbox
    rec = _first_assigned(sb)
    got = _get(sn_session, sb, rec["sys_id"], sysparm_fields="number,bogus,assigned_to.user_name,state")
    users = {u["sys_id"]: u["user_name"] for u in sb.records("sys_user")}
    assert got == {"number": rec["number"], "assigned_to.user_name": users[rec["assigned_to"]], "state": "7"}


def test_missing_record_is_404_json(servicenow_sandbox, sn_session):
    r = sn_session.get(f"{servicenow_sandbox.url}/api/now/table/incident/{'0' * 32}")
    assert r.status_code == 404
    assert r.json() == {"error": {"message": "No Record found",
                                  "detail": "Record doesn't exist or ACL restricts the record retrieval"},
                        "status": "failure"}
