"""Outbound e-mail over SMTP (spec §2.5): the Slack fallback and the e-mail-only routes.

Grain: one :meth:`EmailSender.send` is one message (plain text plus an HTML alternative) to a list
of recipients. STARTTLS is used whenever the server offers it, and required unless
``SMTP_STARTTLS=false`` (a local relay on loopback). The ``Message-ID`` derives from the delivery
key, so a recipient's mail client folds a resend after a crash into one message. An address with
non-ASCII before the @ (RFC 6531) goes out only over SMTPUTF8: when the server advertises it, the
message is sent with it (UTF-8 headers); when it does not, those recipients are refused with the
reason (:class:`EmailAddressError` when nobody else is left, else :class:`EmailPartlyRefused`), never
dropped silently. A non-ASCII domain is sent as its IDNA form, which any server takes.
A failure raises :class:`EmailDeliveryError`; the delivery ledger schedules the resend 10 minutes
later (``RETRY_AFTER``) and the delivery asset reports it as an alert. A 5xx refusal of every recipient
(but 552, which RFC 5321 4.5.3.1.10 reads as 452 at RCPT) or of the message itself is :class:`EmailRejected`:
never resent, a dead letter with the reply and the fix. Every recipient refused, some for now (4xx) and some for
good, is :class:`EmailDeferred`: resent to the deferred ones only.
Settings: Vault ``integrations/<env>/smtp`` or ``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_USERNAME``,
``SMTP_PASSWORD``, ``SMTP_FROM_ADDRESS`` (and ``SMTP_CA_BUNDLE`` for a private CA).
"""

from __future__ import annotations

import hashlib
import html
import re
import smtplib
import ssl
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses

RETRY_AFTER = timedelta(minutes=10)
CONFIG_HINT = ("SMTP_HOST / SMTP_PORT / SMTP_USERNAME / SMTP_PASSWORD / SMTP_FROM_ADDRESS "
               "(Vault integrations/<env>/smtp)")


class EmailDeliveryError(Exception):
    """SMTP refused or failed the message; the text names the setting to check, never the password."""


class EmailRejected(EmailDeliveryError):
    """The relay refused the message for good (a 5xx reply to every recipient, to its content or its size, RFC
    5321 4.2.1: "do not repeat the exact request"): resending it would be refused again, so it is a dead letter
    with the reason; 4xx replies, a dropped connection and the relay's own settings (login, sender) stay
    :class:`EmailDeliveryError`, retried."""


class EmailAddressError(EmailDeliveryError):
    """An address that is not one plain mailbox (vendor data): never sent to, never retried."""


class EmailDeferred(EmailDeliveryError):
    """The relay took no recipient: it deferred some (4xx, worth a resend to them only) and refused the others for
    good (5xx: RFC 5321 4.2.1, never asked again). Nobody has the message yet."""

    def __init__(self, message: str, temporary: list[str], refused: list[str]) -> None:
        super().__init__(message)
        self.temporary, self.refused = temporary, refused


class EmailPartlyRefused(EmailDeliveryError):
    """The relay took the message for some recipients and refused others: it was sent (``message_id``),
    so a resend would reach the accepted recipients twice."""

    def __init__(self, message: str, message_id: str, refused: list[str], temporary: list[str] | None = None) -> None:
        super().__init__(message)
        self.message_id, self.refused = message_id, refused
        self.temporary = temporary or []  # refused with a 4xx reply (try again later): worth a resend


def _local_ok(local: str) -> bool:
    """An unquoted local part: ASCII atext, or (RFC 6531) UTF-8 letters, marks, digits, symbols and
    punctuation beyond ASCII; never a control, format (bidi, zero-width) or space character."""
    if len(local.encode("utf-8", "surrogatepass")) > 64:  # a lone surrogate is refused below, not here
        return False
    shown = "".join("a" if not c.isascii() and unicodedata.category(c)[0] not in "CZ" else c for c in local)
    return bool(_LOCAL.fullmatch(shown))


def needs_smtputf8(box: str) -> bool:
    """Whether a mailbox (as :func:`mailbox` returns it) has non-ASCII before the @: SMTPUTF8 only."""
    return not getaddresses([box])[0][1].isascii()


