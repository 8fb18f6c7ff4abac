"""What the census asks of each vendor table: its ids, page by page, and some records in full.

One adapter per synced table. ``ids()`` streams the vendor's ids, each with its last-updated stamp
as the vendor wrote it (only those two fields where the API allows it: ServiceNow
``fields=sys_id,sys_updated_on``, Jira ``fields=id,updated``; OneTrust lists whole records, 50-1000 a
page, and only the id and stamp are kept). ``rows(ids)`` returns those records as the warehouse stores them
(the ingestion's own row mapping), for the stale-version sample and for the update-time of records
to re-read. ``compared``: the columns the sample compares (scalar vendor fields; ids and load
metadata excluded). ``version``: the column holding the vendor's last-updated time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pipelines.servicenow.settings import REMEDIATION_RESOURCE, TABLES, TableSpec, resolved

ID_PAGE_SIZE = 10_000
FETCH_CHUNK = 100


@dataclass
class VendorTable:
    vendor: str
    entity: str  # the table in the vendor's dataset
    key: str  # its id column
    version: str  # the vendor's last-updated column
    compared: tuple[str, ...]
    ids: Callable[[], Iterator[list[tuple[str, str | None]]]]  # pages of (id, vendor stamp)
    rows: Callable[[list[str]], dict[str, dict[str, Any]]]


MAX_STAMP = 64  # characters: any timestamp form fits; a longer "stamp" is hostile, kept as none


def _stamp(value: Any) -> str | None:
    """A vendor's last-updated stamp as the census keeps it: the string as written, else none."""
    return value if isinstance(value, str) and 0 < len(value) <= MAX_STAMP else None


def servicenow_tables(client_factory: Callable[[], Any]) -> list[VendorTable]:
    """Every synced ServiceNow table but the remediation tasks; ``client_factory`` builds a
    ServiceNowClient (closed after use). The remediation table holds what reverse sync writes: the
    nightly link reconciliation (assets/reverse_sync/reconcile.py) squares it with Project X, and
    changes it in the same run, so an id census of it would report that run's own writes as drift."""
    return [_servicenow_table(resolved(spec), client_factory) for spec in TABLES.values()
            if spec.resource != REMEDIATION_RESOURCE]


