"""Bulk reads (changelog bulkfetch, comment list, user bulk, labels), issue notify and the JQL tools (parse,
autocomplete data, suggestions), through atlassian-python-api's JiraCloud and pycontribs `jira`, answers checked
against the official schema."""

from __future__ import annotations

import pytest
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from requests import HTTPError

from tests.sandbox.jira.helpers import openapi, session_for


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=40)


def test_changelog_bulkfetch_pages_oldest_first(jc, pyc, sb):
    keys = [i.key for i in pyc.enhanced_search_issues("project = ENG ORDER BY key", maxResults=False)][:10]
    every = [(h.created, int(pyc.issue(k).id), h.id) for k in keys
             for h in pyc.issue(k, expand="changelog").changelog.histories]
    assert len(every) > 3
    seen, token = [], None
    while True:
        page = jc.get_bulk_changelogs(data={"issueIdsOrKeys": [*keys, "NOPE-1"], "maxResults": 3,
                                            **({"nextPageToken": token} if token else {})})
        assert sum(len(x["changeHistories"]) for x in page["issueChangeLogs"]) <= 3
        seen += [(int(x["issueId"]), h["id"]) for x in page["issueChangeLogs"] for h in x["changeHistories"]]
        token = page.get("nextPageToken")
        if not token:
            break
    assert sorted(seen) == sorted((i, h) for _c, i, h in every) and len(seen) == len(every)
    only = jc.get_bulk_changelogs(data={"issueIdsOrKeys": keys, "fieldIds": ["resolution"]})["issueChangeLogs"]
    assert only and all(item["fieldId"] == "resolution" for x in only for h in x["changeHistories"]
                        for item in h["items"])
    first = pyc.issue(keys[0], expand="changelog").changelog.histories
    listed = jc.get_change_logs_by_ids(keys[0], data={"changelogIds": [int(first[-1].id), 1]})
    assert ([h["id"] for h in listed["histories"]], listed["total"]) == ([first[-1].id], 1)
    with pytest.raises(HTTPError) as bad:
        jc.get_bulk_changelogs(data={"issueIdsOrKeys": []})
    assert bad.value.response.status_code == 400


def test_comment_list_user_bulk_labels_and_notify(jc, pyc, atl, sb):
    seeded = next(c for i in pyc.enhanced_search_issues("project = SEC", maxResults=False) for c in pyc.comments(i.key))
    new = pyc.add_comment("GRC-1", "a new one")
    page = jc.get_comments_by_ids(data={"ids": [int(new.id), int(seeded.id), 424242]}, expand="renderedBody")
    assert [c["id"] for c in page["values"]] == sorted([seeded.id, new.id], key=int)
    assert all("renderedBody" in c for c in page["values"])

    me, other = sb.store.me.account_id, sb.person()
    users = atl.get("rest/api/3/user/bulk", params={"accountId": [me, "unknown", other], "maxResults": 1})
    assert (users["total"], [u["accountId"] for u in users["values"]], users["isLast"]) == (2, [me], False)
    pyc.issue("SEC-2").update(fields={"labels": ["zz-new-label"]})
    labels = jc.get_all_labels()["values"]
    assert labels == sorted(labels) and "zz-new-label" in labels

    atl.post("rest/api/3/issue/SEC-2/notify", data={"subject": "Evidence due", "textBody": "Please upload.",
                                                    "to": {"reporter": True, "users": [{"accountId": other}]}})
    [mail] = sb.store.work["notifications"]
    assert mail["subject"] == "Evidence due" and other in mail["to"]
    for bad in ({"subject": "x", "to": {}}, {"subject": "x", "to": {"users": [{"accountId": "nobody"}]}}):
        with pytest.raises(HTTPError) as refused:
            atl.post("rest/api/3/issue/SEC-2/notify", data=bad)
        assert refused.value.response.status_code == 400
    with pytest.raises(HTTPError) as missing:
        atl.post("rest/api/3/issue/NOPE-9/notify", data={"subject": "x", "to": {"reporter": True}})
    assert missing.value.response.status_code == 404


def test_jql_parse_autocomplete_and_suggestions(jc, atl, sb):
    parsed = atl.post("rest/api/3/jql/parse", data={"queries": [
        'assignee = currentUser() AND status WAS "In Progress" BEFORE -1d ORDER BY created DESC',
        "foo = bar", "project = ", "labels in (a, b) AND NOT resolution IS EMPTY"]})["queries"]
    where = parsed[0]["structure"]["where"]
    assert where["operator"] == "and"
    assert where["clauses"][0]["operand"] == {"function": "currentUser", "arguments": [],
                                              "encodedOperand": "currentUser()"}
    assert where["clauses"][1]["predicates"][0]["operator"] == "before"
    assert parsed[0]["structure"]["orderBy"]["fields"] == [{"field": {"name": "created", "encodedName": "created"},
                                                            "direction": "desc"}]
    assert "errors" not in parsed[0] and "does not exist" in parsed[1]["errors"][0]
    assert "structure" not in parsed[2] and parsed[2]["errors"]
    assert parsed[3]["structure"]["where"]["clauses"][1]["clauses"][0]["operand"] == {"keyword": "empty"}
    warned = atl.post("rest/api/3/jql/parse", params={"validation": "warn"}, data={"queries": ["foo = bar"]})
    assert warned["queries"][0]["warnings"] and "errors" not in warned["queries"][0]

    data = jc.get_auto_complete()
    names = {f["value"]: f for f in data["visibleFieldNames"]}
    assert {"project", "status", "assignee", '"Story point estimate"'} <= set(names)
    assert names['"Story point estimate"']["cfid"] == "cf[10016]" and ">" in names["created"]["operators"]
    assert "was" in names["status"]["operators"] and "~" in names["summary"]["operators"]
    assert "currentUser()" in {f["value"] for f in data["visibleFunctionNames"]}
    assert jc.get_auto_complete_post(data={"projectIds": [10000]})["jqlReservedWords"]

    suggested = jc.get_field_auto_complete_for_query_string(field_name="project", field_value="gov")["results"]
    assert suggested == [{"value": "GRC", "displayName": "<b>Gov</b>ernance, Risk &amp; Compliance (GRC)"}]
    statuses = atl.get("rest/api/3/jql/autocompletedata/suggestions", params={"fieldName": "status",
                                                                              "fieldValue": "in"})["results"]
    assert [s["value"] for s in statuses] == ["In Progress", "In Review"]

    spec = openapi("jira-platform-v3.json", sb.url)
    with session_for(sb) as s:
        for r in (s.get(f"{sb.url}/rest/api/3/jql/autocompletedata"),
                  s.get(f"{sb.url}/rest/api/3/jql/autocompletedata/suggestions?fieldName=labels"),
                  # (not /jql/parse: the spec's JqlQueryClause forbids every property, so no `where` validates)
                  s.post(f"{sb.url}/rest/api/3/jql/parse", json={"queries": ["project = "]}),
                  s.post(f"{sb.url}/rest/api/3/changelog/bulkfetch", json={"issueIdsOrKeys": ["ENG-1", "ENG-2"]}),
                  s.post(f"{sb.url}/rest/api/3/comment/list", json={"ids": [100000, 100001]}),
                  s.get(f"{sb.url}/rest/api/3/user/bulk?accountId={sb.store.me.account_id}"),
                  s.get(f"{sb.url}/rest/api/3/label?maxResults=3")):
            assert r.status_code == 200, r.text
            spec.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))
