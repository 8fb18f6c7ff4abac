"""Round 33: the Jira emulator swept again with the vendors' clients unchanged (pycontribs `jira`,
atlassian-python-api's `Jira(cloud=True)`); these are the gaps found.

- A comment added through an `update.comment` add operation (create, edit, transition: atlassian's
  `set_issue_status(..., update=...)`, `create_issue(update=...)`, pycontribs' `issue.update(update=...)`) lost
  its `visibility`: a comment meant for Administrators was public. It is now kept and checked as POST /comment's.
- `visibility.identifier` is, per the spec, a group's id or a *role's name*; `{"type": "role", "identifier":
  "Administrators"}` was refused ("Invalid role level specified."). Answers now carry both `value` and
  `identifier` as the spec's examples do (a group's `identifier` is its groupId), for comments and worklogs.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from jira.exceptions import JIRAError

from tests.sandbox.jira.helpers import session_for

ADMINS_ROLE = {"type": "role", "value": "Administrators", "identifier": "Administrators"}


@pytest.fixture(scope="module")
def sb():
    from sandbox.jira import JiraSandbox

    with JiraSandbox(seed=42, size=40, tls=False) as box:
        yield box


@pytest.fixture(scope="module")
def pyc(sb):
    from jira import JIRA

    client = JIRA(server=sb.url, basic_auth=(sb.credentials["email"], sb.credentials["api_token"]), max_retries=0)
    yield client
    client.close()


@pytest.fixture(scope="module")
def atl(sb):
    from atlassian import Jira

    return Jira(url=sb.url, username=sb.credentials["email"], password=sb.credentials["api_token"], cloud=True)


@pytest.fixture(scope="module")
def user(sb):
    """The ordinary login (Sandbox User): in neither jira-admins nor the Administrators role."""
    with session_for(sb, ordinary=True) as session:
        yield session


def _seen_by_user(sb, user, key: str) -> list[str]:
    r = user.get(f"{sb.url}/rest/api/2/issue/{key}/comment")
    assert r.status_code == 200, r.text
    return [c["body"] for c in r.json()["comments"]]


def _restricted_add(text: str, vis: dict | None = None) -> dict:
    return {"comment": [{"add": {"body": text, "visibility": vis or {"type": "role", "value": "Administrators"}}}]}


def test_a_transition_comment_keeps_its_visibility(sb, pyc, atl, user):
    key = pyc.create_issue(project="SEC", summary="r33 transition note", issuetype={"name": "Task"}).key
    atl.set_issue_status(key, "In Progress", update=_restricted_add("admins: root cause is X"))
    assert pyc.issue(key).fields.status.name == "In Progress"
    [note] = pyc.comments(key)
    assert note.body == "admins: root cause is X" and note.raw["visibility"] == ADMINS_ROLE
    assert _seen_by_user(sb, user, key) == []  # it was public


def test_an_edit_comment_keeps_its_visibility(sb, pyc, user):
    issue = pyc.create_issue(project="SEC", summary="r33 edit note", issuetype={"name": "Task"})
    issue.update(update={"comment": [{"add": {"body": "public"}},
                                     {"add": {"body": "admins", "visibility": {"type": "group",
                                                                               "value": "jira-admins"}}}]})
    group_id = pyc.group("jira-admins").raw["groupId"]
    assert [(c.body, c.raw.get("visibility")) for c in pyc.comments(issue.key)] == [
        ("public", None), ("admins", {"type": "group", "value": "jira-admins", "identifier": group_id})]
    assert _seen_by_user(sb, user, issue.key) == ["public"]


def test_a_create_comment_keeps_its_visibility(sb, pyc, atl, user):
    made = atl.create_issue(fields={"project": {"key": "SEC"}, "summary": "r33 create note",
                                    "issuetype": {"name": "Task"}}, update=_restricted_add("admins at birth"))
    [note] = pyc.comments(made["key"])
    assert note.raw["visibility"] == ADMINS_ROLE
    assert _seen_by_user(sb, user, made["key"]) == []


def test_an_update_comment_audience_is_checked_before_anything_is_written(sb, pyc, atl):
    issue = pyc.create_issue(project="SEC", summary="r33 refused note", issuetype={"name": "Task"})
    with pytest.raises(JIRAError) as refused:
        issue.update(summary="changed", update=_restricted_add("x", {"type": "group", "value": "no-such-group"}))
    assert refused.value.status_code == 400
    assert refused.value.response.json()["errors"] == {"commentLevel": "Group: no-such-group does not exist."}
    with pytest.raises(Exception) as bad_transition:
        atl.set_issue_status(issue.key, "Done", fields={"resolution": {"name": "Done"}},
                             update=_restricted_add("x", {"type": "role", "value": "Nosuch"}))
    assert bad_transition.value.response.status_code == 400
    again = pyc.issue(issue.key)
    assert again.fields.summary == "r33 refused note" and again.fields.status.name == "To Do"
    assert pyc.comments(issue.key) == []


def test_a_role_is_named_by_its_identifier(pyc, atl):
    """The spec: `identifier` is "the ID of the group or the name of the role"."""
    by_ident = pyc.add_comment("SEC-3", "r33 by identifier",
                               visibility={"type": "role", "identifier": "Administrators"})
    assert by_ident.raw["visibility"] == ADMINS_ROLE
    assert pyc.comment("SEC-3", by_ident.id).raw["visibility"] == ADMINS_ROLE
    logged = atl.post("rest/api/2/issue/SEC-3/worklog", data={
        "timeSpent": "1h", "visibility": {"type": "role", "identifier": "Administrators"}})
    assert logged["visibility"] == ADMINS_ROLE
    with pytest.raises(JIRAError) as refused:
        pyc.add_comment("SEC-3", "x", visibility={"type": "role", "identifier": "Nosuch"})
    assert refused.value.response.json()["errors"] == {"commentLevel": "Invalid role level specified."}


def test_answers_carry_both_value_and_identifier(sb, pyc, atl):
    group_id = pyc.group("jira-admins").raw["groupId"]
    admins = {"type": "group", "value": "jira-admins", "identifier": group_id}
    by_name = pyc.add_comment("SEC-4", "r33 by name", visibility={"type": "group", "value": "jira-admins"})
    by_id = atl.issue_add_comment("SEC-4", "r33 by id", visibility={"type": "group", "identifier": group_id})
    assert by_name.raw["visibility"] == admins and by_id["visibility"] == admins
    assert pyc.add_comment("SEC-4", "r33 role", visibility={"type": "role", "value": "Administrators"}).raw[
        "visibility"] == ADMINS_ROLE
    worklog = pyc.add_worklog("SEC-4", timeSpent="30m", visibility={"type": "group", "value": "jira-admins"})
    assert pyc.worklog("SEC-4", worklog.id).raw["visibility"] == admins
    with session_for(sb) as s:  # v3 too
        r = s.get(f"{sb.url}/rest/api/3/issue/SEC-4/comment/{by_name.id}")
        assert r.json()["visibility"] == admins


HIERARCHY = {"parent": "Given parent work item does not belong to appropriate hierarchy."}


def test_a_parent_sits_one_level_up(sb, pyc, atl):
    """Cloud's hierarchy: Epic (1) > Story/Task/Bug (0) > Subtask (-1); only an Epic with a parent was refused."""
    story = pyc.create_issue(project="SEC", summary="r33 story", issuetype={"name": "Story"}, parent={"key": "SEC-1"})
    assert story.fields.parent.key == "SEC-1"  # SEC-1 is an Epic
    sub = pyc.create_issue(project="SEC", summary="r33 sub", issuetype={"name": "Subtask"}, parent={"key": story.key})
    for kind, parent in (("Task", story.key), ("Subtask", "SEC-1"), ("Subtask", sub.key), ("Epic", "SEC-1")):
        with pytest.raises(JIRAError) as refused:
            pyc.create_issue(project="SEC", summary="r33 misplaced", issuetype={"name": kind}, parent={"key": parent})
        assert refused.value.status_code == 400 and refused.value.response.json()["errors"] == HIERARCHY, kind
    made = pyc.create_issues([{"project": {"key": "SEC"}, "summary": "r33 bulk", "issuetype": {"name": "Bug"},
                               "parent": {"key": story.key}}])
    assert made[0]["status"] == "Error" and made[0]["error"] == HIERARCHY
    assert pyc.search_issues('project = SEC AND (summary ~ "r33 misplaced" OR summary ~ "r33 bulk")') == []


