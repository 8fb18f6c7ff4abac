"""Round 22: the nightly reconciliation compares our fields as ServiceNow stores what we sent. An instance that
trims text or cuts a string at its column's length (played here by writing the stored form to the sandbox, which
keeps values as sent) held our values all along: rewriting them every night, each time as a finding, was churn.
A field really changed outside Project X is still written back. Against the ServiceNow sandbox over HTTP."""

from __future__ import annotations

import pytest

from assets.reverse_sync.engine import ensure_tables
from assets.reverse_sync.reconcile import ServiceNowLinks
from assets.reverse_sync.servicenow import ServiceNowTaskWriter, remediation_table
from resources.servicenow import ServiceNowResource
from resources.warehouse import WarehouseResource
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import run, write_outbound
from tests.test_reverse_sync_servicenow import remediation_rows

servicenow = attacks.servicenow  # the sandbox fixture


def _reconcile(rows: list[dict]):
    client = ServiceNowResource().client()
    try:
        with WarehouseResource.from_env().connect() as conn:
            ensure_tables(conn)
            return ServiceNowLinks(
                conn,
                ServiceNowTaskWriter(client, remediation_table()),
                {r["remediation_task_id"]: r for r in rows},
                "nightly",
            ).run()
    finally:
        client.close()


def _stored_as(rows: list[dict], changes: dict[str, dict[str, str]]) -> None:
    """Write ``changes`` (task id -> fields) to the records at the instance, as the instance would store them."""
    client = ServiceNowResource().client()
    try:
        for task_id, fields in changes.items():
            [rec] = client.find(remediation_table(), f"correlation_id={task_id}", limit=1) or [None]
            client.update(remediation_table(), rec["sys_id"], fields)
    finally:
        client.close()


@pytest.fixture
def pushed(servicenow, duckdb_warehouse):
    rows = remediation_rows(3)
    for r in rows:
        r["description"] += "  \r\n"
        r["short_description"] = (r["short_description"] + " ") * 8  # well past the column's 160 characters
    write_outbound(duckdb_warehouse, "servicenow", rows)
    assert run("servicenow").created == 3
    return rows


def test_values_the_instance_trimmed_or_cut_are_not_rewritten_every_night(servicenow, pushed):
    rows = pushed
    cut = {r["remediation_task_id"]: r["short_description"][:160] for r in rows}
    assert all(len(v) == 160 and v == v.strip() for v in cut.values()), "each cut falls inside a word"
    _stored_as(
        rows,
        {
            r["remediation_task_id"]: {
                "description": r["description"].strip(),
                "short_description": cut[r["remediation_task_id"]],
            }
            for r in rows
        },
    )
    first = _reconcile(rows)
    assert first.rewritten == [] and first.checked == 3
    assert _reconcile(rows).rewritten == []


def test_a_field_changed_outside_project_x_is_still_written_back(servicenow, pushed):
    rows = pushed
    _stored_as(rows, {r["remediation_task_id"]: {"description": r["description"].strip()} for r in rows})
    _stored_as(rows, {rows[1]["remediation_task_id"]: {"description": "Edited by hand at ServiceNow"}})
    report = _reconcile(rows)
    assert report.rewritten == [rows[1]["remediation_task_id"]]
    [rec] = [
        r for r in servicenow.records(remediation_table()) if r["correlation_id"] == rows[1]["remediation_task_id"]
    ]
    assert rec["description"].strip() == rows[1]["description"].strip()
    assert _reconcile(rows).rewritten == []
