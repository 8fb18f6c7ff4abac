"""`SmtpSandbox`: a real SMTP server (aiosmtpd, own thread, free port) that keeps what it receives.

    sb = SmtpSandbox(username="mailer", password="secret").start()
    smtplib.SMTP(sb.host, sb.port) ... login("mailer", "secret") ... send_message(msg)
    sb.messages()[0].message["Subject"]; sb.stop()

Auth: with `username`/`password` the server offers AUTH PLAIN and LOGIN and requires it before MAIL
(530 otherwise; 535 on wrong credentials); plain-text AUTH is allowed unless `require_tls=True`.
TLS: `starttls=True` offers STARTTLS with the sandbox certificate (`ca_bundle` is the CA to trust);
`require_tls=True` also refuses mail (and AUTH) before STARTTLS. `implicit_tls=True` speaks TLS from the
first byte (SMTPS, port 465 style; `smtplib.SMTP_SSL`) and offers no STARTTLS.
SMTPUTF8 (RFC 6531): `smtputf8=True` advertises it and takes non-ASCII addresses and headers sent with
`MAIL FROM:<...> SMTPUTF8`; off by default, as on many relays (smtplib then refuses such addresses
before sending). `ReceivedMessage.mail_options` shows what the client asked for.
Limits (Postfix-like; replies in `sandbox.smtp.protocol`): `max_message_size` (EHLO SIZE; 552 5.3.4),
`max_recipients` (452 4.5.3 past it), `idle_timeout` (421 4.4.2, then closed), `hard_error_limit`
protocol errors per connection (421 4.7.0, then closed), `reject_bare_lf` (550 5.5.2 and disconnect
for a line ending in bare LF, command or DATA; off: taken as CRLF, Postfix 3.9 `normalize`),
`auth_lockout`: after that many failed AUTHs from one client IP every AUTH answers
`454 4.7.0 Too many login attempts` until `reset()` (off by default) [unc: vendor-specific].

Faults (`sb.faults.set(...)` / `clear()`, switchable while running; seeded like `sandbox.core.faults`):
- `reject_recipients`: fnmatch patterns; matching RCPT TO answers `550 5.1.1 ... User unknown`.
- `rate_550`: fraction of RCPT TO answered 550 (recipient rejected).
- `recipients_552`: fnmatch patterns; matching RCPT TO answers `552 5.5.3 Error: too many recipients`.
- `rate_451`: fraction of DATA answered `451 4.3.0 Temporary failure` (smtplib raises SMTPDataError).
- `rate_554`: fraction of DATA answered `554 5.7.1 Message rejected by policy` (a permanent refusal of the message).
"""

from __future__ import annotations

import ssl
import threading
import time
import warnings
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser, Parser
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from sandbox.core.tls import server_context
from sandbox.smtp.faults import SmtpFaults
from sandbox.smtp.protocol import SandboxSMTP, bad_path