def test_an_edit_keeps_the_hierarchy(sb, pyc, atl):
    task = pyc.create_issue(project="SEC", summary="r33 task", issuetype={"name": "Task"})
    story = pyc.create_issue(project="SEC", summary="r33 story 2", issuetype={"name": "Story"}, parent={"key": "SEC-1"})
    with pytest.raises(Exception) as refused:
        atl.update_issue_field(task.key, {"parent": {"key": story.key}})
    assert refused.value.response.status_code == 400 and refused.value.response.json()["errors"] == HIERARCHY
    with pytest.raises(JIRAError) as retyped:  # a Story under an Epic does not become its Subtask
        story.update(fields={"issuetype": {"name": "Subtask"}})
    assert retyped.value.response.json()["errors"] == HIERARCHY
    atl.update_issue_field(task.key, {"parent": {"key": "SEC-1"}})  # under the Epic: fine
    assert pyc.issue(task.key).fields.parent.key == "SEC-1"
    story.update(fields={"issuetype": {"name": "Bug"}})  # same level: fine
    assert pyc.issue(story.key).fields.issuetype.name == "Bug"


def _fetched(url: str, auth=None) -> tuple[int, str, bytes]:
    import requests

    r = requests.get(url, auth=auth, timeout=10)
    return r.status_code, r.headers.get("Content-Type", ""), r.content