_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def mailbox(entry: str) -> str:
    """One recipient as a header value (``Name <local@domain>``, domain in IDNA), or EmailAddressError.

    Recipients come from vendor data (owners' e-mails, routing lists): a comma, CR/LF or a second
    address inside one entry would add recipients or headers, so anything but one mailbox is refused."""
    shown = entry if len(entry) <= 80 else entry[:77] + "..."
    if any(c in entry for c in "\r\n\x00") or not entry.strip():
        raise EmailAddressError(f"invalid e-mail address {shown!r}: line breaks or empty")
    pairs = getaddresses([entry])
    if len(pairs) != 1 or not pairs[0][1] or pairs[0][1].count("@") != 1:
        raise EmailAddressError(f"invalid e-mail address {shown!r}: expected one mailbox like name@example.com")
    name, addr = pairs[0]
    local, _, domain = addr.rpartition("@")
    try:
        ascii_domain = domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    except UnicodeError:
        raise EmailAddressError(f"invalid e-mail address {shown!r}: the domain is not a valid host name") from None
    if "=?" in local:  # an RFC 2047 encoded-word: ``email`` decodes it in msg["To"] (a CR/LF, another address)
        raise EmailAddressError(f"invalid e-mail address {shown!r}: an encoded-word (=?...?=) before the @ is not "
                                "an address; fix it in the notification_routing seed (or at the vendor)")
    if not _local_ok(local) or "." not in ascii_domain or \
            not all(_LABEL.fullmatch(label) for label in ascii_domain.split(".")):
        raise EmailAddressError(f"invalid e-mail address {shown!r}: expected one mailbox like name@example.com "
                                "(letters, digits and !#$%&'*+-/=?^_`{|}~. before the @)")
    box = Address(display_name=header_text(name), username=local, domain=ascii_domain.lower())
    if _round_trip(str(box)) != box.addr_spec:
        raise EmailAddressError(f"invalid e-mail address {shown!r}: it does not read back as the one mailbox "
                                f"{box.addr_spec!r} in a To header; fix it in the notification_routing seed")
    return str(box)


def _round_trip(box: str) -> str | None:
    """The one address ``email`` reads from ``box`` as a To header and writes out (the mailbox as the relay gets
    it), None when it reads none, several, or raises (a CR/LF it decoded, a character it cannot encode)."""
    msg = EmailMessage(policy=policy.SMTPUTF8 if not box.isascii() else policy.default)
    try:
        msg["To"] = box
        addresses = msg["To"].addresses
        msg.as_bytes()
    except (ValueError, UnicodeError, TypeError, IndexError, MessageError):
        return None
    return addresses[0].addr_spec if len(addresses) == 1 else None


def header_text(text: str) -> str:
    """Vendor text for a header (a subject, a display name): one line (a CR/LF or any other line break would start
    a new header), and no RFC 2047 encoded-word: ``email`` decodes ``=?utf-8?q?=0D=0ABcc:...?=`` in a value it is
    given and (Python before 3.11.10, CVE-2024-6923) wrote the CR/LF out raw, adding a Bcc header and a body; in a
    display name it raised ValueError, failing the message for every recipient. ``=?`` is shown as ``= ?``. C0/C1
    controls, lone surrogates (UnicodeEncodeError when the message is written) and invisible format characters are
    removed (``assets.notifications.safe_text.clean``, the cleaner of the Slack and e-mail bodies)."""
    from assets.notifications.safe_text import clean  # here: that package imports this module

    return " ".join(clean(text).split()).replace("=?", "= ?")


def valid_recipients(entries: list[str]) -> tuple[list[str], list[str]]:
    """(mailboxes to send to, one error per entry refused)."""
    good, errors = [], []
    for entry in entries:
        try:
            box = mailbox(entry)
        except EmailAddressError as exc:
            errors.append(str(exc))
            continue
        except (ValueError, UnicodeError) as exc:  # anything ``email`` raises on one entry fails that entry only
            shown = entry if len(entry) <= 80 else entry[:77] + "..."
            errors.append(f"invalid e-mail address {shown!r}: {type(exc).__name__}")
            continue
        if box not in good:
            good.append(box)
    return good, errors


