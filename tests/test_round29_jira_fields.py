"""Round 29: Jira custom fields whose type is not what their name suggests, through the Jira source."""

from __future__ import annotations

import duckdb
import requests

from pipelines.common.http import RetryPolicy
from pipelines.jira import jira_source
from pipelines.jira.helpers import discover_fields

FAST = RetryPolicy(backoff_base_seconds=0.01, backoff_max_seconds=0.05)
PREFIX = "com.atlassian.jira.plugin.system.customfieldtypes:"


def _rows(settings, sql):
    with duckdb.connect(settings.duckdb_path, read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_story_points_field_that_holds_no_number_is_not_read_as_story_points(make_jira_sandbox, duckdb_warehouse):
    sb = make_jira_sandbox(size=30)
    admin = (sb.credentials["email"], sb.credentials["api_token"])
    api = f"{sb.url}/rest/api/3"
    # a site where someone made a "Story Points" text field for t-shirt sizes, next to Jira's own estimate
    made = requests.post(f"{api}/field", json={"name": "Story Points", "type": f"{PREFIX}textfield"}, auth=admin,
                         timeout=10)
    assert made.status_code == 201, made.text[:200]
    sized = [i["key"] for i in sb.issues()[:3]]
    for key in sized:
        answer = requests.put(f"{api}/issue/{key}", json={"fields": {made.json()["id"]: "M",
                                                                     "customfield_10016": None}},
                              auth=admin, timeout=10)
        assert answer.status_code == 204, answer.text[:200]
    pipeline = duckdb_warehouse.pipeline("jira")
    pipeline.run(jira_source(base_url=sb.url, auth_mode="pat", pat=sb.credentials["pat"], policy=FAST))
    try:
        quarantined = _rows(duckdb_warehouse, "select reason from jira.quarantine where entity = 'issues'")
    except duckdb.CatalogException:
        quarantined = []
    assert quarantined == [], "a t-shirt size is no story-point estimate: the issue itself is fine"
    stored = dict(_rows(duckdb_warehouse, "select key, story_points from jira.issues"))
    assert len(stored) == 30 and all(stored[k] is None for k in sized)


def test_story_points_are_read_from_number_fields_only_by_name_and_from_any_schema_less_one():
    fm = discover_fields([
        {"id": "customfield_10200", "name": "Story Points", "custom": True, "schema": {"type": "option"}},
        {"id": "customfield_10201", "name": "Story point estimate", "custom": True,
         "schema": {"type": "string", "custom": f"{PREFIX}textfield"}},
        {"id": "customfield_10016", "name": "Story point estimate", "custom": True, "schema": {"type": "number"}},
        {"id": "customfield_10099", "name": "Story Points", "custom": True, "schema": {}},
    ])
    assert fm.story_points == ("customfield_10016", "customfield_10099")
