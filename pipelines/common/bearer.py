"""A bearer token cached until shortly before it expires, renewed on demand: the part every vendor's
OAuth provider shares. Subclasses say how to get a token (:meth:`CachedBearerToken._fetch`); this
class holds it, under a lock, so concurrent page fetches ask the vendor once.

It satisfies :class:`pipelines.common.http.TokenProvider` (``auth_header`` / ``invalidate``).
Nothing here logs or raises with a token in it.
"""

from __future__ import annotations

import math
import re
import threading
import time
from typing import Any


class CachedBearerToken:
    """``Authorization: Bearer`` from a token cached until ``expires_in`` minus a safety margin."""

    def __init__(self, expiry_margin_seconds: float):
        self._margin = expiry_margin_seconds
        self._access: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.tokens_issued = 0

    def auth_header(self) -> dict[str, str]:
        with self._lock:
            if self._access is None or time.monotonic() >= self._expires_at:
                self._fetch()
            return {"Authorization": f"Bearer {self._access}"}

    def invalidate(self, refused: dict[str, str] | None = None) -> None:
        """Forget the token (the API refused it): the next request fetches a new one.

        ``refused``: the header the refused request carried. When another thread has already replaced
        that token, this one is kept: requests in flight together all fail on one expired token, and
        each would otherwise throw away the token the one before had just fetched (for Jira, rotating
        the refresh token once per request)."""
        with self._lock:
            if refused is not None and self._access is not None and \
                    refused.get("Authorization") != f"Bearer {self._access}":
                return
            self._access = None

    def _fetch(self) -> None:
        """Get a token and call :meth:`_keep` with it; raise VendorAuthError naming the settings if refused."""
        raise NotImplementedError

    def _keep(self, access: str, lifetime_seconds: float) -> None:
        """Cache ``access`` for its lifetime less the margin (at most a tenth of a short lifetime)."""
        from pipelines.common.entrypoint import remember_secret

        remember_secret(access)  # masked in any error text, as the credentials it came from
        margin = min(self._margin, lifetime_seconds / 10)
        self._access = access
        self._expires_at = time.monotonic() + max(0.0, lifetime_seconds - margin)
        self.tokens_issued += 1


def token_lifetime(value: Any, default: float) -> float:
    """A token answer's ``expires_in`` in seconds; ``default`` when it is no positive finite number ("soon",
    NaN, -1: ``float()`` raised on the first, and the sync died holding a good token)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return default
    return seconds if math.isfinite(seconds) and seconds > 0 else default


_FORM_VALUE = re.compile(r"((?:^|[&?\s])[A-Za-z_]*(?:token|secret|code|password)[A-Za-z_]*)=[^&\s]*", re.IGNORECASE)


def token_answer_shape(content: bytes, content_type: str | None) -> str:
    """What a token endpoint sent instead of a usable token, for an error message, never a value from it: a JSON
    answer may hold a token (an ``access_token`` that is no text, a ``refresh_token``), so JSON is named by its keys
    (at most 10, each cut to 40 characters); only a body that is not JSON (a proxy's login page) shows its first
    characters."""
    from pipelines.common import pages

    kind = content_type or "no Content-Type"
    try:
        body = pages.loads(content)
    except ValueError:  # a form-encoded answer (access_token=...&...) shows its keys, never their values
        from pipelines.common.entrypoint import redact, secret_values

        text = _FORM_VALUE.sub(r"\1=***", content[:4096].decode("utf-8", "replace"))
        head = pages.safe_text(redact(text, secret_values())[:60])
        return f"{kind}, {len(content)} bytes, starting {head!r}"
    if isinstance(body, dict):
        keys = ", ".join(pages.safe_text(str(k))[:40] for k in list(body)[:10]) or "none"
        more = f" and {len(body) - 10} more" if len(body) > 10 else ""
        return f"{kind}, {len(content)} bytes, a JSON object with keys {keys}{more}"
    return f"{kind}, {len(content)} bytes, JSON {type(body).__name__}"
