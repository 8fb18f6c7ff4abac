"""The ``issues`` resource: issues and what hangs off them, in one incremental pass with one cursor.

Query: ``project in (<scope>) AND updated >= <cursor - overlap, epoch ms> ORDER BY updated ASC,
key ASC`` on the enhanced search; a big read is split into disjoint ``updated`` ranges read at once
(:mod:`pipelines.jira.search`). Epoch milliseconds, because a date literal in JQL is read in the
*searching user's* time zone and would shift the window by hours. The first run has no ``updated``
bound. Equal ``updated`` stamps at a page boundary, issues updated while we page, and issues the
eventually consistent search index shows late (after newer ones) are all re-read by the overlap
window; the cursor keeps the version (``<UTC second>|<raw updated>``) of every issue inside it, so
a re-read unchanged issue is skipped and a changed one loads (:mod:`pipelines.common.cursor`). The
cursor never passes the site's clock at the start of the read, and it lives in dlt resource state,
committed with the load: a run that dies half-way leaves it where it was.

Tables (all merged): ``issues`` (key ``id``); ``issue_changelog`` (``id`` = history id:item
index), ``comments`` (``id``), ``attachments`` (``id``, content see
:mod:`pipelines.jira.attachments`), ``sprint_issues`` (``sprint_id``, ``issue_id``, from the
discovered Sprint field). For each loaded issue the child tables are replaced as a set (merge key
``issue_id``), so a deleted comment or attachment disappears; an issue left with none writes a
hard-delete tombstone row. Invalid records go to ``quarantine``; an attachment with hostile or invalid
metadata, or an id listed twice, costs that attachment only, quarantined once per content
(:mod:`pipelines.jira.attachment_ledger`); an attachment id loaded under another issue than the one
storing it leaves that issue, the move kept in ``attachment_moves`` (:mod:`pipelines.jira.attachment_moves`).

Crash ledger (:mod:`pipelines.common.poison`): an issue's children (changelog, comments, attachment rows and
their downloads in the pool) are built inside the issue batch's :class:`~pipelines.common.poison.PoisonGuard`,
so a child that kills the process is blamed on its *parent issue* (keyed by the issue id): after
``PROJECTX_POISON_CRASHES`` crashed runs the issue is quarantined with its raw bean and held, children and
all. The issue is the unit on purpose: children are replaced as a set per issue, so loading an issue
without one of its children would delete that child from the warehouse; holding the issue keeps the rows
loaded before. Release: ``python -m pipelines.common.poison release jira issues <issue id>``.

One run loads an issue at most once: a second sighting (edited while we paged, or shown late by
the index) is neither loaded nor recorded in the cursor, and its version is newer than the site's
clock at the start of the read minus the index lag, so the next run's overlap loads it (and a sighting
that differs from the copy loaded is read again by id next run, whatever the cursor: the copy loaded may
have been a stale one; two copies in one batch load the newest, :func:`newest_copies`). Hence
child rows are unique within a run, and the child tables merge on ``issue_id`` alone (their ids
are the schema's unique keys, not dlt primary keys): dlt would delete on ``id = id OR issue_id =
issue_id``, which DuckDB can only run as a nested loop over the whole table.

The first sync into an empty dataset *appends* (nothing to merge with; merging would make DuckDB
stage and compare every row). Rows go to dlt as Arrow tables of ``BATCH_ISSUES`` issues
(:mod:`pipelines.jira.frames`).

Window mode (``window=(start, end)``, a Dagster time partition): only issues with ``start <=
updated < end`` are read, always merged (children replaced as a set), and the cursor and the
attachment refetch list in dlt state are neither read nor written, so a window rerun repairs the
warehouse without moving the incremental sync.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.sources import DltResource

from pipelines.common.cursor import VENDOR_TS_FORMAT, OverlapCursor, parse_vendor_ts
from pipelines.common.deletions import destination_has_rows
from pipelines.common.pages import is_lenient, text_problem
from pipelines.common.poison import PoisonGuard
from pipelines.common.quarantine import quarantined
from pipelines.common.requeue import Requeue
from pipelines.common.set_aside import SetAside
from pipelines.common.shapes import shape_problem
from pipelines.jira import attachment_moves, flatten, frames, unreadable
from pipelines.jira.attachment_ledger import AttachmentLedger
from pipelines.jira.attachments import CONTENT_COLUMNS, AttachmentContent
from pipelines.jira.child_twins import ChildTwins
from pipelines.jira.context import JiraContext
from pipelines.jira.helpers import RefusedChildren, RepeatedPage
from pipelines.jira.issue_beans import _attachment_list, _issue_id, unsent_parts
from pipelines.jira.issue_beans import newest_copies as newest_copies  # re-exported: imported from here
from pipelines.jira.refetch import refetch_jql, refetch_pages  # noqa: F401 (refetch_jql: imported from here)
from pipelines.jira.schemas import checked
from pipelines.jira.search import Page, plan, read_all
from pipelines.jira.settings import BATCH_ISSUES, DEFAULT_CONCURRENCY, INITIAL_CURSOR, ISSUE_FIELDS

log = logging.getLogger(__name__)

CHILDREN: dict[str, tuple[str, ...]] = {
    "issue_changelog": ("id",), "comments": ("id",), "attachments": ("id",),
    "sprint_issues": ("sprint_id", "issue_id"),
}
TOMBSTONE = "_tombstone"
REFETCH_CHUNK = 100


# The parts of an issue its child rows are read from (flatten.py): a list sent as a number or a string, or
# an entry that is not an object, quarantines the issue naming the part, not a crash loop or a silent [].
ISSUE_PARTS = {
    "changelog": {"histories": [{"author": {}, "items": [{}]}]},
    "fields": {"comment": {"comments": [{"author": {}, "updateAuthor": {}}]},
               "attachment": [{"author": {}}]},
}


def to_cursor(jira_ts: str) -> str:
    """``2026-10-01T08:34:56.789-0400`` -> ``2026-10-01 12:34:56`` (UTC, to the second)."""
    return parse_vendor_ts(jira_ts).strftime(VENDOR_TS_FORMAT)


def epoch_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime, or of a naive one taken as UTC."""
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


