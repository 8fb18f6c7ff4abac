"""What a further pysnc 1.2.1 / requests probe found broken (each case failed before its fix):
date operators (ON / NOTON / RELATIVE.. / DATEPART, BETWEEN with javascript: ends, gs.beginningOf..
helpers) matched every row; INSTANCEOF, GT_FIELD, gs.getUserID() and the "Me" filter were ignored;
name=value filters did not take choice labels or display names; dot-walked references rendered as
plain strings; pysnc's password-grant client got a 401 on the first call after its token expired."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pysnc
import pytest
import requests

from tests.sandbox.conftest import AUTH

FMT = "%Y-%m-%d %H:%M:%S"
ME = "90d1921e5f510100a9ad2572f2b477fe"


@pytest.fixture
def env(pysnc_client):
    return pysnc_client(60)


def _ids(client, query, table="incident"):
    gr = client.GlideRecord(table, batch_size=25)
    gr.fields = "sys_id"
    gr.add_encoded_query(query)
    gr.query()
    return {r.sys_id.get_value() for r in gr}


@pytest.fixture
def dated(env):
    """Six incidents opened at known distances from now: name -> (sys_id, opened_at). The clock is
    first moved on to the next noon (UTC), so which rows fall on "today" or "yesterday" does not
    depend on the hour the suite runs (at 00:40 the 2h_ago row is yesterday's)."""
    sb, _ = env
    at = sb.clock.now()
    noon = at.replace(hour=12, minute=0, second=0, microsecond=0)
    sb.clock.advance(((noon if noon > at else noon + timedelta(days=1)) - at).total_seconds())
    now = sb.clock.now().replace(microsecond=0, tzinfo=None)
    offsets = {"2h_ago": -timedelta(hours=2), "5h_ago": -timedelta(hours=5), "2d_ago": -timedelta(days=2),
               "10d_ago": -timedelta(days=10), "40d_ago": -timedelta(days=40), "3d_ahead": timedelta(days=3)}
    out = {}
    for (name, delta), rec in zip(offsets.items(), sb.records("incident")[:6], strict=True):
        at = now + delta
        sb.update("incident", rec["sys_id"], {"opened_at": at.strftime(FMT)})
        out[name] = (rec["sys_id"], at)
    return now, out


def _within(dated_rows, keep):
    return {sid for sid, at in dated_rows.values() if keep(at)}


def test_relative_operators(env, dated):
    _, c = env
    now, rows = dated
    only = "sys_idIN" + ",".join(sid for sid, _ in rows.values()) + "^"
    cases = {
        "opened_atRELATIVEGT@hour@ago@3": lambda at: at > now - timedelta(hours=3),
        "opened_atRELATIVELT@hour@ago@3": lambda at: at < now - timedelta(hours=3),
        "opened_atRELATIVEGE@dayofweek@ago@7": lambda at: at >= now - timedelta(days=7),
        "opened_atRELATIVELE@day@ago@7": lambda at: at <= now - timedelta(days=7),
        "opened_atRELATIVEGT@day@ahead@1": lambda at: at > now + timedelta(days=1),
    }
    for query, keep in cases.items():
        want = _within(rows, keep)
        assert want and _ids(c, only + query) == want, query


def test_on_noton_between_and_date_helpers(env, dated):
    _, c = env
    now, rows = dated
    only = "sys_idIN" + ",".join(sid for sid, _ in rows.values()) + "^"
    today = now.replace(hour=0, minute=0, second=0)
    today_js = "@javascript:gs.beginningOfToday()@javascript:gs.endOfToday()"
    on_today = _within(rows, lambda at: at.date() == now.date())
    assert _ids(c, only + "opened_atONToday" + today_js) == on_today
    assert _ids(c, only + "opened_atONToday") == on_today  # the label alone
    assert _ids(c, only + "opened_atNOTONToday" + today_js) == _within(rows, lambda at: at.date() != now.date())
    last7 = "opened_atONLast 7 days@javascript:gs.beginningOfLast7Days()@javascript:gs.endOfLast7Days()"
    assert _ids(c, only + last7) == _within(rows, lambda at: today - timedelta(days=6) <= at < today + timedelta(1))
    between = "opened_atBETWEENjavascript:gs.daysAgoStart(15)@javascript:gs.daysAgoEnd(1)"
    assert _ids(c, only + between) == _within(
        rows, lambda at: today - timedelta(days=15) <= at < today) == {rows["2d_ago"][0], rows["10d_ago"][0]}
    start = rows["40d_ago"][1].strftime("%Y-%m-%d")
    generated = (f"opened_atBETWEENjavascript:gs.dateGenerate('{start}','start')"
                 f"@javascript:gs.dateGenerate('{start}','end')")
    assert _ids(c, only + generated) == {rows["40d_ago"][0]}
    month_start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    assert _ids(c, only + "opened_at>=javascript:gs.beginningOfLastMonth()") == _within(
        rows, lambda at: at >= month_start)
    day = rows["2d_ago"][1].strftime("%A").lower()
    datepart = f"opened_atDATEPART{day.title()}@javascript:gs.datePart('dayofweek','{day}','EE')"
    assert _ids(c, only + datepart) == _within(rows, lambda at: at.strftime("%A").lower() == day)


def test_instanceof_field_compare_and_the_calling_user(env, sn_session):
    sb, c = env
    incidents = sb.records("incident")
    assert _ids(c, "sys_class_nameINSTANCEOFincident", "task") == {r["sys_id"] for r in incidents}
    assert len(_ids(c, "sys_class_nameINSTANCEOFtask", "task")) == len(sb.records("task"))
    later = {r["sys_id"] for r in incidents if r["sys_updated_on"] > r["opened_at"]}
    assert _ids(c, "sys_updated_onGT_FIELDopened_at") == later
    assert _ids(c, "sys_updated_onLT_OR_EQUALS_FIELDopened_at") == {r["sys_id"] for r in incidents} - later
    me = next(u["sys_id"] for u in sb.records("sys_user") if u["user_name"] == AUTH[0])
    mine = {r["sys_id"] for r in incidents[:3]}
    for sys_id in mine:
        sb.update("incident", sys_id, {"assigned_to": me})
    mine |= {r["sys_id"] for r in incidents if r["assigned_to"] == me}
    assert _ids(c, "assigned_to=javascript:gs.getUserID()") == mine
    assert _ids(c, "assigned_toDYNAMIC" + ME) == mine
    assert _ids(c, "sys_updated_by=javascript:gs.getUserName()") == {
        r["sys_id"] for r in sb.records("incident") if r["sys_updated_by"] == AUTH[0]}
    stats = sn_session.get(f"{sb.url}/api/now/stats/incident", verify=sb.ca_bundle,
                           params={"sysparm_query": "assigned_to=javascript:gs.getUserID()", "sysparm_count": "true"})
    assert stats.json() == {"result": {"stats": {"count": str(len(mine))}}}


def test_name_value_filters_take_labels_and_display_names(env, sn_session):
    sb, _ = env
    incidents = sb.records("incident")
    url = f"{sb.url}/api/now/table/incident"
    got = sn_session.get(url, verify=sb.ca_bundle, params={"priority": "1 - Critical", "sysparm_fields": "sys_id"})
    assert {r["sys_id"] for r in got.json()["result"]} == {r["sys_id"] for r in incidents if r["priority"] == "1"}
    assert got.headers["X-Total-Count"] == str(sum(r["priority"] == "1" for r in incidents))
    users = {u["sys_id"]: u["name"] for u in sb.records("sys_user")}
    who, count = Counter(users[r["assigned_to"]] for r in incidents if r["assigned_to"]).most_common(1)[0]
    got = sn_session.get(url, verify=sb.ca_bundle, params={"assigned_to": who, "sysparm_fields": "sys_id"})
    assert got.headers["X-Total-Count"] == str(count)
    raw = sn_session.get(url, verify=sb.ca_bundle, params={"priority": "1", "sysparm_fields": "sys_id"})
    assert raw.headers["X-Total-Count"] == str(sum(r["priority"] == "1" for r in incidents))


def test_dot_walked_references_render_as_references(env, sn_session):
    sb, c = env
    users = {u["sys_id"]: u for u in sb.records("sys_user")}
    rec = next(r for r in sb.records("incident") if r["assigned_to"] and users[r["assigned_to"]]["manager"])
    manager = users[users[rec["assigned_to"]]["manager"]]
    url = f"{sb.url}/api/now/table/incident/{rec['sys_id']}"
    link = f"{sb.url}/api/now/table/sys_user/{manager['sys_id']}"
    fields = "assigned_to.manager,assigned_to.name"

    def get(**params):
        return sn_session.get(url, verify=sb.ca_bundle, params={"sysparm_fields": fields, **params}).json()["result"]

    assert get()["assigned_to.manager"] == {"link": link, "value": manager["sys_id"]}
    assert get(sysparm_display_value="true")["assigned_to.manager"] == {"display_value": manager["name"], "link": link}
    assert get(sysparm_display_value="all")["assigned_to.manager"] == {
        "display_value": manager["name"], "link": link, "value": manager["sys_id"]}
    assert get(sysparm_exclude_reference_link="true")["assigned_to.manager"] == manager["sys_id"]
    assert get(sysparm_display_value="true")["assigned_to.name"] == users[rec["assigned_to"]]["name"]
    gr = c.GlideRecord("incident")
    gr.fields = ["number", "assigned_to.manager"]
    assert gr.get(rec["sys_id"])
    assert gr.get_value("assigned_to.manager") == manager["sys_id"]
    assert gr.get_display_value("assigned_to.manager") == manager["name"]


def test_password_grant_client_survives_token_expiry(env):
    sb, _ = env
    sb.token_ttl_seconds = 1
    flow = pysnc.ServiceNowPasswordGrantFlow(AUTH[0], AUTH[1], "sandbox-client", "sandbox-secret")
    c = pysnc.ServiceNowClient(sb.url, flow, verify=sb.ca_bundle)
    groups = len(sb.records("sys_user_group"))
    gr = c.GlideRecord("sys_user_group")
    gr.query()
    assert len(gr) == groups
    time.sleep(1.6)  # requests-oauthlib now sees the token expired: refresh, then one call without a token
    gr = c.GlideRecord("sys_user_group", batch_size=5)
    gr.query()
    assert len(list(gr)) == groups
    assert sum(x["path"] == "/oauth_token.do" for x in sb.request_log) == 2  # password, then refresh_token


def test_session_cookie_without_credentials(env):
    sb, _ = env
    url = f"{sb.url}/api/now/table/sys_user_group"
    with requests.Session() as s:
        s.verify = sb.ca_bundle
        assert s.get(url, headers={"Accept": "application/json"}).status_code == 401  # no session yet
        assert s.get(url, auth=AUTH, headers={"Accept": "application/json"}).status_code == 200
        assert "JSESSIONID" in s.cookies
        ok = s.get(url, headers={"Accept": "application/json"})  # the session cookie alone
        assert ok.status_code == 200 and ok.headers["X-Total-Count"] == str(len(sb.records("sys_user_group")))
        bad = s.get(url, auth=("integration.user", "wrong"), headers={"Accept": "application/json"})
        assert bad.status_code == 401  # a header is judged on its own


def test_string_equality_ignores_case_and_a_leading_or(env):
    sb, c = env
    rec = sb.records("incident")[0]
    same = {r["sys_id"] for r in sb.records("incident") if r["short_description"] == rec["short_description"]}
    gr = c.GlideRecord("incident")
    gr.add_query("short_description", rec["short_description"].upper())
    gr.query()
    assert {r.sys_id.get_value() for r in gr} == same
    assert _ids(c, f"numberIN{rec['number'].lower()},nothing") == {rec["sys_id"]}
    assert rec["sys_id"] not in _ids(c, f"short_description!={rec['short_description'].lower()}")
    assert _ids(c, f"sys_id={rec['sys_id'].upper()}") == {rec["sys_id"]}  # with pysnc's ORDERBYsys_id
    active = {r["sys_id"] for r in sb.records("incident") if r["active"] == "true"}
    assert _ids(c, "^ORactive=true") == active