def _servicenow_table(spec: TableSpec, client_factory) -> VendorTable:
    def ids() -> Iterator[list[str]]:
        client = client_factory()
        try:
            for page in client.read_concurrently(spec.table, "", page_size=ID_PAGE_SIZE, concurrency=2,
                                                 fields=["sys_id", spec.cursor_field]):
                yield [(r["sys_id"], _stamp(r.get(spec.cursor_field))) for r in page if r.get("sys_id")]
        finally:
            client.close()

    def rows(wanted: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        client = client_factory()
        try:
            for start in range(0, len(wanted), FETCH_CHUNK):
                query = "sys_idIN" + ",".join(wanted[start:start + FETCH_CHUNK])
                for page in client.read_concurrently(spec.table, query, page_size=FETCH_CHUNK, concurrency=1,
                                                     fields=list(spec.fields)):
                    out.update({r["sys_id"]: r for r in page if r.get("sys_id")})
        finally:
            client.close()
        return out

    compared = tuple(f for f in spec.fields if f != "sys_id")
    return VendorTable("servicenow", spec.resource, "sys_id", spec.cursor_field, compared, ids, rows)


def jira_tables(context_factory: Callable[[], Any]) -> list[VendorTable]:
    """Jira issues (projects, boards and sprints are listed whole by every sync already)."""
    from pipelines.jira import flatten
    from pipelines.jira.reconcile import census_jql
    from pipelines.jira.settings import ID_PAGE_SIZE as JIRA_ID_PAGE
    from pipelines.jira.settings import ISSUE_FIELDS

    def ids() -> Iterator[list[str]]:
        ctx = context_factory()
        scope = ctx.scope()
        if not scope:
            return
        for page in ctx.client().search(census_jql(scope), ["id", "updated"], page_size=JIRA_ID_PAGE):
            yield [(str(i["id"]), _stamp((i.get("fields") or {}).get("updated") if isinstance(i.get("fields"), dict)
                                         else None)) for i in page if i.get("id") is not None]

    def rows(wanted: list[str]) -> dict[str, dict[str, Any]]:
        ctx = context_factory()
        client, fields, out = ctx.client(), ctx.fields(), {}
        for start in range(0, len(wanted), FETCH_CHUNK):
            jql = "id in (" + ", ".join(wanted[start:start + FETCH_CHUNK]) + ") ORDER BY id ASC"
            for page in client.search(jql, [*ISSUE_FIELDS, *fields.ids], page_size=FETCH_CHUNK):
                for bean in page:
                    row = flatten.issue_row(bean, fields)
                    out[str(row["id"])] = row
        return out

    compared = ("key", "summary", "status", "status_category", "priority", "assignee_account_id",
                "updated", "resolutiondate", "duedate")
    return [VendorTable("jira", "issues", "id", "updated", compared, ids, rows)]


def onetrust_tables(client_factory: Callable[[], Any]) -> list[VendorTable]:
    """OneTrust's four listings, read whole in creation order (no update moves a record between pages)."""
    from pipelines.onetrust import rows as R
    from pipelines.onetrust import settings as S

    def lister(spec: S.EntitySpec) -> Callable[[Any], Iterator[Any]]:
        if spec.resource == "risks":
            return lambda c: c.pages("POST", S.RISKS_PATH, page_size=S.RISK_PAGE_SIZE,
                                     params={"sort": S.CREATION_SORT}, json={"filters": {}, "fullTextSearch": ""})
        if spec.resource == "vendors":
            return lambda c: c.pages("GET", S.VENDORS_PATH, page_size=S.VENDOR_PAGE_CAP,
                                     params={"sort": S.CREATION_SORT, "markForDelete": "false"})
        params = {"sort": S.CREATION_SORT, "assessmentArchivalState": "ALL"}
        if spec.resource == "vendor_assessments":
            params["templateTypes"] = "VENDOR"
        return lambda c: c.pages("GET", S.ASSESSMENTS_PATH, page_size=S.ASSESSMENT_PAGE_SIZE, params=params)

    def mapper(spec: S.EntitySpec, client, items: list[dict]) -> list[dict]:
        if spec.resource == "risks":
            return [R.risk_row(i) for i in items]
        if spec.resource == "vendors":
            return [R.vendor_row(i) for i in items]
        row = R.assessment_row if spec.resource == "assessments" else R.vendor_assessment_row
        details = client.exports([i["assessmentId"] for i in items])
        return [row(i, details[i["assessmentId"]]) for i in items if i["assessmentId"] in details]

    def table(spec: S.EntitySpec) -> VendorTable:
        def ids() -> Iterator[list[str]]:
            client = client_factory()
            try:
                for page in lister(spec)(client):
                    yield [(R.uuid_key(i[spec.id_field]), _stamp(i.get(spec.ts_field))) for i in page.items
                           if isinstance(i, dict) and i.get(spec.id_field) and i.get("markForDelete") is not True]
            finally:
                client.close()

        def rows(wanted: list[str]) -> dict[str, dict[str, Any]]:
            want, out = set(wanted), {}
            client = client_factory()
            try:
                for page in lister(spec)(client):
                    hits = [i for i in page.items if isinstance(i, dict)
                            and R.uuid_key(i.get(spec.id_field)) in want]
                    for row in mapper(spec, client, hits) if hits else []:
                        out[row[spec.primary_key]] = row
                    if len(out) == len(want):
                        break
            finally:
                client.close()
            return out

        compared = {"risks": ("name", "description", "level", "state", "owner_name", "updated_at"),
                    "vendors": ("name", "status", "criticality", "tier", "owner_name", "updated_at")}
        cols = compared.get(spec.resource, ("name", "status", "updated_at"))
        return VendorTable("onetrust", spec.resource, spec.primary_key, "updated_at", cols, ids, rows)

    return [table(spec) for spec in S.ENTITIES.values()]
