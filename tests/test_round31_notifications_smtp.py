"""Round 31: SMTP replies sorted into "try again" and "never again", and vendor text that tries to add headers, through
the SMTP sandbox (STARTTLS, AUTH) over loopback.

- A 4xx at DATA is retried 10 minutes later and then delivered; a 5xx at DATA (a content policy) or a 550 for
  every recipient is the relay's final word (RFC 5321 4.2.1): ``failed`` at once with the reply and the fix,
  never resent (before: resent every 10 minutes, six times). A Slack message falling back to such an e-mail is
  ``failed`` too, not ``fallback``: nobody got it.
- Titles carrying every line break a mail header could split on (CR, LF, VT, FF, NEL, U+2028/2029) or an
  encoded-word spelling CR/LF, in a single message and as a summary's title, reach the relay as one Subject line;
  a display name with CR/LF in a route is refused; no Bcc or other header is added, no recipient either. The
  encoded-word was a live injection: Python's ``email`` (3.11.7 here) decoded ``=?utf-8?q?=0D=0ABcc:...?=`` in the
  Subject and wrote the CR/LF out raw (CVE-2024-6923), and in a display name raised ValueError, failing the
  message for every recipient of the route.
"""

from __future__ import annotations

import re

import pytest

from assets.notifications.delivery import Deliverer
from resources.notifications import NotificationsResource
from resources.warehouse import WarehouseResource
from tests.notify_helpers import ledger, outbox_row

ROUTE = "vendors@projectx.io"


@pytest.fixture
def sandboxes(delivery_sandboxes):
    return delivery_sandboxes


def _deliver(rows: list[dict]) -> dict:
    resource = NotificationsResource(backoff_base_seconds=0.01)
    with WarehouseResource.from_env().connect() as conn:
        report = Deliverer(conn, resource.slack(), resource.email()).deliver(rows)
    return report.as_metadata()


def _ten_minutes_later() -> None:
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("update notifications.delivery_ledger set next_attempt_at = next_attempt_at - interval 11 minute")
        conn.raw.commit()


def _mail(key: str, target: str = ROUTE, **extra) -> dict:
    return outbox_row(key, "onetrust_vendor_issue", "email", target, **extra)


def test_a_4xx_at_data_is_retried_and_then_delivered(sandboxes):
    _, smtp = sandboxes
    smtp.faults.set(rate_451=1.0)
    rows = [_mail("t:1")]
    assert _deliver(rows)["email_failures"] == 1
    [row] = ledger()
    assert row["status"] == "retrying" and "451" in row["error"] and row["next_attempt_at"] is not None
    smtp.faults.clear()
    _ten_minutes_later()
    assert _deliver(rows)["sent"] == 1
    assert ledger()[0]["status"] == "sent" and len(smtp.messages()) == 1


@pytest.mark.parametrize("fault, reply, fix", [
    ({"rate_554": 1.0}, "554", "its content or size"),
    ({"reject_recipients": [ROUTE]}, "550", "fix the address in the notification_routing seed")])
def test_a_5xx_is_a_dead_letter_at_once_with_the_reply_and_the_fix(sandboxes, fault, reply, fix):
    _, smtp = sandboxes
    smtp.faults.set(**fault)
    rows = [_mail("p:1")]
    counts = _deliver(rows)
    [row] = ledger()
    assert (row["status"], row["attempts"], counts["failed"], counts["email_failures"]) == ("failed", 1, 1, 1)
    assert reply in row["error"] and fix in row["error"] and "notifications resend --key" in row["error"]
    assert "mail-secret" not in row["error"]  # the SMTP password never in the ledger
    smtp.faults.clear()
    _ten_minutes_later()
    _deliver(rows)
    assert ledger()[0]["status"] == "failed" and smtp.messages() == []  # never resent by itself


def test_a_mix_of_450_and_550_for_every_recipient_is_retried(sandboxes):
    _, smtp = sandboxes
    smtp.faults.set(reject_recipients=["gone@*"], defer_recipients=["busy@*"])
    _deliver([_mail("m:1", "busy@projectx.io;gone@projectx.io")])
    [row] = ledger()
    assert row["status"] == "retrying" and "450" in row["error"]  # one of them may take it later


def test_a_slack_fallback_the_relay_refuses_for_good_is_failed_not_fallback(sandboxes):
    slack, smtp = sandboxes
    slack.set_method_error("chat.postMessage", "is_archived")
    smtp.faults.set(rate_554=1.0)
    _deliver([outbox_row("s:1", "servicenow_p1_incident", "slack_channel", "#alerts-servicenow")])
    [row] = ledger()
    assert row["status"] == "failed" and "is_archived" in row["error"] and "554" in row["error"]


BREAKS = ["\r", "\n", "\r\n", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"]
INJECT = "Bcc: spy@evil.example{br}X-Injected: 1{br}{br}fake body"


def _headers(raw: bytes) -> list[str]:
    """The relay's copy's header lines (unfolded), as a mail server parses them."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    return re.sub(r"\r\n[ \t]", " ", head).split("\r\n")


def test_line_breaks_in_titles_never_split_a_header(sandboxes):
    _, smtp = sandboxes
    rows = [_mail(f"h:{n}", title=f"Acme {n}{br}{INJECT.format(br=br)}") for n, br in enumerate(BREAKS)]
    rows += [_mail("h:enc", title="Acme =?utf-8?q?=0D=0ABcc:_spy@evil.example?= overdue")]
    rows += [_mail(f"g:{n}", group_key="digest", summary_title=f"Vendors{br}Bcc: spy@evil.example") for n in (1, 2)
             for br in ["\u2028"]]
    counts = _deliver(rows)
    mails = smtp.messages()
    assert counts["sent"] == len(mails) == len(BREAKS) + 2
    for mail in mails:
        lines = _headers(mail.raw)
        names = [line.split(":", 1)[0].lower() for line in lines]
        assert names.count("subject") == 1 and "bcc" not in names and "x-injected" not in names, lines
        assert mail.rcpt_tos == [ROUTE] and mail.message["Bcc"] is None
        assert not re.search("[\r\n\x0b\x0c\x85\u2028\u2029]", mail.subject)
    assert sum("spy@evil.example" in m.subject for m in mails) == len(mails)  # shown as text, harmless


@pytest.mark.parametrize("target", ['"Spy\r\nBcc: spy@evil.example" <vendors@projectx.io>',
                                    "Vendors\u2028Bcc: spy@evil.example <vendors@projectx.io>",
                                    '"=?utf-8?q?=0D=0ABcc:_spy@evil.example?=" <vendors@projectx.io>'])
def test_a_display_name_with_a_line_break_adds_no_header_or_recipient(sandboxes, target):
    _, smtp = sandboxes
    _deliver([_mail("d:1", f"risk@projectx.io;{target}")])
    for mail in smtp.messages():
        assert "spy@evil.example" not in mail.rcpt_tos
        assert "bcc" not in [line.split(":", 1)[0].lower() for line in _headers(mail.raw)]
    [row] = ledger()
    assert row["status"] == "sent" and "risk@projectx.io" in smtp.messages()[0].rcpt_tos