@dataclass
class EmailSender:
    """SMTP client settings; one connection per :meth:`send` (a batch is small)."""

    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    from_address: str = "projectx-integrations@localhost"
    starttls: bool = True
    ca_bundle: str | None = None
    timeout: float = 15.0

    def send(self, to: list[str], subject: str, text: str, html_body: str | None, delivery_key: str) -> str:
        """Send one message; returns its Message-ID."""
        if not to:
            raise EmailDeliveryError("no e-mail recipient: add one to the notification_routing seed")
        boxes = [mailbox(entry) for entry in to]  # EmailAddressError: a vendor's address is never trusted
        unsendable: list[str] = []
        smtp: smtplib.SMTP | None = None
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            smtp.ehlo()
            tls = smtp.has_extn("starttls")
            if tls:
                smtp.starttls(context=ssl.create_default_context(cafile=self.ca_bundle))
                smtp.ehlo()
            elif self.starttls:
                raise EmailDeliveryError(f"SMTP server {self.host}:{self.port} does not offer STARTTLS: "
                                         "point SMTP_HOST at a relay that does, or set SMTP_STARTTLS=false "
                                         "for a loopback relay")
            if not smtp.has_extn("smtputf8"):
                unsendable = [getaddresses([b])[0][1] for b in boxes if needs_smtputf8(b)]
                boxes = [b for b in boxes if not needs_smtputf8(b)]
                if not boxes:
                    raise EmailAddressError(self._no_smtputf8(unsendable))
            if self.username and not smtp.has_extn("auth"):  # smtplib: "SMTP AUTH extension not supported"
                raise EmailDeliveryError(self._no_auth(tls))
            if self.username:
                smtp.login(self.username, self.password or "")
            msg = self._message(boxes, subject, text, html_body, delivery_key)
            # smtplib sees the non-ASCII addresses and itself adds SMTPUTF8 (and BODY=8BITMIME) to MAIL
            # FROM, writing the headers as UTF-8 (mail_options=["SMTPUTF8"] here would send it twice)
            refused = smtp.send_message(msg)
        except smtplib.SMTPAuthenticationError:
            raise EmailDeliveryError(f"SMTP login refused: check {CONFIG_HINT}") from None
        except (smtplib.SMTPException, OSError) as exc:
            fix = _permanent_fix(exc)
            if fix:
                raise EmailRejected(f"SMTP relay {self.host}:{self.port} refused the message for good "
                                    f"({type(exc).__name__}: {_reply(exc)}): {fix}, then `python -m cli "
                                    "notifications resend --key KEY` sends it again"
                                    + (f"; {self._no_smtputf8(unsendable)}" if unsendable else "")) from None
            if isinstance(exc, smtplib.SMTPRecipientsRefused):
                later = sorted(a for a, r in exc.recipients.items() if not _refused_for_good(_code(r)))
                gone = sorted(a for a in exc.recipients if a not in later)
                if later and gone:
                    raise EmailDeferred(f"SMTP relay {self.host}:{self.port} refused {gone} for good ({_reply(exc)}): "
                                        "fix the address in the notification_routing seed (or the owner's e-mail at "
                                        f"the vendor); {later} deferred: resent to them only in 10 minutes"
                                        + (f"; {self._no_smtputf8(unsendable)}" if unsendable else ""),
                                        later, gone) from None
            raise EmailDeliveryError(f"SMTP delivery to {self.host}:{self.port} failed "
                                     f"({type(exc).__name__}: {_reply(exc)}); resending in 10 minutes"
                                     + (f"; {self._no_smtputf8(unsendable)}" if unsendable else "")) from None
        finally:
            if smtp is not None:
                _goodbye(smtp)
        if refused or unsendable:  # smtplib raises when every recipient is refused: these got it, the refused did not
            why = [f"SMTP refused recipient(s) {sorted(refused)}: fix the address in the notification_routing seed "
                   "(or the owner's e-mail at the vendor)"] if refused else []
            raise EmailPartlyRefused("; ".join([*why, *([self._no_smtputf8(unsendable)] if unsendable else [])]),
                                     str(msg["Message-ID"]), sorted([*refused, *unsendable]),
                                     sorted(a for a, reply in refused.items() if not _refused_for_good(_code(reply))))
        return str(msg["Message-ID"])

    def _message(self, boxes: list[str], subject: str, text: str, html_body: str | None,
                 delivery_key: str) -> EmailMessage:
        """The message to ``boxes``: RFC 2047 / IDNA headers, or UTF-8 ones (policy SMTPUTF8) when an
        address needs it (only sent over SMTPUTF8)."""
        msg = EmailMessage(policy=policy.SMTPUTF8 if any(map(needs_smtputf8, boxes)) else policy.default)
        msg["From"] = self.from_address
        msg["To"] = ", ".join(boxes)
        msg["Subject"] = header_text(subject)
        msg["Date"] = formatdate(usegmt=True)
        domain = self.from_address.rpartition("@")[2] or "localhost"
        msg["Message-ID"] = f"<{hashlib.sha256(delivery_key.encode()).hexdigest()[:32]}@{domain}>"
        msg["X-ProjectX-Delivery-Key"] = delivery_key
        msg.set_content(text)
        msg.add_alternative(html_body or f"<pre>{html.escape(text)}</pre>", subtype="html")
        return msg

    def _no_auth(self, tls: bool) -> str:
        """SMTP_USERNAME is set but the server lists no AUTH (after STARTTLS when ``tls``): a setting to fix."""
        return (f"SMTP server {self.host}:{self.port} offers no AUTH{' even after STARTTLS' if tls else ''} while "
                "SMTP_USERNAME is set: unset SMTP_USERNAME and SMTP_PASSWORD (Vault integrations/<env>/smtp) for a "
                "relay that takes mail without login, or enable AUTH on the relay"
                + ("" if tls else " (many offer it only over TLS: enable STARTTLS there too)"))

    def _no_smtputf8(self, addresses: list[str]) -> str:
        return (f"SMTP server {self.host}:{self.port} does not offer SMTPUTF8, which {sorted(addresses)} need "
                "(non-ASCII before the @): not sent to them; point SMTP_HOST at a relay that offers SMTPUTF8 "
                "(RFC 6531) or give them an ASCII address in the notification_routing seed (or at the vendor)")