def child_item(table: str, rows: list[dict[str, Any]], emptied: list[str], append: bool = False) -> Any:
    """Rows of one child table, plus a tombstone per issue that has none left (deletes its old rows)."""
    keys = CHILDREN[table]
    tombstones = [{**{k: f"-{iid}" for k in keys}, "issue_id": iid, TOMBSTONE: True} for iid in emptied]
    columns: dict[str, Any] = {TOMBSTONE: {"data_type": "bool", "nullable": True,
                                           **({} if append else {"hard_delete": True})},
                               **{k: {"data_type": "text", "nullable": False} for k in keys}}
    if table == "attachments":
        columns.update({c: {"data_type": "text", "nullable": True} for c in CONTENT_COLUMNS})
    # No dlt primary key: see the module docstring (rows are unique per run; delete by issue_id only).
    hints = dlt.mark.make_hints(table_name=table, write_disposition="append" if append else "merge",
                                primary_key=(), merge_key="issue_id", columns=columns)
    arrow = frames.table(rows + tombstones, frames.CHILD_COLUMNS[table], required=(*keys, "issue_id"),
                         flags=(TOMBSTONE,))
    return dlt.mark.with_hints(arrow, hints, create_table_variant=True)


def issue_item(rows: list[dict[str, Any]], append: bool = False) -> Any:
    """Issue rows with their column hints (as a variant, so the child tables do not inherit them)."""
    columns: dict[str, Any] = {"updated": {"data_type": "text", "dedup_sort": "desc"},
                               **{c: {"data_type": "json", "nullable": True} for c in frames.JSON_COLUMNS}}
    hints = dlt.mark.make_hints(table_name="issues", write_disposition="append" if append else "merge",
                                primary_key="id", columns=columns)
    arrow = frames.table(rows, frames.ISSUE_COLUMNS, required=("id",), json_columns=frames.JSON_COLUMNS)
    return dlt.mark.with_hints(arrow, hints, create_table_variant=True)


