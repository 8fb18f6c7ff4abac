"""``python -m cli notifications failed|resend``: an operator sees the notifications given up on and sends
them again once the cause is fixed, without deleting their ledger rows (before: the fix named in the error
was "delete the row", which lost what had happened). Real delivery through the SMTP sandbox."""

from __future__ import annotations

from assets.notifications.delivery import EMAIL_RESEND_ATTEMPTS
from cli.__main__ import main
from resources.warehouse import WarehouseResource
from tests.notify_helpers import ledger, outbox_row, write_outbox
from tests.test_notifications_delivery import deliver, sandboxes

__all__ = ["sandboxes"]


def _due_now() -> None:
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("update notifications.delivery_ledger set next_attempt_at = next_attempt_at - interval 11 minute")


def _give_up(smtp, *rows) -> None:
    write_outbox(list(rows))
    smtp.faults.set(defer_recipients=["vendors@*"])  # a 450 every time (a 5xx is a dead letter at once)
    for _ in range(EMAIL_RESEND_ATTEMPTS):
        deliver()
        _due_now()
    assert {r["status"] for r in ledger()} == {"failed"}


def _audit() -> list[dict]:
    with WarehouseResource.from_env().connect() as conn:
        return conn.query("select operation, object_id, status, detail from audit.events "
                          "where operation = 'resend' order by occurred_at")


def test_failed_lists_them_and_resend_sends_them_again_keeping_the_history(sandboxes, capsys):
    _, smtp = sandboxes
    _give_up(smtp, outbox_row("vendor:1", "onetrust_vendor_issue", "email", "vendors@projectx.io"))
    assert main(["notifications", "failed"]) == 0
    out = capsys.readouterr().out
    assert "vendor:1\temail\tvendors@projectx.io\t6\t" in out and "1 failed notification(s)" in out
    assert "gave up after 6 attempts" in out and "notifications resend --key" in out

    smtp.faults.clear()  # the cause is fixed
    assert main(["notifications", "resend", "--key", "vendor:1"]) == 0
    assert "put 1 notification(s) back in line" in capsys.readouterr().out
    row = ledger()[0]
    assert (row["status"], row["attempts"]) == ("retrying", 0)
    assert row["error"].startswith("resend requested ") and "gave up after 6 attempts" in row["error"]
    assert [(a["object_id"], a["status"]) for a in _audit()] == [(row["delivery_key"], "requeued")]
    deliver()
    row = ledger()[0]
    assert (row["status"], row["attempts"]) == ("sent", 1) and len(smtp.messages()) == 1
    assert main(["notifications", "failed"]) == 0 and "0 failed notification(s)" in capsys.readouterr().out


def test_resend_refuses_unknown_sent_and_cleared_keys_and_says_why(sandboxes, capsys):
    _, smtp = sandboxes
    _give_up(smtp, outbox_row("vendor:2", "onetrust_vendor_issue", "email", "vendors@projectx.io"),
             outbox_row("vendor:3", "onetrust_vendor_issue", "email", "vendors@projectx.io", group_key="g"))
    write_outbox([outbox_row("vendor:3", "onetrust_vendor_issue", "email", "vendors@projectx.io", group_key="g")])
    assert main(["notifications", "resend", "--key", "vendor:2", "nope:1"]) == 1
    err = capsys.readouterr().err
    assert "vendor:2: no longer in marts.notification_outbox" in err and "nope:1: no such notification" in err
    assert {r["notification_key"]: r["status"] for r in ledger()} == {"vendor:2": "failed", "vendor:3": "failed"}
    assert main(["notifications", "resend", "--all-failed"]) == 0  # the cleared one is named, not an error
    assert "put 1 notification(s) back in line" in capsys.readouterr().out
    assert {r["notification_key"]: r["status"] for r in ledger()} == {"vendor:2": "failed", "vendor:3": "retrying"}
    assert main(["notifications", "resend", "--key", "vendor:3"]) == 1
    assert "it is 'retrying', not 'failed'" in capsys.readouterr().err


def test_a_summary_goes_back_whole(sandboxes, capsys):
    """Two notifications sent in one message: resending one puts back the message, both rows with it, so the
    send's outcome (recorded per message) never marks the other one 'sent' while it stays unsent."""
    _, smtp = sandboxes
    rows = [outbox_row(f"vendor:{n}", "onetrust_vendor_issue", "email", "vendors@projectx.io", group_key="digest")
            for n in (4, 5)]
    _give_up(smtp, *rows)
    assert len({r["delivery_key"] for r in ledger()}) == 1
    smtp.faults.clear()
    assert main(["notifications", "resend", "--key", "vendor:4"]) == 0
    assert "put 2 notification(s)" in capsys.readouterr().out
    deliver()
    assert {r["status"] for r in ledger()} == {"sent"} and len(smtp.messages()) == 1
    text = smtp.messages()[0].text
    assert "issue vendor:4" in text and "issue vendor:5" in text  # both went out, in the one message


def test_usage_errors_are_argparse_errors(capsys):
    for argv in (["notifications", "resend"], ["notifications", "failed", "--days", "0"],
                 ["notifications", "resend", "--key", "a", "--all-failed"]):
        try:
            main(argv)
        except SystemExit as exc:
            assert exc.code == 2
        else:
            raise AssertionError(f"{argv} was accepted")


def test_a_slack_message_marked_failed_after_slack_took_it_is_not_posted_twice(sandboxes, capsys):
    """A Slack message whose post went through but was recorded as failed (something after the post raised) is
    looked for in the channel before it is posted again, as after a crash mid-send: one message in Slack."""
    slack, _ = sandboxes
    write_outbox([outbox_row("p1:r", "servicenow_p1_incident", "slack_channel", "#alerts-servicenow")])
    deliver()
    assert len(slack.messages("alerts-servicenow")) == 1
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("update notifications.delivery_ledger set status = 'failed', error = 'not delivered: boom'")
    assert main(["notifications", "resend", "--key", "p1:r"]) == 0
    assert ledger()[0]["status"] == "sending"
    deliver()
    assert ledger()[0]["status"] == "deduplicated" and len(slack.messages("alerts-servicenow")) == 1
