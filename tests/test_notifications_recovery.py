"""Crash recovery in a busy channel, against the Slack sandbox over HTTP.

A run killed between chat.postMessage and the ledger's mark-done leaves the row ``sending``; the next
run looks for the message by its metadata before posting. It reads the history page by page from
the row's ``first_attempt_at`` (less a clock margin) on, so the message is found however many messages
came around it, and nothing older is read.
"""

from __future__ import annotations

import logging

import pytest

from assets.notifications import deliver_channel_type
from resources.notifications import NotificationsResource
from resources.warehouse import WarehouseResource
from tests.notify_helpers import delivery_env, ledger, outbox_row, write_outbox


@pytest.fixture
def slack(make_slack_sandbox, make_smtp_sandbox, duckdb_warehouse, monkeypatch):
    slack = make_slack_sandbox()
    delivery_env(monkeypatch, slack, make_smtp_sandbox(username="mailer", password="pw", starttls=True))
    return slack


def deliver() -> dict[str, int]:
    resource = NotificationsResource(backoff_base_seconds=0.01)
    with WarehouseResource.from_env().connect() as conn:
        report, _ = deliver_channel_type(conn, "slack_channel", resource, None, "prod")
    return report.as_metadata()


def chatter(slack, n: int, thread_ts: str | None = None) -> None:
    """``n`` messages by people in #alerts-servicenow (in a thread with ``thread_ts``)."""
    channel, person = slack.workspace.channel("alerts-servicenow"), next(iter(slack.workspace.users))
    for i in range(n):
        slack.record_message(channel, {"type": "message", "user": person, "text": f"chatter {i}",
                                       **({"thread_ts": thread_ts} if thread_ts else {})}, "chat.postMessage", {})


def busy_during_post(slack, monkeypatch, n: int) -> None:
    """``n`` people's messages reach the channel after the first attempt began and before Slack stores
    ours (a busy channel): with only ``oldest``, conversations.history pages forward from it, so the
    look-up meets these first."""
    import resources.slack as slack_module

    post = slack_module.SlackSender.post

    def busy_post(self, *args, **kwargs):
        chatter(slack, n)
        return post(self, *args, **kwargs)

    monkeypatch.setattr(slack_module.SlackSender, "post", busy_post)


def crash_after_post(key: str, first_attempt_shift: str = "") -> None:
    """The run died after Slack stored the post, before the ledger recorded it."""
    with WarehouseResource.from_env().connect() as conn:
        conn.execute(f"update notifications.delivery_ledger set status = 'sending'{first_attempt_shift} "
                     "where notification_key = %s", (key,))
        conn.raw.commit()


def ours(slack) -> list[dict]:
    return [m for m in slack.messages("alerts-servicenow") if (m["message"].get("metadata") or {})]


def test_a_post_found_behind_more_than_a_page_of_other_messages_is_not_posted_again(slack, monkeypatch):
    write_outbox([outbox_row("p1:a", "servicenow_p1_incident", "slack_channel", "#alerts-servicenow")])
    busy_during_post(slack, monkeypatch, 450)  # the lost post is behind two full pages of 200
    assert deliver()["sent"] == 1
    [posted] = ours(slack)
    crash_after_post("p1:a")
    chatter(slack, 50)  # and more after it
    calls = slack.method_calls("conversations.history")
    result = deliver()
    assert (result["deduplicated"], result["sent"]) == (1, 0)
    assert len(ours(slack)) == 1 and ledger()[0]["slack_ts"] == posted["ts"]
    assert slack.method_calls("conversations.history") - calls == 3  # pages of 200, 200, then the one with it


