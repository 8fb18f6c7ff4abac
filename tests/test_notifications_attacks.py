"""Hostile vendor data and a misbehaving Slack/SMTP against notification delivery.

Incident titles, Jira summaries, OneTrust names, URLs and e-mail addresses come from vendors; none of
them may mention people in Slack, add links, add e-mail headers or recipients, or stop the rest of a
batch. Slack failures (429, 5xx after the post was stored, refusals) are retried or delivered by
e-mail with the reason in the ledger, never lost and never sent twice. Approve/Deny clicks (on
requests really posted to the Slack sandbox) that arrive late or without a clicker change nothing;
who may click at all is tested in test_notifications_approvers.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from assets.notifications import deliver_channel_type
from assets.notifications.actions import SlackActionError, apply_slack_action
from assets.notifications.messages import APPROVE_ACTION, DENY_ACTION, Message, email_bodies, slack_blocks, slack_text
from resources.notifications import NotificationsResource
from resources.warehouse import WarehouseResource
from tests.notify_helpers import (
    APPROVER,
    click,
    ledger,
    make_tasks,
    outbox_row,
    send_approval,
    slack_sender,
    write_outbox,
)

AMELIA = "amelia.hart@projectx.example"
INJECTIONS = ["<!channel>", "<!here>", "<!everyone>", "<@U0123ABCD>", "<#C0123ABCD>", "<!subteam^S0123|@admins>",
              "<!date^1392734382^{date}|x>", "<https://evil.example|click me>"]
LINK = re.compile(r"<([^<>]*)>")


@pytest.fixture
def sandboxes(delivery_sandboxes):
    return delivery_sandboxes


def deliver(*channel_types: str, sleep=None, **settings) -> dict[str, int]:
    """One delivery cycle (every channel type unless named); merged counts plus the backlog after."""
    import resources.slack as slack_module

    resource = NotificationsResource(backoff_base_seconds=settings.pop("backoff", 0.01), **settings)
    original = slack_module.SlackSender.__post_init__
    if sleep is not None:
        def patched(self):
            original(self)
            self.sleep = sleep

        slack_module.SlackSender.__post_init__ = patched
    totals: dict[str, int] = {}
    try:
        with WarehouseResource.from_env().connect() as conn:
            for channel_type in channel_types or ("slack_channel", "slack_dm", "email"):
                report, backlog = deliver_channel_type(conn, channel_type, resource, None, "prod")
                for k, v in report.as_metadata().items():
                    totals[k] = totals.get(k, 0) + v
                totals.setdefault("errors", []).extend(report.errors)  # type: ignore[attr-defined]
    finally:
        slack_module.SlackSender.__post_init__ = original
    totals["backlog"] = backlog
    return totals


def mrkdwn_texts(blocks: list[dict]) -> list[str]:
    """Every mrkdwn string Slack would parse for mentions and links."""
    found = []
    for block in blocks:
        if block.get("text", {}).get("type") == "mrkdwn":
            found.append(block["text"]["text"])
        for element in block.get("elements", []):
            if element.get("type") == "mrkdwn":
                found.append(element["text"])
    return found


def assert_no_control_sequences(text: str) -> None:
    """Only our own links may appear as <...>: an http(s) URL without |, < or > and a label."""
    for inner in LINK.findall(text):
        url, _, label = inner.partition("|")
        assert re.fullmatch(r"https?://[^\s|<>]+", url), f"vendor text became a Slack control sequence: <{inner}>"
        assert label and "<" not in label
    for bad in ("<!", "<@", "<#"):
        assert bad not in text


def hostile_row(key: str, **extra) -> dict:
    return {"notification_key": key, "event_type": "servicenow_p1_incident", "summary_title": "P1 incidents",
            "title": f"INC {key} " + " ".join(INJECTIONS), "body": "Body " + " ".join(INJECTIONS), **extra}


# --- Slack text -----------------------------------------------------------------------------------

def test_vendor_text_cannot_mention_broadcast_or_link_in_slack():
    single = Message([hostile_row("a", link_url="https://sn.example/inc?id=1")], "slack_channel", "#alerts")
    summary = Message([hostile_row("a", link_url="https://sn.example/inc?id=1"), hostile_row("b")],
                      "slack_channel", "#alerts")
    for msg in (single, summary):
        blocks = slack_blocks(msg, "corr-1")
        for text in [*mrkdwn_texts(blocks), slack_text(msg)]:
            assert_no_control_sequences(text)
        assert "&lt;!channel&gt;" in json.dumps(blocks)  # shown, escaped, not dropped
        # Slack's own parsing (bare "@here", URLs, #channel names) is off on every text object
        texts = [t for b in blocks for t in [b.get("text"), *b.get("elements", [])] if isinstance(t, dict)
                 and t.get("type") == "mrkdwn"]
        assert texts and all(t.get("verbatim") is True for t in texts)
    assert "&lt;!here&gt;" in slack_text(single)


@pytest.mark.parametrize("url", [
    "https://sn.example/a|<!channel>", "https://sn.example/a><!here>", "https://sn.example/a b|x",
    "javascript:alert(document.cookie)", "data:text/html,<script>alert(1)</script>", "//evil.example/x",
    "https://sn.example/" + "a" * 4000])
def test_a_vendor_url_cannot_break_out_of_its_link(url):
    rows = [hostile_row("a", link_url=url, title="INC1 database down"), hostile_row("b", title="INC2")]
    blocks = slack_blocks(Message(rows, "slack_channel", "#alerts"), "corr-1")
    for text in mrkdwn_texts(blocks):
        assert_no_control_sequences(text)
    assert "INC1 database down" in json.dumps(blocks)  # the line stays, only the link may go
    single = slack_blocks(Message(rows[:1], "slack_channel", "#alerts"), "corr-1")
    buttons = [e for b in single if b["type"] == "actions" for e in b["elements"] if "url" in e]
    for button in buttons:  # Slack refuses the whole message for a button URL it cannot take
        assert re.fullmatch(r"https?://\S+", button["url"]) and len(button["url"]) <= 3000
    text, page = email_bodies(Message(rows[:1], "email", "x@projectx.io"), "corr-1")
    assert "javascript:" not in page and "data:text" not in page and "<script" not in page


def test_truncation_never_cuts_an_entity_or_a_link_and_respects_slack_limits():
    amp = "R&D " * 2000  # escapes to 'R&amp;D ' ...: a cut at the limit used to leave '&am'
    single = slack_blocks(Message([hostile_row("a", title=amp, body=amp, subject_id="T" * 5000,
                                               action_kind="approval")], "slack_channel", "#x"), "c")
    rows = [hostile_row(f"r{n:02}", title=f"{n} " + "Q&A <b> " * 60, link_url=f"https://sn.example/{n}?a=1&b=2")
            for n in range(30)]
    summary = slack_blocks(Message(rows, "slack_channel", "#x"), "c")
    for blocks in (single, summary):
        assert len(blocks) <= 50
        for text in mrkdwn_texts(blocks):
            assert len(text) <= 3000
            assert not re.search(r"&[a-z]{0,4}$", text) and not re.search(r"&[a-z]{0,4}[^a-z;]", text), \
                "an escape was cut in half"
            assert text.count("<") == text.count(">")
            assert_no_control_sequences(text)
        for block in blocks:
            assert len(block.get("block_id", "")) <= 255
            for element in block.get("elements", []):
                assert len(element.get("value", "")) <= 2000
    assert len(slack_text(Message([hostile_row("a", title=amp, body=amp * 10)], "slack_channel", "#x"))) <= 4000
    assert "more" in json.dumps(summary)  # the rows that did not fit are counted, not silently lost


def test_invisible_and_invalid_characters_are_removed():
    nasty = "INC\u202egnp.exe\u202c \u2066x\u2069 nul\x00 bell\x07 lone\ud800surrogate zero\u200bwidth"
    msg = Message([hostile_row("a", title=nasty, body=nasty)], "slack_channel", "#x")
    payload = json.dumps({"text": slack_text(msg), "blocks": slack_blocks(msg, "c")}, ensure_ascii=False)
    payload.encode("utf-8")  # a lone surrogate made the body unencodable
    for char in ("\u202e", "\u202c", "\u2066", "\u2069", "\x00", "\x07", "\u200b"):
        assert char not in payload
    assert "gnp.exe" in payload and "surrogate" in payload
    text, page = email_bodies(msg, "c")
    for char in ("\u202e", "\x00", "\ud800"):
        assert char not in text + page


def test_the_sandbox_refuses_blocks_slack_refuses(slack_client):
    from slack_sdk.errors import SlackApiError

    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    too_many = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * 51
    bad_url = [{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open"},
                                                 "url": "javascript:alert(1)", "action_id": "a"}]}]
    for blocks in (too_long, too_many, bad_url):
        with pytest.raises(SlackApiError) as exc:
            slack_client.chat_postMessage(channel="alerts-servicenow", text="t", blocks=blocks)
        assert exc.value.response["error"] == "invalid_blocks"


def test_a_huge_hostile_incident_is_posted_to_slack_not_pushed_to_email(sandboxes):
    slack, smtp = sandboxes
    write_outbox([outbox_row("p1:a", "servicenow_p1_incident", "slack_channel", "#alerts-servicenow",
                             title="DB & cache down " * 400 + "<!channel>", body="stack & trace " * 5000,
                             link_url="https://sn.example/x|<!here>")])
    result = deliver("slack_channel")
    [posted] = slack.messages("alerts-servicenow")
    assert result["sent"] == 1 and smtp.messages() == []
    for text in [*mrkdwn_texts(posted["blocks"]), posted["text"]]:
        assert_no_control_sequences(text)


# --- e-mail ---------------------------------------------------------------------------------------

def test_crlf_in_a_vendor_title_adds_no_header_and_does_not_stop_the_batch(sandboxes):
    _, smtp = sandboxes
    write_outbox([
        outbox_row("v:1", "onetrust_vendor_issue", "email", "vendors@projectx.io",
                   title="Acme\r\nBcc: spy@evil.example\r\nX-Injected: 1\n\nbody"),
        outbox_row("v:2", "onetrust_vendor_issue", "email", "vendors@projectx.io", title="Globex overdue")])
    result = deliver("email")
    mails = smtp.messages()
    assert len(mails) == 2 and result["sent"] == 2
    for mail in mails:
        assert mail.rcpt_tos == ["vendors@projectx.io"]
        assert mail.message["Bcc"] is None and mail.message["X-Injected"] is None
        assert "\n" not in mail.subject and "\r" not in mail.subject
    assert any("Acme" in m.subject and "spy@evil.example" in m.subject for m in mails)  # shown, harmless


@pytest.mark.parametrize("target", [
    "vendors@projectx.io, spy@evil.example", "Vendors <vendors@projectx.io>, spy@evil.example",
    "vendors@projectx.io\r\nBcc: spy@evil.example", "\"spy@evil.example\" <vendors@projectx.io>,spy@evil.example"])
def test_a_vendor_address_cannot_add_recipients(sandboxes, target):
    _, smtp = sandboxes
    write_outbox([outbox_row("v:1", "onetrust_vendor_issue", "email", "risk@projectx.io;" + target)])
    deliver("email")
    recipients = {r for m in smtp.messages() for r in m.rcpt_tos}
    assert "spy@evil.example" not in recipients and "risk@projectx.io" in recipients
    [row] = ledger()
    assert row["status"] == "sent" and "invalid e-mail address" in (row["error"] or "")


def test_only_invalid_addresses_is_a_dead_letter_with_the_reason(sandboxes):
    _, smtp = sandboxes
    write_outbox([outbox_row("v:1", "onetrust_vendor_issue", "email", "not-an-address;@;a@b@c"),
                  outbox_row("v:2", "onetrust_vendor_issue", "email", "vendors@projectx.io")])
    result = deliver("email")
    rows = {r["notification_key"]: r for r in ledger()}
    assert rows["v:1"]["status"] == "failed" and "not-an-address" in rows["v:1"]["error"]
    assert "notification_routing" in rows["v:1"]["error"]  # the error names the fix
    assert rows["v:2"]["status"] == "sent" and len(smtp.messages()) == 1
    assert result["failed"] == 1 and deliver("email")["failed"] == 0  # recorded once, not retried forever


def test_non_ascii_subjects_names_and_long_lines_arrive_intact(sandboxes):
    _, smtp = sandboxes
    subject = "Überfällige Prüfung \u2013 監査 ✅ " + "ß" * 200
    word = "x" * 5000
    write_outbox([outbox_row("v:1", "onetrust_vendor_issue", "email",
                             "José Müller <owner@projectx.io>;ops@bücher.example",
                             title=subject, body=f"start {word} end")])
    deliver("email")
    [mail] = smtp.messages()
    assert mail.subject == subject
    assert all(len(line) <= 998 for line in mail.raw.split(b"\r\n"))
    raw_headers = mail.raw.split(b"\r\n\r\n", 1)[0]
    assert raw_headers.isascii()  # RFC 2047 / IDNA, not raw UTF-8 an old relay mangles
    assert word in mail.text
    assert sorted(mail.rcpt_tos) == ["ops@xn--bcher-kva.example", "owner@projectx.io"]


def test_html_part_escapes_vendor_markup(sandboxes):
    _, smtp = sandboxes
    write_outbox([outbox_row("v:1", "onetrust_vendor_issue", "email", "vendors@projectx.io",
                             title="<script>alert(1)</script><img src=x onerror=alert(2)>",
                             body="<a href='https://phish.example'>reset</a>",
                             link_url="javascript:alert(3)")])
    deliver("email")
    [mail] = smtp.messages()
    page = mail.message.get_body(("html",)).get_content()
    assert "<script" not in page and "<img" not in page and "<a href='https://phish" not in page
    assert "javascript:" not in page
    assert "&lt;script&gt;" in page


def test_partly_refused_recipients_are_not_sent_the_message_twice(sandboxes):
    _, smtp = sandboxes
    write_outbox([outbox_row("v:1", "onetrust_vendor_issue", "email", "vendors@projectx.io;gone@projectx.io")])
    smtp.faults.set(reject_recipients=["gone@*"])
    deliver("email")
    with WarehouseResource.from_env().connect() as conn:  # ten minutes later
        conn.execute("update notifications.delivery_ledger set next_attempt_at = next_attempt_at - interval 11 minute")
    deliver("email")
    delivered = [r for m in smtp.messages() for r in m.rcpt_tos]
    assert delivered.count("vendors@projectx.io") == 1
    [row] = ledger()
    assert "gone@projectx.io" in (row["error"] or "")


def _ten_minutes_later() -> None:
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("update notifications.delivery_ledger set next_attempt_at = next_attempt_at - interval 11 minute")
        conn.raw.commit()


def test_deferred_recipients_alone_get_the_resend_ten_minutes_later(sandboxes):
    """Spec 2.5: a delivery failure is resent after 10 minutes. The relay took the message for one
    recipient, refused one for good (550) and deferred one (450, a full mailbox): only the deferred one
    gets the resend, once it is due, and the accepted one never gets it twice."""
    _, smtp = sandboxes
    write_outbox([outbox_row("v:2", "onetrust_vendor_issue", "email",
                             "vendors@projectx.io;busy@projectx.io;gone@projectx.io")])
    smtp.faults.set(reject_recipients=["gone@*"], defer_recipients=["busy@*"])
    deliver("email")
    [row] = ledger()
    assert (row["status"], row["resend_to"]) == ("retrying", "busy@projectx.io")
    assert "gone@projectx.io" in row["error"] and "busy@projectx.io" in row["error"]
    deliver("email")  # not due yet
    assert [r for m in smtp.messages() for r in m.rcpt_tos] == ["vendors@projectx.io"]
    smtp.faults.set(defer_recipients=[])  # the mailbox has room again
    _ten_minutes_later()
    deliver("email")
    delivered = sorted(r for m in smtp.messages() for r in m.rcpt_tos)
    assert delivered == ["busy@projectx.io", "vendors@projectx.io"]
    [row] = ledger()
    assert (row["status"], row["resend_to"], row["attempts"]) == ("sent", None, 2)
    _ten_minutes_later()
    deliver("email")
    assert len(smtp.messages()) == 2  # done: nothing more


def test_a_recipient_deferred_every_time_is_given_up_after_the_last_attempt(sandboxes):
    from assets.notifications.delivery import EMAIL_RESEND_ATTEMPTS

    _, smtp = sandboxes
    write_outbox([outbox_row("v:3", "onetrust_vendor_issue", "email", "vendors@projectx.io;busy@projectx.io")])
    smtp.faults.set(defer_recipients=["busy@*"])
    for _ in range(EMAIL_RESEND_ATTEMPTS + 2):
        deliver("email")
        _ten_minutes_later()
    delivered = [r for m in smtp.messages() for r in m.rcpt_tos]
    assert delivered == ["vendors@projectx.io"]
    [row] = ledger()
    assert (row["status"], row["attempts"]) == ("sent", EMAIL_RESEND_ATTEMPTS)
    assert f"not resent to busy@projectx.io after {EMAIL_RESEND_ATTEMPTS} attempts" in row["error"]


# --- Slack failures over HTTP ---------------------------------------------------------------------

def p1_rows(n: int) -> list[dict]:
    return [outbox_row(f"p1:{i}", "servicenow_p1_incident", "slack_channel", "#alerts-servicenow", title=f"INC{i}")
            for i in range(n)]


def posted_keys(slack) -> list[str]:
    return [m["message"]["metadata"]["event_payload"]["delivery_key"] for m in slack.messages()]


def test_429_mid_batch_waits_and_sends_each_once(sandboxes):
    slack, smtp = sandboxes
    write_outbox(p1_rows(4))
    waits: list[float] = []
    posts = {"n": 0}
    original = slack.api.methods["chat.postMessage"]

    def post(args):  # the third post of the batch is rate limited once
        posts["n"] += 1
        if posts["n"] == 2:
            slack.faults.set(rate_429=1.0, retry_after=1, paths=[r"/api/chat\.postMessage"])
        return original(args)

    slack.api.methods["chat.postMessage"] = post

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        slack.faults.clear()

    result = deliver("slack_channel", sleep=sleep)
    assert waits == [1.0] and result["sent"] == 4 and smtp.messages() == []
    assert len(posted_keys(slack)) == 4 == len(set(posted_keys(slack)))


@pytest.mark.parametrize("retry_after", ["3600", "inf", "1e309"])
def test_an_absurd_retry_after_does_not_hang_the_run(sandboxes, retry_after):
    slack, smtp = sandboxes
    write_outbox(p1_rows(1))
    slack.faults.set(rate_429=1.0)
    import sandbox.slack.app as app_module

    original = app_module.SlackSandbox.fault_response

    def with_header(self, decision):
        resp = original(self, decision)
        resp.headers = [(k, retry_after if k == "Retry-After" else v) for k, v in resp.headers]
        return resp

    slept: list[float] = []
    app_module.SlackSandbox.fault_response = with_header
    started = time.monotonic()
    try:
        result = deliver("slack_channel", sleep=slept.append)
    finally:
        app_module.SlackSandbox.fault_response = original
    assert time.monotonic() - started < 10 and all(s <= 120 for s in slept)
    assert result["fallback"] == 1 and len(smtp.messages()) == 1  # Slack is unusable for now: by e-mail
    [row] = ledger()
    assert row["status"] == "fallback" and "Retry-After" in row["error"]


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "msg_too_long", "is_archived",
                                   "invalid_blocks"])
def test_a_refused_post_goes_by_email_once_with_the_reason(sandboxes, error):
    slack, smtp = sandboxes
    write_outbox(p1_rows(2))
    slack.set_method_error("chat.postMessage", error)
    result = deliver("slack_channel")
    assert result["fallback"] == 2 and len(smtp.messages()) == 2
    assert {r["status"] for r in ledger()} == {"fallback"} and all(error in r["error"] for r in ledger())
    assert slack.method_calls("chat.postMessage") == 2  # a refusal is not retried
    slack.set_method_error("chat.postMessage", None)
    deliver("slack_channel")
    assert slack.messages() == [] and len(smtp.messages()) == 2


def test_invalid_auth_stops_slack_and_keeps_the_token_out_of_errors(sandboxes):
    slack, smtp = sandboxes
    write_outbox(p1_rows(3))
    slack.faults.set(rate_401=1.0)
    result = deliver("slack_channel")
    assert slack.method_calls("chat.postMessage") == 1 and result["fallback"] == 3 and len(smtp.messages()) == 3
    text = json.dumps([r["error"] for r in ledger()]) + json.dumps(result["errors"])
    assert slack.bot_token not in text and "mail-secret" not in text
    assert "invalid_auth" in text


def test_a_5xx_after_slack_stored_the_post_does_not_post_it_twice(sandboxes):
    slack, smtp = sandboxes
    write_outbox(p1_rows(3))
    slack.faults.set(rate_lost_reply=1.0, paths=[r"/api/chat\.postMessage"])

    def sleep(seconds: float) -> None:
        slack.faults.clear()

    result = deliver("slack_channel", sleep=sleep)
    keys = posted_keys(slack)
    assert len(keys) == 3 == len(set(keys)) and smtp.messages() == []
    assert result["sent"] == 3


def test_a_non_json_answer_is_retried_not_taken_as_a_refusal(sandboxes):
    slack, smtp = sandboxes
    write_outbox(p1_rows(1))
    slack.faults.set(rate_html=1.0, paths=[r"/api/chat\.postMessage"])

    def sleep(seconds: float) -> None:
        slack.faults.clear()

    deliver("slack_channel", sleep=sleep)
    assert len(posted_keys(slack)) == 1 and smtp.messages() == []  # stored once, found, not e-mailed as well


def test_a_threaded_follow_up_posted_before_a_crash_is_found_not_posted_again(sandboxes):
    slack, _ = sandboxes
    first = outbox_row("anomaly:1", "servicenow_sync_anomaly", "slack_channel", "#alerts-servicenow",
                       thread_key="sn:2026-01-01")
    reply = outbox_row("anomaly:2", "servicenow_sync_anomaly", "slack_channel", "#alerts-servicenow",
                       thread_key="sn:2026-01-01")
    write_outbox([first])
    deliver("slack_channel")
    write_outbox([first, reply])
    deliver("slack_channel")
    assert len(slack.messages()) == 2 and slack.messages()[1]["thread_ts"] == slack.messages()[0]["ts"]
    with WarehouseResource.from_env().connect() as conn:  # the run died after the post, before the ledger write
        conn.execute("update notifications.delivery_ledger set status = 'sending' where notification_key = 'anomaly:2'")
    result = deliver("slack_channel")
    assert len(slack.messages()) == 2 and result["deduplicated"] == 1


def test_one_broken_message_does_not_stop_the_batch(sandboxes, monkeypatch):
    slack, _ = sandboxes
    write_outbox(p1_rows(3))
    import assets.notifications.delivery as delivery

    original = delivery.slack_blocks

    def explode(msg, correlation_id):
        if msg.first["notification_key"] == "p1:0":
            raise RuntimeError("template bug")
        return original(msg, correlation_id)

    monkeypatch.setattr(delivery, "slack_blocks", explode)
    result = deliver("slack_channel")
    rows = {r["notification_key"]: r for r in ledger()}
    assert rows["p1:0"]["status"] == "failed" and "template bug" in rows["p1:0"]["error"]
    assert rows["p1:1"]["status"] == rows["p1:2"]["status"] == "sent" and len(slack.messages()) == 2
    assert result["failed"] == 1


# --- approve / deny -------------------------------------------------------------------------------

@pytest.fixture
def task_conn(make_slack_sandbox, duckdb_warehouse, monkeypatch):
    """task-1's approval request really posted to #compliance-delivery; clicks by a listed approver."""
    slack = make_slack_sandbox()
    monkeypatch.setenv("PROJECTX_SLACK_APPROVERS", APPROVER)
    make_tasks("task-1")
    message, approver = send_approval(slack, "task-1"), slack.add_user(APPROVER)
    with WarehouseResource.from_env().connect() as conn:
        def apply(action_id: str, action_ts: str, user: dict | None = None, value: str | None = None):
            payload = click(message, action_id, approver, action_ts, value, username="amelia.hart")
            if user is not None:
                payload["user"] = user
            return apply_slack_action(conn, payload, slack_sender(slack))

        yield conn, apply, approver


