"""Custom field administration through atlassian-python-api (Jira and JiraCloud): create a select field, its
contexts and options, see it in GET /field, trash/restore and delete it (303 to a finished task)."""

from __future__ import annotations

import pytest
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from requests import HTTPError

from tests.sandbox.jira.helpers import openapi, session_for

TYPES = "com.atlassian.jira.plugin.system.customfieldtypes:"


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=20)


def test_select_field_contexts_and_options(atl, jc, pyc, sb):
    field = atl.create_custom_field("Severity", TYPES + "select", TYPES + "multiselectsearcher", "How bad")
    fid = field["id"]
    assert field["schema"] == {"type": "option", "custom": TYPES + "select", "customId": int(fid.split("_")[1])}
    assert field["clauseNames"] == [f"cf[{fid.split('_')[1]}]", "Severity"]
    assert fid in {f["id"] for f in pyc.fields()}
    assert [f["id"] for f in atl.get_custom_fields(search="sever", start=0)["values"]] == [fid]

    [default] = jc.get_contexts_for_field(fid)["values"]
    assert default["isGlobalContext"] and default["isAnyIssueType"]
    added = atl.add_custom_field_option(fid, default["id"], ["Low", "High"])["options"]
    assert [(o["value"], o["disabled"]) for o in added] == [("Low", False), ("High", False)]
    with pytest.raises(HTTPError) as dup:
        atl.add_custom_field_option(fid, default["id"], ["high"])
    assert dup.value.response.status_code == 400
    jc.update_custom_field_option(fid, default["id"], data={"options": [{"id": added[0]["id"], "disabled": True}]})
    options = atl.get_custom_field_option_context(fid, default["id"])["values"]
    assert [(o["value"], o["disabled"]) for o in options] == [("Low", True), ("High", False)]
    assert jc.get_custom_field_option(added[1]["id"])["value"] == "High"
    jc.delete_custom_field_option(fid, default["id"], added[0]["id"])
    assert [o["value"] for o in atl.get_custom_field_option_context(fid, default["id"])["values"]] == ["High"]

    scoped = jc.create_custom_field_context(fid, data={"name": "Bugs in SEC", "projectIds": ["10000"],
                                                       "issueTypeIds": ["10003"]})
    assert (scoped["projectIds"], scoped["issueTypeIds"]) == (["10000"], ["10003"])
    page = jc.get_contexts_for_field(fid, is_global_context=False)
    assert [c["name"] for c in page["values"]] == ["Bugs in SEC"]
    with pytest.raises(HTTPError) as second_global:
        jc.create_custom_field_context(fid, data={"name": "Another global"})
    assert second_global.value.response.status_code == 409

    text = jc.create_custom_field(data={"name": "Notes", "type": TYPES + "textarea"})
    with pytest.raises(HTTPError) as no_options:
        atl.get_custom_field_option_context(text["id"], jc.get_contexts_for_field(text["id"])["values"][0]["id"])
    assert no_options.value.response.json()["errorMessages"] == ["The custom field doesn't support options."]
    for bad in ({"name": "", "type": TYPES + "select"}, {"name": "x", "type": "bogus"}):
        with pytest.raises(HTTPError) as refused:
            jc.create_custom_field(data=bad)
        assert refused.value.response.status_code == 400

    spec = openapi("jira-platform-v3.json", sb.url)
    with session_for(sb) as s:
        for r in (s.get(f"{sb.url}/rest/api/3/field/{fid}/context"),
                  s.get(f"{sb.url}/rest/api/3/field/{fid}/context/{default['id']}/option"),
                  s.post(f"{sb.url}/rest/api/3/field", json={"name": "Team", "type": TYPES + "multiselect"})):
            assert r.status_code in (200, 201), r.text
            spec.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))

        jc.trash_custom_field(text["id"])
        assert text["id"] not in {f["id"] for f in pyc.fields()}
        assert [f["name"] for f in jc.get_trashed_fields_paginated()["values"]] == ["Notes"]
        r = s.get(f"{sb.url}/rest/api/3/field/search/trashed", params={"query": "not"})
        spec.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))
        jc.restore_custom_field(text["id"])
        assert text["id"] in {f["id"] for f in pyc.fields()}
        gone = s.delete(f"{sb.url}/rest/api/3/field/{text['id']}", allow_redirects=False)
        assert gone.status_code == 303
        task = s.get(gone.headers["Location"]).json()
        assert (task["status"], task["progress"]) == ("COMPLETE", 100)
        assert text["id"] not in {f["id"] for f in pyc.fields()}
        assert s.delete(f"{sb.url}/rest/api/3/field/customfield_10016").status_code == 400  # a seeded field


def test_context_mappings(atl, jc, sb):
    fid = atl.create_custom_field("Team", TYPES + "select")["id"]
    [default] = jc.get_contexts_for_field(fid)["values"]
    scoped = jc.create_custom_field_context(fid, data={"name": "SEC bugs", "projectIds": ["10000"],
                                                       "issueTypeIds": ["10003"]})
    assert jc.get_project_context_mapping(fid)["values"] == [
        {"contextId": default["id"], "isGlobalContext": True}, {"contextId": scoped["id"], "projectId": "10000"}]
    assert jc.get_issue_type_mappings_for_contexts(fid, context_id=[scoped["id"]])["values"] == [
        {"contextId": scoped["id"], "issueTypeId": "10003"}]
    assert jc.get_default_values(fid)["values"] == []
    found = jc.get_custom_field_contexts_for_projects_and_issue_types(fid, data={"mappings": [
        {"projectId": "10000", "issueTypeId": "10003"}, {"projectId": "10000", "issueTypeId": "10002"},
        {"projectId": "10001", "issueTypeId": "10003"}]})["values"]
    assert [v["contextId"] for v in found] == [scoped["id"], default["id"], default["id"]]
    with pytest.raises(HTTPError) as missing:
        jc.get_custom_field_contexts_for_projects_and_issue_types(fid, data={"mappings": [
            {"projectId": "10999", "issueTypeId": "10003"}]})
    assert missing.value.response.status_code == 404
    spec = openapi("jira-platform-v3.json", sb.url)
    with session_for(sb) as s:
        for path in ("projectmapping", "issuetypemapping", "defaultValue"):
            r = s.get(f"{sb.url}/rest/api/3/field/{fid}/context/{path}")
            spec.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))
