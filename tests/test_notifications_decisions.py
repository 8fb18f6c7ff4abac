"""Approve/Deny from Slack survives dbt: a click arrives at the webhook receiver, the inbox handler
records it, and the next `dbt build` keeps the denied renewal closed and the approved one open."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

import pytest

from assets.notifications.messages import APPROVE_ACTION, DENY_ACTION
from tests.dbt_helpers import dbt
from tests.notify_helpers import APPROVER, click, send_approval
from tests.test_dbt_marts import _load, _q
from tests.webhook_helpers import SLACK_ACTIONS, asgi_client, settings_for, slack_request
from webhooks.app import create_app
from webhooks.inbox import EventQueue, open_database
from webhooks.processing import process


def _build(settings, target) -> None:
    """The tasks mart and what it reads (not the other marts: ~a third of the project, nothing here reads
    them), with their data tests and unit tests (unit tests included: they read the decisions too)."""
    result = dbt(settings, target, "build", "-s", "+tasks", "--indirect-selection", "cautious")
    assert result.returncode == 0, result.stdout[-4000:]


def _click(message: dict, action_id: str, user_id: str, n: int) -> bytes:
    payload = click(message, action_id, user_id, f"170000000{n}.1", username="amelia.hart")
    payload["trigger_id"] = f"1.2.click{n}"
    return urlencode({"payload": json.dumps(payload)}).encode()


def _post_clicks(settings, forms: list[bytes]) -> list[int]:
    async def go():
        app = create_app(settings)
        async with app.router.lifespan_context(app), asgi_client(app) as client:
            return [(await client.post(SLACK_ACTIONS, **slack_request(f, "application/x-www-form-urlencoded")))
                    .status_code for f in forms]

    return asyncio.run(go())


@pytest.fixture
def warehouse(any_warehouse):
    """DuckDB, or a fresh PostgreSQL database; the environment points the handler at it."""
    return any_warehouse


@pytest.mark.slow
def test_a_denied_renewal_stays_closed_and_an_approved_one_open_across_builds(
        make_servicenow_sandbox, make_jira_sandbox, make_onetrust_sandbox, make_slack_sandbox, warehouse, tmp_path,
        monkeypatch):
    sandboxes = make_servicenow_sandbox(size=60), make_jira_sandbox(size=50), make_onetrust_sandbox(size=20)
    _load(warehouse, sandboxes)
    _build(warehouse, tmp_path / "target")  # a fresh warehouse: no decision was ever recorded
    renewals = [r[0] for r in _q(warehouse, "select task_id from marts.tasks where task_type = "
                                                   "'evidence_renewal' and status = 'open' order by task_id")]
    assert len(renewals) >= 2, "the sandbox data has evidence to renew"
    denied, approved = renewals[:2]

    slack = make_slack_sandbox()  # the requests go to #compliance-delivery (prod's route) over HTTP
    deny_request, approve_request = send_approval(slack, denied), send_approval(slack, approved)
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)  # the handler looks the clicker up in Slack
    monkeypatch.setenv("SLACK_API_URL", slack.url + "/api/")
    monkeypatch.setenv("PROJECTX_SLACK_APPROVERS", APPROVER)
    approver = slack.add_user(APPROVER)
    settings = settings_for(tmp_path)
    clicks = [_click(deny_request, DENY_ACTION, approver, 1), _click(approve_request, APPROVE_ACTION, approver, 2)]
    assert _post_clicks(settings, clicks) == [200, 200]
    db = open_database(settings)
    try:
        result = process(EventQueue(db), lambda key: None)  # what the webhook_inbox sensor runs
    finally:
        db.close()
    assert result.failed == 0 and not result.runs
    status = "select task_id, status, labels from marts.tasks where task_id in ('{}', '{}') order by task_id"
    sql = status.format(denied, approved)
    assert dict((r[0], r[1]) for r in _q(warehouse, sql)) == {denied: "closed", approved: "open"}

    _build(warehouse, tmp_path / "target")  # the next (incremental) build keeps both decisions
    rows = {r[0]: (r[1], r[2]) for r in _q(warehouse, sql)}
    assert rows[denied][0] == "closed" and rows[denied][1].endswith("decision:denied")
    assert rows[approved][0] == "open" and rows[approved][1].endswith("decision:approved")
    # a denied renewal is no longer requested; nothing else changed
    assert _q(warehouse, "select count(*) from notifications.task_decisions") == [(2,)]
    still_open = {r[0] for r in _q(warehouse, "select task_id from marts.tasks where task_type = "
                                                     "'evidence_renewal' and status = 'open'")}
    assert still_open == set(renewals) - {denied}