def _goodbye(smtp: smtplib.SMTP) -> None:
    """QUIT, whatever the relay answers. Not smtplib's ``with``: its exit raises on a QUIT answered other than
    221, and a relay that said 250 to DATA has the message by then (RFC 5321 4.1.1.5: accepted at the end of
    the data), so a 421 or 500 to QUIT (a relay shutting down, a proxy) turned a delivered notification into
    a resend every 10 minutes, six copies for the recipient."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _permanent_fix(exc: Exception) -> str | None:
    """What to fix when the relay refused the message for good (a 5xx to every recipient, to DATA, or 552 size
    to MAIL FROM); None for a refusal worth retrying (4xx, a sender or login the relay's settings refuse)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [_code(reply) for reply in exc.recipients.values()]
        if codes and all(_refused_for_good(code) for code in codes):
            return ("the relay refused every recipient: fix the address in the notification_routing seed (or the "
                    "owner's e-mail at the vendor)")
        return None
    code = int(getattr(exc, "smtp_code", 0) or 0)
    if (isinstance(exc, smtplib.SMTPDataError) and 500 <= code < 600) or \
            (isinstance(exc, smtplib.SMTPSenderRefused) and code == 552):
        return "the relay refused the message itself (its content or size): its reply and log say why"
    return None


def _refused_for_good(rcpt_code: int) -> bool:
    """Whether a reply to RCPT refuses that recipient for good: a 5xx, but 552, which RFC 5321 4.5.3.1.10 says to
    treat as 452 (too many recipients, an old relay's way of saying it): resent, within the attempt cap. A 552 to
    MAIL FROM or DATA (the size) stays permanent (:func:`_permanent_fix`)."""
    return 500 <= rcpt_code < 600 and rcpt_code != 552


def _code(reply: object) -> int:
    """The SMTP code of one refused recipient's reply (smtplib: ``(code, message)``), 0 if unreadable."""
    try:
        return int(reply[0])  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        return 0


def _reply(exc: Exception) -> str:
    code = getattr(exc, "smtp_code", None)
    if code is not None:
        detail = getattr(exc, "smtp_error", b"")
        return f"{code} {detail.decode('utf-8', 'replace') if isinstance(detail, bytes) else detail}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "recipients refused: " + ", ".join(f"{a} ({_code(r)})" for a, r in sorted(exc.recipients.items()))
    return str(exc)


def sender_from_env(vault_prefix: str, **overrides) -> EmailSender | None:
    """The SMTP sender from Vault or the SMTP_* variables; None when SMTP_HOST is not set."""
    from resources.secrets import SecretStore

    v = SecretStore(vault_prefix).vendor("smtp")
    if not v.get("host"):
        return None
    try:
        port = int(v.get("port") or 587)
    except ValueError:
        raise ValueError(f"SMTP_PORT={v.get('port')!r} is not a port number: set it to e.g. 587") from None
    return EmailSender(host=str(v["host"]), port=port, username=v.get("username"), password=v.get("password"),
                       from_address=v.get("from_address") or "projectx-integrations@localhost",
                       starttls=(v.get("starttls") or "true").lower() not in ("0", "false", "no"),
                       ca_bundle=v.get("ca_bundle"), **overrides)
