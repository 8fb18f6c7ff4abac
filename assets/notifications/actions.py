"""Approve/Deny on Slack approval requests (spec 2.4: Slack actions update task status).

The webhook receiver verifies Slack's signature and keeps the interaction in its inbox; the inbox
consumer (which holds a warehouse connection) calls :func:`apply_slack_action` with the parsed
``block_actions`` payload. Grain of ``notifications.task_decisions``: one row per task, the latest
decision by Slack's ``action_ts``; a replayed interaction (same ``action_ts``) or a stale one (an older
click the inbox delivers late, e.g. after a retry) changes nothing. Two clicks at the very same
``action_ts`` (two approvers at one instant): Deny wins, whichever the inbox hands over first, so the
outcome does not depend on arrival order. A click on a task closed since the request was sent (by its
vendor, not by a Slack Deny) is refused: an Approve must not reopen it; so is an entitled click on
the genuine request of a task gone from ``marts.tasks`` (done or removed), so the clicker is told why
(a value naming no request's task stays an unusable click, not audited). A click without the clicking user
or its ``action_ts`` is refused: the decision must say who decided and when. Whoever decides must be
entitled to (a compliance control, :mod:`assets.notifications.approvers`): the click must be on the
approval request the product sent for that very task (the delivery ledger), by the DM's recipient or,
in a channel, by a Slack user whose e-mail is in ``PROJECTX_SLACK_APPROVERS``. A refused click changes
nothing, is recorded in ``audit.events`` (operation ``task_decision_refused``: who tried, on which
message, why; one row per click, however often the same delivery is handed over) and raises
:class:`SlackActionRefused`, a :class:`SlackActionError` the inbox handler
logs and finishes like any other unusable click. A denied request closes the
task in ``marts.tasks``; an approved one keeps it open with the approval recorded. Its audit event
(``task_approved``/``task_denied``) names the decider by Slack user id, and by the e-mail checked
against the approvers in a channel, not only by the payload's username. Two people may share a Slack
username (display names are not unique): a decision is keyed by the clicker's Slack user id (column
``decided_by_id``, added to the table dbt creates; ``decided_by`` keeps the username for reading), and
every line naming a decider names the id too, as a mention Slack shows as that very person. dbt reads the
table as a source (``stg_notifications__task_decisions``), so the decision survives every rebuild of
``marts.tasks``; its on-run-start hook ``create_task_decisions`` creates the same table (keep the two
DDLs alike) and the ``notifications/task_decisions`` asset creates it before dbt in Dagster runs.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from assets.notifications.approvers import check_click
from assets.notifications.ledger import SCHEMA, now
from assets.notifications.messages import APPROVE_ACTION, DENY_ACTION
from assets.notifications.safe_text import mrkdwn, one_line
from resources.audit import new_correlation_id, record_event
from resources.slack import SlackSender
from resources.warehouse import Connection

DECISIONS = {APPROVE_ACTION: "approved", DENY_ACTION: "denied"}
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,39}")  # a Slack user id (W: Enterprise Grid)
# Same table as dbt_project/macros/task_decisions.sql (the dbt on-run-start hook).
DDL = f"""create table if not exists {SCHEMA}.task_decisions (
    task_id varchar primary key, decision varchar not null, decided_by varchar, decided_at timestamp not null,
    action_ts varchar, slack_channel varchar, message_ts varchar, decided_by_id varchar)"""


class SlackActionError(ValueError):
    """The payload is not an approval action this handler knows; the text says what was wrong."""


class SlackActionRefused(SlackActionError):
    """The clicker may not decide this task (or not from this message); recorded in the audit log.
    ``reason`` is what the clicker is told (why the click changed nothing)."""

    def __init__(self, message: str, *, task_id: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.task_id, self.reason = task_id, reason


@dataclass(frozen=True)
class ActionResult:
    task_id: str
    decision: str
    task_status: str
    replayed: bool
    text: str  # what the receiver may answer Slack with (replace the buttons with this line)
    superseded: bool = False  # replayed, and not the recorded click itself: its clicker's decision lost


def ensure_table(conn: Connection) -> None:
    conn.execute(f"create schema if not exists {SCHEMA}")
    conn.execute(DDL)
    # A table made before decided_by_id existed (by either DDL) gets it here, once.
    if not conn.scalar("select count(*) from information_schema.columns where table_schema = %s and "
                       "table_name = 'task_decisions' and column_name = 'decided_by_id'", (SCHEMA,)):
        conn.execute(f"alter table {SCHEMA}.task_decisions add column if not exists decided_by_id varchar")


def apply_slack_action(conn: Connection, payload: dict[str, Any], slack: SlackSender | None = None) -> ActionResult:
    """Apply one Approve/Deny click to its task; idempotent per (task, action_ts).

    ``slack`` looks up who clicked in a channel (``users.info``); without it only a DM's recipient
    can decide."""
    if payload.get("type") != "block_actions":
        raise SlackActionError(f"payload type {payload.get('type')!r} is not block_actions")
    action = _approval_action(payload)
    if action is None:
        raw = payload.get("actions")
        ids = [a.get("action_id") for a in raw if isinstance(a, dict)] if isinstance(raw, list) else raw
        raise SlackActionError(f"no approval action among {one_line(ids)[:200]}: expected {APPROVE_ACTION} or "
                               f"{DENY_ACTION}")
    task_id = str(action.get("value") or "")
    if not task_id:
        raise SlackActionError("the approval button carries no task id in its value")
    exists = conn.table_exists("marts", "tasks") and \
        conn.scalar("select count(*) from marts.tasks where task_id = %s", (task_id,))
    missing = SlackActionError(f"task {one_line(task_id)[:200]!r} does not exist (anymore) in marts.tasks")
    decision = DECISIONS[action["action_id"]]
    action_ts = str(action.get("action_ts") or "")
    if _ts(action_ts) is None:
        raise SlackActionError(f"the click carries no valid action_ts ({action_ts[:40]!r}): cannot order decisions")
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    if not user.get("id"):
        raise SlackActionError("the click carries no user id: a decision must record who decided")
    who = one_line(user.get("username") or user.get("name") or user["id"])[:100]
    user_id = one_line(user["id"])[:40]
    verdict = check_click(conn, payload, task_id, str(user["id"]), slack)
    if not exists:  # the task is gone (done, removed): its genuine request's decider is told; a made-up value is not
        if not verdict.allowed:
            raise missing
        _refuse(conn, payload, action, task_id, decision, who, f"task {one_line(task_id)[:100]} no longer exists "
                "(done or removed since the request was sent): there is nothing to decide", verdict.channel_type,
                verdict.email)
    if not verdict.allowed:
        _refuse(conn, payload, action, task_id, decision, who, verdict.reason, verdict.channel_type, verdict.email)
    ensure_table(conn)
    previous = conn.query(f"select decision, decided_by, decided_by_id, action_ts from {SCHEMA}.task_decisions "
                          "where task_id = %s", (task_id,))
    status = "closed" if decision == "denied" else "open"
    replayed = bool(previous) and not _newer(action_ts, decision, previous[0])
    if not replayed and _status(conn, task_id) == "closed" and \
            not (previous and previous[0]["decision"] == "denied"):
        _refuse(conn, payload, action, task_id, decision, who, f"task {one_line(task_id)[:100]} is closed (closed "
                "since the request was sent, not by a Slack decision): there is nothing to decide",
                verdict.channel_type, verdict.email)
    decider = (who, user_id)
    if replayed:  # the same click again, or an older one arriving late: the newer decision stands
        decision = previous[0]["decision"]
        decider = (previous[0]["decided_by"] or "", previous[0]["decided_by_id"] or "")
        status = "closed" if decision == "denied" else "open"
    else:
        container = payload.get("container") or {}
        conn.execute(f"delete from {SCHEMA}.task_decisions where task_id = %s", (task_id,))
        conn.execute(f"insert into {SCHEMA}.task_decisions (task_id, decision, decided_by, decided_at, action_ts, "
                     "slack_channel, message_ts, decided_by_id) values (%s, %s, %s, %s, %s, %s, %s, %s)",
                     (task_id, decision, who, now(), action_ts, container.get("channel_id"),
                      container.get("message_ts"), user_id))
        conn.execute("update marts.tasks set status = %s where task_id = %s", (status, task_id))
        record_event(conn, action="notification", system="slack", correlation_id=new_correlation_id(),
                     operation=f"task_{decision}", object_id=task_id, status=status,
                     detail={"decided_by": who, "action_ts": action_ts, "slack_user_id": user_id,
                             "channel_type": verdict.channel_type,
                             **({"email": verdict.email} if verdict.email else {})})
    conn.raw.commit()
    text = f"{decision.capitalize()} by {decider_label(*decider)}: task {mrkdwn(task_id)} is {status}."
    # Not this very click handed over again (same action_ts, same clicker) but another whose decision lost. The
    # clicker is the Slack user id (a decision recorded before ids were falls back to the username).
    same_clicker = (previous[0]["decided_by_id"] == user_id) if previous and previous[0]["decided_by_id"] else \
        bool(previous) and previous[0]["decided_by"] == who
    superseded = replayed and not (previous[0]["action_ts"] == action_ts and same_clicker)
    return ActionResult(task_id, decision, status, replayed, text, superseded)


def decider_label(username: str, user_id: str) -> str:
    """A decider for a Slack line, unambiguous: the username (escaped, as typed) and the Slack user id as a
    mention (``<@U…>``: Slack shows that very person), or the bare id when it is not one Slack would read."""
    name = mrkdwn(one_line(username)[:100])
    if not user_id:
        return name or "someone"
    ref = f"<@{user_id}>" if _USER_ID.fullmatch(user_id) else mrkdwn(user_id)
    return ref if not name or username == user_id else f"{name} ({ref})"


def _approval_action(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The payload's Approve or Deny action (the first); None when there is none or ``actions`` is malformed."""
    actions = payload.get("actions") if isinstance(payload.get("actions"), list) else []
    return next((a for a in actions if isinstance(a, dict) and isinstance(a.get("action_id"), str)
                 and a["action_id"] in DECISIONS), None)


