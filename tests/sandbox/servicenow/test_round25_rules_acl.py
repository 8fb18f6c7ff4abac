"""Round 25 review: the admin-only tables (sys_script, sys_properties) cannot be read blind through another
table's JOIN / RLQUERY / SUBQUERY (Table, Aggregate and Batch API), nor a self-service user's unreadable
records; a write a business rule refuses leaves no journal entry; a rule's condition evaluates VALCHANGES,
CHANGESTO and CHANGESFROM against the previous record and matches nothing when it cannot be evaluated; a
rule's `order` that is not a whole number counts as 100."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

import pytest

from sandbox.servicenow import business_rules
from tests.sandbox.servicenow.helpers import as_user, query_ids

SIZE = 40
SECRET = "Zq7-r25acl"


@pytest.fixture
def callers(env):
    """(sandbox, {"itil": integration user's session, "self": a self-service user's, "admin": an admin's}, rule, me):
    an admin-added rule whose script holds SECRET and whose description names the admin's sys_id; me is the
    self-service user's sys_id."""
    sb, _client, session = env
    admin = sb.add_user("r25acl.admin", "Acl-admin-1", roles=("admin",))
    me = sb.add_user("r25acl.self", "Acl-self-1")["sys_id"]
    rule = sb.insert("sys_script", {"name": "r25acl secret", "collection": "incident", "active": "false",
                                    "script": f"var key = '{SECRET}';", "description": admin["sys_id"]})
    return sb, {"itil": session, "self": as_user(sb, "r25acl.self", "Acl-self-1"),
                "admin": as_user(sb, "r25acl.admin", "Acl-admin-1")}, rule, me


PROBES = {  # query on sys_user -> whether an admin's answer is every user (else: only the admin)
    "subquery": (f"SUBQUERYsys_domain,sys_domain,sys_script^scriptLIKE{SECRET}^ENDSUBQUERY", True),
    "join": (f"JOINsys_user.sys_domain=sys_script.sys_domain!scriptLIKE{SECRET}", True),
    "rlquery": (f"RLQUERYsys_script.description,>=1^scriptLIKE{SECRET}^ENDRLQUERY", False),
    "properties": ("SUBQUERYsys_domain,sys_domain,sys_properties^nameLIKEglide^ENDSUBQUERY", True),
}


def _batch(sb, session, query: str) -> set[str]:
    """The sys_ids a Table API query on sys_user answers as an item of a Batch API request."""
    item_url = "/api/now/table/sys_user?" + urlencode({"sysparm_fields": "sys_id", "sysparm_query": query})
    got = session.post(f"{sb.url}/api/now/v1/batch", json={"batch_request_id": "1", "rest_requests": [
        {"id": "a", "method": "GET", "url": item_url, "headers": [{"name": "Accept", "value": "application/json"}]}]})
    assert got.status_code == 200, got.text
    item = got.json()["serviced_requests"][0]
    assert item["status_code"] == 200
    return {r["sys_id"] for r in json.loads(base64.b64decode(item["body"]))["result"]}


@pytest.mark.parametrize("probe", sorted(PROBES))
def test_other_tables_admin_only_rows_are_not_read_blind(callers, probe):
    sb, sessions, _rule, _me = callers
    query, every = PROBES[probe]
    url = f"{sb.url}/api/now/table/sys_user"
    users = {u["sys_id"] for u in sb.records("sys_user")}
    admin_id = next(u["sys_id"] for u in sb.records("sys_user") if u["user_name"] == "r25acl.admin")
    for who, session in sessions.items():
        ids = set(query_ids(session, url, query))
        stats = session.get(f"{sb.url}/api/now/stats/sys_user",
                            params={"sysparm_query": query, "sysparm_count": "true"}).json()["result"]["stats"]
        batch = _batch(sb, session, query)
        if who == "admin":
            assert ids == batch == (users if every else {admin_id}), who
            assert stats["count"] == str(len(ids))
        else:
            assert ids == batch == set() and stats["count"] == "0", who


def test_a_related_count_of_an_admin_only_table_matches_nothing(callers):
    """`,=0` would match every row if the hidden table counted as empty: it matches none."""
    sb, sessions, _rule, _me = callers
    url = f"{sb.url}/api/now/table/sys_user"
    query = "RLQUERYsys_script.description,=0^ENDRLQUERY"
    assert len(query_ids(sessions["admin"], url, query)) == len(sb.records("sys_user")) - 1
    assert query_ids(sessions["itil"], url, query) == query_ids(sessions["self"], url, query) == []
    assert query_ids(sessions["itil"], url, "RLQUERYincident.caller_id,=0^ENDRLQUERY")  # readable: counted


def test_a_self_service_users_related_queries_see_only_the_records_it_may_read(callers):
    sb, sessions, _rule, me = callers
    other = sb.add_user("r25acl.other", "Acl-other-1")["sys_id"]
    sb.insert("incident", {"short_description": "r25acl mine", "caller_id": me})
    sb.insert("incident", {"short_description": "r25acl theirs", "caller_id": other})
    url = f"{sb.url}/api/now/table/sys_user"
    query = "SUBQUERYsys_id,caller_id,incident^short_descriptionLIKEr25acl^ENDSUBQUERY"
    assert sorted(query_ids(sessions["itil"], url, query)) == sorted([me, other])
    assert query_ids(sessions["self"], url, query) == [me]
    assert query_ids(sessions["self"], url, "RLQUERYincident.caller_id,>=1^short_descriptionLIKEr25acl"
                                           "^ENDRLQUERY") == [me]
    assert query_ids(sessions["self"], url, "JOINsys_user.sys_id=incident.caller_id!short_description"
                                           "LIKEr25acl") == [me]
    # a table it may read nothing of (cmdb_ci): no rows; the itil user's answer is unchanged
    ci_query = "SUBQUERYsys_id,assigned_to,cmdb_ci^nameISNOTEMPTY^ENDSUBQUERY"
    assert query_ids(sessions["self"], url, ci_query) == [] and query_ids(sessions["itil"], url, ci_query)


def _abort(sb, name: str, collection: str, condition: str, *actions: str, order: str = "100") -> dict:
    return sb.insert("sys_script", {"name": name, "collection": collection, "when": "before", "order": order,
                                    "abort_action": "true", "filter_condition": condition,
                                    **{f"action_{a}": "true" for a in actions}})


def _entries(sb, text: str) -> list[dict]:
    return [j for j in sb.records("sys_journal_field") if text in j["value"]]


def test_a_refused_write_leaves_no_journal_entry(callers):
    sb, sessions, _rule, _me = callers
    s, url = sessions["itil"], f"{sb.url}/api/now/table/incident"
    _abort(sb, "r25acl no forbidden", "incident", "short_descriptionLIKEforbidden", "insert", "update")
    inc = s.post(url, json={"short_description": "fine", "comments": "r25acl kept"}).json()["result"]
    refused = s.patch(f"{url}/{inc['sys_id']}", json={"short_description": "forbidden", "comments": "r25acl lost"})
    assert refused.status_code == 403
    assert s.post(url, json={"short_description": "forbidden", "comments": "r25acl orphan",
                             "work_notes": "r25acl orphan note"}).status_code == 403
    assert [j["element_id"] for j in _entries(sb, "r25acl kept")] == [inc["sys_id"]]
    assert _entries(sb, "r25acl lost") == _entries(sb, "r25acl orphan") == []
    shown = s.get(f"{url}/{inc['sys_id']}", params={"sysparm_display_value": "true"}).json()["result"]
    assert "r25acl kept" in shown["comments"] and "r25acl lost" not in shown["comments"]
    assert s.patch(f"{url}/{inc['sys_id']}", json={"comments": "r25acl later"}).status_code == 200
    assert len(_entries(sb, "r25acl later")) == 1


def test_changes_operators_compare_with_the_previous_record(callers):
    sb, sessions, _rule, _me = callers
    s, url = sessions["itil"], f"{sb.url}/api/now/table/incident"
    inc = s.post(url, json={"short_description": "r25acl changes", "state": "1", "priority": "3"}).json()["result"]
    _abort(sb, "r25acl to resolved", "incident", "stateCHANGESTO6", "update")
    from_new = _abort(sb, "r25acl from new", "incident", "stateCHANGESFROM1^ORstateCHANGESFROM7", "update")
    _abort(sb, "r25acl priority", "incident", "priorityVALCHANGES^short_descriptionLIKEchanges", "update")

    def patch(body: dict) -> int:
        return s.patch(f"{url}/{inc['sys_id']}", json=body).status_code

    assert patch({"urgency": "1"}) == 200  # no CHANGES condition holds: every write used to be refused
    assert patch({"state": "2"}) == 403  # changes from 1
    assert patch({"priority": "3"}) == 200  # unchanged
    assert patch({"priority": "2"}) == 403
    sb.update("sys_script", from_new["sys_id"], {"active": "false"})
    assert patch({"state": "2"}) == 200
    sb.update("sys_script", from_new["sys_id"], {"active": "true"})
    assert patch({"state": "3"}) == 200  # from 2
    assert patch({"state": "6"}) == 403
    assert sb.get("incident", inc["sys_id"])["state"] == "3"


def test_changes_on_insert_and_delete(callers):
    sb, sessions, _rule, _me = callers
    s, url = sessions["itil"], f"{sb.url}/api/now/table/problem"
    _abort(sb, "r25acl described", "problem", "descriptionVALCHANGES", "insert", "delete")
    _abort(sb, "r25acl to p1", "problem", "priorityCHANGESTO1", "insert")
    assert s.post(url, json={"short_description": "r25acl", "description": "set"}).status_code == 403
    assert s.post(url, json={"short_description": "r25acl", "priority": "1"}).status_code == 403
    bare = s.post(url, json={"short_description": "r25acl", "priority": "2"})
    assert bare.status_code == 201
    sb.update("problem", bare.json()["result"]["sys_id"], {"description": "now set"})
    assert s.delete(f"{url}/{bare.json()['result']['sys_id']}").status_code == 204  # a delete changes nothing


@pytest.mark.parametrize("condition", ["no_such_field=1", "priority=1^ORno_such_field=1", "priorityWHATEVER1",
                                       "no_such_fieldVALCHANGES", "RLQUERYno_table.x,>=1^ENDRLQUERY",
                                       "JOINincident.nope=x"])
def test_a_condition_the_rule_cannot_evaluate_matches_nothing(callers, condition):
    sb, sessions, _rule, _me = callers
    s, url = sessions["itil"], f"{sb.url}/api/now/table/incident"
    _abort(sb, "r25acl broken", "incident", condition, "insert", "update")
    inc = s.post(url, json={"short_description": "r25acl", "priority": "1"})
    assert inc.status_code == 201, inc.text
    assert s.patch(f"{url}/{inc.json()['result']['sys_id']}", json={"urgency": "2"}).status_code == 200
    _abort(sb, "r25acl working", "incident", "priority=1", "insert")
    assert s.post(url, json={"short_description": "r25acl", "priority": "1"}).status_code == 403


def test_an_order_that_is_not_a_whole_number_counts_as_100(callers):
    sb, sessions, _rule, _me = callers
    s, url = sessions["itil"], f"{sb.url}/api/now/table/change_request"
    for name, order in (("b weird", "--5"), ("a super", "\u00b2"), ("c spaced", " 7 ")):
        _abort(sb, name, "change_request", "short_descriptionLIKEr25acl", "insert", order=order)
    refused = s.post(url, json={"short_description": "r25acl"})
    assert refused.status_code == 403 and "'c spaced^" in refused.json()["error"]["detail"]  # 7 first
    sb.update("sys_script", next(r["sys_id"] for r in sb.records("sys_script") if r["name"] == "c spaced"),
              {"active": "false"})
    refused = s.post(url, json={"short_description": "r25acl"})
    assert refused.status_code == 403 and "'a super^" in refused.json()["error"]["detail"]  # 100, then name
    assert s.post(url, json={"short_description": "clean"}).status_code == 201
    orders = ("--5", "\u00b2", "-5", " 12 ", "", "1.5")
    assert [business_rules._order(v) for v in orders] == [100, 100, -5, 12, 100, 100]


@pytest.mark.parametrize("related", [
    "RLQUERYincident.parent,>=1^short_descriptionVALCHANGES^ENDRLQUERY",
    "RLQUERYincident.parent,>=1,short_descriptionVALCHANGES^ENDRLQUERY",
    "SUBQUERYsys_id,parent,incident^ORshort_descriptionCHANGESTOx^ENDSUBQUERY",
    "JOINincident.sys_id=incident.parent!short_descriptionVALCHANGES",
])
def test_changes_inside_a_related_clause_matches_nothing(callers, related):
    """A CHANGES operator in another table's clause was decided by the record being saved (or dropped): such a
    rule matches nothing now; CHANGES beside a related clause still counts."""
    sb, sessions, _rule, _me = callers
    s, url = sessions["itil"], f"{sb.url}/api/now/table/incident"
    parent = s.post(url, json={"short_description": "r25rel parent"}).json()["result"]["sys_id"]
    assert s.post(url, json={"short_description": "r25rel child", "parent": parent}).status_code == 201
    broken = _abort(sb, "r25rel inside", "incident", related, "update")
    assert s.patch(f"{url}/{parent}", json={"short_description": "x"}).status_code == 200
    sb.update("sys_script", broken["sys_id"], {"active": "false"})
    _abort(sb, "r25rel beside", "incident",
           "RLQUERYincident.parent,>=1^short_descriptionLIKEr25rel^ENDRLQUERY^short_descriptionVALCHANGES", "update")
    assert s.patch(f"{url}/{parent}", json={"short_description": "y"}).status_code == 403
    assert s.patch(f"{url}/{parent}", json={"urgency": "2"}).status_code == 200


def test_a_dot_walk_through_a_task_reference_evaluates(callers):
    """`parent` (a reference to task) walks to the parent record in whichever task table holds it, for task's
    fields; a field task does not have (`parent.caller_id`) is unknown, to a Table API query too (ignored there),
    so such a rule matches nothing [unc: the platform reaches an extended table's field as parent.ref_incident.x]."""
    sb, sessions, _rule, _me = callers
    s, url = sessions["itil"], f"{sb.url}/api/now/table/incident"
    parent = s.post(url, json={"short_description": "r25walk parent"}).json()["result"]["sys_id"]
    other = s.post(url, json={"short_description": "plain parent"}).json()["result"]["sys_id"]
    _abort(sb, "r25walk", "incident", "parent.short_descriptionLIKEr25walk", "insert")
    assert s.post(url, json={"short_description": "c", "parent": parent}).status_code == 403
    assert s.post(url, json={"short_description": "c", "parent": other}).status_code == 201
    unknown = "parent.caller_id=" + next(u["sys_id"] for u in sb.records("sys_user"))
    _abort(sb, "r25walk unknown", "incident", unknown, "insert")
    assert s.post(url, json={"short_description": "c", "parent": other}).status_code == 201
    assert len(query_ids(s, url, unknown)) == len(sb.records("incident"))


@pytest.mark.parametrize("kind", ["cmn_schedule_maintenance", "cmn_schedule_blackout"])
def test_a_schedules_condition_sees_other_tables_as_its_writer(callers, kind):
    """The integration user (itil) may write schedules: their conditions' SUBQUERY on sys_script sees nothing
    for it, so the conflict check does not tell it whether the admin-only script holds SECRET; the admin's
    schedule with the same condition applies."""
    sb, sessions, _rule, _me = callers
    ci = sb.records("cmdb_ci")[0]
    probe = f"name={ci['name']}^SUBQUERYsys_domain,sys_domain,sys_script^scriptLIKE{SECRET}^ENDSUBQUERY"
    url, change = f"{sb.url}/api/now/table", f"{sb.url}/api/sn_chg_rest/change"
    want = "not_in_maintenance_window" if kind == "cmn_schedule_maintenance" else "blackout"
    start, end = ("20330301T000000", "20330301T010000") if want == "blackout" else \
        ("20330302T000000", "20330302T010000")  # the change (03-01 00:15) inside a blackout, outside a window

    def schedule(who: str) -> str:
        s = sessions[who]
        made = s.post(f"{url}/{kind}", json={"name": f"r25 {who}", "condition": probe, "time_zone": "GMT"})
        assert made.status_code == 201, made.text
        sid = made.json()["result"]["sys_id"]
        assert s.post(f"{url}/cmn_schedule_span", json={"name": "s", "schedule": sid, "start_date_time": start,
                                                       "end_date_time": end}).status_code == 201
        return sid

    def conflicts(s) -> list[tuple[str, str]]:
        body = {"short_description": "r25 probe", "cmdb_ci": ci["sys_id"], "start_date": "2033-03-01 00:15:00",
                "end_date": "2033-03-01 00:45:00"}
        cid = s.post(f"{change}/normal", json=body).json()["result"]["sys_id"]["value"]
        assert s.post(f"{change}/{cid}/conflict").status_code == 200
        return [(c["type"]["value"], c["schedule"]["value"])  # not the other probe changes' overlap
                for c in s.get(f"{change}/{cid}/conflict").json()["result"]["conflicts"]
                if c["type"]["value"] == want]

    itil = schedule("itil")
    assert conflicts(sessions["itil"]) == conflicts(sessions["admin"]) == []  # the itil-written one never applies
    admins = schedule("admin")
    assert (want, admins) in conflicts(sessions["itil"]) and (want, itil) not in conflicts(sessions["admin"])