class IssuePass:
    """Turns search pages into rows of every issue table for one run.

    ``cursor`` None (window mode): every issue read is loaded and nothing is remembered.
    ``append``: the first sync into an empty dataset. An issue already loaded in this run is skipped.
    """

    def __init__(self, ctx: JiraContext, cursor: OverlapCursor | None, run_id: str, content: AttachmentContent,
                 tombstones: bool, append: bool = False, requeue: Requeue | None = None,
                 attachments: AttachmentLedger | None = None):
        self.client, self.fields = ctx.client(), ctx.fields()
        self.cursor, self.run_id, self.content, self.tombstones = cursor, run_id, content, tombstones
        self.append, self.requeue = append, requeue
        self.set_aside = SetAside("Jira", "issues")  # window runs: what the site failed to serve (checked at the end)
        self.attachments = attachments or AttachmentLedger(None, run_id)  # pipelines.jira.attachment_ledger
        self.loaded: set[str] = set()
        self._versions: dict[str, Any] = {}  # id -> ``updated`` of the copy loaded this run
        self.retry: set[str] = set()
        # A batch is noted in flight while its rows are built (pipelines.common.poison): an issue the
        # process dies on, run after run, is quarantined and held instead of killing every run.
        self.guard = PoisonGuard("jira", "issues", run_id, requeue)
        self.twins = ChildTwins(run_id)  # a comment, changelog item or sprint listed twice: one row

    def read(self, pages: Iterator[Page], force: bool = False) -> Iterator[Any]:
        """Rows of every page, in batches of about ``BATCH_ISSUES`` issues."""
        batch: list[dict[str, Any]] = []
        for page in pages:
            batch += page
            if len(batch) >= BATCH_ISSUES:
                yield from self.guard.handle(batch, lambda b: self.page(b, force), _issue_id)
                batch = []
        if batch:
            yield from self.guard.handle(batch, lambda b: self.page(b, force), _issue_id)

    def _admit(self, row: dict[str, Any], force: bool) -> bool:
        if row["id"] in self.loaded:
            # Seen twice in this run: the newer version loads next run (module docstring). A copy that
            # differs from the one loaded is read again by id next run, whatever the cursor says: it may
            # be the issue as it is while the one loaded was a stale copy the cursor has passed.
            if self._versions.get(row["id"]) != row["updated"]:
                self.retry.add(row["id"])
            return False
        if self.cursor is None:
            return True
        ts = to_cursor(row["updated"])
        return self.cursor.admit(row["id"], ts, f"{ts}|{row['updated']}") or force

    def page(self, beans: list[dict[str, Any]], force: bool = False) -> Iterator[Any]:
        if self.requeue is None:  # a window run: no ledger reads them again (pipelines.common.set_aside)
            self.set_aside.add(*(b["id"] for b in beans if isinstance(b, unreadable.Unreadable)))
        beans, unread = unreadable.set_aside(beans, self.requeue, self.run_id)  # pipelines.jira.unreadable
        yield from unread
        if not all(isinstance(b, dict) for b in beans):  # an entry that is not even a JSON object
            for b in beans:
                if not isinstance(b, dict):
                    kind = {str: "string", list: "array", type(None): "null"}.get(type(b), "number")
                    yield quarantined("issues", b, f"not an issue: a JSON {kind} where search sends an object",
                                      self.run_id)
            beans = [b for b in beans if isinstance(b, dict)]
        beans = list(newest_copies(beans))
        # Hostile attachment metadata costs the attachment, not its issue (pipelines.jira.attachment_ledger).
        for n, bean in enumerate(beans):
            beans[n], hostile = self.attachments.strip_hostile(bean, _issue_id(bean) or "")
            yield from hostile
        rows = [flatten.issue_row(b, self.fields) for b in beans]
        sources = {"sprint_ids": f"the Sprint field {self.fields.sprint}"} if self.fields.sprint else None
        valid, rejected = checked("issues", rows, self.run_id, raw=beans, requeue=self.requeue, sources=sources)
        yield from rejected
        bean_of = {id(r): b for r, b in zip(rows, beans, strict=True)}
        issues: list[dict[str, Any]] = []
        children: dict[str, list[dict[str, Any]]] = {t: [] for t in CHILDREN}
        unsent: dict[str, set[str]] = {t: set() for t in CHILDREN}  # per child table: issues sent without that part
        raw_attachments: list[Any] = []  # what Jira sent for each attachment row (what quarantine keeps)
        for row in valid:
            if not self._admit(row, force):
                continue
            bean = bean_of[id(row)]
            problem = shape_problem(bean, ISSUE_PARTS)  # before complete(), which counts the lists
            if not problem:
                try:
                    bean = self.client.complete(bean, requeued=force)
                except RepeatedPage as exc:  # this issue's comments or changelog cannot be read whole
                    problem = str(exc)
                    if self.requeue is None and isinstance(exc, RefusedChildren) and unreadable.isolable(exc):
                        self.set_aside.add(row["id"])  # Jira failed to serve its lists: a window run must fail
                else:
                    problem = shape_problem(bean, ISSUE_PARTS)  # the pages fetched for it
            if not problem and is_lenient(bean):  # a page holds text no warehouse stores
                text = text_problem(bean)
                problem = f"invalid text: {text}" if text else None
            if problem:
                item = (quarantined("issues", bean, problem, self.run_id, row["id"]) if self.requeue is None
                        else self.requeue.reject(bean, problem, row["id"]))
                if item is not None:
                    yield item
                continue
            issues.append(row)
            self.loaded.add(row["id"])
            for table in unsent_parts(bean, self.fields):
                unsent[table].add(row["id"])
                # attachments may be off on the site, and a custom field outside an issue's context (a project
                # without Sprint) may be left out of its fields [unc]: kept, but not re-read every run for ever
                if table not in ("attachments", "sprint_issues"):
                    self.retry.add(row["id"])
            self._versions[row["id"]] = row["updated"]
            children["issue_changelog"] += flatten.changelog_rows(bean, row)
            children["comments"] += flatten.comment_rows(bean, row)
            listed = flatten.attachment_rows(bean, row)
            raw_attachments += _attachment_list(bean)[:len(listed)]
            children["attachments"] += listed
            children["sprint_issues"] += flatten.sprint_issue_rows(row)
        if not issues:
            return
        if self.requeue is not None:
            self.requeue.loaded([*(i["id"] for i in issues), *(i["key"] for i in issues)])
        yield issue_item(issues, self.append)
        for table, kids in children.items():
            # Sprint memberships come from validated issue rows; the other children are checked here.
            if table == "attachments":  # quarantined once per content (pipelines.jira.attachment_ledger)
                self.attachments.note(kids)
                good, bad = checked(table, kids, self.run_id, raw=raw_attachments,
                                     requeue=self.attachments.schema_requeue)
                good, reused = self.attachments.one_per_id(good)
                yield from bad
                yield from reused
            else:
                good, bad = (kids, []) if table == "sprint_issues" else checked(table, kids, self.run_id)
                good, twins = self.twins.split(table, good)
                yield from bad
                yield from twins
            if table == "attachments":  # downloads run `concurrency` at a time, rows stay in order
                self.retry.update(row["issue_id"] for row in self.content.fill_all(good))
                self.attachments.loaded(good)
            having = {r["issue_id"] for r in good}
            emptied = ([i["id"] for i in issues if i["id"] not in having and i["id"] not in unsent[table]]
                       if self.tombstones else [])
            if good or emptied:
                yield child_item(table, good, emptied, self.append)


