"""dlt source for ServiceNow's Table API (spec §2.1): one merge resource per table.

Each resource reads ``sys_updated_on >= cursor - overlap`` ordered by ``sys_updated_on, sys_id``,
loads only row versions it has not loaded before (see :mod:`pipelines.common.cursor`), merges on
``sys_id`` and quarantines records it cannot trust. Values stay the vendor's strings; dbt staging
casts them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import dlt
from dlt.sources import DltResource

from pipelines.common.cursor import OverlapCursor, parse_vendor_ts
from pipelines.common.http import RetryPolicy
from pipelines.common.quarantine import quarantined
from pipelines.servicenow.helpers import ServiceNowClient
from pipelines.servicenow.settings import (
    DEFAULT_OVERLAP_SECONDS,
    DEFAULT_PAGE_SIZE,
    INITIAL_CURSOR,
    TABLES,
    TableSpec,
)

SYS_ID = re.compile(r"^[0-9a-f]{32}$")


@dlt.source(name="servicenow", max_table_nesting=0)
def servicenow_source(
    base_url: str = dlt.config.value,
    client_id: str = dlt.secrets.value,
    client_secret: str = dlt.secrets.value,
    username: str | None = None,
    password: str | None = None,
    tables: Sequence[str] = tuple(TABLES),
    page_size: int = DEFAULT_PAGE_SIZE,
    overlap_seconds: int = DEFAULT_OVERLAP_SECONDS,
    verify: bool | str = True,
    run_id: str | None = None,
    policy: RetryPolicy | None = None,
) -> list[DltResource]:
    """ServiceNow tables into the ``servicenow`` dataset, incrementally, merged on ``sys_id``."""
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise ValueError(f"Unknown ServiceNow tables {unknown}; choose from {sorted(TABLES)}")
    run_id = run_id or uuid.uuid4().hex
    # Keep the vendor's strings as they are: staging casts them, and a malformed value must not
    # turn a column into a variant behind our back.
    dlt.current.source_schema().remove_type_detection("iso_timestamp")

    def make_client() -> ServiceNowClient:
        return ServiceNowClient(base_url, client_id, client_secret, username, password,
                                verify=verify, policy=policy)

    return [
        _table_resource(TABLES[t], make_client, page_size, overlap_seconds, run_id) for t in tables
    ]


def _table_resource(spec: TableSpec, make_client, page_size: int, overlap: int, run_id: str) -> DltResource:
    def rows() -> Iterator[Any]:
        state = dlt.current.resource_state()
        cursor = OverlapCursor(state, initial_value=INITIAL_CURSOR, overlap_seconds=overlap)
        query = f"{spec.cursor_field}>={cursor.start_value}^ORDERBY{spec.cursor_field}^ORDERBYsys_id"
        client = make_client()
        try:
            for page in client.iter_pages(spec.table, query, page_size=page_size):
                accepted = []
                for record in page:
                    reason = _reject_reason(record, spec.cursor_field)
                    if reason:
                        yield quarantined(spec.resource, record, reason, run_id, record.get("sys_id"))
                        continue
                    version = f"{record[spec.cursor_field]}|{record.get('sys_mod_count', '')}"
                    if cursor.admit(record["sys_id"], record[spec.cursor_field], version):
                        accepted.append(record)
                if accepted:
                    yield accepted
        finally:
            client.close()
        cursor.commit()
        state["stats"] = {"skipped_unchanged": cursor.skipped_unchanged, "run_id": run_id}

    return dlt.resource(
        rows,
        name=spec.resource,
        primary_key="sys_id",
        write_disposition="merge",
        columns={spec.cursor_field: {"data_type": "text"}},
    )


def _reject_reason(record: dict[str, Any], cursor_field: str) -> str | None:
    sys_id = record.get("sys_id")
    if not isinstance(sys_id, str) or not SYS_ID.match(sys_id):
        return f"sys_id missing or not a 32-character hex id: {sys_id!r}"
    value = record.get(cursor_field)
    try:
        parse_vendor_ts(value)
    except (TypeError, ValueError):
        return f"{cursor_field} is not a 'YYYY-MM-DD HH:MM:SS' UTC timestamp: {value!r}"
    return None
