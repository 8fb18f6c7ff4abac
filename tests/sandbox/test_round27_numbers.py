"""Round 27: the request numbers round 26 left to ``int()``/``float()``/``str.isdecimal()``/``\\d`` (which take '٣' as
3, and ' 3', '3_0', '+3', 'nan', 'inf'; and raise on 5,000 digits or a JSON 1e999) now give each vendor's own error.
Over real HTTP against the emulators; fixtures as in test_round26_bigdigits.py. What the code did before the fix
is noted per test ("read as 3": the request was answered as if it said 3)."""

from __future__ import annotations

import base64
import json
import socket

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox.aws import MotoAwsServer
from tests.sandbox.test_round26_bigdigits import drive, jira, slack, sn

__all__ = ["drive", "jira", "slack", "sn"]

ODD = ["\u0663", " 3", "3_0", "3 ", "\u0663\u0660"]  # what int() read as 3 (or 30)
ODD_IDS = ["arabic3", "space3", "underscore", "trailingspace", "arabic30"]


# --- Jira -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ODD, ids=ODD_IDS)
def test_jira_query_integers(jira, value):
    """Before: qint's int() read these as 3 (startAt/maxResults of every list), startedAfter too; priority scheme
    paging took '٣' by isdecimal()."""
    sb, s = jira
    for name in ("maxResults", "startAt"):
        r = s.get(f"{sb.url}/rest/agile/1.0/board", params={name: value}, timeout=10)
        assert r.status_code == 400 and name in r.json()["errorMessages"][0], r.text[:200]
    key = _first_issue(sb, s)
    r = s.get(f"{sb.url}/rest/api/3/issue/{key['id']}/worklog", params={"startedAfter": value}, timeout=10)
    assert r.status_code == 400 and "errorMessages" in r.json(), r.text[:200]
    r = s.get(f"{sb.url}/rest/api/3/priorityscheme/priorities/available",
              params={"schemeId": "1", "startAt": value}, timeout=10)
    assert r.status_code == 400, r.text[:200]


def _first_issue(sb, s) -> dict:
    r = s.get(f"{sb.url}/rest/api/3/search/jql", params={"jql": "project is not empty", "maxResults": 1}, timeout=10)
    return r.json()["issues"][0]


def test_jira_valid_integers_unchanged(jira):
    sb, s = jira
    r = s.get(f"{sb.url}/rest/agile/1.0/board", params={"maxResults": "+1"}, timeout=10)
    assert r.status_code == 200 and r.json()["maxResults"] == 1 and len(r.json()["values"]) == 1  # Java takes '+'
    r = s.get(f"{sb.url}/rest/agile/1.0/board", params={"maxResults": "0001"}, timeout=10)
    assert r.json()["maxResults"] == 1
    r = s.get(f"{sb.url}/rest/api/3/priorityscheme/priorities/available",
              params={"schemeId": "1", "startAt": "9" * 5000}, timeout=10)
    assert r.status_code == 200, r.text[:200]  # before: int() of 5,000 digits, a 500


def test_jira_worklog_started_after_that_is_not_a_number_is_400(jira):
    """Before: int('x') in the filter was a 500 on an issue with worklogs, and unread (200) on one without."""
    sb, s = jira
    key = _first_issue(sb, s)
    for name in ("startedAfter", "startedBefore"):
        r = s.get(f"{sb.url}/rest/api/3/issue/{key['id']}/worklog", params={name: "x"}, timeout=10)
        assert r.status_code == 400 and name in r.json()["errorMessages"][0], r.text[:200]