def moved_attachments(work: IssuePass) -> Iterator[Any]:
    """An attachment id loaded under another issue than the one it is stored under leaves that issue (the
    later sighting wins), the move kept in ``attachment_moves`` (:mod:`pipelines.jira.attachment_moves`)."""
    if work.append:  # the first sync: nothing stored yet (the moves table is created, empty)
        yield attachment_moves.moves_item([])
        return
    rows, emptied, moves = attachment_moves.settle(work.attachments.kept, work.loaded, work.run_id)
    if rows or emptied:
        yield child_item("attachments", rows, emptied)
    yield attachment_moves.moves_item(moves)


def _drop_child_primary_keys(schema: Any) -> None:
    """Datasets loaded before children merged on ``issue_id`` alone still mark their ids as primary
    keys, and a ``False`` hint cannot clear a stored one: drop it from the schema being extracted."""
    for table in CHILDREN:
        for column in (schema.tables.get(table) or {}).get("columns", {}).values():
            column.pop("primary_key", None)


def window_bounds(window: tuple[datetime, datetime]) -> tuple[int, int]:
    """``(start, end)`` as epoch ms; ValueError names the fix for naive or empty windows."""
    start, end = window
    if not (isinstance(start, datetime) and isinstance(end, datetime)) or start.tzinfo is None \
            or end.tzinfo is None:
        raise ValueError("Jira window must be two timezone-aware datetimes (start, end), e.g. with tzinfo=UTC")
    if start >= end:
        raise ValueError(f"Jira window is empty: start {start.isoformat()} is not before end {end.isoformat()}")
    return epoch_ms(start), epoch_ms(end)


