"""Round 12 (second pass), pysnc 1.2.1 and documented raw calls: a condition on a journal field matches the
entries' own text (sys_journal_field.value), not the "<time> - <name> (Work notes)" headers of the history,
at top level and inside JOIN / RLQUERY / SUBQUERY; the javascript:gs.* date helpers (DATEPART) are taken in
the caller's time zone by the attachment, CMDB, Change Management and UI-page list handlers too; a JOIN on
sys_journal_field under ^OR shows a self-service caller no work-note row."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pysnc

from tests.sandbox.servicenow.helpers import as_user as _as
from tests.sandbox.servicenow.helpers import noted_incidents
from tests.sandbox.servicenow.helpers import sorted_ids as _ids

SIZE = 20
NY = "America/New_York"


def _pysnc_ids(client, query: str) -> list[str]:
    gr = client.GlideRecord("incident")
    gr.add_encoded_query(query)
    gr.query()
    out = []
    while gr.next():
        out.append(gr.get_value("sys_id"))
    return sorted(out)


def test_journal_conditions_match_the_entries_not_the_history_headers(env):
    sb, client, s = env
    me, noted, commented, bare = noted_incidents(sb, "ess.jq", "r12jq", ("quokka suspected", "second thoughts"),
                                                 "wombat sighting")
    child = sb.insert("incident", {"short_description": "r12jq child", "caller_id": me,
                                   "parent_incident": noted})["sys_id"]
    sb.update("incident", child, {"work_notes": "child note"})
    url = f"{sb.url}/api/now/table/incident"
    mine = f"caller_id={me}^"
    every = sorted([noted, commented, bare, child])

    # the header words are not the entries' text
    assert _pysnc_ids(client, mine + "work_notesLIKEWork notes") == []
    assert _ids(s, url, mine + "commentsLIKEAdditional comments") == []
    assert _ids(s, url, mine + "comments_and_work_notesLIKE(Work notes)") == []
    assert _ids(s, url, mine + "work_notesNOT LIKEWork notes") == every
    # each entry is matched on its own: a STARTSWITH sees an entry's start, not the newest header's
    assert _pysnc_ids(client, mine + "work_notesSTARTSWITHquokka") == [noted]
    assert _ids(s, url, mine + "work_notesSTARTSWITHsecond") == [noted]
    assert _ids(s, url, mine + "work_notes=second thoughts") == [noted]
    assert _ids(s, url, mine + "work_notesLIKEquokka") == [noted]
    assert _ids(s, url, mine + "comments_and_work_notesLIKEwombat") == [commented]
    assert _ids(s, url, mine + "commentsLIKEwombat") == [commented]
    assert _ids(s, url, mine + "work_notesNOT LIKEquokka") == sorted([commented, bare, child])
    assert _ids(s, url, mine + "work_notesISEMPTY") == sorted([commented, bare])
    assert _ids(s, url, mine + "work_notesISNOTEMPTY") == sorted([noted, child])
    assert _ids(s, url, mine + "parent_incident.work_notesSTARTSWITHquokka") == [child]

    # the same inside JOIN, RLQUERY and SUBQUERY
    assert _ids(s, url, mine + "JOINincident.parent_incident=incident.sys_id!work_notesLIKEWork notes") == []
    assert _ids(s, url, mine + "JOINincident.parent_incident=incident.sys_id!work_notesSTARTSWITHquokka") == [child]
    assert _ids(s, url, mine + "RLQUERYincident.parent_incident,>=1^work_notesLIKEWork notes^ENDRLQUERY") == []
    assert _ids(s, url, mine + "RLQUERYincident.parent_incident,>=1^work_notesSTARTSWITHchild^ENDRLQUERY") == [noted]
    assert _ids(s, url, mine + "SUBQUERYparent_incident,sys_id,incident^work_notesSTARTSWITHquokka"
                                "^ENDSUBQUERY") == [child]

    # a self-service caller's comment conditions (its work-note ones are dropped) follow the same rule
    with _as(sb, "ess.jq", "Secret-12") as ess:
        assert _ids(ess, url, "commentsLIKEAdditional comments") == []
        assert _ids(ess, url, "commentsSTARTSWITHwombat") == [commented]

    # a later entry, and a deleted one, change the answer (no stale cached result)
    assert _ids(s, url, mine + "work_notesLIKEkangaroo") == []
    sb.update("incident", bare, {"work_notes": "kangaroo"})
    assert _ids(s, url, mine + "work_notesLIKEkangaroo") == [bare]
    entry = next(r for r in sb.records("sys_journal_field") if r["value"] == "kangaroo")
    sb.delete("sys_journal_field", entry["sys_id"])
    assert _ids(s, url, mine + "work_notesLIKEkangaroo") == []


def _next_half_hour(sb) -> int:
    """Move the clock on to the next hh:30 UTC; the hour it is then in New York."""
    at = sb.clock.now()
    half = at.replace(minute=30, second=0, microsecond=0)
    sb.clock.advance(((half if half > at else half + timedelta(hours=1)) - at).total_seconds())
    return sb.clock.now().astimezone(ZoneInfo(NY)).hour


def test_date_helpers_take_the_callers_zone_outside_the_table_api(env):
    sb, _, s = env
    ny_hour = _next_half_hour(sb)
    sid = sb.add_user("ny.apis", "Secret-12", roles=("itil",))["sys_id"]
    assert s.patch(f"{sb.url}/api/now/table/sys_user/{sid}", json={"time_zone": NY}).status_code == 200
    inc = sb.insert("incident", {"short_description": "r12tz host"})
    ci = sb.insert("cmdb_ci", {"name": "r12tz ci"})["sys_id"]
    change = sb.insert("change_request", {"short_description": "r12tz change", "type": "normal"})["sys_id"]
    up = s.post(f"{sb.url}/api/now/attachment/file", params={
        "table_name": "incident", "table_sys_id": inc["sys_id"], "file_name": "r12tz.txt"},
        data=b"hello", headers={"Content-Type": "text/plain"})
    assert up.status_code == 201, up.text
    att = up.json()["result"]["sys_id"]
    hour = f"sys_created_onDATEPART{ny_hour} hour@javascript:gs.datePart('hour','{ny_hour}','EE')"

    def answers(session) -> dict[str, bool]:
        got = session.get(f"{sb.url}/api/now/attachment", params={"sysparm_query": f"sys_id={att}^{hour}"})
        cis = session.get(f"{sb.url}/api/now/cmdb/instance/cmdb_ci", params={"sysparm_query": f"sys_id={ci}^{hour}"})
        chg = session.get(f"{sb.url}/api/sn_chg_rest/change", params={"sysparm_query": f"sys_id={change}^{hour}"})
        page = session.get(f"{sb.url}/incident_list.do", params={"sysparm_query": f"sys_id={inc['sys_id']}^{hour}"})
        for r in (got, cis, chg, page):
            assert r.status_code == 200, r.text
        return {"attachment": len(got.json()["result"]) == 1, "cmdb": len(cis.json()["result"]) == 1,
                "change": len(chg.json()["result"]) == 1, "ui": inc["number"] in page.text}

    with _as(sb, "ny.apis", "Secret-12") as ny:
        assert answers(ny) == {"attachment": True, "cmdb": True, "change": True, "ui": True}
    assert answers(s) == {"attachment": False, "cmdb": False, "change": False, "ui": False}  # UTC: another hour
    # the UI's list fills in the calling user too, as the Table API does
    mine = sb.insert("incident", {"short_description": "r12tz mine", "caller_id": sid})["number"]
    with _as(sb, "ny.apis", "Secret-12") as ny:
        page = ny.get(f"{sb.url}/incident_list.do", params={"sysparm_query": "caller_id=javascript:gs.getUserID()"})
    assert page.status_code == 200 and mine in page.text and "(1)" in page.text


def test_a_journal_join_under_or_shows_a_self_service_caller_no_work_note(env):
    sb, _, s = env
    _me, noted, commented, bare = noted_incidents(sb, "ess.or", "r12or", ("secret",), "hello")
    url = f"{sb.url}/api/now/table/incident"
    # has a journal row (an inner join), and (its short description names it, or a row matches the JOIN)
    query = "short_descriptionSTARTSWITHr12or^ORJOINincident.sys_id=sys_journal_field.element_id!element=comments"
    assert _ids(s, url, query) == sorted([noted, commented])  # itil: every journal row joins
    with _as(sb, "ess.or", "Secret-12") as ess:
        assert _ids(ess, url, query) == [commented]  # its journal rows are the comments only
        plain = "short_descriptionSTARTSWITHr12or^ORJOINincident.sys_id=sys_journal_field.element_id!"
        assert _ids(ess, url, plain) == [commented]
        assert _ids(ess, url, "JOINincident.sys_id=sys_journal_field.element_id!") == [commented]
    ess_client = pysnc.ServiceNowClient(sb.url, ("ess.or", "Secret-12"), verify=sb.ca_bundle)
    assert _pysnc_ids(ess_client, query) == [commented]
    assert bare not in _ids(s, url, query)
