"""Round 24 probes of the SMTP sandbox with smtplib (raw sockets for what smtplib will not send).

- MAIL FROM / RCPT TO paths that are no address were taken: `RCPT TO:<>` (smtplib sends it for an empty
  recipient, and the message was kept with the recipient "<>"), `<not an address>`, an unclosed `<x@y`,
  `MAIL FROM:<a b@c>`. Postfix answers 501 5.1.3 / 501 5.1.7 (smtplib: SMTPRecipientsRefused /
  SMTPSenderRefused); the null sender and a quoted local part stay valid.
- AUTH PLAIN ignored the authorization identity: `admin\\0user\\0password` logged in as user. Now 535.
- AUTH LOGIN challenged with aiosmtpd's `User Name\\0` / `Password\\0`; Postfix's SASL asks `Username:` /
  `Password:`.
"""

from __future__ import annotations

import base64
import smtplib

import pytest

from tests.sandbox.smtp.test_smtp_protocol_round15 import _raw


def _b64(raw: bytes) -> bytes:
    return base64.b64encode(raw)


def test_smtplib_empty_recipient_is_refused_not_kept(make_smtp_sandbox):
    sb = make_smtp_sandbox()
    with smtplib.SMTP(sb.host, sb.port) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
            client.sendmail("alerts@projectx.example", [""], "Subject: t\r\n\r\nx\r\n")
        assert info.value.recipients == {"": (501, b"5.1.3 Bad recipient address syntax")}
        client.rset()
        refused = client.sendmail("alerts@projectx.example", ["grc@projectx.example", ""], "Subject: t\r\n\r\nx\r\n")
        assert refused == {"": (501, b"5.1.3 Bad recipient address syntax")}
    assert [m.rcpt_tos for m in sb.messages()] == [["grc@projectx.example"]]


@pytest.mark.parametrize(("line", "reply"), [
    (b"RCPT TO:<>\r\n", "501 5.1.3 Bad recipient address syntax"),
    (b"RCPT TO:<not an address>\r\n", "501 5.1.3 Bad recipient address syntax"),
    (b"RCPT TO:<grc@projectx.example\r\n", "501 5.1.3 Bad recipient address syntax"),
    (b'RCPT TO:<"grc team@projectx.example>\r\n', "501 5.1.3 Bad recipient address syntax"),
    (b'RCPT TO:<"grc team"@projectx.example>\r\n', "250 2.1.5 OK"),
    (b"RCPT TO:<@relay.example:grc@projectx.example>\r\n", "250 2.1.5 OK"),  # a source route is ignored
    (b"RCPT TO:<postmaster>\r\n", "250 2.1.5 OK"),
    (b"RCPT TO:grc@projectx.example\r\n", "250 2.1.5 OK"),
])
def test_recipient_path_syntax(make_smtp_sandbox, line, reply):
    sb = make_smtp_sandbox()
    got = _raw(sb, [b"EHLO client.example\r\n", b"MAIL FROM:<alerts@projectx.example>\r\n", line])
    assert got[-1] == reply


def test_sender_path_syntax_and_the_null_sender(make_smtp_sandbox):
    sb = make_smtp_sandbox()
    got = _raw(sb, [b"EHLO client.example\r\n", b"MAIL FROM:<alerts projectx@example>\r\n",
                    b"MAIL FROM:<alerts@projectx.example\r\n", b"MAIL FROM:<>\r\n",
                    b"RCPT TO:<grc@projectx.example>\r\n"])
    assert got[2:] == ["501 5.1.7 Bad sender address syntax", "501 5.1.7 Bad sender address syntax",
                       "250 2.1.0 OK", "250 2.1.5 OK"]
    with smtplib.SMTP(sb.host, sb.port) as client:
        with pytest.raises(smtplib.SMTPSenderRefused) as info:
            client.sendmail("alerts projectx@example", ["grc@projectx.example"], "Subject: t\r\n\r\nx\r\n")
        assert info.value.smtp_code == 501


def test_auth_plain_authzid_must_be_the_login_and_login_challenges(make_smtp_sandbox):
    sb = make_smtp_sandbox(username="mailer", password="secret")
    got = _raw(sb, [b"EHLO client.example\r\n", b"AUTH PLAIN " + _b64(b"admin\0mailer\0secret") + b"\r\n",
                    b"AUTH PLAIN " + _b64(b"mailer\0mailer\0secret") + b"\r\n"])
    assert got[2:] == ["535 5.7.8 Authentication credentials invalid", "235 2.7.0 Authentication successful"]
    got = _raw(sb, [b"EHLO client.example\r\n", b"AUTH LOGIN\r\n", _b64(b"mailer") + b"\r\n",
                    _b64(b"secret") + b"\r\n"])
    assert got[2:] == ["334 " + _b64(b"Username:").decode(), "334 " + _b64(b"Password:").decode(),
                       "235 2.7.0 Authentication successful"]
    with smtplib.SMTP(sb.host, sb.port) as client:  # smtplib's own PLAIN and LOGIN still log in
        client.login("mailer", "secret")
    with smtplib.SMTP(sb.host, sb.port) as client:
        client.ehlo()
        client.esmtp_features["auth"] = "LOGIN"
        client.login("mailer", "secret")
        client.sendmail("alerts@projectx.example", ["grc@projectx.example"], "Subject: t\r\n\r\nx\r\n")
    assert sb.messages()[-1].auth_user == "mailer"
