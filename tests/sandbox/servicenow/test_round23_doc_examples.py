"""Round 23, the reference's own cURL examples replayed with plain requests: the Table API's POST and PATCH
bodies and the Batch API's POST item are single-quoted (`{'urgency':'1', ...}`), which the instance reads
(the documented responses are 201 / 200); malformed bodies stay 400."""

from __future__ import annotations

import base64
import json

SIZE = 20
HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
# the Batch API reference's item 13 body, line break and indentation included, as printed
DOC_ITEM_BODY = ("eyd1cmdlbmN5JzonMScsICdzaG9ydF9kZXNjcmlwdGlvbic6J015IGNvbXB1dGVyIG\n          "
                 "Jyb2tlJywgJ2NvbW1lbnRzJzonRWxldmF0aW5nIHVyZ2VuY3ksIHRoaXMgaXMgYSBibG9ja2luZyBpc3N1ZSd9")


def test_table_api_examples_with_single_quoted_bodies(env):
    sb, _, session = env
    url = f"{sb.url}/api/now/table/incident"
    group = sb.records("sys_user_group")[0]["sys_id"]
    created = session.post(url, headers=HEADERS, data="{'short_description':'Unable to connect to office wifi',"
                                                       f"'assignment_group':'{group}','urgency':'2','impact':'2'}}")
    assert created.status_code == 201, created.text
    result = created.json()["result"]
    assert (result["short_description"], result["urgency"], result["impact"]) == (
        "Unable to connect to office wifi", "2", "2")
    assert result["assignment_group"]["value"] == group and created.headers["Location"].endswith(result["sys_id"])

    patched = session.patch(f"{url}/{result['sys_id']}", headers=HEADERS, params={"sysparm_fields": "urgency"},
                            data="{'urgency':'1','comments':'Elevating urgency, this is a blocking issue'}")
    assert patched.status_code == 200 and patched.json()["result"] == {"urgency": "1"}
    journal = [r["value"] for r in sb.records("sys_journal_field") if r["element_id"] == result["sys_id"]]
    assert journal == ["Elevating urgency, this is a blocking issue"]

    # quotes of the other kind inside a string, and an escaped single quote, are characters
    mixed = session.post(url, headers=HEADERS, data="""{'short_description':'say "hi", it\\'s fine'}""")
    assert mixed.status_code == 201 and mixed.json()["result"]["short_description"] == 'say "hi", it\'s fine'
    for broken in ("{'short_description': 'no end'", "{short_description: 'unquoted key'}", "{'a': 'x',}"):
        bad = session.post(url, headers=HEADERS, data=broken)
        assert bad.status_code == 400 and bad.json()["error"]["message"] == "Exception while reading request"


def test_batch_api_example_item_with_a_single_quoted_body(env):
    sb, _, session = env
    assert base64.b64decode(DOC_ITEM_BODY).startswith(b"{'urgency':'1', 'short_description':'My computer broke'")
    answer = session.post(f"{sb.url}/api/now/v1/batch", headers=HEADERS, data=json.dumps({
        "batch_request_id": "1", "rest_requests": [{
            "id": "13", "exclude_response_headers": True, "url": "/api/now/table/incident", "method": "POST",
            "headers": [{"name": "Content-Type", "value": "application/json"},
                        {"name": "Accept", "value": "application/json"}],
            "body": DOC_ITEM_BODY}]}))
    assert answer.status_code == 200, answer.text
    [item] = answer.json()["serviced_requests"]
    assert (item["id"], item["status_code"], item["status_text"], item["headers"]) == ("13", 201, "Created", [])
    result = json.loads(base64.b64decode(item["body"]))["result"]
    assert (result["short_description"], result["urgency"]) == ("My computer broke", "1")
    assert sb.get("incident", result["sys_id"])["short_description"] == "My computer broke"
