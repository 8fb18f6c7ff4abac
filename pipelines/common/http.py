"""A requests session that behaves as the spec's failure-handling rules ask, for every vendor.

- HTTP 5xx, connection errors and timeouts: exponential backoff with jitter, up to 5 attempts.
- HTTP 429: honour ``Retry-After`` and slow down adaptively (a minimum gap between requests that
  doubles on each 429 and decays on success); 429s have their own, larger, budget.
- HTTP 401/403: drop the cached token and fetch a new one; after two auth failures in a row, raise
  :class:`VendorAuthError` whose message names the settings to check.
- Every request has a bounded (connect, read) timeout.
- A 2xx answer whose body is not JSON (an HTML login, proxy or hibernation page; a body cut off) is
  asked again like a 5xx (:meth:`VendorSession.request_json`), then reported as :class:`VendorError`
  with the status, the content type, the first characters and the setting to check.

Error messages carry the method, the path and the status, never headers, tokens or query secrets.
Every request carries the current correlation id (:func:`set_correlation_id`) as ``X-Correlation-ID``,
so a vendor's logs join ours (spec §3.4).
"""

from __future__ import annotations

import http.cookiejar
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import requests

from pipelines.common import log_redaction, pages
from pipelines.common.response_text import _body_summary, _error_detail
from pipelines.common.response_text import request_secrets as request_secrets  # re-exported: imported from here
from pipelines.common.response_text import vendor_text as vendor_text  # re-exported: imported from here

log = logging.getLogger(__name__)
log_redaction.install()  # no credential in urllib3's (or botocore's) DEBUG lines

CORRELATION_HEADER = "X-Correlation-ID"
_correlation_id: str | None = None


def set_correlation_id(value: str | None) -> None:
    """The correlation id sent with every vendor request from now on in this process (one run)."""
    global _correlation_id
    _correlation_id = value


def current_correlation_id() -> str | None:
    return _correlation_id


class VendorError(RuntimeError):
    """A vendor call failed for good (retries exhausted or a non-retryable status)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class VendorAuthError(VendorError):
    """Credentials were refused even after a fresh token: a person must fix the configuration."""


class TokenProvider(Protocol):
    def auth_header(self) -> dict[str, str]: ...

    def invalidate(self, refused: dict[str, str] | None = None) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    """Limits from spec §2.1 "Failure Handling" (shared by all connectors)."""

    max_attempts: int = 5
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    max_429_retries: int = 20
    max_retry_after_seconds: float = 120.0
    max_auth_failures: int = 2
    connect_timeout_seconds: float = 10.0
    read_timeout_seconds: float = 60.0


RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


class AdaptiveThrottle:
    """Keeps a minimum gap between requests; 429s widen it, successes narrow it again."""

    def __init__(self, max_gap_seconds: float = 5.0):
        self.gap = 0.0
        self.max_gap = max_gap_seconds
        self._next_at = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            delay = self._next_at - now
            self._next_at = max(now, self._next_at) + self.gap
        if delay > 0:
            time.sleep(delay)

    def on_throttled(self) -> None:
        with self._lock:
            self.gap = min(self.max_gap, max(0.05, self.gap * 2))

    def on_success(self) -> None:
        with self._lock:
            self.gap = self.gap * 0.9 if self.gap > 0.01 else 0.0


def retry_after_seconds(response: requests.Response, default: float) -> float:
    """``Retry-After`` in seconds: delay-seconds, or an HTTP-date (the time left until then, 0 when past).
    A value that is neither (negative, ``nan``, text) gives ``default``; the caller caps a huge one."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return default
        if when.tzinfo is None:  # an HTTP-date is GMT
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return seconds if seconds >= 0 else default  # NaN and negatives fail the comparison: the default


class RateLimitBudget:
    """Seconds of 429 waits one run may spend over all its requests (summed across threads); set on a
    session as ``rate_budget``. A wait that would overrun it is not made: the request raises
    :class:`RateLimitBudgetSpent` at once. ``setting`` names what to raise in the message."""

    def __init__(self, seconds: float, setting: str):
        self.seconds, self.setting, self.spent = float(seconds), setting, 0.0
        self._lock = threading.Lock()

    def take(self, wait: float) -> bool:
        with self._lock:
            if self.spent + wait > self.seconds:
                self.spent = max(self.spent, self.seconds)  # spent: no later wait fits either
                return False
            self.spent += wait
            return True

    @property
    def exhausted(self) -> bool:
        with self._lock:
            return self.spent >= self.seconds


