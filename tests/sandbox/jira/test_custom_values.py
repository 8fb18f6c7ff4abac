"""Values of custom fields made through POST /field: set on create and edit through pycontribs `jira` and
atlassian-python-api, read back in v2 and v3 shapes, in the changelog, in JQL (`cf[N]` and the field name), in
createmeta and in `fields=*all`; bad values are field errors."""

from __future__ import annotations

import pytest
from jira import JIRAError

TYPES = "com.atlassian.jira.plugin.system.customfieldtypes:"


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=20)


def test_custom_field_values(pyc, atl, sb):
    me = sb.store.me.account_id
    sev = atl.create_custom_field("Severity", TYPES + "select")["id"]
    ctx = atl.get(f"rest/api/3/field/{sev}/context")["values"][0]["id"]
    low, high = atl.add_custom_field_option(sev, ctx, ["Low", "High"])["options"]
    notes = atl.create_custom_field("Notes", TYPES + "textarea")["id"]
    owner = atl.create_custom_field("Owner", TYPES + "userpicker")["id"]
    score = atl.create_custom_field("Score", TYPES + "float")["id"]
    tags = atl.create_custom_field("Tags", TYPES + "labels")["id"]

    meta = {f["fieldId"]: f for f in atl.issue_createmeta_fieldtypes("SEC", "10002")["fields"]}
    assert {sev, notes, owner, score, tags} <= set(meta)
    assert [v["value"] for v in meta[sev]["allowedValues"]] == ["Low", "High"]

    issue = pyc.create_issue(project="SEC", summary="custom", issuetype={"name": "Task"},
                             **{sev: {"value": "High"}, notes: "first notes", owner: {"accountId": me}, score: 4.5,
                                tags: ["a", "b"]})
    raw = pyc.issue(issue.key).raw["fields"]
    assert raw[sev] == {"self": f"{sb.url}/rest/api/2/customFieldOption/{high['id']}", "value": "High",
                        "id": high["id"]}
    assert (raw[notes], raw[owner]["accountId"], raw[score], raw[tags]) == ("first notes", me, 4.5, ["a", "b"])
    v3 = atl.get(f"rest/api/3/issue/{issue.key}", params={"fields": notes})["fields"][notes]
    assert v3["type"] == "doc"  # a v3 reader gets ADF
    assert sev in pyc.enhanced_search_issues(f"key = {issue.key}", fields="*all")[0].raw["fields"]

    issue.update(fields={sev: {"id": low["id"]}, score: None})
    items = [(i.field, i.fieldtype, i.fieldId, i.fromString, i.toString)
             for h in pyc.issue(issue.key, expand="changelog").changelog.histories for i in h.items]
    assert items == [("Severity", "custom", sev, "High", "Low"), ("Score", "custom", score, "4.5", None)]
    assert pyc.issue(issue.key).raw["fields"][score] is None

    def keys(jql: str) -> list[str]:
        return [i.key for i in pyc.enhanced_search_issues(jql)]

    num = sev.split("_")[1]
    assert keys("Severity = Low") == [issue.key] == keys(f"cf[{num}] in (Low, High) AND Notes ~ first")
    assert keys("Severity = High") == [] and issue.key not in keys("project = SEC AND Severity IS EMPTY")
    assert keys(f"Owner = {me}") == [issue.key] and keys("Tags = b") == [issue.key]
    assert keys("project = SEC AND Severity != Low") == []

    for bad in ({sev: {"value": "Nope"}}, {score: "high"}, {owner: {"accountId": "nobody"}}, {tags: ["a b"]}):
        with pytest.raises(JIRAError) as refused:
            pyc.create_issue(project="SEC", summary="bad", issuetype={"name": "Task"}, **bad)
        assert refused.value.status_code == 400 and set(refused.value.response.json()["errors"]) == set(bad)


def test_search_names_and_schema_once_at_the_top(atl, pyc, sb):
    fid = atl.create_custom_field("Severity", TYPES + "textfield")["id"]
    pyc.create_issue(project="SEC", summary="named", issuetype={"name": "Task"}, **{fid: "high"})
    page = pyc.enhanced_search_issues("summary ~ named", fields=f"summary,{fid}", expand="names,schema",
                                      json_result=True)
    assert page["names"] == {"summary": "Summary", fid: "Severity"}
    assert page["schema"]["summary"]["type"] == "string"
    assert all("names" not in i and "schema" not in i for i in page["issues"])
    one = atl.get(f"rest/api/3/issue/{page['issues'][0]['key']}", params={"fields": fid, "expand": "names"})
    assert one["names"] == {fid: "Severity"}  # a single issue still carries its own
