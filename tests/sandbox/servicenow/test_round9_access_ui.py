"""Round 9, pysnc 1.2.1 and documented raw calls: a self-service caller does not read work notes (field
ACL; its own comments stay), the UI pages (`get_link`, `get_link_list`) want a signed-in user and send
a browser that is not to /login.do, and an attachment uploaded without a content type gets the one its
file name's extension stands for."""

from __future__ import annotations

import pysnc
import requests

SIZE = 40  # incidents in this module's sandbox (the shared env fixture)


def test_a_self_service_caller_reads_comments_but_not_work_notes(env):
    sb, client, s = env
    me = sb.add_user("ess.reader", "Secret-9")["sys_id"]
    sid = sb.insert("incident", {"short_description": "My laptop", "caller_id": me})["sys_id"]
    gr = client.GlideRecord("incident")
    assert gr.get(sid)
    gr.comments = "we are on it"
    gr.work_notes = "internal: reimage needed"
    gr.update()
    fields = "comments,work_notes,comments_and_work_notes"
    shown = s.get(f"{sb.url}/api/now/table/incident/{sid}",
                  params={"sysparm_fields": fields, "sysparm_display_value": "true"}).json()["result"]
    assert "internal" in shown["work_notes"] and "internal" in shown["comments_and_work_notes"]

    ess = pysnc.ServiceNowClient(sb.url, ("ess.reader", "Secret-9"), verify=sb.ca_bundle)
    mine = ess.GlideRecord("incident")  # pysnc reads sysparm_display_value=all
    assert mine.get(sid)
    assert mine.work_notes.get_display_value() == "" and mine.work_notes.get_value() == ""
    assert "we are on it" in mine.comments.get_display_value()
    both = mine.get_element("comments_and_work_notes").get_display_value()
    assert "we are on it" in both and "internal" not in both
    with requests.Session() as raw:
        raw.auth, raw.verify = ("ess.reader", "Secret-9"), sb.ca_bundle
        for display in ("true", "false"):
            got = raw.get(f"{sb.url}/api/now/table/incident",
                          params={"sysparm_fields": fields, "sysparm_display_value": display}).json()["result"]
            assert len(got) == 1 and got[0]["work_notes"] == ""
            assert "internal" not in str(got)
        got = raw.get(f"{sb.url}/incident.do", params={"JSONv2": "", "sysparm_sys_id": sid, "displayvalue": "true"})
        assert got.json()["records"][0]["work_notes"] == "" and "we are on it" in got.text
    # the integration user's cached render is not what the caller got, nor the other way round
    again = s.get(f"{sb.url}/api/now/table/incident/{sid}",
                  params={"sysparm_fields": fields, "sysparm_display_value": "true"}).json()["result"]
    assert again == shown


