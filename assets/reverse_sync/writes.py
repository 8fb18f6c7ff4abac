"""Every vendor write of reverse sync goes through :meth:`Writes.send`: it sends the run's
correlation id as ``X-Correlation-ID`` and appends one ``audit.events`` row (action ``push``) with
the run id, the operation, the vendor's record id and the HTTP status, whether the write succeeded
or not, committed as soon as the vendor has answered. A create is audited under the id the vendor
gave the new record (read from its answer; ours when the create failed); our id is in ``detail``
either way. Request bodies are not audited (they may carry personal data); the plan table holds the
field-level changes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import requests

from pipelines.common.http import VendorError, VendorSession
from resources.audit import CORRELATION_HEADER, new_correlation_id, record_event
from resources.warehouse import Connection


class Writes:
    def __init__(self, conn: Connection, vendor: str, run_id: str, correlation_id: str | None = None):
        self.conn, self.vendor, self.run_id = conn, vendor, run_id
        self.correlation_id = correlation_id or new_correlation_id()
        self.count = 0
        self.enabled = True
        # Held for every use of the connection and the run's shared state: a push writes several
        # records at once (runloop.py), each from its own thread, over this one connection.
        self.lock = threading.RLock()

    def send(self, session: VendorSession, method: str, path: str, *, operation: str, object_id: str,
             internal_id: str, **kwargs: Any) -> requests.Response:
        if not self.enabled:
            raise RuntimeError("reverse sync tried to write during a dry run; this is a bug in the writer")
        headers = {CORRELATION_HEADER: self.correlation_id, **(kwargs.pop("headers", None) or {})}
        with self.lock:
            self.count += 1
        try:
            response = session.request(method, path, headers=headers, **kwargs)
        except VendorError as exc:
            self._audit(operation, object_id, internal_id, exc.status or "error", str(exc)[:300])
            raise
        created = created_id(response) if operation.startswith("create") else None
        if created and created != object_id:  # the vendor's new id; what we called it before stays in detail
            self._audit(operation, created, internal_id, response.status_code, None,
                        ref=None if object_id == internal_id else object_id)
        else:
            self._audit(operation, object_id, internal_id, response.status_code, None)
        return response

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
