"""A window run (a Dagster time partition re-read) that set records aside fails at its end, naming them.

Why: the live sync keeps a record the vendor fails to serve in the re-read ledger (:mod:`pipelines.common.requeue`)
and reads it again every run until it loads. A window run has no ledger (it leaves the live state alone): the
record was quarantined, never read again, and the partition reported success, so nothing retried it.

How: the window resources note what they set aside (:class:`SetAside`) and, after yielding everything else, raise
:class:`SetAsideError` naming the ids (or listing positions) and how to retry. [unc] dlt discards the extract of a
resource that raises, so the window's other records load with the retry, not with the failed run: nothing is
lost, the partition fails and is retried (rerun the partition once the vendor serves the records).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from pipelines.common.http import VendorError

log = logging.getLogger(__name__)
_REPORT = threading.Event()  # set while the nightly heal re-reads windows (:func:`reported`)

SHOWN = 20  # ids named in the error; the rest counted


@contextlib.contextmanager
def reported() -> Iterator[None]:
    """Window runs inside report rather than raise what they set aside: the nightly reconciliation's heal, whose
    census counts a record never loaded as missing every night and so re-reads its window each night (a raise had
    aborted that vendor's whole heal, every night, for one record the vendor cannot serve). Their quarantine rows
    are kept (the extract is not discarded) and the rest of the window loads."""
    _REPORT.set()
    try:
        yield
    finally:
        _REPORT.clear()


class SetAsideError(VendorError):
    """A window run set records aside that no later run would read again."""


class SetAside:
    """The records one window resource set aside because the vendor failed to serve them."""

    def __init__(self, vendor: str, table: str):
        self.vendor, self.table, self.ids = vendor, table, []

    def add(self, *ids: object) -> None:
        self.ids.extend(str(i) for i in ids)

    def check(self) -> None:
        """Raise :class:`SetAsideError` if anything was set aside (call after yielding the rest)."""
        if not self.ids:
            return
        shown = ", ".join(self.ids[:SHOWN]) + (f" and {len(self.ids) - SHOWN} more" if len(self.ids) > SHOWN else "")
        if _REPORT.is_set():
            log.warning("%s: the heal's window re-read set %d %s record(s) aside that %s failed to serve (%s); they "
                        "are quarantined with the reason, the rest of the window loaded, and the next night's "
                        "census finds them missing and reads them again", self.vendor, len(self.ids), self.table,
                        self.vendor, shown)
            return
        raise SetAsideError(
            f"{self.vendor}: this window re-read set {len(self.ids)} {self.table} record(s) aside that "
            f"{self.vendor} failed to serve ({shown}); a window run reads nothing again by itself, so it fails and "
            "nothing of this window was loaded (a failed extract is discarded): rerun this partition once the "
            "vendor serves them (the live sync reads them again on its own)")
