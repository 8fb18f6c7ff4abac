"""Jira attachments quarantined once per content (the round-21 ServiceNow rules, see
:mod:`pipelines.servicenow.attachment_ledger`), for attachments that come inside their issue.

- Hostile metadata (text no warehouse stores: a NUL, a lone surrogate in ``filename`` or ``mimeType``) costs
  the attachment, not its issue: it is taken out of the issue before the issue's own text check, and the
  issue and its other children load. An attachment the schema refuses (a ``created`` that is no time, a
  size that is no number) likewise. Both go through a re-read ledger (:class:`pipelines.common.requeue.
  Requeue`, kept under ``attachment_ledger`` in the issues resource state, keyed by attachment id): one
  quarantine row per content, however often the issue is read again (the overlap window, a change of the
  issue itself); a changed attachment is quarantined again. Its issue is read again by id on each run while
  the attachment is pending, so it loads once the vendor serves it right; the entry leaves once the issue
  is loaded without it, or the issue is gone.
- One attachment id twice (in one issue's list, or on two issues: a move seen half-way [unc], Jira keeps an
  attachment's id when its issue moves and has no API to move one attachment): one row is kept, the newest
  ``created``, then the larger size, then the larger digest (whatever the order sent); the other is
  quarantined once (:class:`pipelines.common.reused_ids.ReusedIds`). Across batches of one run the row
  loaded first stays (search order: ``updated``, then key) and a later one is quarantined the same way.
  An id stored under issue A by an earlier run and loaded under issue B later leaves A at the end of the run
  (the later sighting wins; the move is kept in ``jira.attachment_moves``, :mod:`pipelines.jira.attachment_moves`).
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from datetime import UTC, datetime
from typing import Any

from pipelines.common.cursor import parse_vendor_ts
from pipelines.common.pages import text_problem
from pipelines.common.quarantine import quarantined
from pipelines.common.requeue import Requeue, digest
from pipelines.common.reused_ids import ReusedIds

ENTITY = "attachments"
STATE_KEY = "attachment_ledger"
_EARLIER = "_kept_earlier_this_run"
TWINS_KEY = "quarantined_seen"
TWINS_MAX = 5000  # attachment ids remembered at most (those met longest ago dropped first)
TWINS_PER_ID = 5  # contents remembered per id (a twin that changes on every read: its latest ones)


class AttachmentLedger:
    """The rules above for one run of the issues resource (``state`` None: a window run, no memory)."""

    def __init__(self, state: MutableMapping | None, run_id: str):
        self.run_id = run_id
        self._mine: dict[str, Any] | None = dict(state.get(STATE_KEY) or {}) if state is not None else None
        self.requeue = Requeue(self._mine, ENTITY, run_id) if self._mine is not None else None
        self.reused = ReusedIds(self._mine, ENTITY, run_id, "id", _rank, _describe)
        self._owners: dict[str, str] = dict((self._mine or {}).get("owners") or {})
        self._listed: dict[str, set[str]] = {}  # issue id -> attachment ids it listed (loaded issues)
        self._kept: dict[str, dict[str, Any]] = {}  # attachment id -> the row loaded this run
        # keyed rejections quarantined before: attachment id -> {digest of (reason, record): when last met}
        old = (self._mine or {}).get(TWINS_KEY) or {}
        self._twins_old: dict[str, dict[str, str]] = {k: dict(v) for k, v in old.items() if isinstance(v, dict)}
        self._twins: dict[str, dict[str, str]] = {}  # met this run
        self._now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.schema_requeue = _SchemaRejects(self) if self.requeue is not None else None

    def pending_issues(self) -> set[str]:
        """Issues holding an attachment quarantined before and not loaded since: read them again by id."""
        pending = self.requeue.pending if self.requeue is not None else {}
        return {self._owners[k] for k in pending if k in self._owners}

    def strip_hostile(self, bean: dict[str, Any], issue_id: str) -> tuple[dict[str, Any], list[Any]]:
        """``bean`` without its attachments whose text no warehouse stores, and their quarantine items."""
        fields = bean.get("fields")
        listed = fields.get("attachment") if isinstance(fields, dict) else None
        if not isinstance(listed, list):
            return bean, []
        self._listed[issue_id] = {str(a.get("id")) for a in listed if isinstance(a, dict)}
        keep, items = [], []
        for attachment in listed:
            problem = text_problem(attachment) if isinstance(attachment, dict) else None
            if problem is None:
                keep.append(attachment)
                continue
            item = self.reject(attachment, f"invalid text: {problem}", issue_id)
            if item is not None:
                items.append(item)
        if len(keep) == len(listed):
            return bean, []
        return type(bean)({**bean, "fields": type(fields)({**fields, "attachment": keep})}), items

    def reject(self, record: Any, reason: str, issue_id: str) -> Any:
        """The quarantine item for a refused attachment, or None when this very record is there already."""
        aid = record.get("id") if isinstance(record, dict) else None
        aid = str(aid) if isinstance(aid, str | int) and not isinstance(aid, bool) else None
        reason = f"{reason} (attachment of issue {issue_id})"
        if self.requeue is None:
            return quarantined(ENTITY, record, reason, self.run_id, aid)
        if aid and aid.isascii() and aid.isdigit():
            self._owners[aid] = issue_id
        return self.remembered(record, reason, aid)

    def remembered(self, record: Any, reason: str, aid: str | None) -> Any:
        """The re-read ledger's quarantine item for a refused attachment, or None when this id was quarantined
        before with this reason and content (also when its id has loaded since: a hostile twin)."""
        if self.requeue is None:  # a window run: no memory
            return quarantined(ENTITY, record, reason, self.run_id, aid)
        item = self.requeue.reject(record, reason, aid)
        if not (aid and aid.isascii() and aid.isdigit()):
            return item
        mark = digest([reason, record])  # same id + same reason + same content: quarantined once
        known = mark in self._twins_old.get(aid, {}) or mark in self._twins.get(aid, {})
        self._twins.setdefault(aid, {})[mark] = self._now
        return None if known else item

    def note(self, rows: Iterable[dict[str, Any]]) -> None:
        """Which issue each attachment row belongs to (for the rows the schema may refuse)."""
        self._owners.update((r["id"], r["issue_id"]) for r in rows
                            if isinstance(r.get("id"), str) and r["id"].isascii() and r["id"].isdigit())

    def one_per_id(self, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Any]]:
        """Rows with one per attachment id (see the module docstring), and quarantine items for the others."""
        earlier = [{**self._kept[r["id"]], _EARLIER: True} for r in rows if r["id"] in self._kept]
        kept, items = self.reused.split(earlier + rows)
        kept = [r for r in kept if not r.get(_EARLIER)]
        self._kept.update((r["id"], r) for r in kept)
        return kept, items

    @property
    def kept(self) -> dict[str, dict[str, Any]]:
        """Attachment id -> the row loaded this run (the one :meth:`one_per_id` kept)."""
        return self._kept

    def loaded(self, rows: list[dict[str, Any]]) -> None:
        if self.requeue is not None:
            self.requeue.loaded(r["id"] for r in rows)

    def issues_gone(self, issue_ids: Iterable[str]) -> None:
        gone = set(issue_ids)
        if self.requeue is not None:
            self.requeue.gone(k for k, owner in self._owners.items() if owner in gone)

    def commit(self, state: MutableMapping | None) -> None:
        if state is None or self.requeue is None or self._mine is None:
            return
        # Pending attachments their issue no longer lists (loaded this run without them): nothing to wait for.
        self.requeue.gone(k for k in list(self.requeue.pending)
                          if self._owners.get(k) in self._listed and k not in self._listed[self._owners[k]])
        self.requeue.commit()
        self.reused.commit(self._mine)
        self._mine["owners"] = {k: v for k, v in sorted(self._owners.items()) if k in self.requeue.pending}
        self._mine[TWINS_KEY] = self._twins_kept()
        state[STATE_KEY] = self._mine

    def _twins_kept(self) -> dict[str, dict[str, str]]:
        """The rejections met this run and those of earlier runs, at most ``TWINS_MAX`` ids (met last kept) and
        ``TWINS_PER_ID`` contents per id (met last kept), so the state stays bounded."""
        kept = {k: dict(v) for k, v in self._twins_old.items()}
        for key, marks in self._twins.items():
            kept.setdefault(key, {}).update(marks)
        newest = sorted(kept, key=lambda k: (max(kept[k].values(), default=""), k), reverse=True)[:TWINS_MAX]
        return {k: dict(sorted(sorted(kept[k].items(), key=lambda m: (m[1], m[0]), reverse=True)[:TWINS_PER_ID]))
                for k in sorted(newest)}


class _SchemaRejects:
    """What :func:`pipelines.jira.schemas.checked` takes as ``requeue`` for attachment rows the schema refuses:
    the ledger's memory, so that a refused twin of a loaded attachment is quarantined once too."""

    def __init__(self, ledger: AttachmentLedger):
        self._ledger = ledger

    def reject(self, record: Any, reason: str, record_id: str | None) -> Any:
        return self._ledger.remembered(record, reason, record_id)


def _rank(row: dict[str, Any]) -> tuple:
    if row.get(_EARLIER):
        return (1,)  # loaded by an earlier batch of this run: it stays
    try:
        created = parse_vendor_ts(row["created"]).timestamp() if isinstance(row.get("created"), str) else -1.0
    except ValueError:
        created = -1.0
    size = row.get("size_bytes")
    return (0, created, int(size) if isinstance(size, str) and size.isascii() and size.isdigit() else -1)


def _describe(row: dict[str, Any]) -> str:
    return (f"issue {row.get('issue_id')}, created {row.get('created')}, size_bytes {row.get('size_bytes')}, "
            f"filename {row.get('filename')!r}")
