"""Round 20: a vendor that answers different records with the same id, over HTTP against the sandboxes:
creates written at once answered with one new (not yet linked) id, and a look-up that finds one vendor
record for two of our tasks. No two tasks are ever linked to one vendor record; the task that would be
is looked up by its own id and adopted, or dead-lettered with the reason and what to check; nothing is
lost (the next run links it)."""

from __future__ import annotations

import contextlib
import threading
import time

import requests

from assets.reverse_sync.servicenow import ServiceNowTaskWriter, remediation_table
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import run, write_outbound
from tests.test_reverse_sync_round19_hostile import REAL_JSON, _links, _sn_ours
from tests.test_reverse_sync_servicenow import remediation_rows

servicenow = attacks.servicenow  # the sandbox fixture
_dead = attacks._dead


def _one_id_for_every_create(monkeypatch, path_end: str, creates: int, where: tuple[str, ...] = ("result", "sys_id"),
                             own_answer_last: bool = False, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """Every create's JSON answer carries, at ``where``, the id the first answer carried (a vendor bug; a
    gateway replaying an answer's id), the other fields left as they are. The answers of ``creates`` creates
    are held until all have arrived, so they are read at once, before any of their tasks is linked.
    ``own_answer_last``: the task whose record that id is reads its answer last (the worst order: the others
    see the id first). ``drop``: fields taken out of the answer beside it. Returns ``{where[-1]: the id}``."""
    first: dict[str, str] = {}
    gate = threading.Barrier(creates, timeout=10)
    held: set[int] = set()
    lock = threading.Lock()
    *parents, key = where

    def replayed(self, **kw):
        body = REAL_JSON(self, **kw)
        if self.request.method != "POST" or not self.request.url.split("?")[0].endswith(path_end):
            return body
        with lock:
            wait = id(self) not in held
            held.add(id(self))
        if wait:
            with contextlib.suppress(threading.BrokenBarrierError):  # fewer at once: read as they come
                gate.wait()
        holder = body
        for part in parents:
            holder = holder[part]
        with lock:
            first.setdefault(key, str(holder[key]))
        if own_answer_last and str(holder[key]) == first[key]:
            time.sleep(0.5)
        holder[key] = first[key]
        for field in drop:
            holder.pop(field, None)
        return body

    monkeypatch.setattr(requests.Response, "json", replayed)
    return first


def test_creates_written_at_once_answered_with_one_new_sys_id_link_one_task_to_it(servicenow, duckdb_warehouse,
                                                                                monkeypatch):
    rows = remediation_rows(4)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    first = _one_id_for_every_create(monkeypatch, f"/table/{remediation_table()}", creates=4)
    report = run("servicenow", concurrency=4)
    links = _links(duckdb_warehouse, "servicenow")
    assert sorted(links.values()).count(first["sys_id"]) == 1, f"two tasks linked to one record: {links}"
    assert len(set(links.values())) == len(links), links
    # ServiceNow's read by correlation_id is consistent: each other task's own record is found and adopted.
    ours = _sn_ours(servicenow)
    assert {k: len(v) for k, v in ours.items()} == {r["remediation_task_id"]: 1 for r in rows}, "none twice"
    assert links == {k: v[0] for k, v in ours.items()}, report.failures
    assert report.dead_lettered == 0 and report.created + report.adopted == 4, report.failures
    monkeypatch.setattr(requests.Response, "json", REAL_JSON)
    again = run("servicenow")
    assert again.writes == 0 and again.created == 0


def test_two_tasks_found_on_one_vendor_record_link_only_one_and_dead_letter_the_other(servicenow, duckdb_warehouse,
                                                                                    monkeypatch):
    """The look-up for records already carrying our ids answers one sys_id for two tasks (ids reused across
    records): the first keeps it, the second is not linked and waits in dead letters naming the record, the
    task holding it and what to check; once the vendor answers truly it is linked to its own record."""
    rows = remediation_rows(3)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    servicenow_records = [servicenow.insert(remediation_table(), {
        "correlation_id": r["remediation_task_id"], "correlation_display": "Project X",
        "short_description": r["short_description"], "description": r["description"], "priority": "3",
        "due_date": r["due_at"], "state": "1"}) for r in rows]
    real_prefetch = ServiceNowTaskWriter.prefetch
    shared = str(servicenow_records[0]["sys_id"])

    def reused(self, internal_ids):
        found = real_prefetch(self, internal_ids)
        for snap in found.values():
            snap.vendor_id = shared
        return found

    monkeypatch.setattr(ServiceNowTaskWriter, "prefetch", reused)
    report = run("servicenow", concurrency=1)
    links = _links(duckdb_warehouse, "servicenow")
    assert list(links.values()) == [shared], links
    dead = _dead(duckdb_warehouse, "servicenow")
    assert len(dead) == 2 and report.dead_lettered == 2, report.failures
    for error in dead.values():
        assert shared in error and "rem-sn-00000" in error and "external_links" in error, error
    monkeypatch.setattr(ServiceNowTaskWriter, "prefetch", real_prefetch)
    healed = run("servicenow")
    assert healed.dead_lettered == 0 and healed.created == 0, healed.failures
    assert _links(duckdb_warehouse, "servicenow") == {k: v[0] for k, v in _sn_ours(servicenow).items()}
    assert _dead(duckdb_warehouse, "servicenow") == {}


def test_servicenow_creates_answered_with_one_id_and_no_correlation_id_are_read_back(servicenow, duckdb_warehouse,
                                                                                   monkeypatch):
    """ServiceNow's answer normally names our correlation_id, which proves the record ours without a read; an
    answer without it (a proxy trimming the body) is read back by its id while other creates are in flight,
    so the task whose record the id is keeps it even when it reads its answer last."""
    rows = remediation_rows(3)
    write_outbound(duckdb_warehouse, "servicenow", rows)
    first = _one_id_for_every_create(monkeypatch, f"/table/{remediation_table()}", creates=3,
                                     own_answer_last=True, drop=("correlation_id",))
    report = run("servicenow", concurrency=3)
    monkeypatch.setattr(requests.Response, "json", REAL_JSON)
    links = _links(duckdb_warehouse, "servicenow")
    ours = _sn_ours(servicenow)
    assert {k: len(v) for k, v in ours.items()} == {r["remediation_task_id"]: 1 for r in rows}, "none twice"
    assert links == {k: v[0] for k, v in ours.items()}, (first, links, report.failures)
