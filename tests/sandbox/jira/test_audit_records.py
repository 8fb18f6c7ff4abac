"""The audit log (GET /auditing/record) through atlassian-python-api's JiraCloud, fed by the admin routes
that pycontribs and atlassian call."""

from __future__ import annotations

import pytest
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from tests.sandbox.jira.helpers import jira_cloud, openapi, session_for


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=10)


def test_admin_actions_are_audited(pyc, atl, sb):
    jc = jira_cloud(sb)
    assert jc.get_audit_records() == {"offset": 0, "limit": 1000, "total": 0, "records": []}
    me = sb.store.me.account_id
    pyc.create_project("AUD", name="Audit trail", assignee=me)
    atl.update_project("AUD", {"name": "Audit trail 2"})
    atl.create_custom_field("Severity", "com.atlassian.jira.plugin.system.customfieldtypes:select")
    jc.create_issue_type(data={"name": "Finding"})
    pyc.add_group("auditors")
    pyc.add_user_to_group(me, "auditors")
    pyc.delete_project("AUD")
    log = jc.get_audit_records()
    assert [r["summary"] for r in log["records"]] == [
        "Project deleted", "User added to group", "Group created", "Issue type created", "Custom field created",
        "Project updated", "Project created"]
    updated = log["records"][5]
    assert updated["changedValues"] == [{"fieldName": "Name", "changedFrom": "Audit trail",
                                         "changedTo": "Audit trail 2"}]
    assert updated["authorKey"] == me and updated["objectItem"]["typeName"] == "PROJECT"
    assert [r["summary"] for r in jc.get_audit_records(filter="group auditors")["records"]] == ["Group created"]
    page = jc.get_audit_records(offset=1, limit=2)
    assert (page["total"], [r["summary"] for r in page["records"]]) == (7, ["User added to group", "Group created"])
    with session_for(sb) as s:
        late = s.get(f"{sb.url}/rest/api/3/auditing/record", params={"from": "2999-01-01T00:00:00+00:00"})
        assert late.json()["total"] == 0
        r = s.get(f"{sb.url}/rest/api/3/auditing/record")
        openapi("jira-platform-v3.json", sb.url).validate_response(RequestsOpenAPIRequest(r.request),
                                                                   RequestsOpenAPIResponse(r))
