"""Every vendor write of reverse sync goes through :meth:`Writes.send`: it sends the run's
correlation id as ``X-Correlation-ID`` and appends one ``audit.events`` row (action ``push``) with
the run id, the operation, the vendor's record id and the HTTP status, whether the write succeeded
or not, committed as soon as the vendor has answered. A create is audited under the id the vendor
gave the new record (read from its answer; ours when the create failed); our id is in ``detail``
either way.

A write the vendor keeps no idempotency key for (a ServiceNow record, a Jira issue or comment, a
OneTrust attachment) goes through :meth:`Writes.once` instead: sent a single time per attempt (the
HTTP client's own retry of a 5xx would send it again, and the vendor may have carried out the first),
and when the answer leaves open whether the vendor did it (5xx, a timeout or dropped connection, a
2xx whose body is not the record: an HTML page, a truncated body, a create without the new id) the
writer looks for the result at the vendor first and adopts it (audited as ``adopt``); only when it is
not there is the write sent again, and only when that look-up is consistent (``resend_when_unseen``: a
ServiceNow Table API read, a OneTrust read by externalId) and the vendor answered (a 5xx of its own): after no
answer at all (a read timeout, a dropped connection) or a gateway's 504 the vendor may still be carrying the write
out, so a look-up that misses it proves nothing yet; the record is dead-lettered, and the next run adopts it or
writes it (:data:`IN_FLIGHT_STATUSES`); so is a 2xx carrying an error body (a gateway's ``{"status": 504, "error":
"Gateway Timeout"}`` passed on as 200: :func:`error_body`), unless the write is ``idempotent``. A look-up
that may lag the write (Jira's JQL search is eventually consistent: a new issue can be missing for seconds to
minutes) proves nothing when it comes back empty, so the record is dead-lettered instead, and the next run's
look-up adopts the record if it exists, else creates it, but not while the unclear create is recent enough for
the search to still be lagging (:meth:`Writes.unsettled_create`; Jira: ``PROJECTX_JIRA_SEARCH_LAG_SECONDS``). A create
is also marked in ``reverse_sync.pending_creates`` before it is sent and unmarked once its outcome is audited, so a
push killed in between leaves a trace the next run holds the record on (:mod:`assets.reverse_sync.unsettled`;
ServiceNow: ``PROJECTX_SERVICENOW_CREATE_SETTLE_SECONDS``). A write the vendor keys by our id (OneTrust's upsert
by externalId: ``idempotent``) cannot be made twice, so after no answer it is looked up and sent again in the run.

Request bodies are not audited (they may carry personal data); the plan table holds the field-level
changes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import requests

from pipelines.common.http import RETRYABLE_STATUSES, VendorError, VendorSession, vendor_text
from resources.audit import CORRELATION_HEADER, new_correlation_id, record_event
from resources.warehouse import Connection

from . import unsettled
from .answers import (  # noqa: F401  (re-exported: callers import them from here)
    NotTaken,
    RecordRefused,
    _body_kind,
    _is_page,
    error_body,
    error_in,
    with_vendor_reason,
)
from .state import SCHEMA

# Answers after which the vendor may still be carrying a write out: none (a timeout, a dropped connection) and a
# gateway's 504 (it stopped waiting, not the vendor working). Other 5xx are the vendor's own answer: it is done.
IN_FLIGHT_STATUSES = frozenset({None, 504})


class Writes:
    def __init__(self, conn: Connection, vendor: str, run_id: str, correlation_id: str | None = None):
        self.conn, self.vendor, self.run_id = conn, vendor, run_id
        self.correlation_id = correlation_id or new_correlation_id()
        self.count = 0
        self.enabled = True
        # Set (to why) by the run lock's heartbeat when the lock is no longer this run's: no new record starts.
        self.lock_lost: str | None = None
        # Held for every use of the connection and the run's shared state: a push writes several
        # records at once (runloop.py), each from its own thread, over this one connection.
        self.lock = threading.RLock()
        # vendor id -> our id, for every vendor record a record of this run was answered with or adopted:
        # links are saved after a record's last write, so two records written at once would not see each
        # other's in external_links (see holder()).
        self.claimed: dict[str, str] = {}
        self.creating = 0  # creates sent and not yet settled (see once(): ``verify``)

    def send(self, session: VendorSession, method: str, path: str, *, operation: str, object_id: str,
             internal_id: str, answer_read: bool = False, **kwargs: Any) -> requests.Response:
        """One write, audited. A 2xx that is an HTML page (a proxy's or sign-in page answering in the API's
        place) raises VendorError naming the base URL: nothing says the vendor carried the write out, so it
        must not be linked as done. ``answer_read``: the caller reads the answer itself (:meth:`once`)."""
        if not self.enabled:
            raise RuntimeError("reverse sync tried to write during a dry run; this is a bug in the writer")
        headers = {CORRELATION_HEADER: self.correlation_id, **(kwargs.pop("headers", None) or {})}
        with self.lock:
            self.count += 1
        answers: list[requests.Response] = []  # the vendor's last answer, for its reason when it refuses
        hooks = dict(kwargs.pop("hooks", None) or {})
        hooks["response"] = [*_listed(hooks.get("response")), lambda r, *a, **k: answers.append(r)]
        try:
            response = session.request(method, path, headers=headers, hooks=hooks, **kwargs)
        except VendorError as exc:
            error = with_vendor_reason(exc, answers[-1] if answers else None)
            self._audit(operation, object_id, internal_id, exc.status or "error", str(error)[:300])
            if error is exc:
                raise
            raise error from None
        if not answer_read and _is_page(response):
            error = VendorError(
                f"{self.vendor}: {method} {path.split('?')[0]} answered {response.status_code} with "
                f"{_body_kind(response)} instead of the API's answer, so whether the write was made is unknown; "
                f"check that the {self.vendor} base URL points at the vendor's REST API, not at a proxy, gateway "
                "or sign-in page", None)
            self._audit(operation, object_id, internal_id, response.status_code, str(error)[:300])
            raise error
        said = None if answer_read else error_body(response)
        if said is not None:  # a 2xx carrying an error (a gateway, a plugin): no proof the write was made
            error = VendorError(
                f"{self.vendor}: {method} {path.split('?')[0]} answered {response.status_code} with an error body "
                f"({vendor_text(said, response, 200)}) instead of its result, so whether the write was made is "
                "unknown; the next push reads the record again and writes what it still lacks", None)
            self._audit(operation, object_id, internal_id, response.status_code, str(error)[:300])
            raise error
        created = created_id(response) if operation.startswith("create") else None
        if created and created != object_id:  # the vendor's new id; what we called it before stays in detail
            self._audit(operation, created, internal_id, response.status_code, None,
                        ref=None if object_id == internal_id else object_id)
        else:
            self._audit(operation, object_id, internal_id, response.status_code, None)
        return response

    def once(self, session: VendorSession, method: str, path: str, *, parse: Callable[[requests.Response], Any],
             find: Callable[[], Any], what: str, operation: str, object_id: str, internal_id: str,
             resend_when_unseen: bool = True, verify: Callable[[Any], bool] | None = None,
             idempotent: bool = False, **kwargs: Any) -> Any:
        """A write that a retry must never duplicate that a retry must never duplicate (see the module docstring).

        ``parse(response)`` returns the result from the vendor's answer (raising ValueError, KeyError or
        TypeError on a body that is not one); ``find()`` returns the same result read back from the vendor,
        or None when the write is not there. ``what`` names the record in the error.

        ``resend_when_unseen``: whether ``find()`` returning None proves the vendor did not carry the write
        out (a consistent read), so that sending it again cannot duplicate it. When False (a search that may
        not show a new record yet), an unclear answer whose write ``find()`` does not see raises
        :class:`VendorError` naming the unknown outcome: the record is dead-lettered and never sent twice in
        the run; the next run looks again and adopts it, or creates it when it truly is absent.

        ``verify(result)``: for a create, whether the record the answer names is this one, read by its id (a
        consistent read). Called only while another create of the run is in flight: two creates answered with
        one id (a vendor bug, a gateway) must not let whichever claims it first keep a record that is not its
        own; the other id of the two is found by ``find()``. A run writing one record at a time reads nothing
        more (an answered id linked to another task is caught by :meth:`holder`).

        ``idempotent``: the vendor keys the write by our id (OneTrust's upsert by ``externalId``), so sending it
        again cannot make a second record: after no answer or a 504 it is looked up and, when not seen, sent
        again in the run (as after a 5xx) instead of dead-lettered. Otherwise a create is marked sent in
        ``reverse_sync.pending_creates`` (committed) before each send and unmarked once its outcome is audited:
        a push killed in between leaves the mark, and the next run holds the record rather than create it
        again while the vendor's look-up may not show it (:mod:`assets.reverse_sync.unsettled`)."""
        if operation == "create":
            with self.lock:
                self.creating += 1
        try:
            return self._once(session, method, path, parse=parse, find=find, what=what, operation=operation,
                              object_id=object_id, internal_id=internal_id, resend_when_unseen=resend_when_unseen,
                              verify=verify, idempotent=idempotent, **kwargs)
        finally:
            if operation == "create":
                with self.lock:
                    self.creating -= 1

    def _once(self, session: VendorSession, method: str, path: str, *, parse: Callable[[requests.Response], Any],
              find: Callable[[], Any], what: str, operation: str, object_id: str, internal_id: str,
              resend_when_unseen: bool, verify: Callable[[Any], bool] | None, idempotent: bool,
              **kwargs: Any) -> Any:
        attempts = 0
        marked = operation == "create" and not idempotent
        while True:
            attempts += 1
            if marked:  # durable before the request leaves: a kill after it is seen by the next run
                with self.committed():
                    unsettled.mark_sent(self.conn, self.vendor, internal_id, self.run_id, self.correlation_id)
            try:
                response = self._send_marked(marked, session, method, path, operation=operation,
                                             object_id=object_id, internal_id=internal_id, **kwargs)
            except VendorError as exc:
                if exc.status is not None and exc.status not in RETRYABLE_STATUSES:
                    raise  # refused (4xx, auth, rate limit after its waits): the vendor wrote nothing
                error, why = exc, str(exc.status or "no answer")
                # No answer (a read timed out, a connection dropped) or a gateway's 504: the vendor may still be
                # carrying the write out, so a look-up that misses it now does not prove it absent.
                in_flight = exc.status in IN_FLIGHT_STATUSES and not idempotent
            else:
                in_flight = False
                said = error_body(response)
                try:
                    if said is not None:  # 2xx with an error: not the result, whatever parse reads
                        raise ValueError("an error body")
                    result = parse(response)
                except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
                    if isinstance(exc, NotTaken) and said is None:  # a record, not the one written: say which
                        error = VendorError(f"{self.vendor}: {method} {path.split('?')[0]} answered "
                                            f"{response.status_code} with {exc}, not the {what} it wrote", None)
                        why = f"{response.status_code} with {exc}"
                    elif said is not None:  # a gateway's 504/502 passed on as 2xx: the vendor may still be writing it
                        error = VendorError(
                            f"{self.vendor}: {method} {path.split('?')[0]} answered {response.status_code} with an "
                            f"error body ({vendor_text(said, response, 200)}) instead of the {what} it wrote, so "
                            "whether the write was made is unknown", None)
                        why = f"{response.status_code} with an error body: {vendor_text(said, response, 120)}"
                        # an unknown outcome, like a timeout: looked up, adopted or dead-lettered, never blindly sent
                        # again (only a write keyed by our id is sent again)
                        in_flight = not idempotent
                        if in_flight:  # audited as in flight, so the next run's settle window holds the create too
                            self._audit(operation, object_id, internal_id, "error", why)  # (send() audited a 2xx)
                    else:
                        error = VendorError(
                            f"{self.vendor}: {method} {path.split('?')[0]} answered {response.status_code} without "
                            f"the {what} it wrote ({_body_kind(response)}); check that the {self.vendor} base URL "
                            "points at the vendor's REST API, not at a proxy, gateway or sign-in page", None)
                        why = f"{response.status_code} with an unreadable body"
                else:
                    with self.lock:
                        others = self.creating > 1
                    if verify is not None and others and not self._verified(verify, result):
                        holder = "another record of this run (read by its id, the record carries another id of ours)"
                    else:
                        holder = self.linked_elsewhere(operation, result, internal_id)
                    if holder is None:
                        return result
                    # Not the record written: linking it would tie two tasks to one vendor record.
                    error = VendorError(
                        f"{self.vendor}: {method} {path.split('?')[0]} answered {response.status_code} with the "
                        f"id of the record linked to {holder}, not the {what} it wrote", None)
                    why = f"{response.status_code} with another record's id"
            found = find()
            if found is not None and operation in ("create", "update") and _first(found):
                self.claim(str(_first(found)), internal_id)  # raises IdConflict when another task holds it
            if found is not None:  # the vendor did carry it out: adopt it, never write it twice
                self._audit("adopt", str(_first(found) or object_id), internal_id, "found", None,
                            ref=f"{operation} answered {why}")
                return found
            if in_flight:  # the vendor may finish it after the look-up: sending again could make it twice
                raise VendorError(
                    f"{self.vendor}: {operation} outcome unknown ({method} {path.split('?')[0]} answered {why}): "
                    f"{self.vendor.capitalize()} may still be carrying it out, so it was not sent again; the next "
                    "run adopts the record if it was made, else writes it", error.status)
            if not resend_when_unseen:  # an empty look-up that may lag the write proves nothing
                raise VendorError(
                    f"{self.vendor}: {operation} outcome unknown ({method} {path.split('?')[0]} answered {why}): "
                    f"{self.vendor.capitalize()}'s search may not show the new record yet, so it was not sent "
                    "again; the next run adopts it if it exists, else creates it once the search has had time to show "
                    "it", error.status)
            if attempts >= session.policy.max_attempts:
                raise error
            session.backoff(attempts, f"{method} {path.split('?')[0]}", why)

    def _send_marked(self, marked: bool, session: VendorSession, method: str, path: str, *, internal_id: str,
                     **kwargs: Any) -> requests.Response:
        """One send of :meth:`_once`; a create's ``pending_creates`` mark is taken off once send() has audited
        its outcome (an answer, or none). A bug or an interrupt inside send() leaves the mark."""
        try:
            response = self.send(session, method, path, internal_id=internal_id, attempts_allowed=1,
                                 answer_read=True, **kwargs)
        except VendorError:
            if marked:
                with self.committed():
                    unsettled.clear(self.conn, self.vendor, internal_id)
            raise
        if marked:
            with self.committed():
                unsettled.clear(self.conn, self.vendor, internal_id)
        return response

    @staticmethod
    def _verified(verify: Callable[[Any], bool], result: Any) -> bool:
        try:
            return bool(verify(result))
        except (VendorError, ValueError, KeyError, TypeError, AttributeError):
            return False  # unreadable: the look-up by our id decides

    def linked_elsewhere(self, operation: str, result: Any, internal_id: str) -> str | None:
        """For a write answered with a record's id (create, OneTrust's upsert): the other internal id
        linked to that vendor id, or answered with it earlier in this run, else None (and the id is then
        this record's for the run). A vendor (or a gateway) answering with the id of a record another task
        holds has not told us which record it wrote."""
        if operation not in ("create", "update") or not _first(result):
            return None
        with self.lock:
            holder = self.holder(str(_first(result)), internal_id)
            if holder is None:
                self.claimed[str(_first(result))] = internal_id
            return holder

    def holder(self, vendor_id: str, internal_id: str) -> str | None:
        """The other internal id that holds ``vendor_id``: linked to it in ``external_links`` (any status),
        or answered with it or adopting it in this run (:attr:`claimed`); None when it is free or ours."""
        with self.lock:
            claimed = self.claimed.get(vendor_id)
            if claimed is not None and claimed != internal_id:
                return claimed
            with self.committed():  # a read, as its own unit: PostgreSQL keeps no transaction open after it
                return self.conn.scalar(
                    f"select internal_id from {SCHEMA}.external_links where vendor = %s and vendor_id = %s "
                    "and internal_id <> %s limit 1", (self.vendor, vendor_id, internal_id))

    def claim(self, vendor_id: str, internal_id: str) -> None:
        """Make ``vendor_id`` this record's for the run, or raise :class:`IdConflict` naming the task that
        holds it: two of our tasks are never linked to one vendor record."""
        with self.lock:
            holder = self.holder(vendor_id, internal_id)
            if holder is not None:
                raise IdConflict(self.vendor, vendor_id, internal_id, holder)
            self.claimed[vendor_id] = internal_id

    def unsettled_create(self, internal_id: str, within_seconds: float, in_flight_only: bool = False) -> Any:
        """When a create this vendor was sent for ``internal_id`` in the last ``within_seconds`` (any run) may
        have made a record not linked to it: its time, else None (:func:`unsettled.unsettled_create`: killed
        mid-send, no answer or a 504, and unless ``in_flight_only`` a 5xx or another record's id). For a vendor
        whose look-up may not show the record yet: until it can be trusted, creating again could make a
        second record."""
        with self.lock, self.committed():
            return unsettled.unsettled_create(self.conn, self.vendor, internal_id, within_seconds, in_flight_only)

    def _audit(self, operation: str, object_id: str, internal_id: str, status: Any, error: str | None,
               ref: str | None = None) -> None:
        detail = {"internal_id": internal_id, **({"ref": ref} if ref else {}), **({"error": error} if error else {})}
        # Committed now, with the write's outcome, not with the record's link at the end of the record:
        # a push killed in between leaves the write audited (the next run adopts the record). DuckDB
        # commits each statement anyway; on PostgreSQL this is what keeps the row.
        with self.committed():
            record_event(self.conn, action="push", system=self.vendor, correlation_id=self.correlation_id,
                         operation=operation, object_id=object_id, status=status, run_id=self.run_id,
                         detail=detail)

    @contextmanager
    def committed(self) -> Iterator[None]:
        """One unit of the run's database writes: under the run's lock, committed at the end, rolled back
        on an error before the lock is released, so another record's thread neither commits half of it
        nor finds the transaction aborted (PostgreSQL refuses every statement after an error)."""
        with self.lock:
            try:
                yield
                self.conn.raw.commit()
            except BaseException:
                with suppress(Exception):  # DuckDB refuses a rollback with no transaction open: keep the error
                    self.conn.raw.rollback()
                raise


class IdConflict(VendorError):
    """The vendor answered (or a look-up found) for one of our tasks the id of a record another task holds.
    About that record, not the vendor's health: status 409, so the breaker counts nothing."""

    def __init__(self, vendor: str, vendor_id: str, internal_id: str, holder: str):
        super().__init__(
            f"{vendor}: the {vendor} record {vendor_id} is already linked to {holder} (reverse_sync.external_links, "
            f"or earlier in this run), so {internal_id} was not linked to it and nothing more was written for it: "
            f"{vendor} gave one id for two of our records (a vendor bug, a gateway replaying an answer, or our id "
            f"copied onto another record there). Check at {vendor} which task record {vendor_id} belongs to (its "
            "Project X id) and fix it there, or delete the wrong row of reverse_sync.external_links; the next run "
            f"links {internal_id} to its own record, or creates it", 409)
        self.vendor_id, self.holder = vendor_id, holder


def created_id(response: requests.Response) -> str | None:
    """The id a vendor gave the record a create made: ServiceNow ``result.sys_id``, else ``id``."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("result"), dict):
        body = body["result"]
    found = body.get("sys_id") or body.get("id")
    return str(found) if found not in (None, "") else None


def _first(found: Any) -> Any:
    return found[0] if isinstance(found, tuple) else found if isinstance(found, str) else None


def _listed(hook: Any) -> list[Any]:
    return [] if hook is None else list(hook) if isinstance(hook, list | tuple) else [hook]
