"""Round 14: the change conflict API reads a blackout schedule's spans as wall times in the schedule's time
zone (cmn_schedule_blackout.time_zone), as an instance evaluates schedules, and compares them with the
change's planned window (UTC) as the moments they stand for; a compact bound ending in Z is UTC."""

from __future__ import annotations

SIZE = 10


def _change(s, url, ci, start, end):
    body = {"short_description": "Patch", "cmdb_ci": ci, "start_date": start, "end_date": end}
    return s.post(f"{url}/normal", json=body).json()["result"]["sys_id"]["value"]


def _blackout(client, name, tz, start, end) -> str:
    gr = client.GlideRecord("cmn_schedule_blackout")
    gr.initialize()
    gr.name, gr.time_zone = name, tz
    schedule = gr.insert()
    span = client.GlideRecord("cmn_schedule_span")
    span.initialize()
    span.name, span.schedule, span.start_date_time, span.end_date_time = name, schedule, start, end
    span.insert()
    return str(schedule)


def _blackouts(s, url, change) -> list[str]:
    assert s.post(f"{url}/{change}/conflict").status_code == 200
    out = s.get(f"{url}/{change}/conflict").json()["result"]["conflicts"]
    return sorted(c["schedule"]["value"] for c in out if c["type"]["value"] == "blackout")


def test_blackout_spans_are_read_in_the_schedules_time_zone(env):
    sb, client, s = env
    url = f"{sb.url}/api/sn_chg_rest/change"
    ci = sb.records("cmdb_ci")[0]["sys_id"]
    # 22:00-23:00 New York on a winter evening: 03:00-04:00 UTC the next day
    ny = _blackout(client, "NY evening freeze", "America/New_York", "20320115T220000", "20320115T230000")
    utc_z = _blackout(client, "UTC freeze", "America/New_York", "20320116T030000Z", "20320116T033000Z")
    gmt = _blackout(client, "GMT freeze", "GMT", "20320115T220000", "20320115T230000")
    night_utc = _change(s, url, ci, "2032-01-16 03:15:00", "2032-01-16 03:45:00")
    evening_utc = _change(s, url, ci, "2032-01-15 22:15:00", "2032-01-15 22:45:00")
    assert _blackouts(s, url, night_utc) == sorted([ny, utc_z])
    assert _blackouts(s, url, evening_utc) == [gmt]
    # a Tokyo freeze 09:00-10:00 on the 20th is 00:00-01:00 UTC
    tokyo = _blackout(client, "Tokyo freeze", "Asia/Tokyo", "2032-01-20 09:00:00", "2032-01-20 10:00:00")
    early = _change(s, url, ci, "2032-01-20 00:30:00", "2032-01-20 00:40:00")
    late = _change(s, url, ci, "2032-01-20 09:30:00", "2032-01-20 09:40:00")
    assert _blackouts(s, url, early) == [tokyo]
    assert _blackouts(s, url, late) == []


def test_changes_outside_the_cis_maintenance_window_conflict(env):
    sb, client, s = env
    url = f"{sb.url}/api/sn_chg_rest/change"
    ci, other_ci = (c for c in sb.records("cmdb_ci")[2:4])
    gr = client.GlideRecord("cmn_schedule_maintenance")
    gr.initialize()
    gr.name, gr.condition, gr.time_zone = "Sunday night window", f"name={ci['name']}", "Europe/Berlin"
    window = str(gr.insert())
    assert gr.get(window) and gr.get_value("type") == "maintenance"
    span = client.GlideRecord("cmn_schedule_span")
    span.initialize()
    # 01:00-05:00 Berlin (UTC+1 in winter) = 00:00-04:00 UTC
    span.name, span.schedule, span.start_date_time, span.end_date_time = "window", window, "20320201T010000", \
        "20320201T050000"
    span.insert()

    def types(change):
        assert s.post(f"{url}/{change}/conflict").status_code == 200
        out = s.get(f"{url}/{change}/conflict").json()["result"]["conflicts"]
        return [(c["type"]["value"], c["schedule"]["value"]) for c in out]

    inside = _change(s, url, ci["sys_id"], "2032-02-01 00:30:00", "2032-02-01 03:30:00")
    overrun = _change(s, url, ci["sys_id"], "2032-02-01 03:30:00", "2032-02-01 04:30:00")
    elsewhere = _change(s, url, other_ci["sys_id"], "2032-02-05 12:00:00", "2032-02-05 13:00:00")
    assert types(inside) == []
    assert types(overrun) == [("not_in_maintenance_window", window)]
    assert types(elsewhere) == []  # no maintenance schedule applies to that CI
    listed = client.GlideRecord("conflict")
    listed.add_query("change", overrun)
    listed.query()
    assert len(listed) == 1 and listed.next() and listed.get_display_value("type") == "Not In Maintenance Window"
