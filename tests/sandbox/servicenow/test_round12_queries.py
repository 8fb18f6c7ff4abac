"""Round 12, pysnc 1.2.1 and documented raw calls: DATEPART (the condition builder's trend) takes the part
of a date-time in the caller's time zone, JOIN / RLQUERY / SUBQUERY cannot reveal work notes to a
self-service caller (journal conditions inside them follow the top-level rules), the Aggregate API's
min / max of date-times (display values in the caller's zone, grouped, ordered by). The business-rule
operators VALCHANGES / CHANGESFROM / CHANGESTO stay ignored in a Table API query (round 8's guess, [unc])."""

from __future__ import annotations

import pysnc

from tests.sandbox.servicenow.helpers import as_user as _as
from tests.sandbox.servicenow.helpers import sorted_ids as _ids

SIZE = 30  # incidents in this module's sandbox (the shared env fixture)
NY = "America/New_York"
MARK = "r12dp"  # short_description prefix of this module's own incidents


def _tz_user(sb, s, name: str, tz: str, roles: tuple[str, ...] = ("itil",)) -> str:
    sid = sb.add_user(name, "Secret-12", roles=roles)["sys_id"]
    assert s.patch(f"{sb.url}/api/now/table/sys_user/{sid}", json={"time_zone": tz}).status_code == 200
    return sid


def _names(client, query: str) -> list[str]:
    gr = client.GlideRecord("incident")
    gr.add_encoded_query(f"short_descriptionSTARTSWITH{MARK}^{query}^ORDERBYshort_description")
    gr.query()
    out = []
    while gr.next():
        out.append(gr.get_value("short_description"))
    return out


def _seed_dateparts(sb) -> None:
    # stored UTC; in New York (UTC-5 in winter) each falls on the previous day / month / year
    for name, at in (("r12dp sunday evening ny", "2024-01-08 02:30:00"),  # Mon 02:30 UTC = Sun 21:30 NY
                     ("r12dp january ny", "2024-02-01 03:00:00"),  # Feb UTC = Jan 31 22:00 NY
                     ("r12dp new year ny", "2024-01-01 04:00:00"),  # 2024 UTC = 2023-12-31 23:00 NY
                     ("r12dp monday noon", "2024-01-15 17:00:00")):  # Monday 12:00 NY, Monday 17:00 UTC
        sb.insert("incident", {"short_description": name, "opened_at": at})


def test_datepart_takes_the_part_in_the_callers_time_zone(env):
    sb, client, s = env
    _seed_dateparts(sb)
    _tz_user(sb, s, "ny.trend", NY)
    ny = pysnc.ServiceNowClient(sb.url, ("ny.trend", "Secret-12"), verify=sb.ca_bundle)
    monday = "opened_atDATEPARTMonday@javascript:gs.datePart('dayofweek','monday','EE')"
    sunday = "opened_atDATEPARTSunday@javascript:gs.datePart('dayofweek','sunday','EE')"
    # the integration user's zone is UTC: the stored days
    assert _names(client, monday) == ["r12dp monday noon", "r12dp new year ny", "r12dp sunday evening ny"]
    assert _names(ny, monday) == ["r12dp monday noon"]
    assert _names(ny, sunday) == ["r12dp new year ny", "r12dp sunday evening ny"]

    hour9pm = "opened_atDATEPART9 pm hour@javascript:gs.datePart('hour','21','EE')"
    noon = "opened_atDATEPART12 pm hour@javascript:gs.datePart('hour','12','EE')"
    assert _names(ny, hour9pm) == ["r12dp sunday evening ny"]
    assert _names(client, hour9pm) == []
    assert _names(ny, noon) == ["r12dp monday noon"]
    assert _names(client, "opened_atDATEPART5 pm hour@javascript:gs.datePart('hour','17','EE')") == [
        "r12dp monday noon"]
    after_8pm = "opened_atDATEPARTAfter 8 pm hour@javascript:gs.datePart('hour','20','GT')"
    assert _names(ny, after_8pm) == ["r12dp january ny", "r12dp new year ny", "r12dp sunday evening ny"]

    january = "opened_atDATEPARTJanuary@javascript:gs.datePart('month','january','EE')"
    assert _names(ny, january) == ["r12dp january ny", "r12dp monday noon", "r12dp sunday evening ny"]
    assert _names(client, january) == ["r12dp monday noon", "r12dp new year ny", "r12dp sunday evening ny"]
    y2023 = "opened_atDATEPART2023@javascript:gs.datePart('year','2023','EE')"
    assert _names(ny, y2023) == ["r12dp new year ny"]
    assert _names(client, y2023) == []

    # the same over plain requests, as the REST docs show a sysparm_query
    with _as(sb, "ny.trend", "Secret-12") as ny_s:
        got = ny_s.get(f"{sb.url}/api/now/table/incident", params={
            "sysparm_query": f"short_descriptionSTARTSWITH{MARK}^{sunday}", "sysparm_fields": "short_description"})
    assert sorted(r["short_description"] for r in got.json()["result"]) == [
        "r12dp new year ny", "r12dp sunday evening ny"]


