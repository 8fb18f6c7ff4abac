"""The bridge's SMTP side (``webhooks/email_bridge.py`` keeps the spool): RCPT only for mapped
addresses (550 otherwise; a repeated RCPT of one address counts once), DATA handed to
``EmailBridge.receive`` on a worker thread, 451 when it cannot finish (logged for the operator with the
exception's type, never a traceback; nothing but "try again later" for the sender), 421 for any other
session error (aiosmtpd's default replies with the error text and logs the stack), the 450/452 of
``webhooks/email_limits.py`` for a rejected message past the quarantine bounds, and at most
``max_sessions`` connections open at once (more are told 421 and closed). aiosmtpd's DEBUG log, which
carries every DATA line, is held at INFO: message bodies never reach the service's log.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from webhooks import email_mime
from webhooks.email_limits import QuarantineRefused

if TYPE_CHECKING:
    from webhooks.email_bridge import EmailBridge

MAX_SESSIONS = 100  # SMTP connections open at once; more are answered 421 (RFC 5321 4.3.2)
MAX_SESSIONS_PER_PEER = 20  # of those, from one address: one sender cannot take them all
MAX_REFUSED_RCPT = 20  # unknown recipients in one session before it is closed (address harvesting)
IDLE_TIMEOUT = 300.0  # seconds without a command before the session is closed (RFC 5321 4.5.3.2.7)
MAX_SESSION_SECONDS = 1800.0  # a session's whole life: the idle timeout restarts with every command
log = logging.getLogger(__name__)


class LibraryUnavailable(RuntimeError):
    """The Evidence Library could not finish a part now (scanner or store down): retry the message later."""


class Handler:
    def __init__(self, bridge: EmailBridge) -> None:
        self.bridge = bridge

    async def handle_RCPT(self, server: SMTP, session: Any, envelope: Any, address: str, options: list) -> str:
        if address.lower() not in self.bridge.addresses:
            session.refused_rcpt = getattr(session, "refused_rcpt", 0) + 1
            if session.refused_rcpt > MAX_REFUSED_RCPT:  # guessing addresses: hang up after this reply
                log.warning("e-mail bridge: %s refused after %d unknown recipients", session.peer, MAX_REFUSED_RCPT)
                asyncio.get_running_loop().call_soon(server.transport.close)
                return "421 4.7.0 Too many unknown recipients, closing the connection"
            return f"550 5.1.1 <{address}>: not an e-mail bridge address (EMAIL_BRIDGE_ADDRESSES)"
        # one copy per bridge address: a repeated RCPT (in any case) would have the library scan it again
        if address.lower() not in {a.lower() for a in envelope.rcpt_tos}:
            envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        raw = raw if isinstance(raw, bytes) else str(raw).encode("utf-8", "surrogateescape")
        peer = session.peer[0] if isinstance(session.peer, tuple) and session.peer else str(session.peer or "")
        try:
            # off the event loop: a large message must not stall every other SMTP session
            await asyncio.to_thread(self.bridge.receive, raw, envelope.mail_from or "", list(envelope.rcpt_tos),
                                    str(peer) or None)
        except QuarantineRefused as exc:  # past a quarantine bound: counted and logged there
            return exc.reply
        except Exception as exc:  # spool unwritable or library unavailable: the sender retries, nothing is lost
            # the operator learns why, the sender does not; no traceback (it could carry a store URL)
            detail = f": {email_mime.clean_text(exc, 500)}" if isinstance(exc, LibraryUnavailable) else ""
            log.warning("e-mail bridge: message from %s refused with 451 (%s%s)",
                        email_mime.clean_text(envelope.mail_from or "", 320), type(exc).__name__, detail)
            return "451 4.3.0 Could not store the message, try again later"
        return "250 2.0.0 Message accepted"

    async def handle_exception(self, error: Exception) -> str:
        """Anything else a session raises: aiosmtpd would reply with the error's text and log its stack;
        the sender gets a bare temporary failure (the session goes on), the log the error's type."""
        log.warning("e-mail bridge: SMTP session error (%s)", type(error).__name__)
        return "451 4.3.0 Local error, try again later"


class Session(SMTP):
    """One SMTP session; past ``EmailBridge.max_sessions`` open at once (``max_sessions_per_peer`` from
    one address), a new connection is told 421 (come back later) and closed: many idle connections
    cannot starve the partners' servers. Counted on the listener's event loop only."""

    def __init__(self, bridge: EmailBridge, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bridge, self._peer, self._lifetime = bridge, None, None

    def connection_made(self, transport: Any) -> None:
        if self.transport is None and self._peer is None:  # not the STARTTLS re-entry
            peer = str((transport.get_extra_info("peername") or ("?",))[0])
            peers = self.bridge._peers
            if sum(peers.values()) >= self.bridge.max_sessions or \
                    peers.get(peer, 0) >= self.bridge.max_sessions_per_peer:
                transport.write(b"421 4.7.0 projectx-email-bridge too many connections, try again later\r\n")
                transport.close()
                return
            peers[peer] = peers.get(peer, 0) + 1
            self._peer = peer
            self._lifetime = self.loop.call_later(self.bridge.max_session_seconds, self._expire, transport)
        super().connection_made(transport)

    def _expire(self, transport: Any) -> None:
        log.info("e-mail bridge: session from %s closed after %.0f s", self._peer, self.bridge.max_session_seconds)
        transport.write(b"421 4.4.2 projectx-email-bridge session too long, closing\r\n")
        transport.close()

    def connection_lost(self, error: Exception | None) -> None:
        if self._peer is not None:
            self._lifetime.cancel()
            peers, peer, self._peer = self.bridge._peers, self._peer, None
            peers[peer] -= 1
            if not peers[peer]:
                del peers[peer]
            super().connection_lost(error)


class SmtpController(Controller):
    def __init__(self, bridge: EmailBridge, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bridge = bridge

    def factory(self) -> SMTP:
        return Session(self.bridge, self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        if self.port == 0 and self.server is not None:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def start_listener(bridge: EmailBridge, data_size_limit: int) -> SmtpController:
    """Start the SMTP listener for ``bridge`` (its host and port; port 0 picks a free one)."""
    # aiosmtpd logs every DATA line at DEBUG: message bodies and attachments (evidence, maybe
    # credentials in an export) must not reach the service's log, whatever its level
    smtp_log = logging.getLogger("mail.log")
    smtp_log.setLevel(max(smtp_log.getEffectiveLevel(), logging.INFO))
    controller = SmtpController(bridge, Handler(bridge), hostname=bridge.host, port=bridge.port,
                                data_size_limit=data_size_limit, decode_data=False,
                                server_hostname="projectx-email-bridge", timeout=bridge.idle_timeout)
    controller.start()
    return controller