def test_a_follow_up_found_after_more_than_a_page_of_replies_is_not_posted_again(slack):
    first = outbox_row("anomaly:1", "servicenow_sync_anomaly", "slack_channel", "#alerts-servicenow",
                       thread_key="sn:2026-01-01")
    reply = outbox_row("anomaly:2", "servicenow_sync_anomaly", "slack_channel", "#alerts-servicenow",
                       thread_key="sn:2026-01-01")
    write_outbox([first])
    deliver()
    chatter(slack, 250, thread_ts=ours(slack)[0]["ts"])  # a long thread: replies come oldest first
    write_outbox([first, reply])
    deliver()
    parent, follow_up = ours(slack)
    crash_after_post("anomaly:2")
    result = deliver()
    assert (result["deduplicated"], result["sent"]) == (1, 0)
    assert len(ours(slack)) == 2 and {r["slack_ts"] for r in ledger()} == {parent["ts"], follow_up["ts"]}


def test_the_look_back_stops_at_the_first_attempt(slack, monkeypatch):
    """A run killed before the post: nothing to find. The 600 messages before the first attempt are
    not read (one page, empty), and the message is posted once."""
    chatter(slack, 600)
    write_outbox([outbox_row("p1:a", "servicenow_p1_incident", "slack_channel", "#alerts-servicenow")])

    import resources.slack as slack_module

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed between mark_sending and the post")

    post = slack_module.SlackSender.post
    monkeypatch.setattr(slack_module.SlackSender, "post", killed)
    with pytest.raises(KeyboardInterrupt):
        deliver()
    monkeypatch.setattr(slack_module.SlackSender, "post", post)
    # the chatter happened ten minutes before the attempt (here: the attempt moved ten minutes later,
    # well past the clock margin), as in a channel where people talked before the run
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("update notifications.delivery_ledger "
                     "set first_attempt_at = first_attempt_at + interval 10 minute")
        conn.raw.commit()
    assert ledger()[0]["status"] == "sending"
    calls = slack.method_calls("conversations.history")
    result = deliver()
    assert result["sent"] == 1 and len(ours(slack)) == 1
    assert slack.method_calls("conversations.history") - calls == 1


def test_past_the_page_cap_the_message_is_posted_with_a_warning(slack, monkeypatch, caplog):
    """The cap keeps the client's choice: not found means posted (a duplicate at worst, never a loss)."""
    import resources.slack as slack_module

    write_outbox([outbox_row("p1:a", "servicenow_p1_incident", "slack_channel", "#alerts-servicenow")])
    busy_during_post(slack, monkeypatch, 450)
    deliver()
    crash_after_post("p1:a")
    monkeypatch.setattr(slack_module, "HISTORY_PAGES", 2)
    with caplog.at_level(logging.WARNING, logger="resources.slack"):
        result = deliver()
    assert result["sent"] == 1 and len(ours(slack)) == 2
    assert any("not found in the first 2 pages" in r.getMessage() for r in caplog.records)


def test_channels_named_in_the_outbox_are_read_by_id_and_looked_up_once_a_run(slack):
    """conversations.history takes a conversation id, never a name (Slack answers channel_not_found, and the
    crash look-up then sent the message by e-mail). The sender finds the id in conversations.list once a
    run, however many messages it looks for, and after a post Slack's answer names it."""
    write_outbox([outbox_row(f"p1:{i}", "servicenow_p1_incident", "slack_channel", "#alerts-servicenow")
                  for i in range(3)])
    assert deliver()["sent"] == 3
    for i in range(3):
        crash_after_post(f"p1:{i}")
    lists = slack.method_calls("conversations.list")
    result = deliver()
    assert (result["deduplicated"], result["sent"], result["fallback"]) == (3, 0, 0)
    assert slack.method_calls("conversations.list") - lists == 1 and len(ours(slack)) == 3


def test_a_channel_the_bot_cannot_see_is_refused_naming_the_fix(slack):
    from resources.slack import SlackRejected, SlackSender

    sender = SlackSender(token=slack.bot_token, base_url=slack.url + "/api/")
    for name in ("#no-such-channel", "secops-private"):  # private, the bot not in it
        with pytest.raises(SlackRejected, match=r"owners\.yaml.*invite the bot"):
            sender.conversation_id(name)
    assert sender.conversation_id("#Alerts-ServiceNow") == slack.workspace.channel("alerts-servicenow")["id"]
    assert sender.conversation_id(slack.workspace.channel("general")["id"]).startswith("C")