def test_journal_conditions_inside_join_and_rlquery_follow_the_top_level_rules(env):
    sb, client, s = env
    me = sb.add_user("ess.rl", "Secret-12")["sys_id"]
    noted = sb.insert("incident", {"short_description": "r12j noted", "caller_id": me})["sys_id"]
    commented = sb.insert("incident", {"short_description": "r12j commented", "caller_id": me})["sys_id"]
    sb.update("incident", noted, {"work_notes": "quokka suspected fraud"})
    sb.update("incident", commented, {"comments": "quokka sighting"})
    child = sb.insert("incident", {"short_description": "r12j child", "caller_id": me,
                                   "parent_incident": noted})["sys_id"]
    url = f"{sb.url}/api/now/table/incident"
    rl_notes = "RLQUERYsys_journal_field.element_id,>=1^element=work_notes^valueLIKEquokka^ENDRLQUERY"
    rl_none = "RLQUERYsys_journal_field.element_id,=0^element=work_notes^ENDRLQUERY"
    rl_comments = "RLQUERYsys_journal_field.element_id,>=1^element=comments^valueLIKEquokka^ENDRLQUERY"
    join_notes = "JOINincident.parent_incident=incident.sys_id!work_notesLIKEquokka"
    sub_notes = "SUBQUERYsys_id,element_id,sys_journal_field^element=work_notes^valueLIKEquokka^ENDSUBQUERY"
    mine = f"caller_id={me}^"

    # the integration user (itil) sees the notes, at top level and inside the sub-queries alike
    assert _ids(s, url, mine + "work_notesLIKEquokka") == [noted]
    assert _ids(s, url, mine + rl_notes) == [noted]
    assert _ids(s, url, mine + sub_notes) == [noted]
    assert _ids(s, url, mine + join_notes) == [child]
    assert _ids(s, url, mine + rl_comments) == [commented]
    gr = client.GlideRecord("incident")
    gr.add_encoded_query(mine + rl_notes)
    gr.query()
    assert len(gr) == 1 and gr.next() and gr.get_value("sys_id") == noted

    # a self-service caller: the work-note condition is dropped, its journal rows are the comments only
    every = sorted([noted, commented, child])
    with _as(sb, "ess.rl", "Secret-12") as ess:
        assert _ids(ess, url, "work_notesLIKEquokka") == every  # the top-level rule (round 10)
        assert _ids(ess, url, join_notes) == [child]  # the JOIN's note condition dropped: has a parent
        assert _ids(ess, url, rl_notes) == []  # it sees no work-note rows to count
        assert _ids(ess, url, rl_none) == every
        assert _ids(ess, url, sub_notes) == []
        assert _ids(ess, url, rl_comments) == [commented]  # its comments it may count
        assert _ids(ess, f"{sb.url}/api/now/table/sys_journal_field", "element=work_notes") == []
    ess_client = pysnc.ServiceNowClient(sb.url, ("ess.rl", "Secret-12"), verify=sb.ca_bundle)
    gr = ess_client.GlideRecord("incident")
    gr.add_encoded_query(rl_notes)
    gr.query()
    assert len(gr) == 0

    # under glide.invalid_query.returns_no_rows=true a dropped sub-query condition makes the query invalid
    prop = next(r for r in sb.records("sys_properties") if r["name"] == "glide.invalid_query.returns_no_rows")
    sb.update("sys_properties", prop["sys_id"], {"value": "true"})
    with _as(sb, "ess.rl", "Secret-12") as ess:
        assert _ids(ess, url, join_notes) == []
        assert _ids(ess, url, rl_comments) == [commented]
    assert _ids(s, url, mine + join_notes) == [child]


def _stats(session, url: str, **params) -> dict:
    got = session.get(url, params=params)
    assert got.status_code == 200, got.text
    return got.json()["result"]


def test_aggregate_min_max_of_date_times(env):
    sb, _, s = env
    _seed_dateparts(sb)
    _tz_user(sb, s, "ny.stats", NY)
    url = f"{sb.url}/api/now/stats/incident"
    query = {"sysparm_query": f"short_descriptionSTARTSWITH{MARK}", "sysparm_min_fields": "opened_at",
             "sysparm_max_fields": "opened_at", "sysparm_count": "true"}
    assert _stats(s, url, **query) == {"stats": {"count": "4", "min": {"opened_at": "2024-01-01 04:00:00"},
                                                  "max": {"opened_at": "2024-02-01 03:00:00"}}}
    with _as(sb, "ny.stats", "Secret-12") as ny:
        assert _stats(ny, url, **query)["stats"]["min"] == {"opened_at": "2024-01-01 04:00:00"}  # raw: UTC
        shown = _stats(ny, url, **query, sysparm_display_value="true")["stats"]
        assert shown["min"] == {"opened_at": "2023-12-31 23:00:00"} and shown["max"] == {
            "opened_at": "2024-01-31 22:00:00"}
        grouped = _stats(ny, url, **query, sysparm_display_value="true", sysparm_group_by="short_description",
                         sysparm_order_by="MIN^opened_at^DESC")
    assert [(g["groupby_fields"][0]["value"], g["stats"]["min"]["opened_at"]) for g in grouped] == [
        ("r12dp january ny", "2024-01-31 22:00:00"), ("r12dp monday noon", "2024-01-15 12:00:00"),
        ("r12dp sunday evening ny", "2024-01-07 21:30:00"), ("r12dp new year ny", "2023-12-31 23:00:00")]
    raw = _stats(s, url, **query, sysparm_group_by="short_description", sysparm_order_by="MAX^opened_at")
    assert [g["stats"]["max"]["opened_at"] for g in raw] == [
        "2024-01-01 04:00:00", "2024-01-08 02:30:00", "2024-01-15 17:00:00", "2024-02-01 03:00:00"]
    both = _stats(s, url, sysparm_query=f"short_descriptionSTARTSWITH{MARK}", sysparm_avg_fields="opened_at",
                  sysparm_sum_fields="opened_at")
    assert both == {"stats": {"avg": {"opened_at": ""}, "sum": {"opened_at": ""}}}
