"""Switchable, seeded SMTP faults (all off by default; change them while the server runs).

- `reject_recipients`: fnmatch patterns (case-insensitive); a matching RCPT TO gets
  `550 5.1.1 <addr>: Recipient address rejected: User unknown` (smtplib: SMTPRecipientsRefused, or
  the address in `send_message`'s refused dict when other recipients were accepted).
- `rate_550`: fraction of RCPT TO commands refused the same way.
- `defer_recipients`: fnmatch patterns; matching RCPT TO answers `450 4.2.1 ... try again later` (a
  temporary refusal: a full mailbox, greylisting).
- `recipients_552`: fnmatch patterns; matching RCPT TO answers `552 5.5.3 Error: too many recipients` (an older
  relay's "too many recipients", which RFC 5321 4.5.3.1.10 says to treat as 452; wording [unc]).
- `rate_451`: fraction of DATA commands answered `451 4.3.0 Temporary failure` (smtplib: SMTPDataError).
- `rate_554`: fraction of DATA commands answered `554 5.7.1 Message rejected by policy` after the final dot (a
  content filter's permanent refusal; wording [unc], Postfix's header_checks REJECT answers `550 5.7.1`).
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox.core.numbers import control_number


@dataclass
class SmtpFaultSettings:
    reject_recipients: list[str] = field(default_factory=list)
    defer_recipients: list[str] = field(default_factory=list)  # 450: mailbox busy, try again later
    recipients_552: list[str] = field(default_factory=list)  # 552 at RCPT: too many recipients (read as 452)
    rate_550: float = 0.0
    rate_451: float = 0.0
    rate_554: float = 0.0  # 554: the message itself refused for good (a content policy)


class SmtpFaults:
    """Switchable SMTP faults (see module docstring)."""

    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.settings = SmtpFaultSettings()

    def set(self, **changes: Any) -> dict[str, Any]:
        known = set(asdict(self.settings))
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown SMTP fault setting(s) {unknown}; known: {sorted(known)}")
        cast = {}  # every value checked before any is applied
        for name, value in changes.items():
            if name in ("reject_recipients", "defer_recipients", "recipients_552"):
                cast[name] = [value] if isinstance(value, str) else list(value or [])
            else:  # not float(): it read '٣' as 3 and took NaN [round 27]
                cast[name] = float(control_number(name, value, float, 0, 1))
        with self._lock:
            for name, value in cast.items():
                setattr(self.settings, name, value)
        return self.as_dict()

    def clear(self) -> None:
        with self._lock:
            self.settings = SmtpFaultSettings()
            self._rng = random.Random(self._seed)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self.settings)

    def rcpt(self, address: str) -> str | None:
        """SMTP reply refusing `address`, or None to accept it."""
        with self._lock:
            s = self.settings
            hit = any(fnmatch.fnmatch(address.lower(), p.lower()) for p in s.reject_recipients)
            if hit or (s.rate_550 > 0 and self._rng.random() < s.rate_550):
                return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
            if any(fnmatch.fnmatch(address.lower(), p.lower()) for p in s.defer_recipients):
                return f"450 4.2.1 <{address}>: Mailbox temporarily unavailable, try again later"
            if any(fnmatch.fnmatch(address.lower(), p.lower()) for p in s.recipients_552):
                return "552 5.5.3 Error: too many recipients"
        return None

    def data(self) -> str | None:
        with self._lock:
            if self.settings.rate_451 > 0 and self._rng.random() < self.settings.rate_451:
                return "451 4.3.0 Temporary failure, please try again later"
            if self.settings.rate_554 > 0 and self._rng.random() < self.settings.rate_554:
                return "554 5.7.1 Message rejected by policy"
        return None
