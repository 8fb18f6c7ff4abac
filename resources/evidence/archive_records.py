"""Archival of warehouse records as evidence files (spec §2.6 "evidence ingestion and archival"):

- ``archive_pia_snapshots``: each OneTrust PIA (``onetrust.assessments`` with template type ``PIA``) as
  a JSON snapshot of the assessment and its answers (``assessments__responses``), one file per
  assessment state: ``source_ref`` is ``pia:<assessment id>:<updated_at>``, so a changed PIA is
  archived again and an unchanged one never twice. Tags ``pia-snapshot``, ``assessment:<id>``.
- ``archive_rejected_payloads``: each record a vendor pipeline rejected (``<source>.quarantine``:
  entity, record id, reason, run id and the raw record) as a JSON file, tags ``rejected-payload`` and
  ``entity:<entity>``, so the payload the vendor sent survives beside the reason it was refused.

Both pass the Evidence Library (scan, metadata, classification, the configured store) and skip what
its ledger already holds. Grain of a file: one snapshot / one rejected record; JSON with sorted keys,
so the same record is the same bytes (the content address).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from resources.evidence.library import EvidenceLibrary, EvidenceOutcome

SOURCES = ("servicenow", "jira", "onetrust")


def _json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, default=str, indent=2, ensure_ascii=False).encode("utf-8")


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith("_dlt")}


def archive_pia_snapshots(conn, library: EvidenceLibrary) -> list[EvidenceOutcome]:
    """``conn``: a ``resources.warehouse.Connection``."""
    if not conn.table_exists("onetrust", "assessments"):
        return []
    answers: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if conn.table_exists("onetrust", "assessments__responses"):
        for r in conn.query("select * from onetrust.assessments__responses order by _dlt_parent_id, _dlt_list_idx"):
            answers[r["_dlt_parent_id"]].append(_plain(r))
    outcomes = []
    for row in conn.query("select * from onetrust.assessments where template_type = 'PIA' order by assessment_id"):
        ref = f"pia:{row['assessment_id']}:{row.get('updated_at') or ''}"
        if library.ledger.last_stored("onetrust", ref) is not None:
            continue
        snapshot = {"kind": "onetrust_pia_snapshot", "assessment": _plain(row), "responses": answers[row["_dlt_id"]]}
        name = f"onetrust-pia-{row.get('number') or ''}-{row['assessment_id']}.json"
        outcomes.append(library.ingest(_json(snapshot), name, "onetrust",
                                       ["pia-snapshot", f"assessment:{row['assessment_id']}"], ref))
    return outcomes


def archive_rejected_payloads(conn, library: EvidenceLibrary, sources: Sequence[str] = SOURCES
                              ) -> list[EvidenceOutcome]:
    outcomes = []
    for source in sources:
        if not conn.table_exists(source, "quarantine"):
            continue
        rows = conn.query(f"select entity, record_id, reason, run_id, record, quarantined_at from {source}.quarantine "
                          "order by quarantined_at, entity, record_id")
        for row in rows:
            digest = hashlib.sha256(str(row["record"]).encode()).hexdigest()[:16]
            ref = f"rejected:{row['entity']}:{row['record_id'] or ''}:{row['run_id']}:{digest}"
            if library.ledger.last_stored(source, ref) is not None:
                continue
            try:
                record = json.loads(row["record"])
            except (TypeError, ValueError):
                record = row["record"]  # kept as the text it was
            payload = {"kind": "rejected_payload", "source": source, **_plain(row), "record": record}
            name = f"{source}-rejected-{row['entity']}-{row['record_id'] or digest}.json"
            outcomes.append(library.ingest(_json(payload), name, source,
                                           ["rejected-payload", f"entity:{row['entity']}"], ref))
    return outcomes


def archive_warehouse_records(library: EvidenceLibrary | None = None) -> list[EvidenceOutcome]:
    """Both of the above against the configured warehouse and library."""
    from resources.warehouse import WarehouseResource

    library = library or EvidenceLibrary.from_env()
    with WarehouseResource.from_env().connect() as conn:
        return archive_pia_snapshots(conn, library) + archive_rejected_payloads(conn, library)
