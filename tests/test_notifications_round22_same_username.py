"""Round 22: two approvers with the same Slack username (display names are not unique) are never confused.
A decision is keyed by the clicker's Slack user id, and every line naming a decider names the id too (a
mention, which Slack shows as that very person). Against the Slack sandbox over HTTP, through the receiver."""

from __future__ import annotations

import json

import pytest

from assets.notifications.actions import apply_slack_action as apply_to_warehouse
from assets.notifications.actions import decider_label
from assets.notifications.messages import APPROVE_ACTION, DENY_ACTION
from resources.warehouse import WarehouseResource
from tests.notify_helpers import APPROVER, click, send_approval, slack_sender
from tests.test_notifications_round19_attacks import SECOND, _ephemerals, _handle, _handler_env, _state

SAME = "jsmith"  # both approvers' Slack username


@pytest.fixture
def namesakes(approval, monkeypatch):
    slack, message, first = approval
    monkeypatch.setenv("PROJECTX_SLACK_APPROVERS", f"{APPROVER},{SECOND}")
    _handler_env(slack, monkeypatch)
    second = slack.add_user(SECOND, "Jo Smith")
    assert first != second
    return slack, message, first, second


def _row(task_id: str = "task-1") -> dict:
    with WarehouseResource.from_env().connect() as conn:
        [row] = conn.query(
            "select decided_by, decided_by_id, action_ts from notifications.task_decisions where task_id = %s",
            (task_id,),
        )
    return row


def test_a_namesakes_losing_click_is_told_whose_decision_stands(namesakes):
    slack, message, first, second = namesakes
    _handle(click(message, DENY_ACTION, first, "1700000005.000001", username=SAME))
    _handle(click(message, APPROVE_ACTION, second, "1700000005.000001", username=SAME))  # same instant: Deny wins
    assert _state() == ("closed", "denied")
    assert (_row()["decided_by"], _row()["decided_by_id"]) == (SAME, first)
    [told] = _ephemerals(slack, message, second)  # not mistaken for the recorded click: the id differs
    assert "another decision stands" in told and f"Denied by {SAME} (<@{first}>)" in told, told
    assert f"<@{second}>" not in told
    assert _ephemerals(slack, message, first) == []


def test_the_same_click_handed_over_again_is_the_recorded_one_not_a_namesakes(namesakes):
    slack, message, first, second = namesakes
    deny = click(message, DENY_ACTION, first, "1700000005.000001", username=SAME)
    with WarehouseResource.from_env().connect() as conn:
        apply_to_warehouse(conn, deny, slack_sender(slack))
        again = apply_to_warehouse(conn, deny, slack_sender(slack))
        other = apply_to_warehouse(
            conn, click(message, APPROVE_ACTION, second, "1700000005.000001", username=SAME), slack_sender(slack)
        )
    assert again.replayed and not again.superseded
    assert other.replayed and other.superseded and f"<@{first}>" in other.text


def test_a_later_decision_by_the_namesake_is_recorded_under_their_own_id(namesakes):
    slack, message, first, second = namesakes
    with WarehouseResource.from_env().connect() as conn:
        apply_to_warehouse(
            conn, click(message, APPROVE_ACTION, first, "1700000001.1", username=SAME), slack_sender(slack)
        )
        later = apply_to_warehouse(
            conn, click(message, DENY_ACTION, second, "1700000002.1", username=SAME), slack_sender(slack)
        )
        events = [
            json.loads(e["detail"])
            for e in conn.query(
                "select detail from audit.events where operation in ('task_approved', 'task_denied') "
                "order by occurred_at"
            )
        ]
    assert not later.replayed and later.text == f"Denied by {SAME} (<@{second}>): task task-1 is closed."
    assert _row()["decided_by_id"] == second
    assert [(e["decided_by"], e["slack_user_id"]) for e in events] == [(SAME, first), (SAME, second)]


def test_a_dm_to_one_namesake_cannot_be_decided_by_the_other(approval, monkeypatch):
    slack, _, _ = approval
    owner = slack.add_user("owner@projectx.io", "Jo Smith")
    namesake = slack.add_user("other@projectx.io", "Jo Smith")
    message = send_approval(slack, "task-1", "slack_dm", "owner@projectx.io")
    from assets.notifications.actions import SlackActionRefused

    with WarehouseResource.from_env().connect() as conn:
        with pytest.raises(SlackActionRefused, match=f"only the DM's recipient.*{namesake}"):
            apply_to_warehouse(conn, click(message, APPROVE_ACTION, namesake, username=SAME), None)
        result = apply_to_warehouse(conn, click(message, APPROVE_ACTION, owner, "1700000002.1", username=SAME), None)
    assert f"<@{owner}>" in result.text and _row()["decided_by_id"] == owner


def test_a_table_dbt_made_gets_the_id_column_and_its_older_rows_still_replay(namesakes):
    """dbt's on-run-start DDL has no decided_by_id; a decision recorded before it existed has none."""
    slack, message, first, _ = namesakes
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("create schema if not exists notifications")
        conn.execute(
            "create table notifications.task_decisions (task_id varchar primary key, decision varchar "
            "not null, decided_by varchar, decided_at timestamp not null, action_ts varchar, "
            "slack_channel varchar, message_ts varchar)"
        )
        conn.execute(
            "insert into notifications.task_decisions values ('task-1', 'denied', 'jsmith', "
            "current_timestamp, '1700000005.000001', null, null)"
        )
        conn.execute("update marts.tasks set status = 'closed' where task_id = 'task-1'")
        conn.raw.commit()
        again = apply_to_warehouse(
            conn, click(message, DENY_ACTION, first, "1700000005.000001", username=SAME), slack_sender(slack)
        )
    assert again.replayed and not again.superseded and again.text == f"Denied by {SAME}: task task-1 is closed."
    assert _row()["decided_by_id"] is None


@pytest.mark.parametrize(
    ("username", "user_id", "shown"),
    [
        ("jsmith", "U012ABCDEF", "jsmith (<@U012ABCDEF>)"),
        ("", "W012ABCDEF", "<@W012ABCDEF>"),
        ("U012ABCDEF", "U012ABCDEF", "<@U012ABCDEF>"),
        ("<!channel>", "U012ABCDEF", "&lt;!channel&gt; (<@U012ABCDEF>)"),
        ("jsmith", "U1> <!here", "jsmith (U1&gt; &lt;!here)"),  # not an id Slack would read: never a mention
        ("jsmith", "", "jsmith"),
    ],
)
def test_a_decider_is_named_by_username_and_id_and_nothing_else_is_a_mention(username, user_id, shown):
    assert decider_label(username, user_id) == shown
