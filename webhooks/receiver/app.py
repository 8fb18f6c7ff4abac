"""``Receiver``: the request pipeline shared by every endpoint.

Order, cheapest and safest first: size (413; 411 with no length at all) and a body sent too slowly (408)
→ content type (400)
→ signature and timestamp window (401) → the sender's budgets of verified deliveries and their bytes (429
with Retry-After; nothing written) → only now is the body parsed (strict RFC 8259 JSON):
unparseable (400), contract (400) or no delivery id (400) sends the signed body to quarantine, kept
as evidence → the delivery is committed to the inbox (fsync'd) and only then answered 200; a
redelivery of a stored id with the same body is answered 200 and stores nothing; the stored id with
another body is answered 409 and that body goes to quarantine; on ServiceNow and Jira, whose delivery id
is not signed, a signed message already accepted under another id within the replay window is a
replay, answered 401 like a stale timestamp (the other replay defence) and stored nowhere but in
``webhook_rejections``; a Jira body whose signed ``timestamp`` is older than that window less 15 minutes
(its digest about to be forgotten) is refused the same way, as ``stale_timestamp``, and one dated more
than 15 minutes ahead of our clock is quarantined. Answers to rejected requests say only
"unauthorized", "bad request", "payload too large" or how to fix a timeout or conflict; the reason
goes to the counters and, bounded per minute, to ``webhook_rejections`` (source address, endpoint,
reason and the first 256 bytes of the body, never more). A request refused before its signature
verified (or a replay) spends its sender's small failure budget; past it the answer is 429 and no
row is written (``webhooks.receiver.limits``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from webhooks import contracts
from webhooks.inbox import InboxWriter
from webhooks.inbox.writer import CONFLICT, REPLAY
from webhooks.receiver.endpoints import ENDPOINTS, MAX_ID, Endpoint, MissingDeliveryId, is_clean_text
from webhooks.receiver.limits import LIMIT_OF, SenderLimits, client_address, retry_after, sender_key
from webhooks.receiver.metrics import ACCEPTED, DUPLICATES, FAILURES, LATENCY, RATE_LIMITED
from webhooks.settings import SECRET_ENV, VAULT_KEYS, WebhookSettings, load_secrets, secret_problems
from webhooks.slack.interactions import interaction_answer

log = logging.getLogger(__name__)
PREFIX_BYTES = 256
COMMIT_TIMEOUT = 10.0  # seconds a request waits for the inbox commit before answering 503 (the sender retries)
ANSWERS = {400: "bad request", 401: "unauthorized", 408: "request timeout: the body came too slowly; send it "
             "at once", 409: "conflict: this delivery id was already accepted with a different body; "
             "send a new body under a new delivery id", 413: "payload too large",
           411: "length required: send the body with a Content-Length (or chunked)",
           429: "too many requests: send again after Retry-After seconds",
           503: "try again later: the delivery may not have been stored; sending it again after Retry-After seconds "
                "is safe"}
PRE_VERIFY_400 = ("content_type", "content_length", "transfer_encoding", "disconnected", "length_required",
                  "repeated_header")
# refusals before verification kept as rejection rows
RECORDED_400 = ("content_type", "transfer_encoding", "repeated_header")
MAX_STORED_LENGTH = 2**63 - 1  # a declared Content-Length kept in webhook_rejections (SQLite INTEGER, bigint)
MAX_PREVIOUS_SECRETS = 5  # replaced secrets per endpoint still verifying within the grace period (newest kept)
# Headers that sign a delivery or name it: sent twice, which one counts is a parser's choice (a proxy
# may check one, we another), so a request carrying any of them twice is refused, never guessed at.
SINGLE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature", "x-servicenow-signature",
                  "x-servicenow-timestamp", "x-servicenow-delivery", "x-hub-signature",
                  "x-atlassian-webhook-identifier", "x-slack-signature", "x-slack-request-timestamp",
                  "content-type")
SIGNED_AHEAD_SECONDS = 900.0  # a sender clock ahead of ours by up to this is not a stale or future body
# Retry-After of a 503 for a delivery the inbox could not commit (disk full, database locked past COMMIT_TIMEOUT or
# down): it went without one, so a sender that honours the header had no hint and one that needs it (a proxy's
# retry policy) did not retry. Vendors' own schedules may ignore it [unc].
INBOX_RETRY_SECONDS = 5


class Reject(Exception):
    def __init__(self, status: int, reason: str, wait: float = 0.0) -> None:
        super().__init__(reason)
        self.status, self.reason, self.wait = status, reason, wait

    @property
    def failed(self) -> bool:
        """Refused before its signature verified, or a replay: spends the sender's failure budget."""
        return self.status in (401, 408, 413) or self.reason in PRE_VERIFY_400


