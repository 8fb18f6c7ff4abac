"""In-memory OneTrust state: one `Table` per kind, rows built lazily from the seeder.

Grain: a row position addresses one record for its lifetime; writes replace the row dict (never
mutate it in place) and bump the table's `version`, which keys the sorted-listing cache. Removed
rows stay addressable by position (vendors are soft-deleted: OneTrust's `markForDelete`).
Every method is called with `Store.lock` held by the sandbox.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from typing import Any

from sandbox.core.clock import SandboxClock
from sandbox.onetrust.draw import instant_key, iso
from sandbox.onetrust.seed import Seeder

KINDS = ("assessments", "risks", "vendors", "attestations", "controls")
ALIASES = {"assessment": "assessments", "risk": "risks", "vendor": "vendors", "attestation": "attestations",
           "control": "controls", "inventory": "vendors"}
PROGRESS = {"Not Started": "In Progress", "In Progress": "Under Review", "Under Review": "Completed"}


def is_date_field(field: str) -> bool:
    """Whether a record field holds a date-time (``createdDate``, ``lastModifiedUTCDateTime``, ``createDt``,
    ``lastUpdated``, ``attestedOn``, ``deadline``...): a Spring Data sort on it orders instants, as the database
    does, whatever offset, fraction or year the text was written with."""
    return field.endswith(("Date", "DateTime", "Dt", "DT", "On")) or field in ("lastUpdated", "deadline")


class Table:
    """One kind of record: lazily built rows, removed set, id index, version and a listing cache."""

    def __init__(self, id_field: str, ts_field: str, count: int, build: Callable[[int], dict[str, Any]],
                 id_of: Callable[[int], str], cheap: dict[str, Callable[[int], Any]] | None = None) -> None:
        self.id_field, self.ts_field = id_field, ts_field
        self.rows: list[dict[str, Any] | None] = [None] * count
        self.build, self.id_of, self.cheap = build, id_of, cheap or {}
        self.removed: set[int] = set()
        self.version = 0
        self._ids: dict[str, int] | None = None
        self._cache: dict[tuple, tuple[int, list[int]]] = {}

    def row(self, i: int) -> dict[str, Any]:
        rec = self.rows[i]
        if rec is None:
            rec = self.rows[i] = self.build(i)
        return rec

    def _index(self) -> dict[str, int]:
        if self._ids is None:
            self._ids = {self.id_of(i) if r is None else r[self.id_field]: i for i, r in enumerate(self.rows)}
        return self._ids

    def find(self, record_id: str) -> int | None:
        """Position of `record_id` (removed rows included), or None. OneTrust ids are UUIDs, which
        OneTrust parses as such: an id sent upper-cased (or mixed) finds the same record."""
        index = self._index()
        hit = index.get(record_id)
        return index.get(record_id.lower()) if hit is None and isinstance(record_id, str) else hit

    def value(self, i: int, field: str) -> Any:
        if self.rows[i] is None and field in self.cheap:
            return self.cheap[field](i)
        return self.row(i).get(field)

    def _sort_key(self, i: int, field: str) -> tuple:
        v = self.value(i, field)
        if is_date_field(field) and v is not None:
            return (True, 0, "", instant_key(v))
        return (v is not None, v if isinstance(v, (int, float)) and not isinstance(v, bool) else 0,
                "" if v is None or isinstance(v, (int, float)) else str(v), ())

    def listing(self, sort: str | tuple[tuple[str, bool], ...] | None, desc: bool,
                pred: Callable[[Table, int], bool] | None = None, pred_key: Any = None,
                removed: bool = False) -> list[int]:
        """Positions of live (or also removed) rows matching `pred(table, position)`, ordered by `sort`
        (a field, or a tuple of (field, desc) keys, the first primary) then position. Predicates and
        sorts that read only `cheap` fields never build rows."""
        key = (sort, desc, pred_key, removed)
        hit = self._cache.get(key)
        if hit is not None and hit[0] == self.version:
            return hit[1]
        rows = [i for i in range(len(self.rows)) if removed or i not in self.removed]
        if pred is not None:
            rows = [i for i in rows if pred(self, i)]
        if isinstance(sort, tuple):  # several Spring sort keys: stable passes, the last key first
            for field, down in reversed(sort):
                rows.sort(key=lambda i, f=field: self._sort_key(i, f), reverse=down)
        elif sort and is_date_field(sort):  # by the instant, not the text (see ``instant_key``)
            rows.sort(key=lambda i: (self.value(i, sort) is not None, instant_key(self.value(i, sort)), i),
                      reverse=desc)
        elif sort:
            def order(i: int) -> tuple:
                v = self.value(i, sort)
                return (v is not None, v if v is not None else 0, i)
            try:
                rows.sort(key=order, reverse=desc)
            except TypeError:  # mixed value types after odd writes: fall back to text order
                rows.sort(key=lambda i: (str(self.value(i, sort)), i), reverse=desc)
        if len(self._cache) > 16:
            self._cache.clear()
        self._cache[key] = (self.version, rows)
        return rows

    def insert(self, rec: dict[str, Any]) -> int:
        index = self._index()
        self.rows.append(rec)
        index[rec[self.id_field]] = len(self.rows) - 1
        self.version += 1
        return len(self.rows) - 1

    def replace(self, i: int, rec: dict[str, Any]) -> None:
        self.rows[i] = rec
        self.version += 1

    def remove(self, i: int) -> bool:
        if i in self.removed:
            return False
        self.removed.add(i)
        self.version += 1
        return True

    def alive(self) -> int:
        return len(self.rows) - len(self.removed)


class Store:
    """All OneTrust kinds plus the assessment-deletion audit log."""

    def __init__(self, seed: int, size: int, clock: SandboxClock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.seeder = sd = Seeder(seed, size, clock.anchor)
        self._rng = random.Random(seed)
        self.deleted_assessments: list[dict[str, Any]] = []
        controls = sd.controls()
        attestations = sd.attestations(controls)
        self.tables = {
            "vendors": Table("id", "lastUpdatedDate", size, sd.vendor, lambda i: sd.record_id("vendor", i),
                             {"name": sd.vendor_name, "number": lambda i: i + 1,
                              "createdDate": lambda i: sd.created_iso("vendors", i),
                              "lastUpdatedDate": lambda i: sd.updated_iso("vendors", i)}),
            "assessments": Table("assessmentId", "lastUpdated", size, sd.assessment,
                                 lambda i: sd.record_id("assessment", i),
                                 {"number": lambda i: i + 1, "createDt": lambda i: sd.created_iso("assessments", i),
                                  "lastUpdated": lambda i: sd.updated_iso("assessments", i),
                                  "_archived": sd.archived, "_templateType": sd.template_type}),
            "risks": Table("id", "lastModifiedUTCDateTime", size, sd.risk, lambda i: sd.record_id("risk", i),
                           {"number": lambda i: i + 1, "createdUTCDateTime": lambda i: sd.created_iso("risks", i),
                            "lastModifiedUTCDateTime": lambda i: sd.updated_iso("risks", i)}),
            "controls": Table("id", "lastModifiedDate", len(controls), controls.__getitem__,
                              lambda i: controls[i]["id"]),
            "attestations": Table("id", "lastModifiedDate", len(attestations), attestations.__getitem__,
                                  lambda i: attestations[i]["id"]),
        }

    @staticmethod
    def kind(name: str) -> str:
        kind = ALIASES.get(name, name)
        if kind not in KINDS:
            raise ValueError(f"unknown kind {name!r}; known: {KINDS}")
        return kind

    def now(self) -> str:
        return iso(self.clock.now().timestamp())

    def get(self, kind: str, record_id: str, removed: bool = False) -> dict[str, Any] | None:
        t = self.tables[kind]
        i = t.find(record_id)
        if i is None or (i in t.removed and not removed):
            return None
        return t.row(i)

    def records(self, kind: str) -> list[dict[str, Any]]:
        """Copies of every live record, in position order (builds every row)."""
        t = self.tables[kind]
        return json.loads(json.dumps([t.row(i) for i in range(len(t.rows)) if i not in t.removed]))

    def save(self, kind: str, rec: dict[str, Any]) -> bool:
        """Insert or replace by id, stamping the kind's last-modified field; True if created."""
        t = self.tables[kind]
        rec[t.ts_field] = self.now()
        i = t.find(rec[t.id_field])
        if i is None:
            t.insert(rec)
            return True
        t.removed.discard(i)
        t.replace(i, rec)
        return False

    def touch(self, kind: str, n: int) -> list[str]:
        """Modify n random live records now (timestamp; assessments also move one status on)."""
        t = self.tables[kind]
        live = [i for i in range(len(t.rows)) if i not in t.removed]
        out = []
        for i in self._rng.sample(live, min(n, len(live))):
            rec = dict(t.row(i))
            if kind == "assessments" and rec["status"] in PROGRESS:
                rec["status"] = PROGRESS[rec["status"]]
            rec[t.ts_field] = self.now()
            t.replace(i, rec)
            out.append(rec[t.id_field])
        return out

    def random_ids(self, kind: str, n: int) -> list[str]:
        t = self.tables[kind]
        live = [i for i in range(len(t.rows)) if i not in t.removed]
        return [t.row(i)[t.id_field] for i in self._rng.sample(live, min(n, len(live)))]

    def delete(self, kind: str, ids: list[str]) -> int:
        """Remove records by id (vendors: soft delete); assessment deletions are logged. Returns count."""
        t = self.tables[kind]
        count = 0
        for record_id in ids:
            i = t.find(record_id)
            if i is None or not t.remove(i):
                continue
            count += 1
            if kind == "assessments":
                rec = t.row(i)
                self.deleted_assessments.append({
                    "assessmentId": rec["assessmentId"], "assessmentNumber": rec["number"], "name": rec["name"],
                    "activityType": "ASSESSMENT_DELETE", "deletedDT": self.now(), "deleteStatus": "HARD_DELETED",
                })
        return count
