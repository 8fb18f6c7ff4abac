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


def test_weekly_and_daily_spans_repeat_in_local_time(env):
    sb, client, s = env
    url = f"{sb.url}/api/sn_chg_rest/change"
    ci = sb.records("cmdb_ci")[4]
    gr = client.GlideRecord("cmn_schedule_maintenance")
    gr.initialize()
    gr.name, gr.condition, gr.time_zone = "Weekly window", f"name={ci['name']}", "America/New_York"
    window = str(gr.insert())
    span = client.GlideRecord("cmn_schedule_span")
    span.initialize()
    # Sundays 01:00-05:00 New York, from Sunday 2032-03-07 (EST, UTC-5) to the end of March
    span.name, span.schedule, span.repeat_type, span.days_of_week = "sundays", window, "weekly", "7"
    span.start_date_time, span.end_date_time, span.repeat_until = "20320307T010000", "20320307T050000", "2032-03-31"
    span.insert()
    blackout = _blackout(client, "daily lunch freeze", "Europe/Berlin", "20320301T120000", "20320301T130000")
    daily = client.GlideRecord("cmn_schedule_span")
    assert daily.get("schedule", blackout)
    daily.repeat_type = "daily"
    daily.update()

    def conflicts(change):
        assert s.post(f"{url}/{change}/conflict").status_code == 200
        return sorted(c["type"]["value"] for c in s.get(f"{url}/{change}/conflict").json()["result"]["conflicts"])

    # two weeks on, after the switch to daylight saving time (EDT, UTC-4): 01:00 local is 05:00 UTC
    assert conflicts(_change(s, url, ci["sys_id"], "2032-03-21 05:30:00", "2032-03-21 08:30:00")) == []
    assert conflicts(_change(s, url, ci["sys_id"], "2032-03-21 04:30:00", "2032-03-21 05:10:00")) == [
        "not_in_maintenance_window"]
    assert conflicts(_change(s, url, ci["sys_id"], "2032-03-22 05:30:00", "2032-03-22 06:00:00")) == [
        "not_in_maintenance_window"]  # a Monday
    assert conflicts(_change(s, url, ci["sys_id"], "2032-04-04 05:30:00", "2032-04-04 06:00:00")) == [
        "not_in_maintenance_window"]  # after repeat_until
    # the Berlin lunch freeze every day: 11:00-12:00 UTC in winter, on a Sunday inside the window too
    assert conflicts(_change(s, url, ci["sys_id"], "2032-03-14 06:00:00", "2032-03-14 08:00:00")) == []
    other = sb.records("cmdb_ci")[5]["sys_id"]
    assert conflicts(_change(s, url, other, "2032-03-17 11:30:00", "2032-03-17 11:45:00")) == ["blackout"]
    assert conflicts(_change(s, url, other, "2032-03-17 12:30:00", "2032-03-17 12:45:00")) == []