def test_every_icon_and_avatar_url_handed_out_resolves(sb, pyc):
    """Issue type, priority and status `iconUrl`s, project and user `avatarUrls` and the project avatar list all
    pointed at paths the emulator did not serve (404); they are images, readable without credentials."""
    issue = pyc.issue("SEC-2")
    urls = [issue.fields.issuetype.iconUrl, issue.fields.priority.iconUrl, issue.fields.status.iconUrl,
            *issue.raw["fields"]["project"]["avatarUrls"].values(),
            *issue.raw["fields"]["reporter"]["avatarUrls"].values()]
    avatars = pyc.project_avatars("SEC")
    urls += [u for a in avatars["system"] for u in a["urls"].values()]
    for url in urls:
        status, ctype, body = _fetched(url)
        assert status == 200 and ctype.startswith("image/") and body, (url, status, ctype)
        assert body.startswith(b"\x89PNG") or body.startswith(b"<svg"), url
    auth = (sb.credentials["email"], sb.credentials["api_token"])
    base = f"{sb.url}/rest/api/3/universal_avatar/view/type"
    assert _fetched(f"{base}/issuetype/avatar/10318?format=png&size=small", auth)[1] == "image/png"
    assert _fetched(f"{base}/priority?format=svg", auth)[1] == "image/svg+xml"
    assert _fetched(f"{base}/project/avatar/10400?size=huge", auth)[0] == 400
    assert _fetched(f"{base}/project/avatar/10400?format=gif", auth)[0] == 400


@pytest.fixture(scope="module")
def jc(sb):
    from tests.sandbox.jira.helpers import jira_cloud

    return jira_cloud(sb)


def test_bulk_delete_worklogs(sb, pyc, jc):
    """The spec's DELETE /issue/{key}/worklog (atlassian `bulk_delete_worklogs`) was a 405."""
    key = pyc.create_issue(project="SEC", summary="r33 bulk delete", issuetype={"name": "Task"}).key
    ids = [int(pyc.add_worklog(key, timeSpent=f"{n}h").id) for n in (1, 2, 3)]
    jc.bulk_delete_worklogs(key, data={"ids": ids[:2]}, adjust_estimate="leave")
    assert [int(w.id) for w in pyc.worklogs(key)] == [ids[2]]
    assert pyc.issue(key).raw["fields"]["timespent"] == 3 * 3600
    history = pyc.issue(key, expand="changelog").changelog.histories[-1]
    assert [(i.field, i.fromString, i.toString) for i in history.items] == [("timespent", "21600", "10800")]
    for body, status in (({"ids": [ids[2], 999]}, 404), ({"ids": []}, 400), ({"ids": "x"}, 400), ({}, 400),
                         ({"ids": [ids[2], ids[2]]}, 400)):
        with pytest.raises(Exception) as refused:
            jc.bulk_delete_worklogs(key, data=body)
        assert refused.value.response.status_code == status, body
    assert [int(w.id) for w in pyc.worklogs(key)] == [ids[2]]  # a refused request deleted nothing


def test_bulk_move_worklogs(sb, pyc, jc):
    """The spec's POST /issue/{key}/worklog/move (atlassian `bulk_move_worklogs`) was a 404; worklogs keep their
    ids and authors, the move writes no history."""
    source = pyc.create_issue(project="SEC", summary="r33 move from", issuetype={"name": "Task"}).key
    target = pyc.create_issue(project="SEC", summary="r33 move to", issuetype={"name": "Task"}).key
    ids = [int(pyc.add_worklog(source, timeSpent="1h", comment=f"w{n}").id) for n in (1, 2)]
    restricted = pyc.add_worklog(source, timeSpent="1h", visibility={"type": "role", "value": "Administrators"})
    histories = len(pyc.issue(source, expand="changelog").changelog.histories)
    jc.bulk_move_worklogs(source, data={"ids": ids, "issueIdOrKey": target}, adjust_estimate="leave")
    moved = jc.get_issue_worklog(target)["worklogs"]
    assert [int(w["id"]) for w in moved] == ids and [w["comment"]["content"][0]["content"][0]["text"]
                                                     for w in moved] == ["w1", "w2"]
    assert [int(w.id) for w in pyc.worklogs(source)] == [int(restricted.id)]
    assert pyc.issue(target).raw["fields"]["timespent"] == 7200 and pyc.issue(source).raw["fields"]["timespent"] == 3600
    assert len(pyc.issue(source, expand="changelog").changelog.histories) == histories  # no history
    assert pyc.issue(target, expand="changelog").changelog.histories == []
    for body, status in (({"ids": [int(restricted.id)], "issueIdOrKey": target}, 400),  # restricted by a role
                         ({"ids": ids, "issueIdOrKey": target}, 404),  # no longer on the source
                         ({"ids": [int(restricted.id)], "issueIdOrKey": "NOPE-1"}, 404),
                         ({"ids": [int(restricted.id)]}, 400)):
        with pytest.raises(Exception) as refused:
            jc.bulk_move_worklogs(source, data=body)
        assert refused.value.response.status_code == status, body