def test_ui_pages_want_a_signed_in_user_and_redirect_a_browser_to_login(env):
    sb, client, s = env
    gr = client.GlideRecord("incident")
    gr.add_query("active", "true")
    gr.query()
    assert gr.next()
    for link in (gr.get_link(), gr.get_link_list()):
        anon = requests.get(link, verify=sb.ca_bundle, timeout=10, allow_redirects=False)
        assert anon.status_code == 302 and anon.headers["Location"] == f"{sb.url}/login.do"
        bad = requests.get(link, verify=sb.ca_bundle, timeout=10, allow_redirects=False, auth=("admin", "nope"))
        assert bad.status_code == 302
        page = s.get(link, timeout=10)
        assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert gr.number.get_value() in s.get(gr.get_link()).text
    followed = requests.get(gr.get_link(), verify=sb.ca_bundle, timeout=10)
    assert followed.status_code == 200 and 'name="user_password"' in followed.text

    token = s.post(f"{sb.url}/oauth_token.do", data={
        "grant_type": "password", "client_id": sb.credentials.client_id,
        "client_secret": sb.credentials.client_secret, "username": sb.credentials.username,
        "password": sb.credentials.password}).json()["access_token"]
    bearer = requests.get(gr.get_link(), verify=sb.ca_bundle, timeout=10, allow_redirects=False,
                          headers={"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 200 and gr.number.get_value() in bearer.text

    with requests.Session() as browser:  # the login form signs the session in
        browser.verify = sb.ca_bundle
        r = browser.post(f"{sb.url}/login.do", data={"user_name": "x", "user_password": "y"}, allow_redirects=False)
        assert r.status_code == 302 and r.headers["Location"].endswith("/login.do")
        r = browser.post(f"{sb.url}/login.do", data={"user_name": sb.credentials.username,
                                                      "user_password": sb.credentials.password})
        assert r.status_code == 200 and r.url == f"{sb.url}/navpage.do"
        assert gr.number.get_value() in browser.get(gr.get_link(), allow_redirects=False).text

    me = sb.add_user("ess.viewer", "Secret-9")["sys_id"]  # a self-service user sees its own records only
    own = sb.insert("incident", {"short_description": "Mine", "caller_id": me})
    ess = ("ess.viewer", "Secret-9")
    assert requests.get(gr.get_link(), auth=ess, verify=sb.ca_bundle, timeout=10).status_code == 404
    listed = requests.get(f"{sb.url}/incident_list.do", auth=ess, verify=sb.ca_bundle, timeout=10)
    assert "incident (1)" in listed.text and own["number"] in listed.text


def test_an_upload_without_a_content_type_gets_the_extensions(env):
    sb, client, s = env
    sid = sb.records("incident")[0]["sys_id"]
    url = f"{sb.url}/api/now/attachment/file"

    def upload(name: str, headers: dict[str, str]) -> str:
        r = s.post(url, params={"table_name": "incident", "table_sys_id": sid, "file_name": name},
                   data=b"%PDF-1.4 x", headers={"Accept": "application/json", **headers})
        assert r.status_code == 201, r.text
        return r.json()["result"]["content_type"]

    assert upload("report.pdf", {"Content-Type": "*/*"}) == "application/pdf"
    assert upload("shot.png", {"Content-Type": "*/*"}) == "image/png"
    assert upload("blob.zzq", {"Content-Type": "*/*"}) == "application/octet-stream"
    assert upload("notes.txt", {"Content-Type": "text/markdown"}) == "text/markdown"  # named: stored as sent
    r = s.post(f"{sb.url}/api/now/attachment/upload", data={"table_name": "incident", "table_sys_id": sid},
               files={"uploadFile": ("sheet.csv", b"a,b\n1,2\n")})
    assert r.status_code == 201 and r.json()["result"]["content_type"] == "text/csv"

    gr = client.GlideRecord("incident")
    assert gr.get(sid)
    location = gr.add_attachment("plain.txt", b"hello")  # pysnc names application/octet-stream
    stored = s.get(location).json()["result"]
    assert stored["content_type"] == "application/octet-stream" and stored["file_name"] == "plain.txt"


def test_display_values_of_date_times_are_in_the_callers_time_zone(env):
    sb, _, s = env
    r = s.post(f"{sb.url}/api/now/table/sys_user", json={"user_name": "ny.agent", "name": "NY Agent",
                                                          "time_zone": "America/New_York", "user_password": "Secret-9"})
    assert r.status_code == 201
    sid = sb.insert("incident", {"short_description": "tz", "caller_id": r.json()["result"]["sys_id"]})["sys_id"]
    sb.update("incident", sid, {"opened_at": "2026-01-15 12:00:00"})
    params = {"sysparm_fields": "opened_at", "sysparm_display_value": "all"}
    mine = requests.get(f"{sb.url}/api/now/table/incident/{sid}", params=params, auth=("ny.agent", "Secret-9"),
                        verify=sb.ca_bundle, timeout=10).json()["result"]
    assert mine["opened_at"] == {"display_value": "2026-01-15 07:00:00", "value": "2026-01-15 12:00:00"}
    summer = sb.update("incident", sid, {"opened_at": "2026-07-15 12:00:00"})
    assert summer["opened_at"] == "2026-07-15 12:00:00"
    shown = requests.get(f"{sb.url}/api/now/table/incident", auth=("ny.agent", "Secret-9"), verify=sb.ca_bundle,
                         params={**params, "sysparm_display_value": "true"}, timeout=10).json()["result"]
    assert shown == [{"opened_at": "2026-07-15 08:00:00"}]  # daylight saving time
    assert s.get(f"{sb.url}/api/now/table/incident/{sid}", params=params).json()["result"]["opened_at"] == {
        "display_value": "2026-07-15 12:00:00", "value": "2026-07-15 12:00:00"}  # the integration user: GMT
