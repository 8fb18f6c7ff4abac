"""Round 6, raw REST: XML request bodies reach the Change and Service Catalog APIs too, and a multipart
upload reads the form only up to its file part, as the instance does."""

from __future__ import annotations

from xml.etree import ElementTree

XML = {"Accept": "application/xml", "Content-Type": "application/xml"}


def test_xml_bodies_create_changes_and_cart_items(env):
    sb, client, s = env
    r = s.post(f"{sb.url}/api/sn_chg_rest/change/normal", headers=XML,
               data="<request><entry><short_description>XML change</short_description><risk>2</risk>"
                    "</entry></request>")
    assert r.status_code == 200, r.text
    root = ElementTree.fromstring(r.content)
    sys_id = root.findtext("result/sys_id/value")
    assert root.findtext("result/short_description/value") == "XML change"
    gr = client.GlideRecord("change_request")
    assert gr.get(sys_id) and gr.risk == "2"
    r = s.patch(f"{sb.url}/api/sn_chg_rest/change/{sys_id}", headers=XML,
                data="<request><entry><state>-4</state></entry></request>")
    assert ElementTree.fromstring(r.content).findtext("result/state/value") == "-4"
    item = next(x for x in sb.records("sc_cat_item") if x["active"] == "true")
    r = s.post(f"{sb.url}/api/sn_sc/servicecatalog/items/{item['sys_id']}/add_to_cart", headers=XML,
               data="<request><sysparm_quantity>4</sysparm_quantity></request>")
    assert r.status_code == 200 and ElementTree.fromstring(r.content).findtext("result/none/items/quantity") == "4"


def _multipart(*parts: tuple[str, str | None, bytes]) -> bytes:
    out = b""
    for name, filename, payload in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        kind = "Content-Type: text/plain\r\n" if filename else ""
        out += f"--XX\r\nContent-Disposition: {disposition}\r\n{kind}\r\n".encode() + payload + b"\r\n"
    return out + b"--XX--\r\n"


def test_multipart_upload_reads_the_form_up_to_the_file_part(env):
    sb, _, s = env
    inc = sb.records("incident")[0]["sys_id"]
    url, ctype = f"{sb.url}/api/now/attachment/upload", {"Content-Type": "multipart/form-data; boundary=XX"}
    fields = [("table_name", None, b"incident"), ("table_sys_id", None, inc.encode())]
    before = len(sb.records("sys_attachment"))
    r = s.post(url, headers=ctype, data=_multipart(("file", "late.txt", b"x"), *fields))
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "Failed to create the attachment. File part might be missing in the request."
    assert s.post(url, headers=ctype, data=_multipart(*fields)).status_code == 400
    assert len(sb.records("sys_attachment")) == before
    r = s.post(url, headers=ctype, data=_multipart(*fields, ("file", "ok.txt", b"fine")))
    assert r.status_code == 201 and r.json()["result"]["file_name"] == "ok.txt"
    assert s.get(f"{sb.url}/api/now/attachment/{r.json()['result']['sys_id']}/file").content == b"fine"


def test_display_value_all_pairs_every_field_and_change_types_have_labels(env):
    sb, client, s = env
    r = s.get(f"{sb.url}/api/now/table/sys_attachment", params={
        "sysparm_display_value": "all", "sysparm_limit": 1, "sysparm_fields": "download_link,file_name"})
    [row] = r.json()["result"]
    link = row["download_link"]
    assert set(link) == {"display_value", "value"} and link["value"].endswith("/file")
    assert link["display_value"] == link["value"] and link["value"].startswith(sb.url)
    gr = client.GlideRecord("change_request")
    gr.display_value = "all"
    gr.add_query("type", "standard")
    gr.query()
    assert gr.next() and gr.type.get_value() == "standard" and gr.type.get_display_value() == "Standard"
    r = s.get(f"{sb.url}/api/now/table/change_request", params={"type": "Standard", "sysparm_fields": "type",
                                                                "sysparm_display_value": "true"})
    assert r.json()["result"] and {x["type"] for x in r.json()["result"]} == {"Standard"}


def test_choice_fields_show_the_base_systems_labels(env):
    sb, client, _ = env
    inc = next(r for r in sb.records("incident") if r["category"] == "inquiry" and r["contact_type"] == "walk-in")
    gr = client.GlideRecord("incident")
    gr.display_value = "all"
    assert gr.get(inc["sys_id"])
    assert (gr.category.get_value(), gr.category.get_display_value()) == ("inquiry", "Inquiry / Help")
    assert gr.contact_type.get_display_value() == "Walk-in"
    chg = next(r for r in sb.records("change_request") if r["close_code"] == "successful_issues")
    gr = client.GlideRecord("change_request")
    gr.display_value = True
    assert gr.get(chg["sys_id"]) and gr.close_code.get_display_value() == "Successful with issues"