@pytest.fixture(scope="module")
def pyc_user(sb):
    """pycontribs as the ordinary login (Member role: no Modify Reporter, not a Jira administrator)."""
    from jira import JIRA

    client = JIRA(server=sb.url, basic_auth=(sb.credentials["user_email"], sb.credentials["user_api_token"]),
                  max_retries=0)
    yield client
    client.close()


REPORTER_OFF_SCREEN = {"reporter": "Field 'reporter' cannot be set. It is not on the appropriate screen, or unknown."}


def test_reporter_needs_modify_reporter(sb, pyc, pyc_user):
    """Without Modify Reporter, Cloud leaves `reporter` off the user's create and edit screens: setting it is the
    screen's 400 and createmeta/editmeta do not list it (it was set)."""
    admin = pyc.myself()["accountId"]
    mine = pyc_user.create_issue(project="SEC", summary="r33 reporter", issuetype={"name": "Task"})
    with pytest.raises(JIRAError) as edit:
        mine.update(reporter={"accountId": admin})
    assert edit.value.status_code == 400 and edit.value.response.json()["errors"] == REPORTER_OFF_SCREEN
    assert pyc.issue(mine.key).fields.reporter.accountId == pyc_user.myself()["accountId"]
    with pytest.raises(JIRAError) as create:
        pyc_user.create_issue(project="SEC", summary="r33 reporter 2", issuetype={"name": "Task"},
                              reporter={"accountId": admin})
    assert create.value.response.json()["errors"] == REPORTER_OFF_SCREEN
    assert "reporter" not in pyc_user.editmeta(mine.key)["fields"]
    meta = pyc_user._get_json("issue/createmeta/SEC/issuetypes/10002")
    assert "reporter" not in [f["fieldId"] for f in meta["fields"]]
    # the admin (Administrators role) still sets it
    assert "reporter" in pyc.editmeta(mine.key)["fields"]
    pyc.issue(mine.key).update(reporter={"accountId": admin})
    assert pyc.issue(mine.key).fields.reporter.accountId == admin


def test_audit_log_and_application_roles_need_administer_jira(sb, pyc, pyc_user):
    """The spec: both need Administer Jira (403 otherwise); an ordinary login read them."""
    for path in ("auditing/record", "applicationrole", "applicationrole/jira-software"):
        with pytest.raises(JIRAError) as refused:
            pyc_user._get_json(path)
        assert refused.value.status_code == 403, path
        assert pyc._get_json(path) is not None


def test_worklog_feeds_leave_out_the_last_minute_and_restricted_worklogs(sb, pyc, pyc_user, atl):
    """The spec: /worklog/updated and /deleted do not return worklogs changed in the minute before the request,
    and worklogs are returned only to those who may view them (also /worklog/list). Both feeds answered at once
    and to anyone."""
    key = pyc.create_issue(project="SEC", summary="r33 feeds", issuetype={"name": "Task"}).key
    public = int(pyc.add_worklog(key, timeSpent="1h").id)
    hidden = int(pyc.add_worklog(key, timeSpent="1h", visibility={"type": "role", "value": "Administrators"}).id)
    gone = pyc.add_worklog(key, timeSpent="1h")
    gone.delete()
    since = pyc.issue(key).raw["fields"]["created"]
    since_ms = int(datetime.strptime(since, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)

    def ids(client, path: str) -> list[int]:
        return [v["worklogId"] for v in client._get_json(f"worklog/{path}", params={"since": since_ms})["values"]]

    assert ids(pyc, "updated") == [] and ids(pyc, "deleted") == []  # within the minute
    sb.advance_clock(61)
    assert ids(pyc, "updated") == [public, hidden] and ids(pyc, "deleted") == [int(gone.id)]
    assert ids(pyc_user, "updated") == [public]  # not in Administrators
    listed = pyc_user._session.post(pyc_user._get_url("worklog/list"), json={"ids": [public, hidden]}).json()
    assert [int(w["id"]) for w in listed] == [public]
    assert [int(w["id"]) for w in atl.post("rest/api/2/worklog/list", data={"ids": [public, hidden]})] == [
        public, hidden]
