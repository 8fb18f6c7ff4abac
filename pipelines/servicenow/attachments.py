"""ServiceNow attachments: metadata incrementally, content into the evidence store (sha256 + URI).

Grain: one row per attachment (``sys_attachment``) on the synced tables, merged on ``sys_id``.
Files above ``max_bytes`` keep their metadata with ``content_status = 'too_large'``; a failed
download is retried by the HTTP client and then recorded as ``content_status = 'failed'`` with the
reason, so the next run tries again (the row's version is not remembered as loaded). Content passes
the Evidence Library first (``admit_evidence``): malware or a file over its limits is
``quarantined``, never stored, and appears in no mart.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import dlt
from dlt.sources import DltResource

from pipelines.common import pages
from pipelines.common.cursor import OverlapCursor
from pipelines.common.evidence import admit_evidence, evidence_root
from pipelines.common.http import VendorError
from pipelines.common.quarantine import quarantined
from pipelines.common.validation import validate_page
from pipelines.servicenow.schemas import ATTACHMENT_SPEC, table_schema
from pipelines.servicenow.settings import (
    ATTACHMENT_FIELDS,
    ATTACHMENT_PATH,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_ATTACHMENT_BYTES,
    INITIAL_CURSOR,
)


def attachments_resource(make_client, tables: list[str], overlap: int, run_id: str,
                         evidence_dir: str | None, max_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
                         window: tuple[str, str] | None = None, concurrency: int = DEFAULT_CONCURRENCY
                         ) -> DltResource:
    """``window`` (ServiceNow UTC timestamps, end exclusive): only attachments last updated in it,
    all of them merged again, the cursor neither used nor advanced. ``concurrency``: downloads in
    flight at once (the same cap as the table reads')."""
    def rows() -> Iterator[Any]:
        if window is None:
            state = dlt.current.resource_state()
            cursor = OverlapCursor(state, initial_value=INITIAL_CURSOR, overlap_seconds=overlap)
            when = f"sys_updated_on>={cursor.start_value}"
        else:
            cursor, when = None, f"sys_updated_on>={window[0]}^sys_updated_on<{window[1]}"
        root = evidence_root(evidence_dir)
        # Downloads that failed in an earlier live run are tried again (the cursor has moved past them).
        retry = list(state.get("refetch", [])) if window is None else []
        failed: list[str] = []
        queries = [f"table_nameIN{','.join(tables)}^{when}^ORDERBYsys_id"]
        if retry:
            queries.append(f"sys_idIN{','.join(retry)}^ORDERBYsys_id")
        client = make_client()
        try:
            for query in queries:
                offset = 0
                while True:
                    response = client.session.request("GET", ATTACHMENT_PATH, params={
                        "sysparm_query": query, "sysparm_limit": 500, "sysparm_offset": offset})
                    page = pages.loads(response.content).get("result", [])
                    if not page:
                        break
                    by_cursor = cursor if query is queries[0] else None  # retries bypass the cursor
                    for item in _page(client, page, by_cursor, run_id, root, max_bytes, concurrency):
                        if isinstance(item, list):
                            failed += [r["sys_id"] for r in item if r["content_status"] == "failed"]
                            if window is not None:
                                # a window rerun never replaces content stored before with a failure
                                item = [r for r in item if r["content_status"] != "failed"]
                            if not item:
                                continue
                        yield item
                    offset += len(page)
                    total = response.headers.get("X-Total-Count")
                    if total is not None and offset >= int(total):
                        break
        finally:
            client.close()
        if cursor is not None:
            state["refetch"] = sorted(set(failed))
            cursor.commit()

    # One hint dict per column: dlt writes each column's name into its dict, so a shared one made all four
    # `content_error` ("... collides with other column" on every run) and lost the other three hints.
    return dlt.resource(rows, name="attachments", primary_key="sys_id", write_disposition="merge",
                        columns={c: {"data_type": "text", "nullable": True}
                                 for c in ("sha256", "storage_uri", "content_status", "content_error")})


def _page(client, page: list[dict], cursor: OverlapCursor | None, run_id: str, root, max_bytes: int,
          concurrency: int = 1) -> Iterator[Any]:
    check = validate_page(page, table_schema("sys_attachment"), ATTACHMENT_FIELDS)
    for record, reason in check.rejected:
        yield quarantined("attachments", record, reason, run_id, str(record.get("sys_id") or ""))
    wanted = []
    for record in check.valid.to_dicts():
        version = f"{record['sys_updated_on']}|{record.get('sys_mod_count') or ''}"
        if cursor is not None and not cursor.admit(record["sys_id"], record["sys_updated_on"], version):
            continue
        wanted.append(record)
    out = _with_contents(client, wanted, root, max_bytes, concurrency)
    if out:
        yield out


def _with_contents(client, records: list[dict[str, Any]], root, max_bytes: int, concurrency: int
                   ) -> list[dict[str, Any]]:
    """Each record with its content's columns, in order. Downloads run ``concurrency`` at a time: they
    wait on the vendor, not on this machine (at 300 ms a response, 100 files one after another were
    30 s of a 41-s ServiceNow sync). Each file then passes the Evidence Library in this thread, in
    order (scanner and store clients are not all thread-safe), and at most ``2 x concurrency``
    downloaded files wait in memory."""
    if not records:
        return []
    workers = max(1, concurrency)
    out: list[dict[str, Any]] = []
    ahead: deque[tuple[dict[str, Any], Future]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sn-attachment") as pool:
        for record in records:
            ahead.append((record, pool.submit(_download, client, record, max_bytes)))
            if len(ahead) >= 2 * workers:
                done, future = ahead.popleft()
                out.append(_admitted(done, future.result(), root))
        for done, future in ahead:
            out.append(_admitted(done, future.result(), root))
    return out


def _download(client, record: dict[str, Any], max_bytes: int) -> bytes | VendorError | None:
    """The file's bytes; None when it is over ``max_bytes`` (not fetched); the error when the
    download failed after the client's retries."""
    if int(record.get("size_bytes") or 0) > max_bytes:
        return None
    try:
        response = client.session.request("GET", f"{ATTACHMENT_PATH}/{record['sys_id']}/file",
                                          headers={"Accept": "*/*"})
    except VendorError as exc:
        return exc
    return response.content


def _admitted(record: dict[str, Any], content: bytes | VendorError | None, root) -> dict[str, Any]:
    row = {**record, "sha256": None, "storage_uri": None, "content_status": "stored", "content_error": None}
    if content is None:
        row["content_status"] = "too_large"
    elif isinstance(content, VendorError):
        row.update(content_status="failed", content_error=str(content)[:500])
    else:
        row.update(admit_evidence("servicenow", content, root, record.get("file_name"), record["sys_id"]))
    return row


__all__ = ["ATTACHMENT_SPEC", "attachments_resource"]
