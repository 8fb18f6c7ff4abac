"""Round thirteen: atlassian-python-api's `Jira` (cloud=True), used as a customer would, against the emulator.

Each call is made twice where it matters: through the default client (REST v2, decoded JSON) for what the caller
sees, and through a REST v3 client in `advanced_mode` whose raw responses are checked against the official
platform spec. Covers enhanced JQL paging (`nextPageToken`), issue create/edit (with `properties` and
`historyMetadata`), comments, changelog, remote and issue links, transitions by status name, projects, versions,
components, user search, watchers (POST an unknown account: 404, as the spec lists), attachments (upload, ids,
the zip download), fields, and delete/exists.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from atlassian import Jira
from openapi_core.validation.response.exceptions import InvalidData, MissingData
from requests import HTTPError

from tests.sandbox.jira.helpers import checked


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


@pytest.fixture
def raw(sb) -> Jira:
    """The same client on REST v3, answering raw `requests` responses (advanced_mode) for spec checks."""
    return Jira(url=sb.url, username=sb.credentials["email"], password=sb.credentials["api_token"], cloud=True,
                api_version=3, advanced_mode=True)


def _checked(sb, resp):
    """Validate against the official v3 spec; the spec's two known slips (an any-schema JSON body declared for
    empty 201/204 answers, and GET /remotelink typed as one object while Jira sends a list) are allowed."""
    try:
        checked(sb, resp)
    except MissingData:
        assert resp.status_code in (201, 204) and not resp.content
    except InvalidData:
        assert resp.request.path_url.split("?")[0].endswith("/remotelink") and isinstance(resp.json(), list)
    return resp


def _new(atl, **fields):
    return atl.issue_create({"project": {"key": "SEC"}, "summary": "probe", "issuetype": {"name": "Task"},
                             **fields})


# --- search ----------------------------------------------------------------------------------------------------------


def test_enhanced_jql_pages_with_next_page_token(sb, atl, raw):
    first = _checked(sb, raw.jql("project = SEC ORDER BY created DESC", limit=4, fields="summary")).json()
    assert len(first["issues"]) == 4 and first["isLast"] is False and first["nextPageToken"]
    keys, token = [i["key"] for i in first["issues"]], first["nextPageToken"]
    while token:
        page = _checked(sb, raw.enhanced_jql("project = SEC ORDER BY created DESC", nextPageToken=token, limit=4,
                                             fields=["summary", "status"])).json()
        assert set(page["issues"][0]["fields"]) == {"summary", "status"}
        keys += [i["key"] for i in page["issues"]]
        token = page.get("nextPageToken")
        assert page["isLast"] is (token is None)
    everything = atl.jql("project = SEC")  # start=0 on Cloud: the client goes to /search/jql
    assert len(keys) == len(set(keys)) == len(everything["issues"]) == atl.approximate_issue_count(
        "project = SEC")["count"]
    assert "summary" in everything["issues"][0]["fields"]


# --- issues: create, edit, comments, changelog -----------------------------------------------------------------------


def test_create_and_update_issue(sb, atl, raw):
    made = _checked(sb, raw.issue_create({"project": {"key": "SEC"}, "summary": "probe", "labels": ["a"],
                                          "issuetype": {"name": "Task"}}))
    key = made.json()["key"]
    _checked(sb, raw.issue_update(key, {"summary": "probe 2"}, update={"labels": [{"add": "b"}]}))
    _checked(sb, raw.update_issue_field(key, {"priority": {"name": "High"}}, notify_users=False))
    fields = atl.issue(key)["fields"]
    assert fields["summary"] == "probe 2" and fields["labels"] == ["a", "b"] and fields["priority"]["name"] == "High"
    log = _checked(sb, raw.get_issue_changelog(key, limit=1)).json()
    assert log["total"] == 2 and log["isLast"] is False and log["values"][0]["items"][0]["field"] == "summary"
    assert [i["field"] for i in atl.get_issue_changelog(key, start=1)["values"][0]["items"]] == ["priority"]


def test_issue_update_sets_properties_and_history_metadata(sb, atl, raw):
    made = atl.post("rest/api/2/issue", data={  # the client's create methods send no `properties`: its plain POST
        "fields": {"project": {"key": "SEC"}, "summary": "probe", "issuetype": {"name": "Task"}},
        "properties": [{"key": "made.by", "value": {"tool": "probe"}}]})
    key = made["key"]
    meta = {"type": "myplugin:type", "description": "text description",
            "actor": {"id": "tony", "displayName": "Tony", "type": "mysystem-user"}, "extraData": {"k": "v"}}
    _checked(sb, raw.issue_update(key, {"summary": "with metadata"}, history_metadata=meta,
                                  properties=[{"key": "probe.prop", "value": {"x": 1}}]))
    assert atl.get_issue_property(key, "probe.prop")["value"] == {"x": 1}
    assert atl.get_issue_property(key, "made.by")["value"] == {"tool": "probe"}
    entry = _checked(sb, raw.get_issue_changelog(key)).json()["values"][-1]
    assert entry["historyMetadata"] == meta and entry["items"][0]["toString"] == "with metadata"
    expanded = atl.get_issue(key, expand="changelog")["changelog"]["histories"]
    assert [h.get("historyMetadata") for h in expanded] == [meta]
    atl.set_issue_status(key, "In Progress", update={"comment": [{"add": {"body": "moving"}}]})
    assert "historyMetadata" not in atl.get_issue_changelog(key)["values"][-1]
    atl.post(f"rest/api/2/issue/{key}/transitions", data={"transition": {"id": "41"}, "historyMetadata": {
        "type": "ci:close"}, "properties": [{"key": "closed.by", "value": "ci"}]})
    assert atl.get_issue_changelog(key)["values"][-1]["historyMetadata"] == {"type": "ci:close"}
    assert atl.get_issue_property(key, "closed.by")["value"] == "ci"
    with pytest.raises(HTTPError) as bad:
        atl.issue_update(key, {"summary": "x"}, properties=[{"value": 1}])
    assert bad.value.response.status_code == 400 and atl.issue(key)["fields"]["summary"] == "with metadata"


def test_comments(sb, atl, raw):
    key = _new(atl)["key"]
    added = atl.issue_add_comment(key, "hello", visibility={"type": "role", "value": "Administrators"})
    assert added["body"] == "hello" and added["visibility"]["value"] == "Administrators"
    edited = atl.issue_edit_comment(key, added["id"], "hello again")
    assert edited["body"] == "hello again" and edited["id"] == added["id"]
    adf = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text",
                                                                                        "text": "rich"}]}]}
    v3 = _checked(sb, raw.issue_add_comment(key, adf))
    assert v3.status_code == 201 and v3.json()["body"] == adf
    _checked(sb, raw.issue_edit_comment(key, v3.json()["id"], adf))
    listed = atl.issue_get_comments(key)["comments"]  # v2: the rich-text comment comes back as wiki text
    assert [c["id"] for c in listed] == [added["id"], v3.json()["id"]] and listed[0]["body"] == "hello again"
    assert "rich" in listed[1]["body"]


# --- links -----------------------------------------------------------------------------------------------------------


def test_remote_links_and_issue_links(sb, atl, raw):
    key = _new(atl)["key"]
    made = _checked(sb, raw.create_or_update_issue_remote_links(
        key, "https://ci.example/1", "Build 1", global_id="ci=1", relationship="built by",
        icon_url="https://ci.example/i.png", icon_title="CI", application={"type": "com.example.ci", "name": "CI"}))
    assert made.status_code == 201
    again = _checked(sb, raw.create_or_update_issue_remote_links(key, "https://ci.example/2", "Build 2",
                                                                 global_id="ci=1", status_resolved=True))
    assert again.status_code == 200 and again.json()["id"] == made.json()["id"]
    [link] = _checked(sb, raw.get_issue_remote_links(key)).json()
    assert link["object"]["url"] == "https://ci.example/2" and link["object"]["status"]["resolved"] is True
    assert atl.get_issue_remote_links(key, global_id="ci=1")["id"] == link["id"]
    assert atl.get_issue_remote_links(key, internal_id=str(link["id"]))["globalId"] == "ci=1"
    types = atl.get_issue_link_types()
    assert "Blocks" in {t["name"] for t in types}
    _checked(sb, raw.create_issue_link({"type": {"name": "Blocks"}, "inwardIssue": {"key": key},
                                        "outwardIssue": {"key": "SEC-2"}}))
    [issue_link] = atl.issue(key)["fields"]["issuelinks"]
    assert issue_link["outwardIssue"]["key"] == "SEC-2" and issue_link["type"]["name"] == "Blocks"


# --- workflow --------------------------------------------------------------------------------------------------------


def test_transitions_by_status_name(sb, atl, raw):
    key = _new(atl)["key"]
    assert {"name": "Done", "id": 41, "to": "Done"} in atl.get_issue_transitions(key)
    _checked(sb, raw.get_issue_transitions_full(key))
    atl.set_issue_status(key, "In Progress")
    assert atl.get_issue_status(key) == "In Progress"
    atl.set_issue_status(key, "Done", fields={"resolution": {"name": "Done"}})
    assert atl.issue(key)["fields"]["resolution"]["name"] == "Done"
    with pytest.raises(HTTPError) as bad:  # no transition to that name: the client sends no id
        atl.set_issue_status(key, "Nowhere")
    assert bad.value.response.status_code == 400


# --- projects, versions, components, users, fields -------------------------------------------------------------------


def test_projects_versions_components(sb, atl, raw):
    projects = _checked(sb, raw.get("rest/api/3/project", params={"expand": "description"})).json()
    assert {p["key"] for p in projects} == {p["key"] for p in atl.get_all_projects()} >= {"SEC", "ENG", "GRC"}
    pid = atl.get_project("SEC")["id"]
    plain = _checked(sb, raw.add_version("SEC", pid, "9.9"))
    assert plain.status_code == 201 and plain.json()["released"] is False
    full = atl.add_version("SEC", pid, {"name": "9.10", "description": "next", "releaseDate": "2027-01-01"})
    assert full["releaseDate"] == "2027-01-01" and str(full["projectId"]) == pid
    versions = _checked(sb, raw.get_project_versions("SEC")).json()
    assert {"9.9", "9.10"} <= {v["name"] for v in versions}
    atl.create_component({"project": "SEC", "name": "Probe area"})
    comps = _checked(sb, raw.get_project_components("SEC")).json()
    assert "Probe area" in {c["name"] for c in atl.get_project_components("SEC")} == {c["name"] for c in comps}


def test_user_search_and_fields(sb, atl, raw):
    me = atl.myself()
    found = _checked(sb, raw.user_find_by_user_string(query=me["displayName"].split()[0])).json()
    assert me["accountId"] in {u["accountId"] for u in found}
    assert [u["accountId"] for u in atl.user_find_by_user_string(account_id=me["accountId"])] == [me["accountId"]]
    every = _checked(sb, raw.get_all_fields()).json()
    assert {"summary", "customfield_10016"} <= {f["id"] for f in every}
    page = _checked(sb, raw.get_custom_fields(search="Story point", start=0)).json()
    assert [f["id"] for f in page["values"]] == ["customfield_10016"]
    assert atl.get_custom_fields()["startAt"] == 1  # the client's default page starts at 1


# --- watchers --------------------------------------------------------------------------------------------------------


def test_add_watcher_unknown_account_is_404(sb, atl, raw):
    key = _new(atl)["key"]
    me = atl.myself()["accountId"]
    _checked(sb, raw.issue_add_watcher(key, me))
    assert me in {w["accountId"] for w in atl.issue_get_watchers(key)["watchers"]}
    bad = _checked(sb, raw.issue_add_watcher(key, "nobody-123"))
    assert bad.status_code == 404 and bad.json()["errorMessages"] and bad.json()["errors"] == {}
    with pytest.raises(HTTPError) as failed:
        atl.issue_add_watcher(key, "nobody-123")
    assert failed.value.response.status_code == 404
    assert atl.issue_get_watchers(key)["watchCount"] == 1


# --- attachments -----------------------------------------------------------------------------------------------------


def test_attachments_upload_ids_and_zip_download(sb, atl, raw, tmp_path: Path):
    key = _new(atl)["key"]
    assert atl.download_issue_attachments(key, path=str(tmp_path)) == "No attachments found on the Jira issue"
    note = tmp_path / "note.txt"
    note.write_text("hello attachments")
    [made] = atl.add_attachment(key, str(note))
    assert made["filename"] == "note.txt" and made["size"] == len("hello attachments")
    _checked(sb, raw.add_attachment(key, str(note)))
    ids = atl.get_attachments_ids_from_issue(key)
    assert [i["filename"] for i in ids] == ["note.txt", "note.txt"] and ids[0]["attachment_id"] == made["id"]
    out = tmp_path / "out"
    out.mkdir()
    assert atl.download_issue_attachments(key, path=str(out)) == "Attachments downloaded successfully"
    issue_id = atl.issue(key, fields="id")["id"]
    assert (out / f"{issue_id}_attachments.zip").is_file()
    with zipfile.ZipFile(out / f"{issue_id}_attachments.zip") as zf:
        names = zf.namelist()
        assert len(names) == 2 and zf.read(names[0]) == b"hello attachments"


# --- delete and existence --------------------------------------------------------------------------------------------


def test_exists_delete_and_deleted(sb, atl, raw):
    key = _new(atl)["key"]
    sub = atl.issue_create({"project": {"key": "SEC"}, "summary": "child", "issuetype": {"name": "Sub-task"},
                            "parent": {"key": key}})["key"]
    assert atl.issue_exists(key) is True and atl.issue_deleted(key) is False
    assert atl.issue_exists("SEC-9999") is False
    with pytest.raises(HTTPError) as refused:
        atl.delete_issue(key, delete_subtasks=False)
    assert refused.value.response.status_code == 400 and atl.issue_exists(key)
    _checked(sb, raw.delete_issue(key))
    assert atl.issue_deleted(key) is True and atl.issue_deleted(sub) is True
    with pytest.raises(HTTPError) as gone:
        atl.delete_issue(key)
    assert gone.value.response.status_code == 404