def issues_resource(ctx: JiraContext, *, page_size: int, overlap_seconds: int, run_id: str,
                    max_attachment_bytes: int, evidence_dir: str | None = None,
                    concurrency: int = DEFAULT_CONCURRENCY,
                    window: tuple[datetime, datetime] | None = None) -> DltResource:
    bounds = window_bounds(window) if window is not None else None

    def issues() -> Iterator[Any]:
        _drop_child_primary_keys(dlt.current.source_schema())
        scope = ctx.scope()
        if not scope:
            log.warning("Jira: no projects in scope (none visible and JIRA_PROJECT_KEYS unset): nothing to sync")
            return
        client = ctx.client()
        fields = [*ISSUE_FIELDS, *ctx.fields().ids]
        content = AttachmentContent(client, max_attachment_bytes, evidence_dir, concurrency)

        def search(jql: str) -> Iterator[Page]:
            return client.search(jql, fields, expand="changelog", page_size=page_size, per_issue=True)

        if bounds is not None:
            work = IssuePass(ctx, None, run_id, content, tombstones=True)
            yield from work.read(read_all(search, plan(client, scope, *bounds, None, concurrency)))
            yield from moved_attachments(work)
            work.set_aside.check()  # the partition fails, naming them: nothing else reads them again
            return
        state = dlt.current.resource_state()
        cursor = OverlapCursor(state, initial_value=INITIAL_CURSOR, overlap_seconds=overlap_seconds)
        as_of = client.server_time()
        first = cursor.last_value == INITIAL_CURSOR
        requeue = Requeue(state, "issues", run_id)
        ledger = AttachmentLedger(state, run_id)
        work = IssuePass(ctx, cursor, run_id, content, tombstones=not first,
                         append=first and not any(map(destination_has_rows, ("issues", *CHILDREN))),
                         requeue=requeue, attachments=ledger)
        since = None if first else epoch_ms(cursor.start_datetime)
        as_of_ms = epoch_ms(parse_vendor_ts(as_of)) if as_of else None
        yield from work.read(read_all(search, plan(client, scope, since, None, as_of_ms, concurrency)))
        # Issues whose attachment download failed last time, and issues quarantined by earlier runs and
        # not loaded since (the re-read rule, pipelines.common.requeue): read again whatever the cursor says.
        due = set(requeue.due()) & set(requeue.pending)
        # ... and issues holding an attachment quarantined before (pipelines.jira.attachment_ledger).
        pending = sorted({*state.get("refetch", []), *due, *ledger.pending_issues()} - work.loaded)
        for start in range(0, len(pending), REFETCH_CHUNK):
            chunk = pending[start:start + REFETCH_CHUNK]
            found: set[str] = set()
            for page in refetch_pages(lambda jql: client.search(jql, fields, expand="changelog", per_issue=True,
                                                                page_size=REFETCH_CHUNK, requeued=True), chunk):
                found.update(str(b.get(k)) for b in page if isinstance(b, dict) for k in ("id", "key"))
                yield from work.read(iter([page]), force=True)
            requeue.gone(set(chunk) - found)  # deleted at Jira: the census or the webhook marks it
            ledger.issues_gone(set(chunk) - found)
        yield from moved_attachments(work)
        if as_of:
            cursor.cap(to_cursor(as_of))
        cursor.commit()
        requeue.commit()
        ledger.commit(state)
        state["refetch"] = sorted(work.retry)
        state["stats"] = {"loaded": len(work.loaded), "skipped_unchanged": cursor.skipped_unchanged,
                          "attachments_downloaded": work.content.downloaded, "run_id": run_id}

    return dlt.resource(issues, name="issues", primary_key="id", write_disposition="merge")
