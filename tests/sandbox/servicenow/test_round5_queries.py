"""Round 5, queries: dot-walks through references to `task` (parent, first_reported_by_task), the text
operators on a reference field (its display value), and answers that follow changes to the records a
dot-walk reads."""

from __future__ import annotations

import pytest


@pytest.fixture
def client(pysnc_client):
    return pysnc_client(200)


def test_dot_walks_through_task_references(client, sn_session):
    sb, c = client
    sn_session.verify = sb.ca_bundle
    incidents = {r["sys_id"]: r for r in sb.records("incident")}
    prb = sb.records("problem")[0]
    first = incidents[prb["first_reported_by_task"]]
    r = sn_session.get(f"{sb.url}/api/now/table/problem", params={
        "sysparm_query": f"number={prb['number']}",
        "sysparm_fields": "number,first_reported_by_task.number,first_reported_by_task.short_description"})
    [row] = r.json()["result"]
    assert row["first_reported_by_task.number"] == first["number"]
    assert row["first_reported_by_task.short_description"] == first["short_description"]
    req = sb.records("sc_request")[2]
    gr = c.GlideRecord("sc_task")
    gr.add_query("parent.number", req["number"])
    gr.query()
    assert len(gr) == 1 and gr.next() and gr.parent.get_value() == req["sys_id"]
    chg = sb.records("change_request")[4]
    gr = c.GlideRecord("change_task")
    gr.add_encoded_query(f"parent.numberSTARTSWITH{chg['number']}")
    gr.query()
    assert [x.change_request.get_value() for x in gr] == [chg["sys_id"]]


def test_text_operators_on_a_reference_test_its_display_value(client, sn_session):
    sb, c = client
    users = {u["sys_id"]: u["name"] for u in sb.records("sys_user")}
    incidents = sb.records("incident")
    name = users[incidents[0]["assigned_to"]]
    first, last = name.split()[0], name.split()[-1]

    def expect(test):
        return sorted(r["number"] for r in incidents if r["assigned_to"] and test(users[r["assigned_to"]].lower()))

    for query, test in ((f"assigned_toSTARTSWITH{first}", lambda n: n.startswith(first.lower())),
                        (f"assigned_toLIKE{last.upper()}", lambda n: last.lower() in n),
                        (f"assigned_toENDSWITH{last}", lambda n: n.endswith(last.lower()))):
        gr = c.GlideRecord("incident")
        gr.add_encoded_query(query)
        gr.query()
        assert sorted(x.number.get_value() for x in gr) == expect(test) != [], query
    sn_session.verify = sb.ca_bundle
    r = sn_session.get(f"{sb.url}/api/now/table/incident", params={
        "sysparm_query": f"assigned_toNOT LIKE{first}^assigned_toISNOTEMPTY", "sysparm_fields": "number"})
    assert sorted(x["number"] for x in r.json()["result"]) == expect(lambda n: first.lower() not in n)
    r = sn_session.get(f"{sb.url}/api/now/table/task", params={
        "sysparm_query": "parentSTARTSWITHREQ", "sysparm_fields": "number"})
    assert {x["number"][:6] for x in r.json()["result"]} == {"SCTASK"}
    r = sn_session.get(f"{sb.url}/api/now/table/incident", params={"sysparm_query": "sys_domainLIKEglob",
                                                                   "sysparm_limit": 1})
    assert r.headers["X-Total-Count"] == str(len(incidents))  # "global" has no record: shown as itself


def test_answers_follow_changes_to_the_records_a_dot_walk_reads(client, sn_session):
    sb, _ = client
    sn_session.verify = sb.ca_bundle
    url = f"{sb.url}/api/now/table/incident"
    inc = sb.records("incident")[0]
    user = sb.get("sys_user", inc["assigned_to"])
    mine = sorted(r["number"] for r in sb.records("incident") if r["assigned_to"] == user["sys_id"])

    def numbers(query):
        r = sn_session.get(url, params={"sysparm_query": query, "sysparm_fields": "number"})
        return sorted(x["number"] for x in r.json()["result"])

    def shown():
        r = sn_session.get(url, params={"sysparm_query": f"number={inc['number']}",
                                        "sysparm_fields": "assigned_to.title,assigned_to.active"})
        return r.json()["result"][0]

    assert numbers(f"assigned_to.name={user['name']}") == mine == numbers(f"assigned_toLIKE{user['name']}")
    assert shown() == {"assigned_to.title": user["title"], "assigned_to.active": user["active"]}
    sn_session.patch(f"{sb.url}/api/now/table/sys_user/{user['sys_id']}",
                     json={"name": "Renamed Person", "title": "Chief Auditor", "active": "false"})
    assert numbers(f"assigned_to.name={user['name']}") == [] == numbers(f"assigned_toLIKE{user['name']}")
    assert numbers("assigned_to.name=Renamed Person") == mine
    assert shown() == {"assigned_to.title": "Chief Auditor", "assigned_to.active": "false"}


def test_documented_search_term_and_capitalised_field(client, sn_session):
    """The encoded-query page's examples `123TEXTQUERY321=email` and `Assigned_to.roles=itil`: both
    conditions were dropped as unparseable, so each matched every record."""
    sb, c = client
    sn_session.verify = sb.ca_bundle
    text_fields = ("number", "short_description", "description", "category", "subcategory", "close_code",
                   "close_notes", "contact_type", "approval", "correlation_id", "correlation_display")

    def words(r):
        return " ".join(r[f] for f in text_fields).lower().replace(":", " ").split()

    incidents = sb.records("incident")
    gr = c.GlideRecord("incident")
    gr.add_encoded_query("active=true^123TEXTQUERY321=email")
    gr.query()
    expected = sorted(r["number"] for r in incidents if r["active"] == "true" and "email" in words(r))
    assert sorted(x.number.get_value() for x in gr) == expected != []
    r = sn_session.get(f"{sb.url}/api/now/table/incident", params={
        "sysparm_query": "123TEXTQUERY321=VPN office", "sysparm_fields": "short_description"})
    assert {x["short_description"] for x in r.json()["result"]} == {"Unable to connect to VPN from home office"}
    assigned = [r for r in incidents if r["assigned_to"]]
    r = sn_session.get(f"{sb.url}/api/now/table/incident", params={"sysparm_query": "Assigned_to.roles=itil",
                                                                   "sysparm_fields": "number"})
    assert r.headers["X-Total-Count"] == str(len(assigned)) != str(len(incidents))