@dataclass
class ReceivedMessage:
    """One accepted message: envelope, parsed message and raw bytes."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    peer: str
    auth_user: str | None
    received_at: float
    mail_options: list[str] = field(default_factory=list)  # MAIL FROM parameters, e.g. SMTPUTF8

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def text(self) -> str:
        """The plain-text body (preferred part of a multipart message)."""
        part = self.message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""


class _Controller(Controller):
    """aiosmtpd Controller that binds port 0 and learns the real port before its self-test."""

    def _trigger_server(self) -> None:
        if self.port == 0 and self.server is not None:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()

    def factory(self) -> SMTP:
        with warnings.catch_warnings():  # "AUTH without TLS" is the point of a local sandbox
            warnings.simplefilter("ignore")
            server = SandboxSMTP(self.handler, **self.SMTP_kwargs)
        sb = self.handler.sb
        server.hard_error_limit = sb.hard_error_limit
        server.reject_bare_lf = sb.reject_bare_lf
        return server


class _Handler:
    def __init__(self, sb: SmtpSandbox) -> None:
        self.sb = sb

    async def handle_EHLO(self, server: SMTP, session: Any, envelope: Any, hostname: str, responses: list) -> list:
        session.host_name = hostname  # the new-style hook must record it (aiosmtpd)
        # Postfix order: PIPELINING first, ENHANCEDSTATUSCODES near the end (RFC 2920 / RFC 2034).
        return [responses[0], "250-PIPELINING", *responses[1:-1], "250-ENHANCEDSTATUSCODES", responses[-1]]

    async def handle_MAIL(self, server: SMTP, session: Any, envelope: Any, address: str, options: list) -> str:
        refusal = bad_path(getattr(server, "path_arg", None), sender=True)
        if refusal:
            return refusal
        envelope.mail_from = address  # what aiosmtpd does without this hook
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Any, envelope: Any, address: str, options: list) -> str:
        refusal = bad_path(getattr(server, "path_arg", None), sender=False)
        if refusal:
            return refusal
        if self.sb.max_recipients and len(envelope.rcpt_tos) >= self.sb.max_recipients:
            return "452 4.5.3 Error: too many recipients"  # Postfix smtpd_recipient_limit; RFC 5321 4.5.3.1.8
        refusal = self.sb.faults.rcpt(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        refusal = self.sb.faults.data()
        if refusal:
            return refusal
        raw = envelope.original_content or envelope.content
        raw = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
        if envelope.smtp_utf8:  # RFC 6531: the headers are UTF-8 (BytesParser would keep them as escapes)
            message = Parser(policy=policy.SMTPUTF8).parsestr(raw.decode("utf-8", "surrogateescape"))
        else:
            message = BytesParser(policy=policy.default).parsebytes(raw)
        self.sb._received(ReceivedMessage(
            mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), message=message,  # type: ignore[arg-type]
            raw=raw, peer=str(session.peer[0]) if session.peer else "", auth_user=session.auth_data,
            received_at=time.time(), mail_options=list(envelope.mail_options)))
        return "250 2.0.0 Message accepted for delivery"


class SmtpSandbox:
    """SMTP sink for tests: `start()`, `.host`/`.port`, `.messages()`, `.faults`, `stop()`."""

    vendor = "smtp"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, username: str | None = None,
                 password: str | None = None, *, starttls: bool = False, require_tls: bool = False,
                 seed: int = 42, server_hostname: str = "smtp.sandbox.local", smtputf8: bool = False,
                 max_message_size: int = 33554432, max_recipients: int = 1000, idle_timeout: float = 300.0,
                 hard_error_limit: int = 20, reject_bare_lf: bool = True, auth_lockout: int | None = None,
                 implicit_tls: bool = False) -> None:
        if (username is None) != (password is None):
            raise ValueError("give both username and password, or neither")
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.implicit_tls = implicit_tls
        self.starttls = (starttls or require_tls) and not implicit_tls
        self.require_tls = require_tls
        self.smtputf8 = smtputf8
        self.server_hostname = server_hostname
        self.max_message_size, self.max_recipients = max_message_size, max_recipients
        self.idle_timeout, self.hard_error_limit = idle_timeout, hard_error_limit
        self.reject_bare_lf, self.auth_lockout = reject_bare_lf, auth_lockout
        self._auth_failures: dict[str, int] = {}
        self.ca_bundle: str | None = None
        self.faults = SmtpFaults(seed)
        self._messages: list[ReceivedMessage] = []
        self._cond = threading.Condition()
        self._controller: _Controller | None = None

    # --- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> SmtpSandbox:
        if self._controller is not None:
            return self
        kwargs: dict[str, Any] = {"server_hostname": self.server_hostname, "decode_data": False,
                                  "enable_SMTPUTF8": self.smtputf8, "ident": "ESMTP",
                                  "data_size_limit": self.max_message_size, "timeout": self.idle_timeout}
        if self.username is not None:  # with implicit TLS the whole session is already encrypted
            kwargs.update(authenticator=self._authenticate, auth_required=True,
                          auth_require_tls=self.require_tls and not self.implicit_tls)
        if self.implicit_tls:  # SMTPS / submissions (RFC 8314): TLS from the first byte, no STARTTLS
            ctx, ca = server_context()
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            self.ca_bundle = str(ca)
            kwargs["ssl_context"] = ctx
        if self.starttls:
            ctx, ca = server_context()
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            self.ca_bundle = str(ca)
            kwargs.update(tls_context=ctx, require_starttls=self.require_tls)
        controller = _Controller(_Handler(self), hostname=self.host, port=self.port, **kwargs)
        controller.start()
        self.port = controller.port
        self._controller = controller
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SmtpSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def credentials(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port, "username": self.username, "password": self.password,
                "starttls": self.starttls}

    def describe(self) -> dict[str, Any]:
        return {"vendor": self.vendor, "url": self.url, "ca_bundle": self.ca_bundle, "credentials": self.credentials}

    # --- received mail ---------------------------------------------------------------------------------
    def messages(self) -> list[ReceivedMessage]:
        """Every accepted message, oldest first."""
        with self._cond:
            return list(self._messages)

    def clear_messages(self) -> None:
        with self._cond:
            self._messages.clear()

    def wait_for_messages(self, count: int = 1, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Block until at least `count` messages arrived (for asynchronous senders); TimeoutError if not."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._messages) >= count, timeout):
                raise TimeoutError(f"{len(self._messages)} of {count} messages after {timeout}s")
            return list(self._messages)

    def reset(self) -> None:
        self.faults.clear()
        self.clear_messages()
        with self._cond:
            self._auth_failures.clear()

    def _received(self, msg: ReceivedMessage) -> None:
        with self._cond:
            self._messages.append(msg)
            self._cond.notify_all()

    def _authenticate(self, server: SMTP, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        peer = str(session.peer[0]) if session.peer else ""
        with self._cond:
            failures = self._auth_failures.get(peer, 0)
            if self.auth_lockout and failures >= self.auth_lockout:  # [unc] Gmail's wording; Postfix has none
                return AuthResult(success=False, handled=False,
                                  message="454 4.7.0 Too many login attempts, please try again later")
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        if login == self.username and password == self.password:
            return AuthResult(success=True, auth_data=login)
        with self._cond:
            self._auth_failures[peer] = failures + 1
        return AuthResult(success=False, handled=False)