@pytest.mark.parametrize("value", ["1e999", '"\u0663"', "true", '"3_0"', "NaN"])
def test_jira_body_longs(jira, value):
    """Before: jql/match issueIds [1e999] and a changelog page token whose offset is 1e999 were OverflowErrors (500);
    '٣' read as 3."""
    sb, s = jira
    r = s.post(f"{sb.url}/rest/api/3/jql/match", data=f'{{"issueIds": [{value}], "jqls": ["project = ENG"]}}',
               headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400 and "errorMessages" in r.json(), r.text[:200]
    token = base64.urlsafe_b64encode(f'{{"o": {value}}}'.encode()).decode().rstrip("=")
    r = s.post(f"{sb.url}/rest/api/3/changelog/bulkfetch", timeout=10,
               json={"issueIdsOrKeys": ["ENG-1"], "nextPageToken": token})
    assert r.status_code == 400 and "next page token" in r.json()["errorMessages"][0], r.text[:200]


@pytest.mark.parametrize("jql", ['created >= "\u0662\u0660\u0662\u0664-\u0660\u0661-\u0660\u0661"',
                                 'created >= "-\u0663d"', 'updated < "\u0661\u0667\u0660\u0660\u0660\u0660\u0660'
                                 '\u0660\u0660\u0660\u0660\u0660\u0660"'],
                         ids=["arabicdate", "arabicrelative", "arabicepoch"])
def test_jira_jql_dates_in_other_scripts_are_no_dates(jira, jql):
    """Before: '\\d' read them as 2024-01-01, -3d and an epoch: 200 with the issues of that date."""
    sb, s = jira
    r = s.get(f"{sb.url}/rest/api/3/search/jql", params={"jql": jql}, timeout=10)
    assert r.status_code == 400 and r.json()["errorMessages"], r.text[:200]


def test_jira_sprint_report_ids(jira):
    """Before: rapidViewId=٣ passed isdecimal() and read as board 3."""
    sb, s = jira
    r = s.get(f"{sb.url}/rest/greenhopper/1.0/rapid/charts/sprintreport",
              params={"rapidViewId": "\u0663", "sprintId": "1"}, timeout=10)
    assert r.status_code == 400, r.text[:200]


# --- ServiceNow -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ODD, ids=ODD_IDS)
def test_servicenow_paging(sn, value):
    """Before: int_param read these as 3 on every list API (table, attachment, catalog, change, CMDB)."""
    sb, s = sn
    for path in ("/api/now/table/incident", "/api/now/attachment", "/api/sn_chg_rest/change"):
        for name in ("sysparm_limit", "sysparm_offset"):
            r = s.get(sb.url + path, params={name: value}, timeout=10)
            assert r.status_code == 400 and name in r.json()["error"]["message"], (path, r.text[:200])
    r = s.get(f"{sb.url}/api/now/table/incident", params={"sysparm_limit": "+3"}, timeout=10)
    assert r.status_code == 200 and len(r.json()["result"]) == 3


def test_servicenow_query_numbers_in_other_scripts_are_not_numbers(sn):
    """Before: float('٣') made priority=٣ match the priority-3 incidents; an RLQUERY count of 5,000 digits was a
    500 (int())."""
    sb, s = sn
    url = f"{sb.url}/api/now/table/incident"
    three = s.get(url, params={"sysparm_query": "priority=3", "sysparm_fields": "number"}, timeout=10).json()
    assert three["result"], "the seed holds priority-3 incidents"
    arabic = s.get(url, params={"sysparm_query": "priority=\u0663", "sysparm_fields": "number"}, timeout=10)
    assert arabic.status_code == 200 and arabic.json()["result"] == []
    for count in ("9" * 5000, "\u0661"):
        r = s.get(url, params={"sysparm_query": f"RLQUERYtask_sla.task,>={count}^ENDRLQUERY"}, timeout=10)
        assert r.status_code == 400 and r.json()["error"]["message"] == "Invalid encoded query", r.text[:200]


@pytest.mark.parametrize("length", ["3_0", "+2", "\u00b2", "0x2"])
def test_content_length_that_is_not_digits_is_400(sn, length):
    """Before: int() took '3_0' (30 bytes awaited: the request hung until the client gave up) and '+2'."""
    sb, _ = sn
    auth = base64.b64encode(b"integration.user:sandbox-password").decode()
    head = (f"POST /api/now/table/incident HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n{{}}")
    with socket.create_connection(("127.0.0.1", sb.port), timeout=5) as conn:
        conn.sendall(head.encode("latin-1"))
        assert conn.recv(64).startswith(b"HTTP/1.1 400 ")


# --- Slack ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [*ODD, "nan", "inf", "1e999", "x"], ids=[*ODD_IDS, "nan", "inf", "1e999", "x"])
def test_slack_numbers(slack, value):
    """Before: '٣' read as 3 (limit, oldest, ts_from, page, post_at); files.list ts_from 'x' was a 500."""
    sb, s, channel = slack
    api = sb.url + "/api/"

    def error(method: str, **args: str) -> str | None:
        r = s.post(api + method, data=args, timeout=10)
        assert r.status_code == 200, (method, r.text[:200])
        return r.json().get("error")

    assert error("conversations.history", channel=channel, oldest=value) == "invalid_ts_oldest"
    assert error("chat.scheduledMessages.list", latest=value) == "invalid_ts_latest"
    assert error("files.list", ts_from=value) == "invalid_arguments"
    assert error("files.list", ts_to=value) == "invalid_arguments"
    assert error("files.list", count=value) == "invalid_arguments"
    assert error("reactions.list", page=value) == "invalid_arguments"
    if value.strip() != "3":  # limit takes surrounding spaces, as before [unc]
        assert error("conversations.list", limit=value) == "invalid_limit"


def test_slack_valid_numbers_unchanged(slack):
    sb, s, channel = slack
    r = s.post(sb.url + "/api/conversations.list", data={"limit": " 2 "}, timeout=10).json()
    assert r["ok"] and len(r["channels"]) == 2
    r = s.post(sb.url + "/api/conversations.history", data={"channel": channel, "oldest": "0.000100"}, timeout=10)
    assert r.json()["ok"]
    assert s.post(sb.url + "/api/files.list", data={"ts_from": "0", "count": "5"}, timeout=10).json()["ok"]


@pytest.mark.parametrize("value", ['"\u0663"', "1e999", '"nan"', '" 1700000000"'])
def test_slack_json_times(slack, value):
    """Before: calls.add date_start '٣' read as 3 (1970), chat.scheduleMessage post_at '٣' likewise (time_in_past
    instead of invalid_time)."""
    sb, s, channel = slack
    headers = {"Content-Type": "application/json; charset=utf-8"}
    body = f'{{"external_unique_id": "r27", "join_url": "https://example.com/j", "date_start": {value}}}'
    r = s.post(sb.url + "/api/calls.add", data=body.encode(), headers=headers, timeout=10)
    assert r.json()["error"] == "invalid_start_time", r.text[:200]
    body = f'{{"channel": "{channel}", "text": "x", "post_at": {value}}}'
    r = s.post(sb.url + "/api/chat.scheduleMessage", data=body.encode(), headers=headers, timeout=10)
    assert r.json()["error"] == "invalid_time", r.text[:200]


# --- Google Drive ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ODD, ids=ODD_IDS)
def test_drive_paging(drive, value):
    """Before: isdecimal() let '٣' through and int() read it as 3 (files, drives, changes)."""
    sb, s, _ = drive
    for path, name in (("/drive/v3/files", "pageSize"), ("/drive/v3/files", "pageToken"),
                       ("/drive/v3/drives", "pageSize"), ("/drive/v3/changes", "pageToken"),
                       ("/drive/v3/changes?pageToken=1", "pageSize")):
        r = s.get(sb.url + path, params={name: value}, timeout=10)
        assert r.status_code == 400 and r.json()["error"]["errors"][0]["location"] == name, (path, r.text[:200])


def test_drive_upload_lengths_and_watch_expiration(drive):
    """Before: X-Upload-Content-Length 'x', a Content-Range total 'x' and a watch expiration of 1e999 were 500s; an
    expiration '٣' read as 3 ms."""
    sb, s, _ = drive
    upload = f"{sb.url}/upload/drive/v3/files"
    r = s.post(upload, params={"uploadType": "resumable"}, json={"name": "r27.txt"},
               headers={"X-Upload-Content-Length": "x"}, timeout=10)
    assert r.status_code == 400 and r.json()["error"]["code"] == 400, r.text[:200]
    r = s.post(upload, params={"uploadType": "resumable"}, json={"name": "r27.txt"}, timeout=10)
    location = r.headers["Location"]
    for span in ("bytes 0-2/x", "bytes x-2/3", "bytes 0-2/" + "9" * 5000):
        r = s.put(location, data=b"abc", headers={"Content-Range": span}, timeout=10)
        assert r.status_code in (400, 308), (span, r.status_code, r.text[:200])
        assert r.status_code == 400 or span.endswith("9")
    # a fresh session: the one above may have taken the 5,000-digit total, and a session's total never changes
    # afterwards (round 30: a chunk naming another total is 400)
    location = s.post(upload, params={"uploadType": "resumable"}, json={"name": "r27.txt"},
                      timeout=10).headers["Location"]
    r = s.put(location, data=b"abc", headers={"Content-Range": "bytes 0-2/3"}, timeout=10)
    assert r.status_code in (200, 201) and r.json()["name"] == "r27.txt"
    file_id = r.json()["id"]
    for expiration in ("1e999", '"\u0663"', '"3_0"', "1.5"):
        body = (f'{{"id": "r27-{len(expiration)}", "type": "web_hook", "address": "https://example.com/hook", '
                f'"expiration": {expiration}}}')
        r = s.post(f"{sb.url}/drive/v3/files/{file_id}/watch", data=body,
                   headers={"Content-Type": "application/json"}, timeout=10)
        assert r.status_code == 400 and r.json()["error"]["errors"][0]["location"] == "resource.expiration", \
            (expiration, r.text[:200])
    r = s.get(f"{sb.url}/drive/v3/files/{file_id}", params={"alt": "media"},
              headers={"Range": "bytes=0-" + "9" * 5000}, timeout=10)
    assert r.status_code == 206 and r.content == b"abc"  # before: int() of 5,000 digits, a 500


# --- AWS ------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def aws():
    server = MotoAwsServer()
    server.start()
    kw = {"endpoint_url": server.url, "region_name": "us-east-1", "aws_access_key_id": "testing",
          "aws_secret_access_key": "testing"}
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
    role = boto3.client("iam", **kw).create_role(RoleName="round27", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    s3 = boto3.client("s3", **kw)
    s3.create_bucket(Bucket="round27")
    s3.put_object(Bucket="round27", Key="k", Body=b"hello")
    yield boto3.client("sts", **kw), role, s3
    server.stop()


@pytest.mark.parametrize("value", ["\u0663\u0663\u0663\u0663", "x", "0" * 5000 + "900", "-900", "9" * 30])
def test_sts_duration_seconds(aws, value):
    """Before: isdecimal() let '٣٣٣٣' through as 3333 seconds; 'x' and 5,000 characters reached moto's int()."""
    sts, role, _ = aws

    def swap(request, **_):
        request.data["DurationSeconds"] = value  # a dict botocore form-encodes
    sts.meta.events.register_first("before-sign.sts.AssumeRole", swap)
    try:
        with pytest.raises(ClientError) as caught:
            sts.assume_role(RoleArn=role, RoleSessionName="r27", DurationSeconds=900)
    finally:
        sts.meta.events.unregister("before-sign.sts.AssumeRole", swap)
    err = caught.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400 and err["Error"]["Code"] == "ValidationError", err


def test_presigned_expiry_in_other_scripts_is_refused(aws):
    """Before: X-Amz-Expires '٣' passed isdecimal() and read as 3 s (the signature check then failed: 403)."""
    _, _, s3 = aws
    v4 = boto3.client("s3", endpoint_url=s3.meta.endpoint_url, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing", config=Config(signature_version="s3v4"))
    url = v4.generate_presigned_url("get_object", Params={"Bucket": "round27", "Key": "k"}, ExpiresIn=3)
    assert "X-Amz-Expires=3&" in url
    assert requests.get(url, timeout=10).content == b"hello"
    r = requests.get(url.replace("X-Amz-Expires=3", "X-Amz-Expires=%D9%A3"), timeout=10)
    assert r.status_code == 400 and b"AuthorizationQueryParametersError" in r.content, r.text[:300]


@pytest.mark.parametrize("length", ["9" * 25, "3_0", "+3"])
def test_s3_content_length_that_is_not_digits_is_400(aws, length):
    """Before: 25 digits passed isdecimal() and overflowed read() (500 on DeleteObjects, PutObject, tagging); '3_0'
    went on to moto (500 where it parses the body)."""
    _, _, s3 = aws

    def header(request, **_):
        request.headers["Content-Length"] = length
    s3.meta.events.register("before-send.s3.*", header)
    try:
        for op, kwargs in (("delete_objects", {"Bucket": "round27", "Delete": {"Objects": [{"Key": "gone"}]}}),
                           ("put_object", {"Bucket": "round27", "Key": "new", "Body": b"abc"}),
                           ("put_bucket_tagging", {"Bucket": "round27", "Tagging": {"TagSet": [{"Key": "k",
                                                                                                "Value": "v"}]}})):
            with pytest.raises(ClientError) as caught:
                getattr(s3, op)(**kwargs)
            err = caught.value.response
            assert (err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"]) == (400, "BadRequest"), op
    finally:
        s3.meta.events.unregister("before-send.s3.*", header)
    assert s3.get_object(Bucket="round27", Key="k")["Body"].read() == b"hello"