def _newer(action_ts: str, decision: str, previous: dict[str, Any]) -> bool:
    """Does this click override the recorded decision? A later action_ts does. At the very same action_ts
    (two approvers at one instant) Deny wins over Approve, whichever the inbox hands over first."""
    before, now_ts = _ts(previous["action_ts"]), _ts(action_ts)
    if before is None or now_ts > before:  # type: ignore[operator]
        return True
    return now_ts == before and decision == "denied" and previous["decision"] == "approved"


def _status(conn: Connection, task_id: str) -> str | None:
    """The task's status in ``marts.tasks`` now."""
    return conn.scalar("select status from marts.tasks where task_id = %s", (task_id,))


def _refuse(conn: Connection, payload: dict[str, Any], action: dict[str, Any], task_id: str, decision: str,
            who: str, reason: str, channel_type: str | None, email: str | None) -> None:
    """Record a refused click in the audit log (who tried, where, why), commit, and raise."""
    container = payload.get("container") if isinstance(payload.get("container"), dict) else {}
    detail = {"slack_user_id": one_line(payload["user"]["id"])[:40], "slack_user": who, "decision": decision,
              "reason": reason, "channel_id": one_line(container.get("channel_id"))[:40],
              "message_ts": one_line(container.get("message_ts"))[:40], "channel_type": channel_type,
              "action_ts": one_line(action.get("action_ts"))[:40],
              "trigger_id": one_line(payload.get("trigger_id"))[:100], **({"email": email} if email else {})}
    # One row per click: the same delivery handed over again (the inbox after a crash, a replay) is
    # refused again but not audited twice. Its id and correlation id derive from the click's identity.
    click_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "slack-click:" + json.dumps(
        [payload.get("trigger_id"), payload["user"]["id"], action.get("action_id"), action.get("value"),
         action.get("action_ts"), container.get("channel_id"), container.get("message_ts")], default=str)))
    record_event(conn, action="notification", system="slack", correlation_id=click_id,
                 operation="task_decision_refused", object_id=task_id, status="refused", detail=detail,
                 event_id=f"task_decision_refused:{click_id}")
    conn.raw.commit()
    raise SlackActionRefused(f"{decision} of task {task_id[:100]} by {who} ({detail['slack_user_id']}) refused: "
                             f"{reason}", task_id=task_id, reason=reason)


