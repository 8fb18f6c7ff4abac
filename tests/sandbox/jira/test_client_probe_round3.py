"""pycontribs `jira` and atlassian-python-api calls that answered 404 or dropped what was asked for:
users who can browse an issue, paged field search, the contents of ZIP attachments, comments with
`expand=renderedBody`, and issue properties requested with `properties=` on GET issue and search."""

from __future__ import annotations

import io
import zipfile

import pytest
from jira import JIRAError
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from requests import HTTPError

from tests.sandbox.jira.helpers import openapi, session_for


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=40)


def test_users_with_browse_permission(pyc, atl, sb):
    users = pyc.search_allowed_users_for_issue("ana", projectKey="SEC")
    assert users and all("ana" in u.displayName.lower() for u in users)
    me = sb.store.me.account_id
    assert [u.accountId for u in pyc.search_allowed_users_for_issue("sandbox.admin", issueKey="SEC-1")] == [me]
    # "sandbox" also finds the second login, Sandbox User (sandbox.user@example.com), who may browse SEC too
    assert [u.accountId for u in pyc.search_allowed_users_for_issue("sandbox", issueKey="SEC-1")] == [
        me, sb.store.login_user]
    with pytest.raises(JIRAError) as missing:
        pyc.search_allowed_users_for_issue("a", projectKey="NOPE")
    assert missing.value.status_code == 404
    # atlassian-python-api sends the retired `username` parameter: Cloud wants `query` or `accountId`
    with pytest.raises(HTTPError) as bad:
        atl.get_users_with_browse_permission_to_a_project("a", project_key="SEC")
    assert bad.value.response.status_code == 400
    assert bad.value.response.json()["errorMessages"]


def test_field_search_pages_and_filters(atl, pyc):
    page = atl.get_custom_fields(limit=2)  # the client always sends startAt=1
    assert (page["startAt"], page["maxResults"], len(page["values"])) == (1, 2, 2)
    assert page["total"] == len(pyc.fields()) and page["isLast"] is False
    custom = pyc._get_json("field/search", params={"type": "custom", "query": "sprint", "expand": "key"})
    assert [(f["id"], f["name"], f["key"]) for f in custom["values"]] == [
        ("customfield_10020", "Sprint", "customfield_10020")]
    assert custom["values"][0]["schema"]["custom"] == "com.pyxis.greenhopper.jira:gh-sprint"
    system = pyc._get_json("field/search", params={"type": "system", "id": "summary,customfield_10020"})
    assert [f["id"] for f in system["values"]] == ["summary"]


def test_zip_attachment_contents(pyc, atl):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("evidence/log.txt", "hello")
        zf.writestr("shot.png", b"\x89PNG" * 500)
    att = pyc.add_attachment("SEC-2", io.BytesIO(buf.getvalue()), filename="bundle.zip")
    raw = atl.get_attachment_expand_raw(att.id)
    assert raw == {"entries": [{"entryIndex": 0, "name": "evidence/log.txt", "size": 5, "mediaType": "text/plain"},
                               {"entryIndex": 1, "name": "shot.png", "size": 2000, "mediaType": "image/png"}],
                   "totalEntryCount": 2}
    human = atl.get_attachment_expand_human(att.id)
    assert (human["id"], human["name"], human["totalEntryCount"]) == (int(att.id), "bundle.zip", 2)
    assert [(e["index"], e["path"], e["label"]) for e in human["entries"]] == [
        (0, "evidence/log.txt", "evidence/log.txt"), (1, "shot.png", "shot.png")]
    plain = pyc.add_attachment("SEC-2", io.BytesIO(b"not a zip"), filename="notes.txt")
    assert atl.get_attachment_expand_raw(plain.id) == {"entries": [], "totalEntryCount": 0}
    with pytest.raises(HTTPError) as gone:
        atl.get_attachment_expand_human("999999999")
    assert gone.value.response.status_code == 404


def test_comments_expand_rendered_body(pyc, atl):
    made = pyc.add_comment("SEC-3", "first line\n\nsecond <b>")
    listed = pyc.comments("SEC-3", expand="renderedBody")
    assert listed[-1].renderedBody == "<p>first line</p><p>second &lt;b&gt;</p>"
    one = pyc.comment("SEC-3", made.id, expand="renderedBody,properties")
    assert one.raw["renderedBody"] == listed[-1].renderedBody and one.raw["properties"] == []
    assert "renderedBody" not in pyc.comment("SEC-3", made.id).raw
    v3 = atl.get("rest/api/3/issue/SEC-3/comment", params={"expand": "renderedBody"})["comments"][-1]
    assert isinstance(v3["body"], dict) and v3["renderedBody"] == listed[-1].renderedBody


def test_issue_properties_on_get_and_search(pyc, atl):
    pyc.add_issue_property("SEC-4", "risk", {"score": 3})
    pyc.add_issue_property("SEC-4", "owner", "grc")
    assert pyc.issue("SEC-4", properties="*all").raw["properties"] == {"risk": {"score": 3}, "owner": "grc"}
    assert pyc.issue("SEC-4", properties="*all,-owner").raw["properties"] == {"risk": {"score": 3}}
    assert pyc.issue("SEC-4", properties="missing").raw["properties"] == {}
    assert "properties" not in pyc.issue("SEC-4").raw
    [hit] = pyc.enhanced_search_issues("key = SEC-4", properties="risk")
    assert hit.raw["properties"] == {"risk": {"score": 3}}
    posted = atl.post("rest/api/3/search/jql", data={"jql": "key = SEC-4", "fields": ["summary"],
                                                     "properties": ["owner"]})
    assert posted["issues"][0]["properties"] == {"owner": "grc"}


def test_new_answers_match_the_official_schema(pyc, sb):
    spec = openapi("jira-platform-v3.json", sb.url)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "a")
    att = pyc.add_attachment("SEC-5", io.BytesIO(buf.getvalue()), filename="a.zip")
    comment = pyc.add_comment("SEC-5", "hi")
    with session_for(sb) as s:
        for path in ("/rest/api/3/user/viewissue/search?query=ana&projectKey=SEC",
                     "/rest/api/3/field/search?type=custom&expand=key,stableId",
                     f"/rest/api/3/attachment/{att.id}/expand/human",
                     f"/rest/api/3/attachment/{att.id}/expand/raw",
                     "/rest/api/3/issue/SEC-5/comment?expand=renderedBody,properties",
                     f"/rest/api/3/issue/SEC-5/comment/{comment.id}?expand=renderedBody",
                     "/rest/api/3/issue/SEC-5?properties=*all"):
            r = s.get(sb.url + path)
            assert r.status_code == 200, (path, r.text)
            spec.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))