class RateLimitBudgetSpent(VendorError):
    """A 429 whose wait the run's :class:`RateLimitBudget` no longer covers (status 429)."""


class VendorSession:
    """HTTP access to one vendor with retries, throttling and token refresh built in.

    ``auth`` supplies the Authorization header (and can be told the token went bad);
    ``config_hint`` is appended to auth errors so the operator knows which setting to fix.
    """

    def __init__(
        self,
        vendor: str,
        base_url: str,
        auth: TokenProvider | None = None,
        *,
        policy: RetryPolicy | None = None,
        verify: bool | str = True,
        config_hint: str = "",
        sleep: Callable[[float], None] = time.sleep,
        pool_size: int = 8,
    ):
        self.vendor = vendor
        self.base_url = base_url.rstrip("/") + "/"
        self.auth = auth
        self.policy = policy or RetryPolicy()
        self.config_hint = config_hint
        self.throttle = AdaptiveThrottle()
        self.rate_budget: RateLimitBudget | None = None  # a run's bound on 429 waits, when one is set
        self.stats = {"requests": 0, "retries_5xx": 0, "retries_429": 0, "token_refreshes": 0}
        self._stats_lock = threading.Lock()  # pages, downloads and exports share a session across threads
        self._sleep = sleep
        self.http = requests.Session()
        self.http.verify = verify
        # No cookies: ServiceNow runs the requests of one session (JSESSIONID) one at a time, so a client
        # that sends its session cookie back gets no parallelism from concurrent page reads or pushes;
        # a load balancer's affinity cookie pins them to one node. Every call here carries its own
        # credentials, so a session cookie buys nothing.
        self.http.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        adapter = requests.adapters.HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)

    def _count(self, stat: str) -> None:
        with self._stats_lock:
            self.stats[stat] += 1

    def url(self, path_or_url: str) -> str:
        return path_or_url if "://" in path_or_url else urljoin(self.base_url, path_or_url.lstrip("/"))

    def get_json(self, path_or_url: str, **kwargs: Any) -> Any:
        return self.request_json("GET", path_or_url, **kwargs)[0]

    def request_json(self, method: str, path_or_url: str, **kwargs: Any) -> tuple[Any, requests.Response]:
        """:meth:`request`, then the body parsed (:func:`pipelines.common.pages.loads`) with the response.

        A body that is not JSON is asked for again (backoff as for a 5xx, up to ``max_attempts``):
        a body cut off in transit comes whole next time; an HTML page in place of the API does not,
        and the :class:`VendorError` says what came back and which setting to check."""
        # ``attempts_allowed`` (one send for a read that had its retries, or a write) caps these sends too:
        # it was passed to request() alone, and a body that was not JSON was asked for max_attempts times.
        most = kwargs.pop("attempts_allowed", None) or self.policy.max_attempts
        attempts = 0
        while True:
            response = self.request(method, path_or_url, attempts_allowed=most - attempts, **kwargs)
            try:
                return pages.loads(response.content), response
            except ValueError as exc:
                attempts += 1
                where = f"{method} {urlsplit(self.url(path_or_url)).path}"
                if attempts >= most:
                    raise VendorError(
                        f"{self.vendor}: {where} answered {response.status_code} with a body that is not "
                        f"JSON on all {attempts} attempts ({_body_summary(response)}; {exc}). An HTML page "
                        f"means a login page, a proxy or a sleeping instance answers in place of the API: "
                        f"check the {self.vendor} base URL ({origin(self.base_url)}); a body cut off is a network "
                        "fault: retry the sync", response.status_code) from None
                self.backoff(attempts, where, "body is not JSON")

    def request(self, method: str, path_or_url: str, *, attempts_allowed: int | None = None,
                **kwargs: Any) -> requests.Response:
        """Send a request, retrying as the policy says; return a 2xx/3xx response or raise.

        ``attempts_allowed`` caps the sends after a 5xx or no answer (default: the policy's
        ``max_attempts``); 1 for a write the vendor may have carried out although it answered so
        (the caller looks it up before sending again). 429 waits and auth refreshes are not capped by it:
        the vendor did nothing then."""
        url = self.url(path_or_url)
        where = f"{method} {urlsplit(url).path}"
        p = self.policy
        most = attempts_allowed or p.max_attempts
        kwargs.setdefault("timeout", (p.connect_timeout_seconds, p.read_timeout_seconds))
        # Per request: requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a session-level CA path.
        kwargs.setdefault("verify", self.http.verify)
        extra_headers = kwargs.pop("headers", None) or {}
        attempts = throttled = auth_failures = 0
        while True:
            self.throttle.wait()
            headers = {"Accept": "application/json", **extra_headers}
            if _correlation_id and CORRELATION_HEADER not in headers:
                headers[CORRELATION_HEADER] = _correlation_id
            used: dict[str, str] = {}
            if self.auth is not None:
                used = self.auth.auth_header()
                headers.update(used)
            self._count("requests")
            try:
                response = self.http.request(method, url, headers=headers, **kwargs)
            # A body the transfer layer cannot decode (gzip that is not gzip, a chunked body cut off)
            # is no answer either: retried like a dropped connection, then named with what to check.
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ContentDecodingError,
                    requests.exceptions.ChunkedEncodingError) as exc:
                attempts += 1
                if attempts >= most:
                    raise VendorError(
                        f"{self.vendor}: {where} failed after {attempts} attempts: {type(exc).__name__}. "
                        f"Check that the {self.vendor} base URL is reachable{self._hint()}"
                    ) from None
                self.backoff(attempts, where, type(exc).__name__)
                continue
            status = response.status_code
            if status < 400:
                self.throttle.on_success()
                return response
            if status == 429:
                throttled += 1
                self._count("retries_429")
                self.throttle.on_throttled()
                if throttled > p.max_429_retries:
                    raise VendorError(
                        f"{self.vendor}: {where} still rate-limited (429) after {throttled} waits; "
                        "lower the sync concurrency or page size",
                        status,
                    )
                wait = min(p.max_retry_after_seconds, retry_after_seconds(response, 1.0))
                budget = self.rate_budget
                # The wait and the throttle's gap before the next request are both time spent rate-limited.
                if budget is not None and not budget.take(wait + self.throttle.gap):
                    raise RateLimitBudgetSpent(
                        f"{self.vendor}: {where} rate-limited (429) after {throttled} waits, and this run's budget "
                        f"for rate-limit waits ({budget.seconds:.0f} s, {budget.setting}) is spent",
                        status,
                    )
                log.warning("%s: %s rate-limited, waiting %.1fs (Retry-After)", self.vendor, where, wait)
                self._sleep(wait)
                continue
            if status in (401, 403) and self.auth is not None:
                auth_failures += 1
                # A static credential (PAT, API token) has no refresh: say what really happens.
                refreshable = getattr(self.auth, "refreshable", True)
                if auth_failures >= p.max_auth_failures:
                    raise VendorAuthError(
                        f"{self.vendor} returned {status} for {where} "
                        f"{'after a token refresh' if refreshable else 'twice'}: "
                        f"the credentials are refused{self._hint()}",
                        status,
                    )
                self._count("token_refreshes")
                log.warning("%s: %s answered %s, %s", self.vendor, where, status,
                            "refreshing the token" if refreshable else
                            "retrying once with the same static credentials (they cannot be refreshed)")
                self.auth.invalidate(used)
                continue
            if status in RETRYABLE_STATUSES:
                attempts += 1
                self._count("retries_5xx")
                if attempts >= most:
                    # the vendor's own words on the last answer (a record it fails to render names it there)
                    said = _error_detail(response)
                    raise VendorError(
                        f"{self.vendor}: {where} answered {status} on all {attempts} attempts"
                        f"{f' ({said})' if said else ''}; the vendor is failing, retry later",
                        status,
                    )
                self.backoff(attempts, where, str(status))
                continue
            raise VendorError(
                f"{self.vendor}: {where} answered {status}: {_error_detail(response)}", status
            )

    def backoff(self, attempt: int, where: str, why: str) -> None:
        """Sleep before attempt ``attempt + 1``: exponential with jitter, capped by the policy."""
        p = self.policy
        delay = min(p.backoff_max_seconds, p.backoff_base_seconds * 2 ** (attempt - 1))
        delay *= 0.5 + random.random() / 2  # jitter so parallel workers do not retry in lockstep
        log.warning("%s: %s failed (%s), attempt %d/%d, retrying in %.2fs",
                    self.vendor, where, why, attempt, p.max_attempts, delay)
        self._sleep(delay)

    def _hint(self) -> str:
        return f": check {self.config_hint}" if self.config_hint else ""

    def close(self) -> None:
        self.http.close()


def origin(url: str) -> str:
    """Scheme, host and port of ``url``: never a user, password or query a base URL might carry."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"
