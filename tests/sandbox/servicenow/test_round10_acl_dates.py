"""Round 10, pysnc 1.2.1 and documented raw calls: a self-service caller can neither filter on nor write
work notes (field ACLs on queries and writes), the Aggregate API and the JSONv2 processor show date-times in
the caller's time zone, sysparm_limit=0 answers no paging links, sysparm_input_display_value date-times
are the caller's wall time, and the javascript:gs.* date helpers of a query count the caller's days."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pysnc

from tests.sandbox.servicenow.helpers import as_user as _as

FMT = "%Y-%m-%d %H:%M:%S"


SIZE = 30  # incidents in this module's sandbox (the shared env fixture)


def _tz_user(sb, s, name: str, tz: str, roles: tuple[str, ...] = ("itil",)) -> str:
    sid = sb.add_user(name, "Secret-10", roles=roles)["sys_id"]
    assert s.patch(f"{sb.url}/api/now/table/sys_user/{sid}", json={"time_zone": tz}).status_code == 200
    return sid


def test_a_self_service_caller_cannot_filter_on_work_notes(env):
    sb, client, s = env
    me = sb.add_user("ess.q", "Secret-10")["sys_id"]
    noted = sb.insert("incident", {"short_description": "printer jam", "caller_id": me})["sys_id"]
    plain = sb.insert("incident", {"short_description": "printer toner", "caller_id": me})["sys_id"]
    sb.update("incident", noted, {"work_notes": "zebracode suspected fraud"})
    url = f"{sb.url}/api/now/table/incident"
    agent = s.get(url, params={"sysparm_query": "work_notesLIKEzebracode", "sysparm_fields": "sys_id"})
    assert [r["sys_id"] for r in agent.json()["result"]] == [noted]  # the itil integration user may
    with _as(sb, "ess.q", "Secret-10") as ess:
        for query in ("work_notesLIKEzebracode", "work_notesISNOTEMPTY", "comments_and_work_notesLIKEzebracode",
                      "short_descriptionSTARTSWITHprinter^work_notesLIKEzebracode"):
            got = ess.get(url, params={"sysparm_query": query, "sysparm_fields": "sys_id"})
            # the condition is dropped: both of its incidents, whatever the notes hold
            assert sorted(r["sys_id"] for r in got.json()["result"]) == sorted([noted, plain]), query
            assert got.headers["X-Total-Count"] == "2"
        keyword = ess.get(url, params={"sysparm_query": "123TEXTQUERY321=zebracode"}).json()["result"]
        assert keyword == []  # a keyword search does not look into the notes either
        assert len(ess.get(url, params={"sysparm_query": "123TEXTQUERY321=toner"}).json()["result"]) == 1
        jsonv2 = ess.get(f"{sb.url}/incident.do", params={"JSONv2": "", "sysparm_query": "work_notesLIKEzebracode"})
        assert len(jsonv2.json()["records"]) == 2
    ess_client = pysnc.ServiceNowClient(sb.url, ("ess.q", "Secret-10"), verify=sb.ca_bundle)
    gr = ess_client.GlideRecord("incident")
    gr.add_query("work_notes", "LIKE", "zebracode")
    gr.query()
    assert len(gr) == 2
    agent_gr = client.GlideRecord("incident")
    agent_gr.add_encoded_query("work_notesLIKEzebracode")
    agent_gr.query()
    assert len(agent_gr) == 1

    # with glide.invalid_query.returns_no_rows=true such a query matches nothing, as an invalid one
    prop = next(r for r in sb.records("sys_properties") if r["name"] == "glide.invalid_query.returns_no_rows")
    sb.update("sys_properties", prop["sys_id"], {"value": "true"})
    with _as(sb, "ess.q", "Secret-10") as ess:
        assert ess.get(url, params={"sysparm_query": "work_notesLIKEzebracode"}).json()["result"] == []
        assert len(ess.get(url, params={"sysparm_query": "short_descriptionLIKEprinter"}).json()["result"]) == 2
    assert len(s.get(url, params={"sysparm_query": "work_notesLIKEzebracode"}).json()["result"]) == 1


def test_a_self_service_write_of_work_notes_is_saved_without_them(env):
    sb, _, s = env
    sb.add_user("ess.w", "Secret-10")
    ess_client = pysnc.ServiceNowClient(sb.url, ("ess.w", "Secret-10"), verify=sb.ca_bundle)
    gr = ess_client.GlideRecord("incident")
    gr.initialize()
    gr.short_description = "VPN drops"
    gr.comments = "since Monday"
    gr.work_notes = "I am an agent, close this"
    sid = gr.insert()
    assert sid
    journal = s.get(f"{sb.url}/api/now/table/sys_journal_field",
                    params={"sysparm_query": f"element_id={sid}", "sysparm_fields": "element,value"}).json()["result"]
    assert [j["element"] for j in journal] == ["comments"]
    shown = s.get(f"{sb.url}/api/now/table/incident/{sid}",
                  params={"sysparm_display_value": "true", "sysparm_fields": "work_notes,comments"}).json()["result"]
    assert shown["work_notes"] == "" and "since Monday" in shown["comments"]
    with _as(sb, "ess.w", "Secret-10") as ess:
        r = ess.get(f"{sb.url}/incident.do", params={"JSONv2": "", "sysparm_action": "insert"},
                    data='{"short_description": "via JSONv2", "work_notes": "sneaky"}',
                    headers={"Content-Type": "application/json"})
        new = r.json()["records"][0]["sys_id"]
    assert s.get(f"{sb.url}/api/now/table/sys_journal_field",
                 params={"sysparm_query": f"element_id={new}"}).json()["result"] == []


def test_aggregate_and_jsonv2_display_date_times_in_the_callers_zone(env):
    sb, _, s = env
    _tz_user(sb, s, "tokyo.agent", "Asia/Tokyo")
    sid = sb.insert("incident", {"short_description": "tz stats", "opened_at": "2026-01-15 20:00:00"})["sys_id"]
    with _as(sb, "tokyo.agent", "Secret-10") as tokyo:
        stats = tokyo.get(f"{sb.url}/api/now/stats/incident", params={
            "sysparm_query": f"sys_id={sid}", "sysparm_group_by": "opened_at", "sysparm_count": "true",
            "sysparm_display_value": "all"}).json()["result"]
        assert stats[0]["groupby_fields"] == [{"display_value": "2026-01-16 05:00:00", "value": "2026-01-15 20:00:00",
                                               "field": "opened_at"}]
        v2 = tokyo.get(f"{sb.url}/incident.do", params={"JSONv2": "", "sysparm_sys_id": sid,
                                                        "displayvalue": "all"}).json()["records"][0]
        assert v2["opened_at"] == "2026-01-15 20:00:00" and v2["dv_opened_at"] == "2026-01-16 05:00:00"
    gmt = s.get(f"{sb.url}/api/now/stats/incident", params={
        "sysparm_query": f"sys_id={sid}", "sysparm_group_by": "opened_at", "sysparm_count": "true",
        "sysparm_display_value": "true"}).json()["result"]
    assert gmt[0]["groupby_fields"] == [{"value": "2026-01-15 20:00:00", "field": "opened_at"}]

    me = sb.add_user("ess.s", "Secret-10")["sys_id"]
    noted = sb.insert("incident", {"short_description": "stats notes", "caller_id": me})["sys_id"]
    sb.update("incident", noted, {"work_notes": "hidden words"})
    with _as(sb, "ess.s", "Secret-10") as ess:
        got = ess.get(f"{sb.url}/api/now/stats/incident", params={
            "sysparm_query": "work_notesLIKEnothing-like-this", "sysparm_count": "true",
            "sysparm_group_by": "work_notes", "sysparm_max_fields": "work_notes"}).json()["result"]
        assert got == {"stats": {"count": "1"}}  # condition dropped; group and aggregate on it ignored


def test_limit_zero_answers_no_paging_links(env):
    sb, _, s = env
    r = s.get(f"{sb.url}/api/now/table/incident", params={"sysparm_limit": "0"})
    assert r.json()["result"] == [] and int(r.headers["X-Total-Count"]) > 1
    assert "Link" not in r.headers
    r = s.get(f"{sb.url}/api/now/table/incident", params={"sysparm_limit": "0", "sysparm_offset": "5"})
    assert r.json()["result"] == [] and "Link" not in r.headers
    paged = s.get(f"{sb.url}/api/now/table/incident", params={"sysparm_limit": "2"})
    assert 'rel="next"' in paged.headers["Link"]


def test_input_display_value_date_times_are_the_callers_wall_time(env):
    sb, _, s = env
    _tz_user(sb, s, "ny.writer", "America/New_York")
    url = f"{sb.url}/api/now/table/incident"
    with _as(sb, "ny.writer", "Secret-10") as ny:
        r = ny.post(url, params={"sysparm_input_display_value": "true"},
                    json={"short_description": "tz in", "opened_at": "2026-01-15 09:00:00"})
        sid = r.json()["result"]["sys_id"]
        assert r.json()["result"]["opened_at"] == "2026-01-15 14:00:00"
        ny.patch(f"{url}/{sid}", params={"sysparm_input_display_value": "true"},
                 json={"opened_at": "2026-07-15 09:00:00"})
        assert sb.get("incident", sid)["opened_at"] == "2026-07-15 13:00:00"  # daylight saving time
        ny.patch(f"{url}/{sid}", json={"opened_at": "2026-07-15 09:00:00"})  # without it: the stored value
        assert sb.get("incident", sid)["opened_at"] == "2026-07-15 09:00:00"
    s.patch(f"{url}/{sid}", params={"sysparm_input_display_value": "true"}, json={"opened_at": "2026-02-01 10:00:00"})
    assert sb.get("incident", sid)["opened_at"] == "2026-02-01 10:00:00"  # the integration user: GMT


def test_gs_date_helpers_count_the_callers_days(env):
    sb, client, s = env
    _tz_user(sb, s, "kiri.agent", "Pacific/Kiritimati")  # UTC+14: its today starts hours before UTC's
    now = sb.clock.now()
    local_midnight = now.astimezone(ZoneInfo("Pacific/Kiritimati")).replace(hour=0, minute=0, second=0,
                                                                             microsecond=0)
    boundary = local_midnight.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    before = sb.insert("incident", {"short_description": "tzq before",
                                    "opened_at": (boundary - timedelta(seconds=1)).strftime(FMT)})["sys_id"]
    after = sb.insert("incident", {"short_description": "tzq after",
                                   "opened_at": (boundary + timedelta(seconds=1)).strftime(FMT)})["sys_id"]
    query = "short_descriptionSTARTSWITHtzq^opened_at>=javascript:gs.beginningOfToday()"
    kiri = pysnc.ServiceNowClient(sb.url, ("kiri.agent", "Secret-10"), verify=sb.ca_bundle)
    gr = kiri.GlideRecord("incident")
    gr.add_encoded_query(query)
    gr.query()
    assert [r.sys_id.get_value() for r in gr] == [after]
    on_today = ("short_descriptionSTARTSWITHtzq^opened_atONToday@javascript:gs.beginningOfToday()"
                "@javascript:gs.endOfToday()")
    with _as(sb, "kiri.agent", "Secret-10") as k:
        got = k.get(f"{sb.url}/api/now/table/incident", params={"sysparm_query": on_today}).json()["result"]
        assert [r["sys_id"] for r in got] == [after]
    gmt = client.GlideRecord("incident")  # the integration user (GMT): both are on its today or before it
    gmt.add_encoded_query(query)
    gmt.query()
    utc_midnight = now.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    expected = {sid for sid, at in ((before, boundary - timedelta(seconds=1)), (after, boundary + timedelta(seconds=1)))
                if at >= utc_midnight}
    assert {r.sys_id.get_value() for r in gmt} == expected
