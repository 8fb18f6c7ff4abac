"""`SandboxSMTP`: aiosmtpd's SMTP protocol made to answer like a production relay (Postfix-style replies).

What it changes on top of aiosmtpd (checked by tests/sandbox/smtp/test_smtp_*_round15.py):
- EHLO also advertises PIPELINING and ENHANCEDSTATUSCODES (RFC 2920 / RFC 2034), as Postfix does; every
  reply then carries an enhanced status code (RFC 3463), except the greeting, the EHLO/HELO reply and
  the 334/354 intermediate replies (RFC 2034 section 3). aiosmtpd's own wordings are mapped to Postfix's:
  out-of-sequence 503 5.5.1, unknown command 502 5.5.2, SIZE over the limit 552 5.3.4, SMTPUTF8 not
  offered 555 5.5.4, a non-ASCII address without SMTPUTF8 553 5.6.7 (the RFC 6531 enhanced code; the
  text is ours [unc]), HELP 214.
- A second STARTTLS inside TLS answers `503 5.5.1 Error: TLS already active` (RFC 3207; aiosmtpd would
  try to wrap the TLS stream again).
- DATA is read by a bounded reader: an endless line or body never grows memory beyond one line /
  `data_size_limit` (aiosmtpd 1.4.6 keeps every fragment of an over-long line); a line over 998 octets
  is answered `500 5.5.2`, an over-size body `552 5.3.4`, both after the final dot (RFC 5321 4.2.5).
- Bare LF (`reject_bare_lf`, on by default) follows Postfix 3.9's `smtpd_forbid_bare_newline = reject`: the
  first line ending in a bare LF, whether a command (`EHLO x\n`), an AUTH response or a body line, is answered
  `550 5.5.2 Error: bare <LF> received` (`smtpd_forbid_bare_newline_reject_code`, default 550 [unc]) and the
  connection is closed at once, the message dropped; the reply does not wait for an end of DATA that a
  bare-LF client may never send [unc: Postfix may read on to the end of DATA first]. Off, it follows
  Postfix 3.9's default `normalize`: bare-LF lines are taken as if they ended in CRLF (a body line is
  stored with CRLF), but only `<CR><LF>.<CR><LF>` ends DATA (a `.` line ending in bare LF is content, kept
  as `.`) [unc]. Bare CR is accepted, as Postfix does.
- The idle timeout says `421 4.4.2 <host> Error: timeout exceeded` before closing (Postfix), where
  aiosmtpd closes silently.
- A MAIL FROM / RCPT TO path that is no address (`<a b@c>`, an unclosed `<x@y`, an unbalanced quote) is
  `501 5.1.7 Bad sender address syntax` / `501 5.1.3 Bad recipient address syntax`, as Postfix answers
  (aiosmtpd took them, and `RCPT TO:<>` too, kept as the recipient "<>"); the null sender `MAIL FROM:<>`
  stays valid (RFC 5321 4.5.5), a source route (`<@relay:x@y>`) is dropped as Postfix does. The check runs in
  the handler's MAIL / RCPT hooks (`bad_path`), after aiosmtpd's sequence and parameter checks.
- AUTH PLAIN with an authorization identity other than the login is refused (535 5.7.8); AUTH LOGIN asks
  `Username:` / `Password:` (base64), as Postfix's SASL does.
- DATA in a mail transaction whose every RCPT was refused answers `554 5.5.1 Error: no valid recipients`, not
  counted as a protocol error (Postfix smtpd.c `data_cmd`: a pipelining client sends DATA before it reads the
  RCPT replies); DATA with no MAIL stays `503 5.5.1 Error: need RCPT command` [round 30].
- After `hard_error_limit` protocol errors (Postfix `smtpd_hard_error_limit`, default 20) the server says
  `421 4.7.0 <host> Error: too many errors` and closes. Refusals from the switchable faults (450/451/550)
  do not count [unc: Postfix counts every 4xx/5xx reply].
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from base64 import b64decode
from typing import Any, AnyStr

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword, syntax

MAX_TEXT_LINE = 1000  # RFC 5321 4.5.3.1.6: 998 octets + CRLF

# aiosmtpd wording (prefix) -> the reply a Postfix relay gives.
_REWRITES: list[tuple[str, str]] = [
    ("500 Error: strict ASCII mode", "553 5.6.7 Error: non-ASCII address requires the SMTPUTF8 extension"),
    ("501 Error: SMTPUTF8 disabled", "555 5.5.4 Unsupported option: SMTPUTF8"),
    ("552 Error: message size exceeds", "552 5.3.4 Message size exceeds fixed limit"),
    ("500 Error: command ", "502 5.5.2 Error: command not recognized"),
    ("250 Supported commands:", "214 2.0.0 Supported commands:"),
    ("250 Syntax:", "214 2.0.0 Syntax:"),
]
_HAS_ESC = re.compile(r"^\d{3}[ -][245]\.\d{1,3}\.\d{1,3}\b")
_DEFAULT_ESC = {"2": "2.0.0", "4": "4.0.0", "5": "5.0.0"}
_ESC_BY_CODE = {"500": "5.5.2", "501": "5.5.4", "502": "5.5.2", "503": "5.5.1", "504": "5.5.4",
                "530": "5.7.0", "535": "5.7.8", "552": "5.3.4", "553": "5.1.3", "554": "5.7.1",
                "555": "5.5.4", "421": "4.7.0", "454": "4.7.0"}
# Replies counted towards the hard error limit: protocol errors, not the switchable recipient faults.
_COUNTED = {"500", "501", "502", "503", "504", "530", "535", "538", "553", "554", "555"}


def bad_path(arg: str | None, sender: bool) -> str | None:
    """The refusal for a MAIL FROM (`sender`) / RCPT TO argument whose path is no address, else None."""
    refusal = "501 5.1.7 Bad sender address syntax" if sender else "501 5.1.3 Bad recipient address syntax"
    text = (arg or "").partition(":")[2].lstrip()
    if text.startswith("<"):
        end = _closing(text)
        if end < 0:
            return refusal
        path = re.sub(r"^@[^:]*:", "", text[1:end])  # RFC 5321 4.1.2 source route: ignored
    else:
        path = text.split(" ", 1)[0]
    if not path:
        return None if sender else refusal  # the null reverse-path is for MAIL only
    for _, ch, quoted in _unquoted(path):
        if not ch or (not quoted and ch in " \t<>"):  # an unclosed quote, or a path that is no address
            return refusal
    return None


def _unquoted(text: str, start: int = 0):
    """(index, character, inside a quoted string) for each character of ``text`` from ``start`` that is
    neither a quote, a backslash escaping, nor a character escaped; then ``(len(text), "", True)`` if a
    quoted string was left open."""
    quoted = escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if escaped or ch in '\\"':
            quoted ^= ch == '"' and not escaped
            escaped = ch == "\\" and not escaped
            continue
        yield i, ch, quoted
    if quoted:
        yield len(text), "", True


def _closing(text: str) -> int:
    """Where the `>` closing `text`'s leading `<` is (outside quoted strings), or -1."""
    return next((i for i, ch, quoted in _unquoted(text, 1) if ch == ">" and not quoted), -1)