class _Reading:
    """A body being read; ``cut()`` ends its read now, as too slow (the in-flight limit makes room with it:
    ``webhooks.receiver.limits.InFlight``). Called on the event loop."""

    def __init__(self) -> None:
        self.deadline: asyncio.Timeout | None = None
        self.was_cut = False

    def cut(self) -> None:
        self.was_cut = True
        if self.deadline is not None:
            with contextlib.suppress(RuntimeError):  # the read has just ended: nothing to cut
                self.deadline.reschedule(asyncio.get_running_loop().time())


class Receiver:
    """Routes and state of the receiver; the inbox writer opens on first use and closes with the app."""

    def __init__(self, settings: WebhookSettings, clock: Callable[[], float] = time.time) -> None:
        # the endpoint secrets are read here: in stg/prod a missing one stops the start-up. Read by the
        # receiver itself (not given), they are read again every secret_refresh_seconds (refresh_secrets).
        self._refreshable = settings.secrets is None
        self.settings, self.clock = settings.resolved(), clock
        self._secrets: dict[str, str | None] = dict(self.settings.secrets)
        # endpoint -> [(replaced secret, accepted until)], newest last: every secret replaced within the grace
        # period still verifies (A -> B, then B -> C to fix a typo: a delivery signed with A is not lost)
        self._previous: dict[str, list[tuple[str, float]]] = {}
        self._stop_refresh = threading.Event()
        self._refresher: threading.Thread | None = None
        self._writer: InboxWriter | None = None
        self._minute, self._recorded = 0, 0
        self.limits = SenderLimits(self.settings)
        for name, env in SECRET_ENV.items():
            if not self._secrets.get(name):
                log.warning("%s (Vault key %s) is not set: the %s webhook endpoint rejects every request until "
                            "it is.", env, VAULT_KEYS[name], name)

    @property
    def writer(self) -> InboxWriter:
        if self._writer is None:
            self._writer = InboxWriter(self.settings)
        return self._writer

    def start(self) -> None:
        _ = self.writer
        interval = self.settings.secret_refresh_seconds
        if self._refreshable and interval > 0 and self._refresher is None:
            self._stop_refresh.clear()
            self._refresher = threading.Thread(target=self._refresh_loop, args=(interval,),
                                               name="webhook-secret-refresh", daemon=True)
            self._refresher.start()

    def _refresh_loop(self, interval: float) -> None:
        while not self._stop_refresh.wait(interval):
            try:
                self.refresh_secrets()
            except Exception as exc:  # Vault down or refusing: keep verifying with the secrets we have
                log.warning("could not re-read the webhook secrets (%s); the current ones stay in use",
                            type(exc).__name__)

    def refresh_secrets(self, fresh: dict[str, str | None] | None = None) -> list[str]:
        """Take rotated endpoint secrets (``fresh``, default: read them again as at start-up); returns the
        endpoints whose secret changed. The replaced secret still verifies for ``secret_grace_seconds``;
        a key that disappeared keeps its last value (a half-written Vault secret must not close an endpoint)."""
        fresh = load_secrets() if fresh is None else fresh
        for name, problem in secret_problems(fresh).items():  # a malformed new key must not replace a good one
            log.warning("not taking the rotated webhook secret: %s; the current one stays in use", problem)
            fresh = {**fresh, name: None}
        now, grace = self.clock(), self.settings.secret_grace_seconds
        current, changed = dict(self._secrets), []
        for name, value in fresh.items():
            old = current.get(name)
            if value and value != old:
                if old:
                    kept = [(v, until) for v, until in self._previous.get(name, []) if until > now and v != value]
                    self._previous[name] = [*kept, (old, now + grace)][-MAX_PREVIOUS_SECRETS:]
                current[name] = value
                changed.append(name)
        if changed:
            self._secrets = current
            log.info("webhook secrets rotated for %s; the previous ones verify for %.0f s more",
                     ", ".join(sorted(changed)), grace)
        return changed

    def _candidates(self, name: str) -> list[str]:
        now = self.clock()
        out = [self._secrets.get(name), *(v for v, until in reversed(self._previous.get(name, [])) if until > now)]
        return [s for s in out if s]

    def close(self) -> None:
        self._stop_refresh.set()
        if self._refresher is not None:
            self._refresher.join(5)
            self._refresher = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def routes(self) -> list[Route]:
        def bind(ep: Endpoint):
            async def endpoint(request: Request) -> Response:
                return await self.handle(ep, request)
            return endpoint

        # "<path>/" is a 404, not a redirect: the app turns Starlette's redirect_slashes off (webhooks/app.py)
        return [*(Route(ep.path, bind(ep), methods=["POST"], name=f"webhook_{ep.name}") for ep in ENDPOINTS),
                Route("/healthz", self.healthz, methods=["GET"], name="healthz")]

    async def healthz(self, request: Request) -> Response:
        if self._writer is not None and not self._writer.alive:  # every delivery would be a 503: take it out
            return JSONResponse({"status": "the inbox writer has stopped (see the log): restart the receiver",
                                 "inbox": self.settings.inbox_kind}, 503)
        return JSONResponse({"status": "ok", "inbox": self.settings.inbox_kind})

    async def handle(self, ep: Endpoint, request: Request) -> Response:
        address = client_address(request.client.host if request.client else None,
                                 ",".join(request.headers.getlist("x-forwarded-for")) or None,
                                 self.settings.trusted_proxies)
        sender = (ep.name, sender_key(address))
        body = b""
        reading = _Reading()
        cut = reading.cut  # one callable: it names this body in the in-flight count
        over = self.limits.in_flight.enter(sender[1], cut)
        if over:  # nothing of the body read: the connection closes
            RATE_LIMITED.labels(ep.name, "in_flight").inc()
            status, cap = (429, self.settings.max_in_flight_per_sender) if over == "sender" else \
                (503, self.settings.max_in_flight)
            message = (f"too many bodies arriving at once from your address (over {cap}): send fewer in parallel"
                        if over == "sender" else "try again later: the receiver is reading too many bodies at once")
            return JSONResponse({"error": message}, status, headers={"retry-after": "1", "connection": "close"})
        try:
            try:
                body = await self._read(request, reading)
            finally:  # a body read (or refused) is no longer in flight: commits waiting do not count
                self.limits.in_flight.leave(sender[1], cut)
            response = await self._accept(ep, request, body, sender)
        except Reject as rejected:
            FAILURES.labels(ep.name, rejected.reason).inc()
            if rejected.failed:
                wait = self.limits.failures.take(sender)
                if wait:  # over the failure budget: no row, and the connection closes
                    RATE_LIMITED.labels(ep.name, "failures").inc()
                    return JSONResponse({"error": ANSWERS[429]}, 429,
                                        headers={"retry-after": retry_after(wait), "connection": "close"})
            if rejected.status == 429:
                RATE_LIMITED.labels(ep.name, LIMIT_OF[rejected.reason]).inc()
                return JSONResponse({"error": ANSWERS[429]}, 429, headers={"retry-after": retry_after(rejected.wait)})
            if rejected.status in (401, 408, 413) or rejected.reason in RECORDED_400:
                self._record_rejection(ep, request, address, rejected.reason, body)
            # 408/413 (and a transfer coding we do not take) answer before the body is all read: close the
            # connection rather than parse its rest
            answer = {"connection": "close"} if rejected.status in (408, 411, 413) or \
                rejected.reason == "transfer_encoding" else {}
            if rejected.status == 503:  # nothing was stored: the sender must send it again
                answer["retry-after"] = retry_after(INBOX_RETRY_SECONDS)
            return JSONResponse({"error": ANSWERS[rejected.status]}, rejected.status, headers=answer or None)
        return response

    async def _read(self, request: Request, reading: _Reading | None = None) -> bytes:
        limit = self.settings.max_body_bytes
        # chunked is the one transfer coding taken: uvicorn de-chunks "gzip, chunked" and ignores the gzip,
        # so the bytes read would not be the ones a proxy honouring the coding saw (RFC 9112 6.1)
        codings = ",".join(request.headers.getlist("transfer-encoding"))
        if codings and [c.strip().lower() for c in codings.split(",")] != ["chunked"]:
            raise Reject(400, "transfer_encoding")
        # Transfer-Encoding beside Content-Length, or on HTTP/1.0, never gets here: both protocols refuse it for
        # every path before any route (webhooks.receiver.h11_protocol, server.BoundedHttpToolsProtocol).
        declared = request.headers.get("content-length")
        if declared is None and not codings:
            # no framing at all (an HTTP/1.0 client): the body is taken as empty and its bytes as the next
            # request on the connection; a delivery then failed as "unauthorized", a wrong lead
            raise Reject(411, "length_required")
        if declared is not None and not _is_length(declared):
            raise Reject(400, "content_length")
        if declared is not None and int(declared) > limit:
            raise Reject(413, "oversize")
        chunks, size = [], 0
        try:  # a sender trickling its body holds a connection and a task: bounded by body_timeout_seconds
            async with asyncio.timeout(self.settings.body_timeout_seconds) as deadline:
                if reading is not None:
                    reading.deadline = deadline
                    if reading.was_cut:
                        raise TimeoutError
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise Reject(413, "oversize")
                    chunks.append(chunk)
        except ClientDisconnect:
            raise Reject(400, "disconnected") from None
        except TimeoutError:
            raise Reject(408, "slow_body_cut" if reading is not None and reading.was_cut else "slow_body") from None
        return b"".join(chunks)

    async def _accept(self, ep: Endpoint, request: Request, body: bytes, sender: tuple[str, str]) -> Response:
        started = time.perf_counter()
        headers = request.headers
        if any(len(headers.getlist(name)) > 1 for name in SINGLE_HEADERS):
            raise Reject(400, "repeated_header")
        if headers.get("content-type", "").split(";")[0].strip().lower() != ep.content_type:
            raise Reject(400, "content_type")
        secrets = self._candidates(ep.secret)
        if not secrets:
            raise Reject(401, "not_configured")
        reason = None
        for secret in secrets:  # the current secret, then the replaced one within its grace period
            reason = ep.verify(secret, body, headers, self.clock(), self.settings.tolerance_seconds)
            if not reason:
                break
        if reason:
            raise Reject(401, reason)
        over = self.limits.take_delivery(sender, len(body))  # verified: its count and its bytes, or neither
        if over:
            raise Reject(429, *over)
        # Signed from here on: whatever is wrong with the payload is kept as evidence, not dropped.
        coding = ",".join(headers.getlist("content-encoding")).strip().lower()
        if coding and coding != "identity":  # never inflated (no bomb), and not parsed as if it were JSON
            await self._quarantine(ep, headers, body, None, f"Content-Encoding {coding[:40]!a}: the receiver takes "
                                   "uncompressed bodies only; send the body without Content-Encoding")
            raise Reject(400, "content_encoding")
        try:
            payload = ep.parse(body)
        except (ValueError, UnicodeDecodeError) as exc:
            await self._quarantine(ep, headers, body, None, f"malformed: {type(exc).__name__}: {str(exc)[:200]}")
            raise Reject(400, "malformed") from None
        problem = contracts.validate(ep.contract, payload)
        if not problem and ep.name == "slack_events" and payload.get("type") == "url_verification":
            return JSONResponse({"challenge": payload["challenge"]})
        if problem:
            await self._quarantine(ep, headers, body, None, problem)
            raise Reject(400, "contract")
        if ep.signed_at is not None:
            await self._check_signed_time(ep, headers, body, ep.signed_at(payload))
        try:
            delivery_id = ep.delivery_id(payload, headers, body)
            if not delivery_id or len(delivery_id) > MAX_ID or not is_clean_text(delivery_id):
                # one bound for every endpoint's id, however derived
                raise MissingDeliveryId(f"the delivery id is empty, longer than {MAX_ID} characters or holds "
                                        "control characters")
        except MissingDeliveryId as exc:
            await self._quarantine(ep, headers, body, None, str(exc))
            raise Reject(400, "missing_delivery_id") from None
        event_type = ep.event_type(payload)
        if not is_clean_text(event_type) or len(event_type) > MAX_ID:
            await self._quarantine(ep, headers, body, None, f"the event type {event_type[:100]!a} holds control "
                                   f"characters or is longer than {MAX_ID} characters")
            raise Reject(400, "contract")
        digest = hashlib.sha256(ep.signed_message(body, headers)).hexdigest() if ep.signed_message else None
        try:
            new = await asyncio.wait_for(asyncio.wrap_future(self.writer.add_event(
                ep.source, delivery_id, event_type, body.decode("utf-8"), time.time(), digest,
                self.settings.replay_window_seconds, bool(ep.same_event_per_id and ep.same_event_per_id(payload)))),
                COMMIT_TIMEOUT)
        except Exception:
            raise Reject(503, "inbox_unavailable") from None
        if new == REPLAY:
            raise Reject(401, "replayed_body")
        if new == CONFLICT:  # the other body is in quarantine (same transaction), so it is not lost
            raise Reject(409, "conflicting_body")
        (ACCEPTED if new else DUPLICATES).labels(ep.name).inc()
        LATENCY.labels(ep.name).observe(time.perf_counter() - started)
        if ep.name == "slack_interactions":  # every type acknowledged; the unhandled ones counted
            return interaction_answer(payload, bool(new))
        return PlainTextResponse("accepted" if new else "duplicate", 200)

    async def _check_signed_time(self, ep: Endpoint, headers, body: bytes, signed_at: float) -> None:
        """A body dated by its own signed time (Jira). Its digest is forgotten ``replay_window_seconds``
        after it arrived, so a copy must be refused by its date before then: stale (401, like a replay)
        when older than the window less ``SIGNED_AHEAD_SECONDS``; dated further ahead of our clock than
        that, it would still be fresh when its digest is gone (a body dated a day ahead was), so it is
        kept in quarantine (the sender signed it) and not accepted."""
        ahead = min(SIGNED_AHEAD_SECONDS, self.settings.replay_window_seconds / 4)
        age = self.clock() - signed_at
        if age > self.settings.replay_window_seconds - ahead:
            raise Reject(401, "stale_timestamp")
        if age < -ahead:
            await self._quarantine(ep, headers, body, None, f"the signed timestamp is {-age:.0f} s ahead of the "
                                   f"receiver's clock (over {ahead:.0f} s): a copy would outlive its replay digest")
            raise Reject(400, "contract")

    async def _quarantine(self, ep: Endpoint, headers, body: bytes, delivery_id: str | None, reason: str) -> None:
        ident = delivery_id or f"sha256:{hashlib.sha256(body).hexdigest()}"
        try:
            await asyncio.wait_for(asyncio.wrap_future(self.writer.add_quarantine(
                ep.source, ident, None, reason, base64.b64encode(body).decode(), time.time())), COMMIT_TIMEOUT)
        except Exception:
            raise Reject(503, "inbox_unavailable") from None

    def _record_rejection(self, ep: Endpoint, request: Request, address: str | None, reason: str,
                          body: bytes) -> None:
        """Keep evidence for the security alert, at most ``rejections_per_minute`` rows a minute."""
        minute = int(time.time() // 60)
        if minute != self._minute:
            self._minute, self._recorded = minute, 0
        if self._recorded >= self.settings.rejections_per_minute:
            return
        self._recorded += 1
        declared = request.headers.get("content-length")
        # at most the largest 64-bit integer: the parser takes a length up to 2**64 - 1, and a larger one made the
        # row fail to commit (OverflowError: a false "could not commit" inbox error logged on a stranger's request)
        self.writer.add_rejection(time.time(), ep.name, address, reason,
                                  min(int(declared), MAX_STORED_LENGTH) if declared and _is_length(declared)
                                  else len(body),
                                  base64.b64encode(body[:PREFIX_BYTES]).decode())


def _is_length(value: str) -> bool:
    """A Content-Length ``int`` can read: ASCII digits only (headers decode as latin-1, where "\xb2" is "²", a
    digit to ``str.isdigit`` but not to ``int``; both parsers refuse it first, this is the second line), and
    not more of them than ``int`` converts."""
    return value.isascii() and value.isdigit() and len(value) <= 4000