def test_attachment_list_pages_like_the_table_api(env):
    sb, _, s = env
    url = f"{sb.url}/api/now/attachment"
    total = len(sb.records("sys_attachment"))
    r = s.get(url, params={"sysparm_limit": 5, "sysparm_offset": 5, "sysparm_query": "ORDERBYfile_name"})
    assert r.headers["X-Total-Count"] == str(total) and len(r.json()["result"]) == 5
    links = dict(reversed(part.split(";rel=")) for part in r.headers["Link"].split(","))
    assert set(links) == {'"first"', '"prev"', '"next"', '"last"'}
    assert "sysparm_offset=10" in links['"next"'] and "sysparm_query=ORDERBYfile_name" in links['"next"']
    names = sorted(a["file_name"] for a in sb.records("sys_attachment"))
    assert [a["file_name"] for a in r.json()["result"]] == names[5:10]
    r = s.get(url, params={"sysparm_limit": 5, "sysparm_offset": total - 5})
    assert '"next"' not in r.headers["Link"] and '"prev"' in r.headers["Link"]
    r = s.get(url, params={"sysparm_limit": 5, "sysparm_suppress_pagination_header": "true"})
    assert "Link" not in r.headers
    r = s.get(url)  # the documented default limit (1000) holds every attachment: one page, no Link
    assert len(r.json()["result"]) == total and "Link" not in r.headers


def test_the_first_pages_link_header_has_a_negative_prev_like_an_instance(env):
    sb, _, s = env
    r = s.get(f"{sb.url}/api/now/v2/table/incident", params={"sysparm_limit": 1, "sysparm_query": "active=true"})
    parts = r.headers["Link"].split(",")
    assert [p.rsplit(";rel=", 1)[1] for p in parts] == ['"first"', '"prev"', '"next"', '"last"']
    assert parts[1].endswith('sysparm_limit=1&sysparm_offset=-1>;rel="prev"')
    assert parts[0].startswith(f"<{sb.url}/api/now/v2/table/incident?sysparm_query=active%3Dtrue&sysparm_limit=1")
    total = int(r.headers["X-Total-Count"])
    assert parts[3].endswith(f'sysparm_offset={total - 1}>;rel="last"')


def test_rest_answers_carry_the_instances_cache_and_transaction_headers(env):
    sb, _, s = env
    r = s.get(f"{sb.url}/api/now/table/incident", params={"sysparm_limit": 1})
    assert r.headers["Cache-control"] == "no-cache,no-store,must-revalidate,max-age=-1"
    h = r.headers
    assert (h["Pragma"], h["Expires"], h["X-Is-Logged-In"]) == ("no-store,no-cache", "0", "true")
    first = r.headers["X-Transaction-ID"]
    assert len(first) == 12 and s.get(f"{sb.url}/api/now/table/incident").headers["X-Transaction-ID"] != first
    denied = s.get(f"{sb.url}/api/now/table/incident", auth=("nobody", "nothing"))
    assert denied.status_code == 401 and denied.headers["X-Is-Logged-In"] == "false"


def test_reference_links_repeat_the_api_version_the_request_named(env):
    sb, _, s = env
    inc = next(r for r in sb.records("incident") if r["assigned_to"])
    for version, prefix in (("v2/", "/api/now/v2/table/sys_user/"), ("v1/", "/api/now/v1/table/sys_user/"),
                            ("", "/api/now/table/sys_user/")):
        r = s.get(f"{sb.url}/api/now/{version}table/incident/{inc['sys_id']}", params={"sysparm_fields": "assigned_to"})
        assert r.json()["result"]["assigned_to"]["link"] == f"{sb.url}{prefix}{inc['assigned_to']}", version
        listed = s.get(f"{sb.url}/api/now/{version}table/task", params={
            "sysparm_query": f"sys_id={inc['sys_id']}", "sysparm_fields": "assigned_to",
            "sysparm_display_value": "all"})
        assert listed.json()["result"][0]["assigned_to"]["link"].startswith(f"{sb.url}{prefix}")


def test_attachments_rename_and_carry_attributes(env):
    sb, client, s = env
    att = sb.records("sys_attachment")[0]
    url = f"{sb.url}/api/now/attachment/{att['sys_id']}"
    r = s.patch(url, json={"file_name": "renamed.txt"})
    assert r.status_code == 204 and sb.get("sys_attachment", att["sys_id"])["file_name"] == "renamed.txt"
    assert client.attachment_api.get(att["sys_id"]).json()["result"]["file_name"] == "renamed.txt"
    assert s.patch(url, json={}).status_code == 400
    assert s.get(f"{url}/attributes").json()["result"] == []
    r = s.post(f"{url}/attributes", json={"key": "alt_text", "value": "A diagram"})
    assert r.status_code == 201 and r.json()["result"] == {"key": "alt_text", "value": "A diagram"}
    assert s.get(f"{url}/attributes").json()["result"] == [{"key": "alt_text", "value": "A diagram"}]
    assert s.get(f"{url}/attributes/alt_text").json()["result"]["value"] == "A diagram"
    r = s.put(f"{url}/attributes/alt_text", json={"value": "A better diagram"})
    assert r.status_code == 200 and r.json()["result"]["value"] == "A better diagram"
    assert s.delete(f"{url}/attributes/alt_text").status_code == 204
    assert s.get(f"{url}/attributes/alt_text").status_code == 404
    s.post(f"{url}/attributes", json={"key": "a", "value": "1"})
    assert s.delete(f"{url}/attributes").status_code == 204 and s.get(f"{url}/attributes").json()["result"] == []
    assert s.get(f"{sb.url}/api/now/attachment/{'0' * 32}/attributes").status_code == 404
