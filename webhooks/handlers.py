"""What processing an inbox event means, by (source, event type): the handler registry.

A handler takes one ``InboxEvent`` and returns the syncs it needs (``SyncRequest``: a Dagster job and
the vendor table that changed), or ``None`` when it finished the work itself. Raising counts a
failed attempt (retried with backoff, dead-lettered after 10). No handler for an event is such a
failure too ("no handler yet"), so an event whose handler ships later waits in the dead-letter
table and ``python -m cli webhooks replay`` processes it once it exists. (Not so a Slack interaction
of a type without a handler: those are finished as ``ignored``, see ``slack_interaction_unhandled``.)

Lookup: an exact ``(source, event_type)`` entry, then ``(source, "<prefix>*")`` entries (longest
prefix first). Handlers owned by other parts are named by import path in ``PLUGINS`` and
imported on first use, so this module does not depend on them.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from webhooks.inbox.queue import InboxEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncRequest:
    """Run ``job_name`` (the live partition) because ``table`` changed at the vendor."""

    job_name: str
    table: str


class NoHandler(LookupError):
    """No handler is registered (or importable) for this source and event type."""


class Ignored(Exception):
    """Raised by a handler: the event needs nothing and never will. It is finished as ``ignored`` (kept in the
    inbox and audited, this message its reason), not counted as a failed attempt."""


Handler = Callable[[InboxEvent], "list[SyncRequest] | None"]
REGISTRY: dict[tuple[str, str], Handler] = {}
# Handlers other parts provide, imported on first use: "module:function" taking an InboxEvent.
PLUGINS: dict[tuple[str, str], str] = {
    ("jira", "jira:issue_deleted"): "pipelines.jira.deletions:mark_issues_deleted",  # marks the ids deleted
    ("slack", "interaction:block_actions"): "webhooks.slack.actions:apply_slack_action",  # approve/deny buttons
}
SERVICENOW_JOBS = {"incident": "servicenow_incidents_to_tasks", "change_request": "servicenow_changes_sync",
                   "sc_request": "servicenow_changes_sync", "sc_task": "servicenow_changes_sync",
                   "cmdb_ci": "servicenow_changes_sync"}
# ... and the remediation table (SERVICENOW_REMEDIATION_TABLE), read back by the changes job too.
REMEDIATION_JOB = "servicenow_changes_sync"


def register(source: str, event_type: str) -> Callable[[Handler], Handler]:
    """Decorator: ``@register("jira", "jira:issue_deleted")``; ``event_type`` may end in ``*``."""
    def add(fn: Handler) -> Handler:
        REGISTRY[(source, event_type)] = fn
        return fn
    return add


def acts_on(source: str, event_type: str) -> bool:
    """True when a handler of its own is registered for exactly this event type (not a catch-all); imports
    nothing."""
    return (source, event_type) in REGISTRY or (source, event_type) in PLUGINS


def handler_for(source: str, event_type: str) -> Handler:
    found = REGISTRY.get((source, event_type))
    if found is not None:
        return found
    path = PLUGINS.get((source, event_type))
    if path is not None:
        module, _, name = path.partition(":")
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            raise NoHandler(f"no handler yet for {source} event {event_type}: {path} is not installed; the event "
                            "is retried and dead-lettered until it is, then replay it with "
                            "`python -m cli webhooks replay`") from None
    prefixed = sorted(((t, fn) for (s, t), fn in REGISTRY.items() if s == source and t.endswith("*")
                       and event_type.startswith(t[:-1])), key=lambda x: -len(x[0]))
    if prefixed:
        return prefixed[0][1]
    raise NoHandler(f"no handler for {source} event {event_type}: register one in webhooks.handlers "
                    "(the event is retried, then dead-lettered; replay it with `python -m cli webhooks replay`)")


@register("servicenow", "*")
def servicenow_record_changed(event: InboxEvent) -> list[SyncRequest]:
    """A record changed: sync its table's job (incidents alone; or the change tables, CIs and the
    remediation tasks Project X pushed, which the changes job reads back)."""
    from pipelines.servicenow.settings import remediation_table

    table, remediation = event.event_type.split(".")[0], remediation_table()
    jobs = {**SERVICENOW_JOBS, remediation: REMEDIATION_JOB}
    if table not in jobs:
        raise NoHandler(f"no sync job reads ServiceNow table {table}: add it to SERVICENOW_JOBS in webhooks.handlers "
                        f"(the remediation table here is {remediation}: SERVICENOW_REMEDIATION_TABLE)")
    return [SyncRequest(jobs[table], table)]


@register("jira", "jira:issue_created")
@register("jira", "jira:issue_updated")
@register("jira", "comment_*")
def jira_issue_changed(event: InboxEvent) -> list[SyncRequest]:
    """An issue or its comments changed: the Jira live sync picks it up. Not when the change is our own
    write, made as the integration account (the reverse sync's create, update, close or comment): that
    echo would start one more whole Jira sync per push, and a field that never settled would push and
    sync at webhook speed; the scheduled sync reads our writes back anyway. Finished as ``ignored``."""
    author = _jira_author(event)
    if author is not None:
        from resources.jira import integration_account_id

        if author == integration_account_id():
            raise Ignored("an echo of Project X's own write to Jira (made as the integration account): the "
                          "scheduled sync reads it back; no sync started for it")
    return [SyncRequest("jira_sync", "issues")]


def _jira_author(event: InboxEvent) -> str | None:
    """Who made a Jira event's change: the comment's author (its last editor for an update; for a delete, the
    event's ``user``, who deleted it), else the event's ``user``; None when the payload does not say (then the
    event is never taken for an echo)."""
    try:
        payload = event.payload()
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    comment = payload.get("comment")
    person = payload.get("user")
    if isinstance(comment, dict) and event.event_type != "comment_deleted":  # a delete is by whoever deleted it
        person = comment.get("updateAuthor" if event.event_type == "comment_updated" else "author") or person
    account = person.get("accountId") if isinstance(person, dict) else None
    return account if isinstance(account, str) and account.strip() else None


@register("slack", "app_rate_limited")
def slack_dropped_events(event: InboxEvent) -> None:
    """Slack stopped sending this app events for a while (over 30,000 an hour in one workspace): the
    events of that window are gone at Slack, so say so loudly; nothing here depends on them to be
    correct (syncs read the vendors themselves), but whoever reads the inbox for them should know."""
    payload = event.payload()
    log.warning("Slack rate-limited this app's events (team %r, app %r, from minute %r): Slack dropped "
                "events of that window; they are not in the inbox", payload.get("team_id"),
                payload.get("api_app_id"), payload.get("minute_rate_limited"))
    return None


@register("slack", "interaction:*")
def slack_interaction_unhandled(event: InboxEvent) -> None:
    """A Slack interaction nothing here acts on (a modal submitted or closed, a shortcut: only block_actions has
    a handler, an exact entry in ``PLUGINS``). The receiver acknowledged it with 200, as Slack requires of
    every interaction, and counted it (``webhook_slack_interactions_unhandled_total``); it is finished here
    as ``ignored`` (the reason in ``last_error``), kept in the inbox and audited under its type. Retrying it
    could never succeed, and its dead letter would be one for a person's harmless click
    (``webhooks.slack.interactions``)."""
    log.info("Slack %s %s: no handler acts on this interaction type; acknowledged, kept in the inbox as ignored",
             event.event_type[:100], event.delivery_id[:200])
    raise Ignored(f"no handler acts on Slack {event.event_type[:100]} (only block_actions has one): acknowledged "
                  "with 200 and kept, nothing to do")


@register("slack", "event_callback:*")
@register("generic", "*")
def recorded(event: InboxEvent) -> None:
    """Kept in the inbox for the parts that read it (notifications, the partner bridge); nothing to sync."""
    return None