def test_a_stale_click_delivered_late_does_not_override_a_newer_decision(task_conn):
    conn, apply, _ = task_conn
    apply(DENY_ACTION, "1700000005.000200")
    late = apply(APPROVE_ACTION, "1700000001.000100")
    assert late.replayed and late.decision == "denied"
    assert conn.scalar("select status from marts.tasks where task_id = 'task-1'") == "closed"
    assert conn.scalar("select decision from notifications.task_decisions") == "denied"


def test_a_click_without_a_user_or_timestamp_is_refused(task_conn):
    conn, apply, _ = task_conn
    with pytest.raises(SlackActionError, match="no user id"):
        apply(APPROVE_ACTION, "1700000001.1", user={})
    with pytest.raises(SlackActionError, match="action_ts"):
        apply(APPROVE_ACTION, "")
    assert conn.scalar("select status from marts.tasks where task_id = 'task-1'") == "open"


def test_a_hostile_task_id_or_user_name_is_stored_as_data(task_conn):
    conn, apply, approver = task_conn
    with pytest.raises(SlackActionError, match="does not exist"):
        apply(DENY_ACTION, "1700000001.1", value="task-1' or '1'='1")
    result = apply(DENY_ACTION, "1700000002.1", user={"id": approver, "username": "<!channel> x'); drop table x;--"})
    assert result.task_status == "closed" and "<!channel>" not in result.text
    assert "drop table x" in conn.scalar("select decided_by from notifications.task_decisions")  # data, not SQL
