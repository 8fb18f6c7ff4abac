"""Small, fully listed objects: ``projects``, ``boards`` and ``sprints``, merged on ``id``.

Grain: one row per project in scope, per board of those projects, per sprint of those (scrum)
boards. Jira has no change feed for them, so each run lists them all, but only rows whose content
changed since the last load move (a content hash per id is kept in resource state), and ids that
vanished from a complete listing are marked in ``deletions`` (``detected_by = 'reconciliation'``).
Sites without Jira Software (no Agile API) simply get no boards or sprints.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import dlt
from dlt.sources import DltResource

from pipelines.common.deletions import deletion_rows
from pipelines.common.http import VendorError
from pipelines.jira import flatten
from pipelines.jira.context import JiraContext
from pipelines.jira.schemas import checked
from pipelines.jira.settings import BOARD_PATH, BOARD_SPRINTS_PATH, DEFAULT_CONCURRENCY, META_PAGE_SIZE

log = logging.getLogger(__name__)


class Snapshot:
    """Content hash of the last loaded version of every object of one resource (kept in its state)."""

    def __init__(self, state: dict):
        self._state = state
        self.old: dict[str, str] = dict(state.get("hashes", {}))
        self.new: dict[str, str] = {}

    def changed(self, row: dict[str, Any]) -> bool:
        digest = hashlib.sha256(json.dumps(row, sort_keys=True, default=str).encode()).hexdigest()[:32]
        self.new[row["id"]] = digest
        return self.old.get(row["id"]) != digest

    def keep(self, ids: list[str]) -> None:
        """Objects seen but not loaded (quarantined, out of scope): not gone, remember nothing new."""
        for rid in ids:
            if rid in self.old:
                self.new.setdefault(rid, self.old[rid])

    def gone(self) -> list[str]:
        return sorted(set(self.old) - set(self.new))

    def commit(self) -> None:
        self._state["hashes"] = self.new


Listing = Callable[[], tuple[list[dict], list[dict], bool]]


def _listing(entity: str, to_row: Callable[[dict], dict], list_rows: Listing, run_id: str) -> Iterator[Any]:
    """Load changed rows of a full listing; mark ids missing from a *complete* listing deleted.

    ``list_rows`` answers (objects to load, other objects seen that are not gone, complete?).
    """
    snap = Snapshot(dlt.current.resource_state())
    raw, others_seen, complete = list_rows()
    rows = [to_row(r) for r in raw]
    valid, rejected = checked(entity, rows, run_id, raw=raw)
    yield from rejected
    changed = [r for r in valid if snap.changed(r)]
    if changed:
        yield changed
    snap.keep([str(r.get("id")) for r in others_seen if r.get("id") is not None])
    snap.keep([str(r.get("id")) for r in rows if r.get("id") is not None])
    if complete:
        item = deletion_rows(entity, snap.gone(), detected_by="reconciliation", run_id=run_id)
        if item is not None:
            yield item
        snap.commit()
    else:  # a partial listing proves nothing about deletes; keep what we knew
        snap.new = {**snap.old, **snap.new}
        snap.commit()


def catalog_resources(ctx: JiraContext, run_id: str, concurrency: int = DEFAULT_CONCURRENCY) -> list[DltResource]:
    """``concurrency``: requests in flight at once. Each run lists every object, and each list waits on
    Jira (at 300 ms a response, 1.5 s of a 10.5-s sync went listing one board's sprints after the
    other): the board list is read while projects are, and the sprints of ``concurrency`` boards at once."""
    workers = max(1, int(concurrency or 1))
    boards_cache: list[tuple[list[dict], bool]] = []
    boards_ahead: list[Future] = []

    def read_boards() -> list[dict] | None:
        """Every board the account sees; None when the site has no Agile API (404)."""
        try:
            return [b for page in ctx.client().paged_values(BOARD_PATH, "values", META_PAGE_SIZE) for b in page]
        except VendorError as exc:
            if exc.status != 404:
                raise
            return None

    def boards_meanwhile() -> None:
        """Start reading the board list (it depends on nothing) while the projects are listed."""
        if workers > 1 and not boards_cache and not boards_ahead:
            ctx.client()  # connect in this thread: the context's lazy client is not built twice
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jira-boards")
            boards_ahead.append(pool.submit(read_boards))
            pool.shutdown(wait=False)  # the thread ends with its one read

    def list_boards() -> tuple[list[dict], bool]:
        """Boards of the projects in scope, and whether the listing is complete."""
        if not boards_cache:
            scope = set(ctx.scope())
            found = boards_ahead.pop().result() if boards_ahead else read_boards()
            complete = found is not None and not ctx.left_out  # a project left out: its boards are not gone
            if found is None:
                log.warning("Jira: the Agile API is not available on this site (404); no boards or sprints")
            mine = [b for b in found or [] if (b.get("location") or {}).get("projectKey") in scope]
            boards_cache.append((mine, complete))
        return boards_cache[0]

    def project_listing() -> tuple[list[dict], list[dict], bool]:
        boards_meanwhile()
        scope = set(ctx.scope())
        visible = ctx.projects()
        return [p for p in visible if p.get("key") in scope], visible, True

    def board_listing() -> tuple[list[dict], list[dict], bool]:
        boards, complete = list_boards()
        return boards, [], complete

    def board_sprints(board_id: Any) -> list[dict] | VendorError:
        """Every sprint of one board, or the error that ended the listing (runs in the pool)."""
        try:
            path = BOARD_SPRINTS_PATH.format(board_id=board_id)
            return [s for page in ctx.client().paged_values(path, "values", META_PAGE_SIZE) for s in page]
        except VendorError as exc:
            return exc

    def sprint_listing() -> tuple[list[dict], list[dict], bool]:
        boards, complete = list_boards()
        scrum = [b for b in boards if b.get("type") == "scrum"]
        sprints: dict[str, dict] = {}
        if not scrum:
            return [], [], complete
        # Read side by side, merged in board order as before (a sprint on two boards: the later board's).
        with ThreadPoolExecutor(max_workers=min(workers, len(scrum)), thread_name_prefix="jira-sprints") as pool:
            listed = list(pool.map(board_sprints, [b["id"] for b in scrum]))
        for board, found in zip(scrum, listed, strict=True):
            if isinstance(found, VendorError):
                if found.status not in (400, 404):
                    raise found
                log.warning("Jira: sprints of board %s not listed (%s)", board.get("id"), found.status)
                complete = False
                continue
            sprints.update({str(s.get("id")): s for s in found})
        return list(sprints.values()), [], complete

    def resource(entity: str, to_row: Callable[[dict], dict], listing: Listing) -> DltResource:
        def rows() -> Iterator[Any]:
            yield from _listing(entity, to_row, listing, run_id)

        return dlt.resource(rows, name=entity, primary_key="id", write_disposition="merge")

    return [resource("projects", flatten.project_row, project_listing),
            resource("boards", flatten.board_row, board_listing),
            resource("sprints", flatten.sprint_row, sprint_listing)]
