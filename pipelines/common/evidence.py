"""Where evidence files go: a content-addressed local store (``PROJECTX_EVIDENCE_DIR``, default
``data/evidence``). Files are written once under ``<vendor>/<sha256[:2]>/<sha256>`` and referenced
by a ``file://`` URI; the same bytes are never stored twice. Also what the evidence-store ingestion
resources (S3, Drive, SharePoint) last loaded per file (:func:`stored_files`)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from pipelines.common.pages import safe_text, text_problem
from pipelines.common.warehouse import WarehouseSettings


def evidence_root(explicit: str | None = None) -> Path:
    root = explicit or os.environ.get("PROJECTX_EVIDENCE_DIR") or str(Path(WarehouseSettings.from_env().data_dir)
                                                                     / "evidence")
    return Path(root)


def store_evidence(vendor: str, content: bytes, root: Path) -> tuple[str, str]:
    """Write ``content`` (if new) and return its (sha256, storage URI)."""
    digest = hashlib.sha256(content).hexdigest()
    path = root / vendor / digest[:2] / digest
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(content)
        tmp.replace(path)
    return digest, path.resolve().as_uri()


def admit_evidence(vendor: str, content: bytes, root: Path, filename: str | None = None,
                   source_ref: str | None = None, tags: tuple[str, ...] = ()) -> dict[str, str | None]:
    """Pass a vendor file through the Evidence Library (limits, ClamAV scan, metadata, classification,
    then the configured store; ``root`` is the local store's folder) and return the attachment row's
    content columns: ``stored`` (sha256 + URI), ``quarantined`` (infected or over the limits: no URI,
    the reason in ``content_error``) or ``failed`` (scanner or store unavailable: the reason, and the
    vendor pipeline fetches it again on its next run, as for a failed download)."""
    from resources.evidence.base import StoreError
    from resources.evidence.library import EvidenceLibrary

    try:
        library = EvidenceLibrary.cached(local_root=root)
    except StoreError as exc:  # the store cannot even be reached (e.g. the role cannot be assumed)
        return {"sha256": hashlib.sha256(content).hexdigest(), "storage_uri": None, "content_status": "failed",
                "content_error": str(exc)[:500]}
    outcome = library.ingest(content, filename or source_ref or "attachment", vendor, tags, source_ref)
    status = {"stored": "stored", "quarantined": "quarantined"}.get(outcome.status, "failed")
    return {"sha256": outcome.sha256, "storage_uri": outcome.storage_uri, "content_status": status,
            "content_error": None if status == "stored" else (outcome.reason or "")[:500]}


def storable_text(value: str | None, field: str) -> tuple[str | None, str | None]:
    """A file's name (or key, or declared type) as text every warehouse and the library's ledger store, and
    why it had to change (None: it did not).

    A NUL (no warehouse stores it in text; dlt drops it silently, so an id would no longer match its
    file), a lone UTF-16 surrogate or bytes that are not UTF-8 (no UTF-8 writer takes them: the sync
    would fail on that file, every run) are kept as their escapes (``\\x00``, ``\\udcff``), the rest
    as it is; the file is ingested all the same, under a name that shows what was there, and the reason
    names the field and the character (``pipelines.common.pages.text_problem``)."""
    problem = text_problem(value, field) if isinstance(value, str) else None
    if problem is None:
        return value, None
    return safe_text(value), f"{problem}: recorded escaped"


def with_note(reason: str | None, note: str | None) -> str | None:
    """A row's reason, with what was changed to store it."""
    return "; ".join(r for r in (reason, note) if r)[:500] or None


def stored_files(table: str, kept: Sequence[str], state: MutableMapping[str, Any], deleted: bool = False
                 ) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """What each file an evidence-store ingestion resource loaded last was (file id -> the ``kept``
    columns), and the ids left ``pending`` (read again this run), from the resource's own table.

    Why the table and not dlt state: the per-file map grows with the bucket, drive or site, and dlt
    writes the whole (compressed) state as a new ``_dlt_pipeline_state`` row on every load, so 100k
    files cost megabytes per run, forever. The table already holds one row per file (merged on
    ``file_id``) with everything the map held.

    Why this is as crash-safe as the state was: a run's rows and its state travel in the same load
    package and become visible in the destination when that package's load commits, and
    ``pipeline.run`` loads any package left over from a crashed run (and stops) before it extracts
    again. So when a resource starts, the table holds the rows of every run whose state it would have
    read. It may hold more: a run killed while loading can leave some of its tables merged without its
    state (a partly loaded package, discarded by ``pipelines.common.recovery``), and a state can be
    reset while the table stays. Such rows are newer than the cursor, which reads their files again;
    but a resource that reads its source whole (a first run, a resync) must take what the table holds
    and the listing lacks as deleted, not as still there. (Where the old state could run ahead of the
    table, e.g. a package that never loaded, the table is the safer of the two: its files are taken as
    new, and the library's ledger keeps them from being stored twice.)

    Deleted rows (``is_deleted``) are not known files (a file that comes back is new again, as when
    the state dropped it), unless ``deleted``: Drive kept trashed files in its map, so a later change
    to one still says which stored bytes went away. A pipeline without a destination (extract only)
    has no table: nothing is known. A first run (no dataset or table yet) knows nothing either; any
    other failure to read the table is raised, because taking every file as unknown would silently
    miss deletes.

    Migration: state written by earlier versions still holds ``known`` (the same map) and ``retry``
    (the pending ids). They are used for this run, united with the table, and removed from the state,
    which shrinks with this run's load; if the run fails, the state is not saved and they stay."""
    known: dict[str, dict[str, Any]] = {}
    pending: set[str] = set()
    for row in _current_rows(table, deleted):
        known[row["file_id"]] = {k: row.get(k) for k in kept}
        if row.get("status") == "pending":
            pending.add(row["file_id"])
    for file_id, entry in (state.pop("known", None) or {}).items():
        known.setdefault(file_id, {k: entry.get(k) for k in kept})
    pending.update(state.pop("retry", None) or [])
    return known, sorted(pending)


def _current_rows(table: str, deleted: bool) -> Iterator[dict[str, Any]]:
    """The rows of this pipeline's ``table``, those marked deleted only if ``deleted`` (``select *``: a
    column the table does not have yet, e.g. one a later version added, reads as missing rather than
    failing the run)."""
    import dlt
    from dlt.destinations.exceptions import DatabaseUndefinedRelation

    pipeline = dlt.current.pipeline()
    if pipeline.destination is None:
        return
    with pipeline.sql_client() as client:
        sql = f"select * from {client.make_qualified_table_name(table)}"
        if not deleted:
            sql += f" where coalesce({client.escape_column_name('is_deleted')}, false) = false"
        try:
            with client.execute_query(sql) as cursor:
                names = [c[0] for c in cursor.native_cursor.description]
                while rows := cursor.fetchmany(10_000):
                    yield from (dict(zip(names, values, strict=True)) for values in rows)
        except DatabaseUndefinedRelation:  # no dataset or table yet: the first run
            return