def _ts(value: str | None) -> Decimal | None:
    """Slack's ``action_ts`` ("1700000000.123456") as an exact number, or None when it is not one."""
    text = str(value or "")
    if not re.fullmatch(r"\d{1,11}(\.\d{1,9})?", text):
        return None
    return Decimal(text)


def task_decisions_asset():
    """``notifications/task_decisions`` as an asset: the dbt source's producer (lineage), run before dbt."""
    from dagster import AssetKey, MaterializeResult, MetadataValue, asset

    @asset(key=AssetKey(["notifications", "task_decisions"]), group_name="notifications", pool="warehouse",
           kinds={"slack", "python"}, required_resource_keys={"warehouse"},
           description="Approve/Deny clicks on Slack approval requests, one row per task (the latest decision), "
                       "written by the webhook receiver's Slack interaction handler. Materializing it makes sure "
                       "the table exists and counts the decisions; dbt keeps a denied task closed.")
    def task_decisions(context):
        with context.resources.warehouse.connect() as conn:
            ensure_table(conn)
            rows = conn.query(f"select decision, count(*) as n from {SCHEMA}.task_decisions group by decision")
            conn.raw.commit()
        counts = {r["decision"]: int(r["n"]) for r in rows}
        return MaterializeResult(metadata={"approved": MetadataValue.int(counts.get("approved", 0)),
                                           "denied": MetadataValue.int(counts.get("denied", 0))})

    return task_decisions
