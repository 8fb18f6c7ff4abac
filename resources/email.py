"""Outbound e-mail over SMTP (spec §2.5): the Slack fallback and the e-mail-only routes.

Grain: one :meth:`EmailSender.send` is one message (plain text plus an HTML alternative) to a list
of recipients. STARTTLS is used whenever the server offers it, and required unless
``SMTP_STARTTLS=false`` (a local relay on loopback). The ``Message-ID`` derives from the delivery
key, so a recipient's mail client folds a resend after a crash into one message.
A failure raises :class:`EmailDeliveryError`; the delivery ledger schedules the resend 10 minutes
later (``RETRY_AFTER``) and the delivery asset reports it as an alert.
Settings: Vault ``integrations/<env>/smtp`` or ``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_USERNAME``,
``SMTP_PASSWORD``, ``SMTP_FROM_ADDRESS`` (and ``SMTP_CA_BUNDLE`` for a private CA).
"""

from __future__ import annotations

import hashlib
import html
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses

RETRY_AFTER = timedelta(minutes=10)
CONFIG_HINT = ("SMTP_HOST / SMTP_PORT / SMTP_USERNAME / SMTP_PASSWORD / SMTP_FROM_ADDRESS "
               "(Vault integrations/<env>/smtp)")


class EmailDeliveryError(Exception):
    """SMTP refused or failed the message; the text names the setting to check, never the password."""


class EmailAddressError(EmailDeliveryError):
    """An address that is not one plain mailbox (vendor data): never sent to, never retried."""


class EmailPartlyRefused(EmailDeliveryError):
    """The relay took the message for some recipients and refused others: it was sent (``message_id``),
    so a resend would reach the accepted recipients twice."""

    def __init__(self, message: str, message_id: str, refused: list[str], temporary: list[str] | None = None) -> None:
        super().__init__(message)
        self.message_id, self.refused = message_id, refused
        self.temporary = temporary or []  # refused with a 4xx reply (try again later): worth a resend


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
    if not _LOCAL.fullmatch(local) or len(local) > 64 or "." not in ascii_domain or \
            not all(_LABEL.fullmatch(label) for label in ascii_domain.split(".")):
        raise EmailAddressError(f"invalid e-mail address {shown!r}: expected one mailbox like name@example.com "
                                "(ASCII before the @)")
    return str(Address(display_name=" ".join(name.split()), username=local, domain=ascii_domain.lower()))


def valid_recipients(entries: list[str]) -> tuple[list[str], list[str]]:
    """(mailboxes to send to, one error per entry refused)."""
    good, errors = [], []
    for entry in entries:
        try:
            box = mailbox(entry)
        except EmailAddressError as exc:
            errors.append(str(exc))
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
        msg = EmailMessage()
        msg["From"] = self.from_address
        msg["To"] = ", ".join(boxes)
        msg["Subject"] = " ".join(subject.split())  # a CR/LF from vendor text would start a new header
        msg["Date"] = formatdate(usegmt=True)
        domain = self.from_address.rpartition("@")[2] or "localhost"
        msg["Message-ID"] = f"<{hashlib.sha256(delivery_key.encode()).hexdigest()[:32]}@{domain}>"
        msg["X-ProjectX-Delivery-Key"] = delivery_key
        msg.set_content(text)
        msg.add_alternative(html_body or f"<pre>{html.escape(text)}</pre>", subtype="html")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.ehlo()
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=ssl.create_default_context(cafile=self.ca_bundle))
                    smtp.ehlo()
                elif self.starttls:
                    raise EmailDeliveryError(f"SMTP server {self.host}:{self.port} does not offer STARTTLS: "
                                             "point SMTP_HOST at a relay that does, or set SMTP_STARTTLS=false "
                                             "for a loopback relay")
                if self.username:
                    smtp.login(self.username, self.password or "")
                refused = smtp.send_message(msg)
        except smtplib.SMTPAuthenticationError:
            raise EmailDeliveryError(f"SMTP login refused: check {CONFIG_HINT}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise EmailDeliveryError(f"SMTP delivery to {self.host}:{self.port} failed "
                                     f"({type(exc).__name__}: {_reply(exc)}); resending in 10 minutes") from None
        if refused:  # smtplib raises when every recipient is refused: these got it, the refused did not
            raise EmailPartlyRefused(f"SMTP refused recipient(s) {sorted(refused)}: fix the address in the "
                                     "notification_routing seed (or the owner's e-mail at the vendor)",
                                     str(msg["Message-ID"]), sorted(refused),
                                     sorted(a for a, reply in refused.items() if 400 <= _code(reply) < 500))
        return str(msg["Message-ID"])


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
        return f"recipients refused: {sorted(exc.recipients)}"
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