class SandboxSMTP(SMTP):
    """aiosmtpd SMTP with Postfix-like replies and bounded reading (see module docstring)."""

    hard_error_limit = 20
    reject_bare_lf = True
    # AUTH LOGIN's challenges as Postfix's SASL (Cyrus / Dovecot) sends them; aiosmtpd's were "User Name\0"
    AuthLoginUsernameChallenge = "Username:"
    AuthLoginPasswordChallenge = "Password:"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._greeted = False
        self._raw_replies = False  # EHLO/HELO replies carry no enhanced codes
        self._command = ""
        self._errors = 0
        self._raw_readuntil: Any = None
        self.path_arg: str | None = None  # the MAIL / RCPT argument being handled, for `bad_path`

    def _cb_client_connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Every command (and AUTH) line is read through `readuntil(b"\n")` (`readline` calls it too): check
        its ending there. DATA reads through the unchecked original (`_read_data` judges body lines itself)."""
        super()._cb_client_connected(reader, writer)
        plain = self._raw_readuntil = reader.readuntil
        plain_read, last = reader.read, [b""]

        async def read(n: int = -1) -> bytes:  # aiosmtpd drains an over-long line with read(consumed)
            data = await plain_read(n)
            last[0] = data[-1:]
            return data

        async def readuntil(separator: bytes = b"\n") -> bytes:
            line = await plain(separator)
            # a drained over-long line (a 5,000-digit SIZE=) may have been cut between its CR and LF
            split_crlf = line == b"\n" and last[0] == b"\r"
            last[0] = b""
            if self.reject_bare_lf and separator == b"\n" and not line.endswith(b"\r\n") and not split_crlf:
                await self._refuse_bare_lf()
            return line

        reader.readuntil = readuntil  # type: ignore[method-assign]
        reader.read = read  # type: ignore[method-assign]

    async def _refuse_bare_lf(self) -> None:
        """Postfix `smtpd_forbid_bare_newline = reject`: reply, disconnect, read nothing more."""
        await self.push("550 5.5.2 Error: bare <LF> received")
        if self.transport is not None:
            self.transport.close()
        await asyncio.Event().wait()  # `connection_lost` cancels the session task

    # --- replies ------------------------------------------------------------------------------------------
    async def push(self, status: AnyStr, counted: bool = True) -> None:
        text = status.decode("utf-8", "surrogateescape") if isinstance(status, bytes) else str(status)
        if not self._greeted:  # the 220 greeting
            self._greeted = True
            await super().push(text)
            return
        if not self._raw_replies:
            text = self._enhance(text)
        await super().push(text)
        if counted and text[:3] in _COUNTED:
            self._errors += 1
            if self.hard_error_limit and self._errors >= self.hard_error_limit and self.transport is not None:
                await super().push(f"421 4.7.0 {self.hostname} Error: too many errors")
                self.transport.close()

    def _enhance(self, text: str) -> str:
        for prefix, replacement in _REWRITES:
            if text.startswith(prefix):
                # HELP keeps aiosmtpd's detail after the colon; the others are replaced whole
                text = replacement + text[len(prefix):] if replacement.endswith(":") else replacement
                break
        code = text[:3]
        if not re.match(r"^\d{3}([ -]|$)", text) or code in ("334", "354") or _HAS_ESC.match(text):
            return text
        if code == "250" and self._command in ("MAIL", "RCPT"):
            esc = "2.1.0" if self._command == "MAIL" else "2.1.5"
        else:
            esc = _ESC_BY_CODE.get(code, _DEFAULT_ESC.get(code[0], ""))
        if not esc:
            return text
        rest = text[4:]
        return f"{code}{text[3:4] or ' '}{esc} {rest}".rstrip()

    # --- commands -----------------------------------------------------------------------------------------
    async def auth_PLAIN(self, _: Any, args: list[str]) -> AuthResult:
        """RFC 4616 `authzid NUL authcid NUL passwd`, as aiosmtpd's, except that an authzid other than the
        authcid (acting as someone else) fails like wrong credentials (535 5.7.8), as a SASL server without
        proxy rights refuses it [unc: the reply text]; aiosmtpd ignored the authzid."""
        if len(args) == 1:
            response = await self.challenge_auth("")
            if response is MISSING:
                return AuthResult(success=False)
        else:
            try:
                response = b64decode(args[1].encode(), validate=True)
            except ValueError:
                await self.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        parts = bytes(response).split(b"\x00") if isinstance(response, bytes) else []
        if len(parts) != 3:
            await self.push("501 5.5.2 Can't split auth value")
            return AuthResult(success=False, handled=True)
        authzid, login, password = parts
        if authzid and authzid != login:
            return AuthResult(success=False, handled=False)
        return self._authenticate("PLAIN", LoginPassword(login, password))

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str) -> None:
        self._raw_replies = True
        try:
            await super().smtp_EHLO(hostname)
        finally:
            self._raw_replies = False

    @syntax("HELO hostname")
    async def smtp_HELO(self, hostname: str) -> None:
        self._raw_replies = True
        try:
            await super().smtp_HELO(hostname)
        finally:
            self._raw_replies = False

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg: str | None) -> None:
        self._command, self.path_arg = "MAIL", arg
        try:
            await super().smtp_MAIL(arg)
        finally:
            self._command = ""

    @syntax("RCPT TO: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_RCPT(self, arg: str | None) -> None:
        self._command, self.path_arg = "RCPT", arg
        try:
            await super().smtp_RCPT(arg)
        finally:
            self._command = ""

    @syntax("STARTTLS", when="tls_context")
    async def smtp_STARTTLS(self, arg: str) -> None:
        if self._tls_protocol is not None:
            await self.push("503 5.5.1 Error: TLS already active")
            return
        await super().smtp_STARTTLS(arg)

    def _timeout_cb(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            with contextlib.suppress(Exception):  # the peer may be gone already
                self.transport.write(f"421 4.4.2 {self.hostname} Error: timeout exceeded\r\n".encode())
        super()._timeout_cb()

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            if self.envelope.mail_from is None:
                await self.push("503 Error: need RCPT command")
            else:  # Postfix: every RCPT of this transaction refused (a pipelining client sends DATA anyway)
                await self.push("554 5.5.1 Error: no valid recipients", counted=False)
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        problem = await self._read_data()
        if problem is not None:
            self._set_post_data_state()
            await self.push(problem)
            return
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    async def _read_data(self) -> str | None:
        """Read the body up to `<CRLF>.<CRLF>` into the envelope; a refusal reply, or None when accepted.

        Memory stays bounded: an over-long line is dropped piece by piece, an over-size body is dropped.
        """
        assert self.envelope is not None
        data = bytearray()
        limit = self.data_size_limit
        size = 0
        in_long_line = False
        problem: str | None = None
        read = self._raw_readuntil or self._reader.readuntil
        while self.transport is not None:
            try:
                line = await read(b"\n")
            except asyncio.LimitOverrunError as e:
                chunk = await self._reader.read(max(e.consumed, 1))
                size += len(chunk)
                in_long_line = True
                problem = problem or "500 5.5.2 Error: line too long (RFC 5321 4.5.3.1.6)"
                data.clear()
                self._reset_timeout()
                continue
            self._reset_timeout()
            if in_long_line:  # the end of an over-long line
                in_long_line = False
                size += len(line)
                continue
            bare = not line.endswith(b"\r\n")
            if bare and self.reject_bare_lf:
                data.clear()
                await self._refuse_bare_lf()
            if line == b".\r\n":
                break
            size += len(line)
            if problem is not None:
                continue
            # `normalize`: a bare-LF line counts as ended by CRLF, and `.` + LF is content, unstuffed [unc]
            text = line[:-1] + b"\r\n" if bare else line
            if not bare and text.startswith(b"."):
                text = text[1:]  # RFC 5321 4.5.2 transparency
            if limit and size > limit:
                problem = "552 5.3.4 Error: message file too big"
            elif len(text) > MAX_TEXT_LINE:  # counted after un-stuffing
                problem = "500 5.5.2 Error: line too long (RFC 5321 4.5.3.1.6)"
            if problem is not None:
                data.clear()
                continue
            data += text
        content = bytes(data)
        if problem is None:
            self.envelope.content = content
            self.envelope.original_content = content
        return problem
